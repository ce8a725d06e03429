"""Cluster throughput: the same folder analysed by 1 and by 2 CPU Ray actors on this machine (a ratio),
with the full-size DinoLizer (random weights in the release layout), and what N GPU actors should give
from the measured seconds per window.

    .venv/bin/python benchmarks/bench_cluster.py [--images 6]
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dinolizer_gui.core.session.batch import make_items  # noqa: E402
from dinolizer_gui.core.session.cluster import ClusterOptions, ClusterRunner  # noqa: E402
from dinolizer_gui.core.session.settings import Settings  # noqa: E402
from dinolizer_gui.core.session.workspace import Workspace  # noqa: E402
from tests import factories  # noqa: E402

WINDOWS_PER_12MP = 609  # 4000 x 3000 at the official stride 128


def images_per_second(folder: Path, weights: Path, actors: int, threads: int) -> float:
    workspace = Workspace(Settings(device="cpu", precision="float32"), folder / "config", None, None)
    models = [workspace.model("dinolizer", [weights])]
    options = ClusterOptions(actors=actors, threads=threads)
    runner = ClusterRunner(models, workspace.options(), None, workspace.thresholds, None, options)
    items = make_items([folder / "images"])
    started = time.perf_counter()
    try:
        for _ in runner.run(items):
            pass
    finally:
        runner.close()
    return len(items) / (time.perf_counter() - started)


def main() -> None:
    import ray

    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=6)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    (folder / "images").mkdir()
    for index in range(args.images):  # 632 x 632: 4 windows each at stride 128
        pixels = np.random.default_rng(index).integers(0, 256, (632, 632, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / "images" / f"img{index}.png")
    weights = folder / "epoch=36_val_loss=0.2130.ckpt"
    factories.make_dinolizer_release(weights, **factories.FULL)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    one = images_per_second(folder, weights, actors=1, threads=2)
    two = images_per_second(folder, weights, actors=2, threads=1)
    ray.shutdown()
    seconds_per_window = 1 / (one * 4)
    print(
        json.dumps(
            {
                "images": args.images,
                "windows_per_image": 4,
                "one_actor_2_threads_images_per_s": round(one, 3),
                "two_actors_1_thread_images_per_s": round(two, 3),
                "ratio_two_over_one": round(two / one, 2),
                "cpu_seconds_per_window_here": round(seconds_per_window, 2),
                "expected_12mp_images_per_hour": {
                    "per CPU node like this one": round(3600 / (WINDOWS_PER_12MP * seconds_per_window), 1),
                    "per GPU: 3600 / (609 x its s/window), e.g. at 0.02 s/window": round(
                        3600 / (WINDOWS_PER_12MP * 0.02), 0
                    ),
                },
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
