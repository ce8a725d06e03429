"""Batch benchmarks: re-opening a finished batch versus analysing it, and peak memory on a 50 MP image.

    .venv/bin/python benchmarks/bench_batch.py [--images 200] [--skip-50mp]

The re-open ratio uses the small test architectures in the official layouts
(the full-size per-window time from bench_inference.py gives the ratio with
the real models); the 50 MP memory figure uses the full-size architectures.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dinolizer_gui.core.engine.analysis import AnalysisOptions  # noqa: E402
from dinolizer_gui.core.engine.tiling import WindowGrid, dinolizer_working_size  # noqa: E402
from dinolizer_gui.core.models.registry import load_localizer  # noqa: E402
from dinolizer_gui.core.progress import run_to_end  # noqa: E402
from dinolizer_gui.core.session.batch import BatchRunner, make_items  # noqa: E402
from dinolizer_gui.core.store.results import ResultStore  # noqa: E402
from tests import factories  # noqa: E402

FULL_SIZE_SECONDS_PER_WINDOW = 0.97  # bench_inference.py on the 2-core CPU machine


def photo(rng, height, width) -> np.ndarray:
    small = rng.integers(0, 256, (max(2, height // 32), max(2, width // 32), 3), dtype=np.uint8)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)


def reopen_ratio(folder: Path, weights: dict, count: int) -> dict:
    rng = np.random.default_rng(0)
    images = folder / "batch"
    images.mkdir()
    for index in range(count):
        Image.fromarray(photo(rng, 384, 512)).save(images / f"img{index:03d}.jpg", quality=92)
    localizers = [
        load_localizer("dinolizer", [weights["release"]]),
        load_localizer("declip", [weights["declip"]]),
    ]
    store = ResultStore(folder / "store")
    options = AnalysisOptions(device="cpu")
    began = time.perf_counter()
    first = make_items([images])
    run_to_end(BatchRunner(localizers, options, store).run(first))
    analyse = time.perf_counter() - began
    began = time.perf_counter()
    again = make_items([images])
    run_to_end(BatchRunner(localizers, options, store).run(again))
    reopen = time.perf_counter() - began
    assert all(m.cached for item in again for m in item.models.values())
    width, height = dinolizer_working_size(512, 384)
    windows = len(WindowGrid(height, width, 504, 128))
    full_analyse = count * windows * FULL_SIZE_SECONDS_PER_WINDOW
    return {
        "images": count,
        "analyse_s_small_models": round(analyse, 1),
        "reopen_s": round(reopen, 2),
        "ratio_small_models": round(analyse / reopen, 1),
        "dinolizer_windows_per_image": windows,
        "ratio_full_size_dinolizer_estimated": round(full_analyse / reopen, 0),
    }


def peak_memory_50mp(folder: Path) -> dict:
    """Full-size DinoLizer (ViT-B/14) and DeCLIP (ViT-L/14, conv-20) on a 50 MP image, analysed and written.

    Stride 504 keeps the run to minutes: the stride changes how many windows run, not the canvas, the batch
    or the maps that set the peak.
    """
    release, declip = folder / "full-release.ckpt", folder / "ViT_layer20_conv-20_cocosd.pth"
    factories.make_dinolizer_release(release, **factories.FULL)
    content, _ = factories.make_declip_vit(
        None, embed_dim=1024, depth=24, layer=20, convs=20, channels=(1024, 512, 256, 128, 64)
    )
    import torch

    torch.save(content, declip)
    del content
    path = folder / "fifty_mp.jpg"
    Image.fromarray(photo(np.random.default_rng(1), 5773, 8660)).save(path, quality=90)
    command = [
        sys.executable,
        "-m",
        "dinolizer_gui",
        "analyze",
        str(path),
        "--out",
        str(folder / "out50"),
        "--device",
        "cpu",
        "--quiet",
        "--no-cache",
        "--weights",
        f"dinolizer={release}",
        "--weights",
        f"declip={declip}",
        "--max-pixels",
        "60000000",
        "--stride",
        "504",
    ]
    began = time.perf_counter()
    subprocess.run(command, check=True, cwd=ROOT)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "image": "8660 x 5773 (50 MP)",
        "models": "full-size DinoLizer + DeCLIP ViT-L/14 conv-20",
        "stride": 504,
        "seconds": round(time.perf_counter() - began, 1),
        "peak_rss_mib": round(peak),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--skip-50mp", action="store_true")
    parser.add_argument("--skip-reopen", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        weights = {"release": folder / "epoch=36_val_loss=0.2130.ckpt", "declip": folder / "declip.pth"}
        factories.make_dinolizer_release(weights["release"], head_scale=0.4)
        factories.make_declip_vit(weights["declip"])
        report = {} if args.skip_reopen else {"reopen": reopen_ratio(folder, weights, args.images)}
        if not args.skip_50mp:
            report["memory_50mp"] = peak_memory_50mp(folder)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
