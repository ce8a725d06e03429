"""What `--precision auto` chooses for each full-size model on this CPU, and what it costs and keeps.

Per model (DinoLizer ViT-B/14, DeCLIP ViT-L/14 conv-20, DeCLIP ViT+RN50 fusion, B-Free): the precision auto
picks and why; the fidelity of bfloat16 against float32 on a map centred on the threshold (a logit centred on
0 for B-Free): what decides the choice; the time of one window (one 224 px input for DeCLIP, five crops for
B-Free) in float32 and, where this CPU computes it natively, in bfloat16; the end-to-end time of one image
under auto; the floating-point operations of a window (counted by PyTorch) and the fraction of this CPU's
peak they reach; and, for DinoLizer, what `torch.compile` (inductor, freezing) costs and gains in float32.

Random weights in the official layouts, heads shifted so that the maps sit on the threshold.

    .venv/bin/python benchmarks/bench_precision.py [--width 1200 --height 900] [--skip-compile]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dinolizer_gui.core.engine.analysis import AnalysisOptions
from dinolizer_gui.core.engine.device import cpu_bf16_support, resolve_runtime
from dinolizer_gui.core.io.images import LoadedImage
from dinolizer_gui.core.models.registry import REGISTRY, load_localizer
from dinolizer_gui.core.progress import run_to_end
from tests import factories


def blocky_photo(width: int, height: int) -> LoadedImage:
    """Flat 8x8 blocks, so that the random networks give maps with structure rather than noise."""
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (height // 8 + 1, width // 8 + 1, 3), dtype=np.uint8)
    rgb = np.kron(base, np.ones((8, 8, 1), np.uint8))[:height, :width].copy()
    return LoadedImage("bench.png", rgb, "0" * 64, 0, "PNG", "RGB")


def cpu_peak_gflops(precision: str) -> tuple[float, str]:
    """This CPU's peak (GFLOP/s, all cores) from its instruction set, cores and clock, and how it was derived.

    Per core and cycle: AMX-BF16 1024 bfloat16 FLOP (one 16x32 tile product), AVX512-BF16 128 (two units of
    VDPBF16PS), AVX-512 64 float32 FLOP (two FMA units), AVX2+FMA 32, else 16."""
    text = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    flags = set(re.findall(r"\b(amx_bf16|avx512_bf16|avx512f|avx2|fma)\b", text))
    mhz = [float(v) for v in re.findall(r"cpu MHz\s*:\s*([\d.]+)", text)] or [2000.0]
    cores = torch.get_num_threads()
    table = (
        [("amx_bf16", 1024, "AMX-BF16"), ("avx512_bf16", 128, "AVX512-BF16")]
        if precision == "bfloat16"
        else []
    )
    table += [("avx512f", 64, "AVX-512 FMA"), ("avx2", 32, "AVX2 FMA")]
    per_cycle, name = next(((n, label) for flag, n, label in table if flag in flags), (16, "SSE"))
    clock = max(mhz) / 1000
    return cores * clock * per_cycle, f"{cores} cores x {clock:.2f} GHz x {per_cycle} FLOP/cycle ({name})"


def window_flops(net, sample: torch.Tensor) -> int:
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        net(sample)
    return counter.get_total_flops()


def seconds_per_call(net, sample: torch.Tensor, runtime, repeats: int = 2) -> float:
    best = float("inf")
    with torch.inference_mode(), runtime.autocast():
        net(sample)  # warm-up
        for _ in range(repeats):
            began = time.perf_counter()
            net(sample)
            best = min(best, time.perf_counter() - began)
    return best


def fidelity(localizer, image: LoadedImage) -> dict:
    """bfloat16 against float32, on this map (or logit)."""
    outputs = {}
    for precision in ("float32", "bfloat16"):
        runtime = resolve_runtime("cpu", precision, REGISTRY[localizer.name].fidelity)
        run = run_to_end(localizer.analyze(image, AnalysisOptions(device="cpu"), runtime))
        outputs[precision] = run.image_level.logit if run.image_level else run.probability
    exact, fast = outputs["float32"], outputs["bfloat16"]
    if isinstance(exact, float):
        return {"bfloat16_logit_diff": float(f"{abs(exact - fast):.2e}"), "logit": round(exact, 4)}
    a, b = exact >= 0.5, fast >= 0.5
    return {
        "bfloat16_map_mean_abs_diff": float(f"{np.abs(exact - fast).mean():.2e}"),
        "bfloat16_mask_iou": round(float((a & b).sum() / max((a | b).sum(), 1)), 4),
        "marked_fraction_float32": round(float(a.mean()), 3),
    }


@torch.no_grad()
def centre(localizer, image: LoadedImage, attempts: int = 8) -> None:
    """Shift the head until half the float32 map is above 0.5 (B-Free: until the logit is 0). A saturated
    map (probabilities of exactly 0 or 1) needs several shifts: its logits are only known up to the clip."""
    net = localizer.net
    head = net.head if hasattr(net, "head") else net.decoder[-1]
    for _ in range(attempts):
        run = run_to_end(localizer.analyze(image, AnalysisOptions(device="cpu", precision="float32")))
        if run.image_level is not None:
            head.bias -= run.image_level.logit
            return
        if 0.45 <= float((run.probability >= 0.5).mean()) <= 0.55:
            return
        p = np.clip(run.probability.astype(np.float64), 1e-7, 1 - 1e-7)
        head.bias[-1] -= float(np.median(np.log(p / (1 - p))))


def measure(localizer, image: LoadedImage, sample: torch.Tensor, windows_per_call: int = 1) -> dict:
    """`sample` is one call's input, holding `windows_per_call` windows (or crops)."""
    centre(localizer, image)
    spec = REGISTRY[localizer.name]
    auto = resolve_runtime("cpu", "auto", spec.fidelity)
    flops = window_flops(localizer.net, sample)
    result = {
        "auto": auto.precision,
        "why": auto.precision_reason,
        **fidelity(localizer, image),
        "gflop_per_window": round(flops / windows_per_call / 1e9, 1),
    }
    for precision in ("float32", "bfloat16") if cpu_bf16_support() else ("float32",):
        runtime = replace(auto, dtype=getattr(torch, precision))
        seconds = seconds_per_call(localizer.net, sample, runtime)
        peak, how = cpu_peak_gflops(precision)
        result[f"{precision}_s_per_window"] = round(seconds / windows_per_call, 3)
        result[f"{precision}_fraction_of_peak"] = round(flops / seconds / 1e9 / peak, 3)
        result["peak"] = how
    began = time.perf_counter()
    run = run_to_end(localizer.analyze(image, AnalysisOptions(device="cpu")))
    result["end_to_end_s_auto"] = round(time.perf_counter() - began, 2)
    result["windows"] = run.windows
    return result


def compile_gain(localizer, sample: torch.Tensor) -> dict:
    """torch.compile (inductor, freezing) of the DinoLizer window in float32: compile time, gain."""
    import torch._inductor.config as inductor

    inductor.freezing = True
    runtime = resolve_runtime("cpu", "float32", REGISTRY["dinolizer"].fidelity)
    eager = seconds_per_call(localizer.net, sample, runtime)
    compiled = torch.compile(localizer.net)
    began = time.perf_counter()
    with torch.inference_mode():
        compiled(sample)
    compile_seconds = time.perf_counter() - began
    fast = seconds_per_call(compiled, sample, runtime)
    return {
        "compile_s": round(compile_seconds, 1),
        "eager_s_per_batch": round(eager, 3),
        "compiled_s_per_batch": round(fast, 3),
        "speedup": round(eager / fast, 3),
    }


def _dinolizer(folder: Path, image: LoadedImage, args) -> dict:
    release = folder / "epoch=36_val_loss=0.2130.ckpt"
    factories.make_dinolizer_release(release, **factories.FULL, head_scale=0.4)
    dinolizer = load_localizer("dinolizer", [release])
    result = measure(dinolizer, image, torch.randn(4, 3, 504, 504), 4)
    if not args.skip_compile:
        result["compile_float32"] = compile_gain(dinolizer, torch.randn(4, 3, 504, 504))
    return result


def declip_vit_checkpoint(folder: Path) -> Path:
    vit = folder / "ViT_layer20_conv-20_cocosd.pth"
    if not vit.exists():
        content, _ = factories.make_declip_vit(
            None, embed_dim=1024, depth=24, layer=20, convs=20, channels=(1024, 512, 256, 128, 64)
        )
        torch.save(content, vit)
    return vit


def _declip(folder: Path, image: LoadedImage, args) -> dict:
    return measure(
        load_localizer("declip", [declip_vit_checkpoint(folder)]), image, torch.randn(1, 3, 224, 224)
    )


def _declip_fusion(folder: Path, image: LoadedImage, args) -> dict:
    rn50 = folder / "RN50.safetensors"
    factories.make_openai_rn50(rn50, layers=(3, 4, 6), width=64, fmt="safetensors")
    decoder = folder / "ViT_layer20+RN50_layer3_conv-20_cocosd.pth"
    factories.make_declip_fusion(
        decoder, vit_width=1024, resnet_width=64, convs=20, channels=(512, 256, 128, 64)
    )
    localizer = load_localizer("declip", [decoder, rn50, declip_vit_checkpoint(folder)])
    return measure(localizer, image, torch.randn(1, 3, 224, 224))


def _bfree(folder: Path, image: LoadedImage, args) -> dict:
    bfree = folder / "model_epoch_best.pth"
    factories.make_bfree_backbone(bfree, embed_dim=768, depth=12)
    return measure(load_localizer("bfree", [bfree]), image, torch.randn(5, 768, 36, 36), 5)


MEASURES = {"dinolizer": _dinolizer, "declip": _declip, "declip_fusion": _declip_fusion, "bfree": _bfree}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--width", type=int, default=1200)
    parser.add_argument("--height", type=int, default=900)
    parser.add_argument("--skip-compile", action="store_true")
    parser.add_argument("--models", nargs="+", choices=list(MEASURES), default=list(MEASURES))
    args = parser.parse_args()
    torch.manual_seed(0)
    image = blocky_photo(args.width, args.height)
    report: dict = {
        "cpu": next(iter(re.findall(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())), "?"),
        "cpu_bf16": cpu_bf16_support() or "none",
        "image": f"{args.width}x{args.height}",
        "torch_threads": torch.get_num_threads(),
        "cpus": os.cpu_count(),
    }
    with tempfile.TemporaryDirectory() as folder:
        for name in args.models:
            report[name] = MEASURES[name](Path(folder), image, args)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
