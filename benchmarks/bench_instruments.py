"""Every view of the four instruments on a 50 MP JPEG, in one run: seconds to compute, seconds to draw its
pictures, peak memory, and the longest step between two progress reports (how long a cancel may wait).
`cpu_s` is the processor time it took on all its threads: on a machine shared with other work,
`compute_s` depends on the load, `cpu_s` hardly.

Each instrument runs in a child process of its own (forked, so it shares the image without copying it), whose
peak resident memory is reset at its start: `peak_extra_mb` is what the instrument itself added to the
process (OpenCV's and libjpeg's own buffers included), `numpy_peak_mb` the largest total of numpy arrays it
held at once (tracemalloc).

    .venv/bin/python benchmarks/bench_instruments.py [--width 8660 --height 5774]
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dinolizer_gui.core.instruments import INSTRUMENTS, SourceFacts, compute
from dinolizer_gui.core.progress import run_to_end
from tests.factories import photograph


def evidence(width: int, height: int) -> tuple[np.ndarray, SourceFacts]:
    """A photograph-like scene of the size asked (a small one enlarged, with sensor noise), a 400 px area of
    it copied elsewhere, saved at quality 90 (4:2:0) and decoded: a real JPEG grid for the ghosts and error
    level, a copy for copy-move."""
    small = photograph(height // 4, width // 4, seed=11)
    scene = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    noise = np.random.default_rng(0).normal(0, 2.0, (height, width, 1)).astype(np.float32)
    scene = np.clip(scene + noise, 0, 255).astype(np.uint8)
    scene[4000:4400, 6500:6900] = scene[1400:1800, 3800:4200]
    buffer = io.BytesIO()
    Image.fromarray(scene).save(buffer, "JPEG", quality=90, subsampling="4:2:0")
    data = buffer.getvalue()
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image).copy(), SourceFacts.from_file("JPEG", data)


def _status(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024  # kB to MB
    return float("nan")


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)  # every thread of this process
    return usage.ru_utime + usage.ru_stime


def measure(name: str, rgb: np.ndarray, source: SourceFacts, results) -> None:
    Path("/proc/self/clear_refs").write_text("5")  # the peak resident memory starts again from here
    start = _status("VmRSS")
    tracemalloc.start()
    cpu = _cpu_seconds()
    began = time.perf_counter()
    reports = [began]
    result = run_to_end(
        compute(name, rgb, None, source), lambda _progress: reports.append(time.perf_counter())
    )
    computed = time.perf_counter() - began
    cpu = _cpu_seconds() - cpu
    drawn = time.perf_counter()
    for key in result.pictures():
        result.picture(key)
    pictures = time.perf_counter() - drawn
    numpy_peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    figures = {
        "compute_s": round(computed, 2),
        "cpu_s": round(cpu, 2),
        "longest_step_s": round(max(np.diff([*reports, began + computed])), 2),
        "pictures": len(result.pictures()),
        "pictures_s": round(pictures, 2),
        "peak_extra_mb": round(_status("VmHWM") - start),
        "numpy_peak_mb": round(numpy_peak),
    }
    if name == "copymove":
        record = result.to_record({})
        figures["clusters"] = [(c["matches"], c["source"], c["target"]) for c in record["clusters"]]
        figures["keypoints"] = record["keypoints"]
    results.put((name, figures))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--width", type=int, default=8660)
    parser.add_argument("--height", type=int, default=5774)
    args = parser.parse_args()
    rgb, source = evidence(args.width, args.height)
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    report: dict = {"image": f"{args.width}x{args.height} ({args.width * args.height / 1e6:.1f} MP)"}
    report["image_mb"] = round(rgb.nbytes / 2**20)
    for name in INSTRUMENTS:
        child = context.Process(target=measure, args=(name, rgb, source, results))
        child.start()
        report[name] = results.get()[1]
        child.join()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
