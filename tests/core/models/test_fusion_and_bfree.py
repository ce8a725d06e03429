"""DeCLIP ViT+RN50 fusion and the B-Free image-level score, against naive re-statements of the official
code."""

import json
import zipfile
from importlib import resources

import jsonschema
import numpy as np
import pytest
import torch
from PIL import Image
from pypdf import PdfReader

from dinolizer_gui.core.engine.analysis import AnalysisOptions
from dinolizer_gui.core.io.images import LoadedImage
from dinolizer_gui.core.models import manager
from dinolizer_gui.core.models.checkpoints import read_checkpoint
from dinolizer_gui.core.models.checkpoints.torchscript import read_torchscript
from dinolizer_gui.core.models.layouts import CheckpointError, Layout
from dinolizer_gui.core.models.registry import load_localizer
from dinolizer_gui.core.progress import run_to_end
from tests import factories, reference
from tests.cli_run import analyze_args, run_cli

CPU = AnalysisOptions(device="cpu", precision="float32")  # the official pipelines compute in float32 here


def _image(rgb):
    return LoadedImage("synthetic.png", rgb, "0" * 64, 0, "PNG", "RGB")


@pytest.fixture(scope="module")
def fusion(tmp_path_factory, weights):
    """A fusion decoder, RN50 as a TorchScript archive and as safetensors, and the ViT source (a DeCLIP ViT
    file); the decoder's last bias is centred so that the test image's map holds both classes."""
    files, sources = weights
    folder = tmp_path_factory.mktemp("fusion")
    resnet = factories.make_openai_rn50(folder / "RN50.pt")
    factories.make_openai_rn50(folder / "RN50.safetensors", fmt="safetensors")
    decoder_path = folder / "ViT_layer20+RN50_layer3_conv-20_lama.pth"
    decoder = factories.make_declip_fusion(decoder_path)
    rgb = factories.blocky_pixels(410, 300, seed=3)
    with torch.no_grad():
        small = np.array(Image.fromarray(rgb).resize((224, 224), Image.BILINEAR))
        pixels = (
            (torch.from_numpy(small).permute(2, 0, 1).float() / 255 - reference.CLIP_MEAN)
            / reference.CLIP_STD
        )[None]
        vit = reference.reference_clip_features(sources["declip"], pixels)
        rn = torch.nn.functional.interpolate(resnet(pixels), size=vit.shape[-2:], mode="bilinear")
        decoder[-1].bias -= decoder(torch.cat([vit, rn], dim=1)).median()
    content = torch.load(decoder_path, weights_only=True)
    content["model"] = {f"fc.{k}": v.clone() for k, v in decoder.state_dict().items()}
    torch.save(content, decoder_path)
    return {
        "decoder": decoder_path,
        "rn50": folder / "RN50.pt",
        "rn50_safetensors": folder / "RN50.safetensors",
        "vit": files["declip"],
        "resnet": resnet,
        "decoder_module": decoder,
        "vit_source": sources["declip"],
        "rgb": rgb,
    }


@pytest.mark.parametrize("rn50", ["rn50", "rn50_safetensors"])
def test_the_fusion_reproduces_the_official_pipeline(fusion, rn50):
    localizer = load_localizer("declip", [fusion["decoder"], fusion[rn50], fusion["vit"]])
    assert localizer.variant == "ViT-L/14 layer1 + RN50 layer3 conv-4 (fusion)"
    assert [c["layout"] for c in localizer.checkpoints] == [
        Layout.DECLIP_VIT_RN50.value,
        Layout.OPENAI_RN50.value,
        Layout.DECLIP_VIT.value,
    ]
    run = run_to_end(localizer.analyze(_image(fusion["rgb"]), CPU))
    expected = reference.declip_fusion_map(
        fusion["vit_source"], fusion["resnet"], fusion["decoder_module"], fusion["rgb"]
    )
    assert 0.05 < (expected >= 0.5).mean() < 0.95
    assert np.abs(run.probability - expected).mean() <= 2e-3
    assert reference.iou(run.probability >= 0.5, expected >= 0.5) >= 0.98


def test_the_fusion_runs_in_sliding_windows_too(fusion):
    localizer = load_localizer("declip", [fusion["decoder"], fusion["rn50"], fusion["vit"]])
    run = run_to_end(
        localizer.analyze(
            _image(factories.blocky_pixels(500, 300)), AnalysisOptions(device="cpu", declip_mode="sliding")
        )
    )
    assert run.probability.shape == (300, 500) and run.windows > 1 and "NON-OFFICIAL" in run.preprocessing[0]


def test_a_missing_backbone_is_named(fusion):
    with pytest.raises(CheckpointError, match=r"needs the CLIP ViT-L/14.*ViT-L-14\.pt"):
        load_localizer("declip", [fusion["decoder"], fusion["rn50"]])
    with pytest.raises(CheckpointError, match=r"RN50\.pt"):
        load_localizer("declip", [fusion["decoder"], fusion["vit"]])


def test_a_torchscript_archive_is_read_without_running_its_code(tmp_path, capfd):
    class Noisy(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = torch.nn.Parameter(torch.arange(6.0).reshape(2, 3))

        def forward(self, x):
            return x @ self.weight

        @torch.jit.export
        def __getstate__(self):
            return (self.weight, self.training)

        @torch.jit.export
        def __setstate__(self, state: tuple[torch.Tensor, bool]):
            print("TorchScript code ran")
            self.weight = state[0]
            self.training = state[1]

    path = tmp_path / "noisy.pt"
    torch.jit.save(torch.jit.script(Noisy()), str(path))
    capfd.readouterr()
    tensors = read_torchscript(path)
    assert "TorchScript code ran" not in capfd.readouterr().out
    assert any(torch.equal(t.load(), torch.arange(6.0).reshape(2, 3)) for t in tensors.values())
    torch.jit.load(str(path))  # what the official `clip` package does: the archive's code runs
    assert "TorchScript code ran" in capfd.readouterr().out


def test_a_torchscript_archive_that_asks_for_anything_but_tensors_is_refused(fusion, tmp_path):
    evil = tmp_path / "RN50.pt"
    with zipfile.ZipFile(fusion["rn50"]) as source, zipfile.ZipFile(evil, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename.endswith("/data.pkl"):
                data = b"cos\nsystem\n(S'echo pwned'\ntR."
            target.writestr(info, data)
    with pytest.raises(CheckpointError, match=r"refused os\.system.*its code was not run"):
        read_checkpoint(evil)


def test_a_hostile_tensor_view_in_a_torchscript_archive_is_refused(fusion, tmp_path):
    hostile = tmp_path / "RN50.pt"
    with zipfile.ZipFile(fusion["rn50"]) as source, zipfile.ZipFile(hostile, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename.endswith("/data.pkl"):
                data = _widen_first_shape(data)
            target.writestr(info, data)
    with pytest.raises(CheckpointError, match="reaches past its storage"):
        read_checkpoint(hostile)


def _widen_first_shape(data: bytes) -> bytes:
    """Make the first tensor claim 100 times more values than its storage holds."""
    marker = b"K\x08K\x03K\x03K\x03"  # the first conv's shape (8, 3, 3, 3) as BININT1 opcodes
    assert marker in data
    return data.replace(marker, b"M\x20\x03K\x03K\x03K\x03", 1)  # 800 x 3 x 3 x 3


@pytest.mark.parametrize("height, width", [(600, 700), (1000, 520), (450, 900), (200, 300)])
def test_bfree_logits_reproduce_the_official_five_crops(weights, height, width):
    files, sources = weights
    localizer = load_localizer("bfree", [files["bfree"]])
    rgb = np.random.default_rng(height).integers(0, 256, (height, width, 3), dtype=np.uint8)
    run = run_to_end(localizer.analyze(_image(rgb), CPU))
    expected = reference.bfree_logits(sources["bfree"], rgb)
    assert run.probability is None and len(run.image_level.crop_logits) == 5
    assert np.abs(np.array(run.image_level.crop_logits) - np.array(expected)).max() <= 1e-3
    assert run.image_level.logit == pytest.approx(np.mean(expected), abs=1e-3)
    tiled = min(height, width) < 504
    assert (len(set(run.image_level.crop_logits)) == 1) == tiled  # the official quirk: one crop, five times


def test_bfree_results_give_logit_probability_crops_and_words_but_no_map(weights, tmp_path):
    image = tmp_path / "x.png"
    Image.fromarray(factories.blocky_pixels(610, 520)).save(image)
    out = tmp_path / "out"
    reports = ("--report", "json", "--report", "pdf", "--report", "html")
    assert run_cli(*analyze_args(weights, image, out, *reports, models=("bfree",))).code == 0
    result = json.loads((out / "results.json").read_text())["images"][0]["models"]["bfree"]
    level = result["image_level"]
    assert level["probability"] == pytest.approx(1 / (1 + np.exp(-level["logit"])))
    assert len(level["crop_logits"]) == 5 and level["flagged"] == (level["logit"] > 0) == result["flagged"]
    assert level["indication"] in level["bands"]
    assert not {"mask", "overlay", "heatmap"} & set(result) and not list(out.rglob("bfree_*.png"))
    schema = json.loads(resources.files("dinolizer_gui").joinpath("core/report/schema.json").read_text())
    jsonschema.validate(json.loads((out / "report.json").read_text()), schema)
    pdf = " ".join(" ".join(page.extract_text() for page in PdfReader(out / "report.pdf").pages).split())
    html = (out / "report.html").read_text()
    for text in (pdf, html):
        assert f"{level['indication']} that the whole image is synthetic" in text
        assert "this model does not localise" in text
    again = run_cli(*analyze_args(weights, image, tmp_path / "again", models=("bfree",)))
    assert again.code == 0  # served from the results store
    stored = json.loads((tmp_path / "again" / "results.json").read_text())["images"][0]["models"]["bfree"]
    assert stored["cached"] is True and stored["image_level"] == level


def test_fusion_dependencies_are_shown_and_installed_files_make_the_fusion(fusion, weights, tmp_path):
    folder = tmp_path / "weights"
    manager.import_file(fusion["decoder"], folder)
    row = next(r for r in manager.status(folder) if r.entry.id == "declip-vit-rn50-lama")
    assert "needs RN50.pt (openai-rn50)" in row.detail
    manager.import_file(fusion["rn50"], folder)
    manager.import_file(fusion["vit"], folder, as_entry="declip-vit-lama")
    row = next(r for r in manager.status(folder) if r.entry.id == "declip-vit-rn50-lama")
    assert "needs" not in row.detail
    assert run_cli("models", "--weights-dir", folder, "activate", "lama", "--variant", "vit+rn50").code == 0
    image = tmp_path / "x.png"
    Image.fromarray(fusion["rgb"]).save(image)
    out = tmp_path / "out"
    installed = ("--weights-dir", folder, "--model", "declip")
    assert run_cli(*analyze_args(None, image, out, *installed, models=())).code == 0
    model = json.loads((out / "results.json").read_text())["models"]["declip"]
    assert model["variant"].endswith("(fusion)")
    assert [c["file"] for c in model["checkpoints"]] == [
        "ViT_layer20+RN50_layer3_conv-20_lama.pth",
        "RN50.pt",
        "ViT_layer20_conv-20_lama.pth",
    ]
    assert all(c["verification"]["state"] in ("recorded", "unofficial") for c in model["checkpoints"])


def test_a_fully_generated_image_says_the_maps_are_not_meaningful(weights):
    from dinolizer_gui.core.engine.analysis import ImageLevel, ModelRun
    from dinolizer_gui.core.session.image_results import ModelResult
    from dinolizer_gui.core.session.thresholds import Thresholds
    from dinolizer_gui.ui.scores import fully_generated_warning

    files, _ = weights
    bfree = load_localizer("bfree", [files["bfree"]])
    declip = load_localizer("declip", [files["declip"]])
    synthetic = ModelRun(None, 5, (504, 504), [], "CPU", image_level=ImageLevel(3.0, (3.0,) * 5))
    everywhere = ModelRun(np.full((10, 10), 0.9, np.float32), 1, (224, 224), [], "CPU")
    thresholds = Thresholds()
    results = {
        "declip": ModelResult.of(declip, everywhere, 0.9, thresholds),
        "bfree": ModelResult.of(bfree, synthetic, synthetic.score, thresholds),
    }
    assert "maps are not meaningful" in fully_generated_warning(results)
    results["declip"] = ModelResult.of(
        declip, ModelRun(np.zeros((10, 10), np.float32), 1, (224, 224), [], "CPU"), 0.0, thresholds
    )
    assert fully_generated_warning(results) == ""


def test_a_safetensors_rn50_copy_and_the_archive_give_the_same_weights(fusion):
    archive = read_checkpoint(fusion["rn50"])
    copy = read_checkpoint(fusion["rn50_safetensors"])
    assert archive.layout is copy.layout is Layout.OPENAI_RN50
    lazy = archive.content["torchscript"]
    for key, tensor in copy.content["tensors"].items():
        assert torch.equal(lazy[key].load(), tensor), key


@pytest.mark.fullsize
def test_full_size_fusion_decoder_has_2048_inputs_and_its_final_convolution_at_fc65(tmp_path):
    from dinolizer_gui.core.models.checkpoints.declip import decoder_only_plan

    path = tmp_path / "ViT_layer20+RN50_layer3_conv-20_cocosd.pth"
    factories.make_declip_fusion(
        path, vit_width=1024, resnet_width=64, convs=20, channels=(512, 256, 128, 64)
    )
    keys = torch.load(path, weights_only=True)["model"]
    assert keys["fc.0.weight"].shape[1] == 2048 and "fc.65.weight" in keys and "fc.64.weight" not in keys
    plan = decoder_only_plan(read_checkpoint(path))
    assert plan[64] == ("resize",) and plan[65] == ("conv", 64, 1, 5)
