"""Does a batch cost time linear in its size? `analyze` of N tiny images (32 x 32 px, the small test DeCLIP
checkpoint, a fresh results store) for two sizes: the time per image should stay the same (ratio of the totals
close to the ratio of the sizes). Before the results journal, results.json was serialised whole after every
image: 300 images took 13 s, 1,200 took 138 s.

    .venv/bin/python benchmarks/bench_batch_scale.py [--sizes 500 2000]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dinolizer_gui.cli import main
from tests import factories


def seconds_for(count: int, folder: Path, weights: Path) -> float:
    images = folder / f"images-{count}"
    images.mkdir()
    rng = np.random.default_rng(count)
    for index in range(count):
        Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(images / f"{index:05d}.png")
    began = time.perf_counter()
    code = main(
        [
            "analyze",
            str(images),
            "--out",
            str(folder / f"out-{count}"),
            "--store",
            str(folder / f"store-{count}"),
            "--device",
            "cpu",
            "--quiet",
            "--weights",
            f"declip={weights}",
        ]
    )
    elapsed = time.perf_counter() - began
    assert code == 0, code
    return elapsed


def main_benchmark() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs=2, default=(500, 2000))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        weights = folder / "ViT_layer20_conv-20_cocosd.pth"
        factories.make_declip_vit(weights)
        small, large = args.sizes
        times = {count: seconds_for(count, folder, weights) for count in (small, large)}
    print(
        json.dumps(
            {
                "images": list(times),
                "seconds": {count: round(t, 1) for count, t in times.items()},
                "ms_per_image": {count: round(1000 * t / count, 1) for count, t in times.items()},
                "size_ratio": large / small,
                "time_ratio": round(times[large] / times[small], 2),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main_benchmark()
