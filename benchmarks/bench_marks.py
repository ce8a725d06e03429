"""Panning and zooming a 50 MP image with the examiner's marks on it: the time to draw one frame of a panel
(its viewport rendered as the screen would show it) with 0 and with 200 marks of every shape, at the fit
and at 100 % and 400 %, measured in one run; the ratio is what the marks cost.

Offscreen (no screen needed); on a real screen the raster work is the same, the upload to it comes on top.

    .venv/bin/python benchmarks/bench_marks.py [--width 8660 --height 5774 --marks 200 --frames 30]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QApplication

from dinolizer_gui.core.store.findings import CATEGORIES, SHAPES, Mark
from dinolizer_gui.ui.image_view import ImageView
from dinolizer_gui.ui.marks import MarksLayer
from dinolizer_gui.ui.qimages import rgb_image


def marks(count: int, width: int, height: int) -> list[Mark]:
    """`count` marks of every shape and category spread over the image (freehand outlines of 400 points)."""
    chance = random.Random(7)
    made = []
    for index in range(count):
        shape, category = SHAPES[index % len(SHAPES)], CATEGORIES[index % len(CATEGORIES)]
        x, y = chance.uniform(0, width - 600), chance.uniform(0, height - 600)
        if shape in ("rectangle", "ellipse", "arrow"):
            points = [[x, y], [x + chance.uniform(50, 600), y + chance.uniform(50, 600)]]
        else:
            sides = 400 if shape == "freehand" else 8
            angles = np.linspace(0, 2 * np.pi, sides, endpoint=False)
            points = [[x + 300 + 250 * np.cos(a), y + 300 + 250 * np.sin(a)] for a in angles]
        made.append(Mark.new(shape, points, category, "bench", f"mark {index}"))
    return made


def frame_times(view: ImageView, frames: int, scale: float | None) -> list[float]:
    """Seconds to render the viewport after each pan step (and zoom, where given)."""
    if scale is None:
        view.fit()
    else:
        view.set_scale(scale)
    width, height = view.sceneRect().width(), view.sceneRect().height()
    times = []
    for step in range(frames):
        view.centerOn(QPointF(width * (0.2 + 0.6 * step / frames), height * (0.3 + 0.4 * step / frames)))
        started = time.perf_counter()
        view.viewport().grab()  # the whole viewport painted, items and pixmap, as the screen would show it
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--width", type=int, default=8660)
    parser.add_argument("--height", type=int, default=5774)
    parser.add_argument("--marks", type=int, default=200)
    parser.add_argument("--frames", type=int, default=30)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 256, (args.height // 8, args.width // 8, 3), np.uint8).repeat(8, 0).repeat(8, 1)
    view = ImageView()
    view.resize(1100, 800)
    view.show()
    view.set_base(rgb_image(pixels))
    layer = MarksLayer(view.scene())
    results = {}
    for count in (0, args.marks):
        layer.show(marks(count, args.width, args.height), "")
        app.processEvents()
        for name, scale in (("fit", None), ("100%", 1.0), ("400%", 4.0)):
            times = frame_times(view, args.frames, scale)
            results[f"{count} marks, {name}"] = round(1000 * statistics.median(times), 2)
    for name in ("fit", "100%", "400%"):
        results[f"ratio at {name}"] = round(
            results[f"{args.marks} marks, {name}"] / results[f"0 marks, {name}"], 2
        )
    print(json.dumps({"image": f"{args.width}x{args.height}", "median frame ms": results}, indent=2))


if __name__ == "__main__":
    main()
