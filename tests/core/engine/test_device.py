"""Device and precision: per model, bfloat16 where the CPU computes it natively and the model keeps its
fidelity bar in it, float32 elsewhere; Apple's MPS; what outputs say of it."""

import numpy as np
import pytest
import torch

from dinolizer_gui.core.engine import device
from dinolizer_gui.core.engine.analysis import AnalysisOptions, Fidelity
from dinolizer_gui.core.engine.inference import run_localizer
from dinolizer_gui.core.io.images import LoadedImage
from dinolizer_gui.core.models.registry import REGISTRY, load_localizer
from dinolizer_gui.core.progress import run_to_end
from dinolizer_gui.core.store.results import result_key
from tests import factories
from tests.cli_run import analyze_args, run_cli

DINOLIZER, DECLIP = REGISTRY["dinolizer"].fidelity, REGISTRY["declip"].fidelity
SAFE_IN_BF16 = Fidelity("A model", ("bfloat16",))  # a model whose output bfloat16 keeps within its bar


@pytest.mark.parametrize(
    "support, precision, model, dtype, reason",
    [
        ("AVX512-BF16", "auto", SAFE_IN_BF16, torch.bfloat16, "natively (AVX512-BF16) and it keeps A model"),
        ("AMX-BF16", "auto", SAFE_IN_BF16, torch.bfloat16, "natively (AMX-BF16)"),
        (
            "AMX-BF16",
            "auto",
            DINOLIZER,
            torch.float32,
            "bfloat16 moves DinoLizer's output beyond its fidelity",
        ),
        ("AMX-BF16", "auto", DECLIP, torch.float32, "bfloat16 moves DeCLIP's output beyond its fidelity bar"),
        ("", "auto", DINOLIZER, torch.float32, "neither AMX-BF16 nor AVX512-BF16"),
        ("AVX512-BF16", "float32", DINOLIZER, torch.float32, "float32 as asked"),
        ("", "bfloat16", SAFE_IN_BF16, torch.bfloat16, "emulates it"),
    ],
)
def test_cpu_precision_follows_the_processor_and_the_models_fidelity(
    monkeypatch, support, precision, model, dtype, reason
):
    monkeypatch.setattr(device, "cpu_bf16_support", lambda: support)
    runtime = device.resolve_runtime("cpu", precision, model)
    assert runtime.dtype == dtype and reason in runtime.precision_reason
    assert runtime.label == f"CPU ({str(dtype).removeprefix('torch.')})"
    assert not runtime.warning


def test_a_precision_asked_beyond_a_models_bar_is_used_with_a_warning_in_its_notes(weights, monkeypatch):
    monkeypatch.setattr(device, "cpu_bf16_support", lambda: "AMX-BF16")
    files, _ = weights
    localizer = load_localizer("declip", [files["declip"]])
    options = AnalysisOptions(device="cpu", precision="bfloat16")
    run = run_to_end(localizer.analyze(factories.blocky_image(80, 64), options))
    assert run.device == "CPU (bfloat16)"
    assert any(
        "beyond its fidelity bar" in note and "can differ from the official one" in note for note in run.notes
    )


def test_cuda_computes_dinolizer_in_float16_and_the_others_in_float32(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index=0: "NVIDIA Test")
    chosen = {name: device.resolve_runtime("auto", "auto", spec.fidelity) for name, spec in REGISTRY.items()}
    assert {name: runtime.precision for name, runtime in chosen.items()} == {
        "dinolizer": "float16",
        "declip": "float32",
        "bfree": "float32",
    }
    assert chosen["dinolizer"].description == "CUDA: NVIDIA Test"
    assert "official pipeline runs on GPUs" in chosen["dinolizer"].precision_reason
    assert "float16 moves B-Free's output beyond its fidelity bar" in chosen["bfree"].precision_reason


def test_auto_prefers_cuda_then_mps_then_the_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(device, "mps_available", lambda: True)
    runtime = device.resolve_runtime("auto", "auto", DINOLIZER)
    assert (
        runtime.device.type == "mps" and runtime.is_accelerator and runtime.description == "Apple GPU (MPS)"
    )
    assert runtime.precision == "float32"
    monkeypatch.setattr(device, "mps_available", lambda: False)
    runtime = device.resolve_runtime("auto", "auto", DINOLIZER)
    assert runtime.device.type == "cpu" and runtime.note.startswith("CUDA not used")
    assert "MPS is not available" in device.resolve_runtime("mps", "auto", DINOLIZER).note


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

    mps = device.Runtime(torch.device("mps"), torch.float32, "Apple GPU (MPS)", fidelity=DINOLIZER)
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
            "f" * 64, "declip", localizer.checkpoints, options, device.cpu_runtime(DECLIP, precision)
        )
        for precision in ("float32", "bfloat16")
    }
    assert keys["float32"] != keys["bfloat16"]


def test_results_record_the_precision_and_why(weights, tmp_path, monkeypatch):
    import json

    from PIL import Image

    monkeypatch.setattr(device, "cpu_bf16_support", lambda: "AVX512-BF16")
    image = tmp_path / "x.png"
    Image.fromarray(factories.blocky_image(160, 120).rgb).save(image)
    out = tmp_path / "out"
    assert run_cli(*analyze_args(weights, image, out, models=("declip", "dinolizer"))).code == 0
    results = json.loads((out / "results.json").read_text())
    assert results["device"]["precision"] == {"dinolizer": "float32", "declip": "float32"}
    assert "bfloat16 moves DinoLizer's output beyond" in results["device"]["precision_reason"]["dinolizer"]
    assert "bfloat16 moves DeCLIP's output beyond" in results["models"]["declip"]["precision_reason"]
    assert results["models"]["dinolizer"]["precision"] == "float32"
    models = results["images"][0]["models"]
    assert models["dinolizer"]["device"] == "CPU (float32)" and models["declip"]["device"] == "CPU (float32)"
