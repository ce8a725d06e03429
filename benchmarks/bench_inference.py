"""End-to-end analysis time versus the raw backbone on the same windows, and peak memory.

Full-size architectures with random weights in the official layouts. Reports
ratios (goal: end-to-end overhead <= 5 % on the CPU). `overhead_same_run` is
the time outside the network's forward passes within one analysis, relative
to the time inside them; `overhead_vs_separate_raw_run` compares with a
separate loop of bare forward passes, and carries the run-to-run noise of a
busy 2-core machine.

    .venv/bin/python benchmarks/bench_inference.py [--width 760 --height 632] [--device cpu]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dinolizer_gui.core.engine.analysis import AnalysisOptions
from dinolizer_gui.core.engine.inference import IMAGENET_MEAN, IMAGENET_STD
from dinolizer_gui.core.engine.tiling import WindowGrid, dinolizer_working_size
from dinolizer_gui.core.io.images import LoadedImage
from dinolizer_gui.core.models.localizer import model_runtime
from dinolizer_gui.core.models.registry import load_localizer
from dinolizer_gui.core.progress import run_to_end
from tests import factories


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def raw_backbone_seconds(net, grid: WindowGrid, rgb: np.ndarray, batch: int, runtime) -> float:
    """Only the ViT forward passes over the same windows (no cropping, upsampling or aggregation timed)."""
    pixels = torch.from_numpy(rgb.copy()).permute(2, 0, 1).to(runtime.device)
    mean = torch.tensor(IMAGENET_MEAN, device=runtime.device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=runtime.device).view(1, 3, 1, 1)
    boxes, size, total = grid.boxes, grid.window, 0.0
    with torch.inference_mode():
        for start in range(0, len(boxes), batch):
            windows = torch.stack(
                [
                    pixels[:, top : top + size, left : left + size]
                    for top, left in boxes[start : start + batch]
                ]
            )
            windows = (windows.float() / 255 - mean) / std
            _sync(runtime)
            began = time.perf_counter()
            with runtime.autocast():
                net(windows)
            _sync(runtime)
            total += time.perf_counter() - began
    return total


def time_inside_net(net, runtime) -> list[float]:
    """Accumulates the seconds spent in the network's forward passes during a real run."""
    spent, started = [0.0], []

    def before(*_):
        _sync(runtime)
        started.append(time.perf_counter())

    def after(*_):
        _sync(runtime)
        spent[0] += time.perf_counter() - started.pop()

    net.register_forward_pre_hook(before)
    net.register_forward_hook(after)
    return spent


def _sync(runtime):
    if runtime.is_cuda:
        torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--width", type=int, default=760)
    parser.add_argument("--height", type=int, default=632)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    torch.manual_seed(0)
    options = AnalysisOptions(device=args.device)
    runtime = model_runtime("dinolizer", options)
    rgb = np.random.default_rng(0).integers(0, 256, (args.height, args.width, 3), dtype=np.uint8)
    image = LoadedImage("bench.png", rgb, "0" * 64, 0, "PNG", "RGB")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "epoch=36_val_loss=0.2130.ckpt"
        factories.make_dinolizer_release(path, **factories.FULL)
        localizer = load_localizer("dinolizer", [path])
    localizer.net.to(runtime.device)
    working = dinolizer_working_size(args.width, args.height)
    grid = WindowGrid(working[1], working[0], 504, options.stride)
    run_to_end(localizer.analyze(image, options))  # warm-up
    end_to_end, raw, inside = [], [], []
    for _ in range(args.repeats):
        raw.append(raw_backbone_seconds(localizer.net, grid, rgb, options.batch_for(runtime), runtime))
    spent = time_inside_net(localizer.net, runtime)
    for _ in range(args.repeats):
        spent[0] = 0.0
        began = time.perf_counter()
        run_to_end(localizer.analyze(image, options))
        end_to_end.append(time.perf_counter() - began)
        inside.append(spent[0])
    best_e2e, best_raw = min(end_to_end), min(raw)
    same_run = min((e - i) / i for e, i in zip(end_to_end, inside, strict=True))
    report = {
        "device": runtime.description,
        "image": f"{args.width}x{args.height}",
        "windows": len(grid),
        "end_to_end_s": round(best_e2e, 3),
        "raw_backbone_s": round(best_raw, 3),
        "overhead_vs_separate_raw_run": round(best_e2e / best_raw - 1.0, 4),
        "overhead_same_run": round(same_run, 4),
        "per_window_s": round(best_e2e / len(grid), 3),
        "peak_rss_mib": round(peak_rss_mib(), 1),
        "torch_threads": torch.get_num_threads(),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
