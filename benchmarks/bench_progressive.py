"""Time to the first preview that covers every pixel versus the whole analysis, for the full-size DinoLizer
(ViT-B/14, random weights in the release layout) on a 4000x3000 image at the official stride, as the viewer
runs it (progressive, `--precision auto`). Goal: <= 1/8.

    .venv/bin/python benchmarks/bench_progressive.py [--width 4000 --height 3000]
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

from dinolizer_gui.core.engine.analysis import AnalysisOptions
from dinolizer_gui.core.engine.tiling import WindowGrid, dinolizer_working_size
from dinolizer_gui.core.io.images import LoadedImage
from dinolizer_gui.core.models.localizer import model_runtime
from dinolizer_gui.core.models.registry import load_localizer
from tests import factories


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--width", type=int, default=4000)
    parser.add_argument("--height", type=int, default=3000)
    args = parser.parse_args()
    torch.manual_seed(0)
    rgb = np.random.default_rng(0).integers(0, 256, (args.height, args.width, 3), dtype=np.uint8)
    image = LoadedImage("bench.png", rgb, "0" * 64, 0, "PNG", "RGB")
    with tempfile.TemporaryDirectory() as folder:
        release = Path(folder) / "epoch=36_val_loss=0.2130.ckpt"
        factories.make_dinolizer_release(release, **factories.FULL)
        localizer = load_localizer("dinolizer", [release])
    width, height = dinolizer_working_size(args.width, args.height)
    grid = WindowGrid(height, width, 504, 128)
    options = AnalysisOptions(device="cpu", progressive=True)
    began, first_preview, windows_then = time.perf_counter(), None, 0
    analysis = localizer.analyze(image, options)
    try:
        while True:
            progress = next(analysis)
            if progress.preview is not None and first_preview is None:
                first_preview, windows_then = time.perf_counter() - began, progress.done
    except StopIteration:
        whole = time.perf_counter() - began
    report = {
        "image": f"{args.width}x{args.height}",
        "precision": model_runtime("dinolizer", AnalysisOptions(device="cpu")).label,
        "windows": len(grid),
        "first_pass_windows": len(grid.first_pass),
        "first_preview_after_windows": windows_then,
        "first_preview_s": round(first_preview, 1),
        "whole_s": round(whole, 1),
        "ratio": round(first_preview / whole, 3),
        "window_ratio": round(len(grid.first_pass) / len(grid), 3),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
