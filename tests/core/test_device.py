"""Device and precision: bfloat16 where the CPU computes it natively, float32 elsewhere, Apple's MPS."""

import numpy as np
import pytest
import torch

from dinolizer_gui.core import device
from dinolizer_gui.core.analysis import AnalysisOptions
from dinolizer_gui.core.imageio import LoadedImage
from dinolizer_gui.core.inference import run_localizer
from dinolizer_gui.core.models.registry import load_localizer
from dinolizer_gui.core.progress import run_to_end
from dinolizer_gui.core.results_store import result_key


@pytest.mark.parametrize(
    "support, precision, dtype, reason",
    [
        ("AVX512-BF16", "auto", torch.bfloat16, "natively (AVX512-BF16)"),
        ("AMX-BF16", "auto", torch.bfloat16, "natively (AMX-BF16)"),
        ("", "auto", torch.float32, "neither AMX-BF16 nor AVX512-BF16"),
        ("AVX512-BF16", "float32", torch.float32, "as asked (exact maps)"),
        ("", "bfloat16", torch.bfloat16, "emulates it"),
    ],
)
def test_cpu_precision_follows_what_the_processor_computes_natively(
    monkeypatch, support, precision, dtype, reason
):
    monkeypatch.setattr(device, "cpu_bf16_support", lambda: support)
    runtime = device.resolve_runtime("cpu", precision)
    assert runtime.dtype == dtype and reason in runtime.precision_reason
    assert runtime.label == f"CPU ({str(dtype).removeprefix('torch.')})"


def test_auto_prefers_cuda_then_mps_then_the_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(device, "mps_available", lambda: True)
    runtime = device.resolve_runtime("auto")
    assert (
        runtime.device.type == "mps" and runtime.is_accelerator and runtime.description == "Apple GPU (MPS)"
    )
    monkeypatch.setattr(device, "mps_available", lambda: False)
    runtime = device.resolve_runtime("auto")
    assert runtime.device.type == "cpu" and runtime.note.startswith("CUDA not used")
    assert "MPS is not available" in device.resolve_runtime("mps").note


def test_an_mps_failure_falls_back_to_the_cpu_and_says_so(monkeypatch):
    class Net(torch.nn.Module):
        def to(self, target):  # no Apple GPU here: moving is a no-op
            return self

    def pipeline(net, image, options, runtime, notes):
        if runtime.device.type == "mps":
            raise NotImplementedError(
                "The operator 'aten::upsample_bicubic2d.out' is not implemented for MPS"
            )
        yield
        return np.zeros((4, 4), np.float32), 1, (4, 4), []

    mps = device.Runtime(torch.device("mps"), torch.float32, "Apple GPU (MPS)")
    image = LoadedImage("x.png", np.zeros((4, 4, 3), np.uint8), "0" * 64, 0, "PNG", "RGB")
    run = run_to_end(run_localizer(Net(), pipeline, image, AnalysisOptions(precision="float32"), mps))
    assert run.device == "CPU (float32)"
    assert any(
        "Apple GPU (MPS) cannot run an operation" in note and "finished on the CPU" in note
        for note in run.notes
    )


def test_the_results_store_key_holds_the_precision(weights):
    files, _ = weights
    localizer = load_localizer("declip", [files["declip"]])
    options = AnalysisOptions(device="cpu")
    keys = {
        precision: result_key(
            "f" * 64, "declip", localizer.checkpoints, options, device.cpu_runtime(precision)
        )
        for precision in ("float32", "bfloat16")
    }
    assert keys["float32"] != keys["bfloat16"]


def _blocky(height, width, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (height // 8 + 1, width // 8 + 1, 3), dtype=np.uint8)
    rgb = np.kron(base, np.ones((8, 8, 1), np.uint8))[:height, :width]
    return LoadedImage("x.png", np.ascontiguousarray(rgb), "0" * 64, 0, "PNG", "RGB")


def _fidelity(localizer, image):
    exact = run_to_end(
        localizer.analyze(image, AnalysisOptions(device="cpu", precision="float32"))
    ).probability
    fast = run_to_end(
        localizer.analyze(image, AnalysisOptions(device="cpu", precision="bfloat16"))
    ).probability
    union = ((exact >= 0.5) | (fast >= 0.5)).sum()
    return float(np.abs(exact - fast).mean()), float(((exact >= 0.5) & (fast >= 0.5)).sum() / max(union, 1))


def test_bfloat16_maps_stay_close_to_float32(weights):
    files, _ = weights
    difference, iou = _fidelity(load_localizer("dinolizer", [files["release"]]), _blocky(520, 610, seed=4))
    assert difference <= 2e-3 and iou >= 0.98


@pytest.mark.fullsize
def test_bfloat16_full_size_declip_stays_close_to_float32(tmp_path):
    from tests import factories

    content, _ = factories.make_declip_vit(
        None, embed_dim=1024, depth=24, layer=20, convs=20, channels=(1024, 512, 256, 128, 64)
    )
    torch.save(content, tmp_path / "ViT_layer20_conv-20_cocosd.pth")
    del content
    difference, iou = _fidelity(
        load_localizer("declip", [tmp_path / "ViT_layer20_conv-20_cocosd.pth"]), _blocky(520, 610, seed=4)
    )
    assert difference <= 2e-3 and iou >= 0.98


def test_results_record_the_precision_and_why(weights, tmp_path, monkeypatch):
    import json

    from PIL import Image

    from dinolizer_gui.cli import main

    files, _ = weights
    monkeypatch.setattr(device, "cpu_bf16_support", lambda: "AVX512-BF16")
    image = tmp_path / "x.png"
    Image.fromarray(_blocky(120, 160).rgb).save(image)
    out = tmp_path / "out"
    assert (
        main(
            [
                "analyze",
                str(image),
                "--out",
                str(out),
                "--device",
                "cpu",
                "--quiet",
                "--weights",
                f"declip={files['declip']}",
            ]
        )
        == 0
    )
    results = json.loads((out / "results.json").read_text())
    assert results["device"]["precision"] == "bfloat16"
    assert "natively (AVX512-BF16)" in results["device"]["precision_reason"]
    assert results["images"][0]["models"]["declip"]["device"] == "CPU (bfloat16)"
