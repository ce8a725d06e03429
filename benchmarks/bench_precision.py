"""CPU float32 versus `--precision auto` (bfloat16 where the CPU computes it natively), per window and
end to end, for the full-size DinoLizer (ViT-B/14) and DeCLIP (ViT-L/14 conv-20), with how far the
maps move (mean |diff|, IoU of the 0.5 masks). Random weights in the official layouts.

Goals where bf16 is native: >= 3x for DinoLizer, >= 2x for DeCLIP, mean |diff| <= 2e-3, IoU >= 0.98.

    .venv/bin/python benchmarks/bench_precision.py [--width 1200 --height 900]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dinolizer_gui.core.analysis import AnalysisOptions
from dinolizer_gui.core.device import cpu_bf16_support, resolve_runtime
from dinolizer_gui.core.imageio import LoadedImage
from dinolizer_gui.core.models.registry import load_localizer
from dinolizer_gui.core.progress import run_to_end
from tests import factories

PRECISIONS = ("float32", "auto")


def blocky_photo(width: int, height: int) -> LoadedImage:
    """Flat 8x8 blocks, so that the random networks give maps with structure rather than noise."""
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (height // 8 + 1, width // 8 + 1, 3), dtype=np.uint8)
    rgb = np.kron(base, np.ones((8, 8, 1), np.uint8))[:height, :width].copy()
    return LoadedImage("bench.png", rgb, "0" * 64, 0, "PNG", "RGB")


def seconds_per_window(net, side: int, batch: int, precision: str, repeats: int = 3) -> float:
    runtime = resolve_runtime("cpu", precision)
    windows = torch.randn(batch, 3, side, side)
    best = float("inf")
    with torch.inference_mode(), runtime.autocast():
        net(windows)  # warm-up
        for _ in range(repeats):
            began = time.perf_counter()
            net(windows)
            best = min(best, time.perf_counter() - began)
    return best / batch


def end_to_end(localizer, image: LoadedImage, options: AnalysisOptions) -> tuple[float, np.ndarray]:
    began = time.perf_counter()
    run = run_to_end(localizer.analyze(image, options))
    return time.perf_counter() - began, run.probability


def compare(localizer, image: LoadedImage, side: int, batch: int, **options) -> dict:
    per_window = {p: seconds_per_window(localizer.net, side, batch, p) for p in PRECISIONS}
    run_to_end(localizer.analyze(image, AnalysisOptions(device="cpu", **options)))  # warm-up
    timed = {
        p: end_to_end(localizer, image, AnalysisOptions(device="cpu", precision=p, **options))
        for p in PRECISIONS
    }
    exact, fast = timed["float32"][1], timed["auto"][1]
    union = ((exact >= 0.5) | (fast >= 0.5)).sum()
    return {
        "per_window_s": {p: round(s, 3) for p, s in per_window.items()},
        "per_window_speedup": round(per_window["float32"] / per_window["auto"], 2),
        "end_to_end_s": {p: round(t[0], 2) for p, t in timed.items()},
        "end_to_end_speedup": round(timed["float32"][0] / timed["auto"][0], 2),
        "map_mean_abs_diff": float(f"{np.abs(exact - fast).mean():.2e}"),
        "mask_iou": round(float(((exact >= 0.5) & (fast >= 0.5)).sum() / max(union, 1)), 5),
        "masked_fraction": round(float((exact >= 0.5).mean()), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--width", type=int, default=1200)
    parser.add_argument("--height", type=int, default=900)
    args = parser.parse_args()
    torch.manual_seed(0)
    image = blocky_photo(args.width, args.height)
    report = {
        "cpu_bf16": cpu_bf16_support() or "none (auto = float32)",
        "auto": resolve_runtime("cpu", "auto").precision_reason,
        "image": f"{args.width}x{args.height}",
        "torch_threads": torch.get_num_threads(),
    }
    with tempfile.TemporaryDirectory() as folder:
        release = Path(folder) / "epoch=36_val_loss=0.2130.ckpt"
        factories.make_dinolizer_release(release, **factories.FULL)
        report["dinolizer"] = compare(load_localizer("dinolizer", [release]), image, 504, 4)
        declip = Path(folder) / "ViT_layer20_conv-20_cocosd.pth"
        content, _ = factories.make_declip_vit(
            None, embed_dim=1024, depth=24, layer=20, convs=20, channels=(1024, 512, 256, 128, 64)
        )
        torch.save(content, declip)
        del content
        localizer = load_localizer("declip", [declip])
        report["declip_whole"] = compare(localizer, image, 224, 1)
        report["declip_sliding"] = compare(localizer, image, 224, 4, declip_mode="sliding")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
