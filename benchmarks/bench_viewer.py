"""Viewer responsiveness: the worst main-thread stall while a model runs, and the
time to re-render after a threshold change on a 12 MP image (goals: <= 50 ms each).

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_viewer.py
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2
import numpy as np
from PIL import Image
from PySide6.QtCore import QElapsedTimer, QTimer
from PySide6.QtWidgets import QApplication

from dinolizer_gui.core.engine.analysis import ModelRun
from dinolizer_gui.core.io.images import load_image
from dinolizer_gui.core.session.image_results import ModelResult
from dinolizer_gui.ui.document import Document
from dinolizer_gui.ui.main_window import MainWindow
from dinolizer_gui.ui.qimages import rgb_image
from tests import factories


def worst_stall_during_analysis(app, window, image_path: Path) -> dict:
    """Ticks a 5 ms timer on the GUI thread while the worker analyses; reports the longest gap."""
    gaps, clock = [], QElapsedTimer()
    clock.start()
    last = [clock.elapsed()]

    def tick():
        now = clock.elapsed()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer(interval=5)
    timer.timeout.connect(tick)
    done = []
    window.view.analysisFinished.connect(lambda _: done.append(time.perf_counter()))
    started = time.perf_counter()
    timer.start()
    window.open_paths([str(image_path)])
    while not done:
        app.processEvents()
        time.sleep(0.001)
    timer.stop()
    return {
        "analysis_s": round(done[0] - started, 2),
        "ticks": len(gaps),
        "worst_stall_ms": max(gaps),
        "p99_stall_ms": float(np.percentile(gaps, 99)),
    }


def synthetic_document(window, path: Path, localizers) -> Document:
    image = load_image(path)
    rng = np.random.default_rng(0)
    document = Document(str(path), image, {}, base=rgb_image(image.rgb))
    for localizer in localizers:
        noise = cv2.GaussianBlur(rng.random((image.height, image.width), dtype=np.float32), (0, 0), 40)
        probability = ((noise - noise.min()) / (noise.max() - noise.min())).astype(np.float32)
        run = ModelRun(probability, 1, (image.width, image.height), [], "CPU")
        score = float(np.percentile(probability, 99))
        document.models[localizer.name] = ModelResult.of(localizer, run, score, window.workspace.thresholds)
    return document


def rerender_times(app, window, document: Document) -> dict:
    window.view.wanted_path = document.path
    window.view.offer(document, document.path)
    app.processEvents()
    results = {}
    for mode in ("Overlay", "Mask", "Contours", "Agreement"):
        window.toolbar.mode_combo.setCurrentText(mode)
        app.processEvents()
        samples = []
        for step in range(8):
            began = time.perf_counter()
            window.controls.threshold["dinolizer"].set_value(0.4 + 0.02 * step)  # what a slider move triggers
            window.repaint()
            app.processEvents()
            samples.append((time.perf_counter() - began) * 1000)
        results[mode] = {
            "median_ms": round(statistics.median(samples), 1),
            "worst_ms": round(max(samples), 1),
        }
    done = []
    window.thresholds.regionsReady.connect(lambda *_: done.append(time.perf_counter()))
    began = time.perf_counter()
    window.thresholds.refresh_regions()
    main_thread_ms = (time.perf_counter() - began) * 1000
    while not done:
        app.processEvents()
    results["regions_table"] = {
        "computed_on_worker_ms": round((done[0] - began) * 1000, 1),
        "main_thread_ms": round(main_thread_ms, 1),
    }
    return results


def main() -> None:
    app = QApplication(sys.argv[:1])
    folder = Path(tempfile.mkdtemp())
    os.environ["DINOLIZER_GUI_STORE"] = str(
        folder / "store"
    )  # measure a real analysis, never a stored result
    release = folder / "epoch=36_val_loss=0.2130.ckpt"
    declip = folder / "ViT_layer20_conv-20_cocosd.pth"
    factories.make_dinolizer_release(release, **factories.FULL)
    factories.make_declip_vit(declip)
    window = MainWindow(config_folder=folder / "config")
    window.resize(1600, 900)
    window.show()
    window.set_model_files("dinolizer", [release])
    window.set_model_files("declip", [declip])
    small = folder / "analysis.png"
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (632, 1016, 3), dtype=np.uint8)).save(small)
    stall = worst_stall_during_analysis(app, window, small)
    big = folder / "twelve_mp.jpg"
    Image.fromarray(
        cv2.resize(np.random.default_rng(2).integers(0, 256, (300, 400, 3), dtype=np.uint8), (4000, 3000))
    ).save(big, quality=90)
    localizers = [result.localizer for result in window.view.current.models.values()]
    rerender = rerender_times(app, window, synthetic_document(window, big, localizers))
    print(
        json.dumps(
            {"stall_during_full_size_dinolizer_analysis": stall, "threshold_rerender_12mp": rerender},
            indent=2,
        )
    )
    window.close()


if __name__ == "__main__":
    main()
