import numpy as np
import pytest
import torch

from dinolizer_gui.core.engine.analysis import AnalysisOptions
from dinolizer_gui.core.engine.device import cpu_runtime
from dinolizer_gui.core.engine.inference import windowed_probability
from dinolizer_gui.core.engine.tiling import WindowGrid
from dinolizer_gui.core.models.checkpoints import CheckpointError, Layout, read_checkpoint
from dinolizer_gui.core.models.registry import COCOGLIDE_P99_THRESHOLD, REGISTRY, load_localizer
from dinolizer_gui.core.progress import Progress, run_to_end
from tests import factories, reference

CPU = AnalysisOptions(device="cpu", precision="float32")  # the official pipelines compute in float32 here


def _assert_reproduces(app_map, ref_map):
    assert app_map.shape == ref_map.shape and app_map.dtype == np.float32
    assert 0.05 < (ref_map >= 0.5).mean() < 0.95, (
        "reference map must have both classes for the IoU to mean anything"
    )
    assert np.abs(app_map - ref_map).mean() <= 2e-3
    assert reference.iou(app_map >= 0.5, ref_map >= 0.5) >= 0.98


def test_release_checkpoint_is_recognised_and_lora_is_merged(weights):
    files, _ = weights
    localizer = load_localizer("dinolizer", [files["release"]])
    assert localizer.variant.startswith("release checkpoint")
    assert any("LoRA (r=4, alpha=64) merged" in note for note in localizer.load_notes)
    assert localizer.score_threshold == COCOGLIDE_P99_THRESHOLD
    assert localizer.checkpoints[0]["layout"] == Layout.DINOLIZER_RELEASE.value


def test_merged_lora_gives_the_same_window_logits_as_lora_applied_at_run_time(weights):
    files, sources = weights
    merged = load_localizer("dinolizer", [files["release"]]).net
    unmerged = factories.unmerged_dinolizer(sources["release"])
    pixels = torch.randn(2, 3, 504, 504, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        assert torch.allclose(merged(pixels), unmerged(pixels), atol=1e-4)


@pytest.mark.parametrize("height, width", [(256, 256), (520, 700)])
def test_dinolizer_map_reproduces_the_official_pipeline(weights, height, width):
    files, sources = weights
    localizer = load_localizer("dinolizer", [files["release"]])
    image = factories.blocky_image(width, height, name="synthetic.png")
    run = run_to_end(localizer.analyze(image, CPU))
    expected = reference.dinolizer_map(factories.unmerged_dinolizer(sources["release"]), image.rgb)
    _assert_reproduces(run.probability, expected)
    assert run.windows == (25 if height == 256 else 6)


def test_paper_head_variant_uses_the_bfree_backbone_and_a_sigmoid(weights):
    files, sources = weights
    localizer = load_localizer("dinolizer", [files["bfree"], files["head"]])
    assert localizer.variant.startswith("paper head")
    image = factories.blocky_image(600, 504, seed=3, name="synthetic.png")
    run = run_to_end(localizer.analyze(image, CPU))
    vit, (weight, bias) = sources["bfree"], sources["head"]

    def window_net(pixels):
        tokens = vit.forward_features(pixels)[:, 5:]
        return (tokens @ weight.T + bias).permute(0, 2, 1).reshape(pixels.shape[0], 1, 36, 36)

    _assert_reproduces(run.probability, reference.dinolizer_map(window_net, image.rgb, activation="sigmoid"))


@pytest.mark.parametrize("height, width", [(300, 410), (180, 150)])
def test_declip_map_reproduces_the_official_pipeline(weights, height, width):
    files, sources = weights
    localizer = load_localizer("declip", [files["declip"]])
    assert localizer.variant == "ViT-L/14 layer1 conv-4"
    image = factories.blocky_image(width, height, seed=1, name="synthetic.png")
    run = run_to_end(localizer.analyze(image, CPU))
    _assert_reproduces(run.probability, reference.declip_map(sources["declip"], image.rgb))


@pytest.mark.parametrize("convs", [12, 20])
def test_declip_decoder_depth_and_layer_are_read_from_the_file(tmp_path, convs):
    path = tmp_path / f"conv{convs}.pth"
    _, source = factories.make_declip_vit(path, depth=4, layer=2, convs=convs, channels=(64, 8, 8, 8, 8))
    localizer = load_localizer("declip", [path])
    assert localizer.variant == f"ViT-L/14 layer2 conv-{convs}"
    convs_built = sum(isinstance(m, torch.nn.Conv2d) for m in localizer.net.decoder)
    assert convs_built == convs + 1
    image = factories.blocky_image(240, 230, seed=2, name="synthetic.png")
    run = run_to_end(localizer.analyze(image, CPU))
    assert np.abs(run.probability - reference.declip_map(source, image.rgb)).mean() <= 2e-3


def test_declip_sliding_windows_are_labelled_non_official(weights):
    files, _ = weights
    localizer = load_localizer("declip", [files["declip"]])
    run = run_to_end(
        localizer.analyze(
            factories.blocky_image(500, 300, name="synthetic.png"),
            AnalysisOptions(device="cpu", declip_mode="sliding"),
        )
    )
    assert run.windows == len(WindowGrid(300, 500, 224, 112))
    assert run.probability.shape == (300, 500)
    assert "NON-OFFICIAL" in run.preprocessing[0]


def _save_release_with(tmp_path, mutate):
    tmp_path.mkdir(exist_ok=True)
    path = tmp_path / "release.ckpt"
    factories.make_dinolizer_release(path)
    content = torch.load(path, weights_only=True)
    mutate(content["state_dict"])
    torch.save(content, path)
    return path


def test_entries_the_release_map_does_not_need_are_ignored_and_listed(tmp_path):
    """The real file has 235 entries: zero-element proj_3d tensors and unknown extras must not block it."""
    plain = load_localizer("dinolizer", [_save_release_with(tmp_path / "plain", lambda s: None)])
    extras = {
        "net.model.lora_vit.proj_3d.weight": torch.zeros(0, 0),
        "net.model.lora_vit.proj_3d.bias": torch.zeros(0),
        "net.model.extra_adapter.weight": torch.zeros(2),
        "net.model.patch_embed_copy.proj.weight": torch.zeros(3),
        "net.val_loss_buffer": torch.zeros(1),
    }
    path = _save_release_with(tmp_path, lambda s: s.update(extras))
    localizer = load_localizer("dinolizer", [path])
    note = next(n for n in localizer.load_notes if "not needed for the map" in n)
    assert note.startswith("5 entries") and "2 of them hold no values" in note
    assert all(key in note for key in extras)
    pixels = torch.randn(1, 3, 504, 504, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.equal(localizer.net(pixels), plain.net(pixels))


def test_a_file_of_another_kind_is_still_refused_with_its_keys(tmp_path):
    path = tmp_path / "other.ckpt"
    torch.save(
        {"state_dict": {"net.encoder.weight": torch.zeros(2), "net.classifier.bias": torch.zeros(1)}}, path
    )
    with pytest.raises(CheckpointError, match=r"unknown checkpoint layout.*state_dict"):
        load_localizer("dinolizer", [path])


def test_missing_backbone_tensors_are_listed(tmp_path):
    path = _save_release_with(tmp_path, lambda s: s.pop("net.model.lora_vit.blocks.1.mlp.fc2.weight"))
    with pytest.raises(CheckpointError, match=r"missing blocks\.1\.mlp\.fc2\.weight"):
        load_localizer("dinolizer", [path])


def test_incomplete_lora_is_reported(tmp_path):
    path = _save_release_with(
        tmp_path, lambda s: s.pop("net.model.lora_vit.blocks.0.attn.qkv.linear_b_v.weight")
    )
    with pytest.raises(CheckpointError, match="incomplete LoRA in block 0: missing linear_b_v"):
        load_localizer("dinolizer", [path])


def test_unknown_layout_lists_its_keys(tmp_path):
    path = tmp_path / "other.pth"
    torch.save({"encoder.weight": torch.zeros(2), "decoder.bias": torch.zeros(1)}, path)
    with pytest.raises(CheckpointError, match=r"unknown checkpoint layout.*decoder.bias, encoder.weight"):
        read_checkpoint(path)


class Payload:
    def __reduce__(self):
        return (print, ("unpickled code ran",))


def test_pickled_code_is_refused_not_executed(tmp_path, capsys):
    path = tmp_path / "evil.pth"
    torch.save({"state_dict": {"x": Payload()}}, path)
    with pytest.raises(CheckpointError, match="not a readable PyTorch or safetensors weights file"):
        read_checkpoint(path)
    assert "unpickled code ran" not in capsys.readouterr().out


def test_a_fusion_decoder_without_rn50_names_the_file_to_get(tmp_path):
    path = tmp_path / "ViT_layer20+RN50_layer3_conv-20_lama.pth"
    torch.save(
        {
            "model": {"fc.0.weight": torch.zeros(8, 2048, 5, 5)},
            "feature_layer": "layer20",
            "decoder_type": "conv-20",
        },
        path,
    )
    with pytest.raises(CheckpointError, match=r"needs OpenAI.s CLIP RN50 weights: RN50\.pt"):
        load_localizer("declip", [path])


def test_wrong_files_for_a_model_are_named(weights):
    files, _ = weights
    with pytest.raises(
        CheckpointError, match=r"DinoLizer needs either the release checkpoint.*DeCLIP ViT-L/14"
    ):
        load_localizer("dinolizer", [files["declip"]])


def test_closing_the_generator_cancels_between_batches(weights):
    files, _ = weights
    localizer = load_localizer("dinolizer", [files["release"]])
    calls = []
    original_forward = localizer.net.forward
    localizer.net.forward = lambda x: calls.append(len(x)) or original_forward(x)
    generator = localizer.analyze(
        factories.blocky_image(1400, 504, name="synthetic.png"), AnalysisOptions(device="cpu", batch_size=2)
    )
    seen = [next(generator), next(generator)]
    generator.close()
    assert seen == [Progress(0, 8), Progress(2, 8)]
    assert calls == [2]


def test_out_of_memory_halves_the_batch_and_says_so():
    grid = WindowGrid(504, 1400, 504, 128)
    batches = []

    def window_logits(batch):
        if len(batch) > 2:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        batches.append(len(batch))
        return torch.zeros(len(batch), 1, 504, 504)

    notes = []
    generator = windowed_probability(
        window_logits,
        torch.zeros(3, 504, 1400, dtype=torch.uint8),
        grid,
        1,
        8,
        (0, 0, 0),
        (1, 1, 1),
        notes,
        cpu_runtime(REGISTRY["declip"].fidelity, "float32"),
    )
    run_to_end(generator)
    assert sum(batches) == len(grid) and max(batches) == 2
    assert notes == ["out of memory: batch reduced to 4 windows", "out of memory: batch reduced to 2 windows"]


@pytest.mark.fullsize
def test_full_size_release_layout_loads_and_gives_36x36x3_logits(tmp_path):
    path = tmp_path / "epoch=36_val_loss=0.2130.ckpt"
    source = factories.make_dinolizer_release(path, **factories.FULL)
    keys = torch.load(path, weights_only=True)["state_dict"]
    assert (
        len(keys) == 2 + 3 + 2 + 2 + 12 * 18 + 2 + 1
    )  # patch, tokens, norm, image head, blocks, cls_head, pos_weight
    localizer = load_localizer("dinolizer", [path])
    pixels = torch.randn(1, 3, 504, 504)
    with torch.no_grad():
        logits = localizer.net(pixels)
        assert logits.shape == (1, 3, 36, 36)
        assert torch.allclose(logits, factories.unmerged_dinolizer(source)(pixels), atol=1e-3)


@pytest.mark.fullsize
def test_full_size_declip_vit_l14_layer20_conv20(tmp_path):
    content, _ = factories.make_declip_vit(
        None, embed_dim=1024, depth=24, layer=20, convs=20, channels=(1024, 512, 256, 128, 64)
    )
    path = tmp_path / "ViT_layer20_conv-20_cocosd.pth"
    torch.save(content, path)
    del content
    localizer = load_localizer("declip", [path])
    decoder_params = sum(p.numel() for p in localizer.net.decoder.parameters())
    assert round(decoder_params / 1e6, 1) == 52.2  # the paper's conv-20 size
    with torch.no_grad():
        features = localizer.net.clip.forward_intermediates(
            torch.randn(1, 3, 224, 224), indices=[20], norm=False, intermediates_only=True
        )[0]
        assert features.shape == (1, 1024, 16, 16)
        assert localizer.net.decoder(features).shape == (1, 1, 256, 256)
