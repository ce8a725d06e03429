"""What an analyst waits for before any model runs.

- launch to window: `dinolizer-gui` started until its window is painted, versus `python -c "import torch,
  timm"` on the same machine (goal: the window comes first);
- a second `analyze` of a six-image folder whose maps are all stored, versus the first (goal >= 5x), with
  the full-size DinoLizer and DeCLIP (random weights in the official layouts);
- re-opening a folder of 200 stored images in the viewer until every row is listed and the first image is
  shown with its maps (goal < 2 s), with the small test architectures.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_startup.py [--skip-rerun] [--skip-viewer]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from tests import factories  # noqa: E402

LAUNCH = """
import sys, time
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
app = QApplication(sys.argv[:1])

def painted():
    window = next(w for w in app.topLevelWidgets() if type(w).__name__ == "MainWindow")
    window.grab()
    print(time.time(), flush=True)
    app.quit()

QTimer.singleShot(0, painted)
from dinolizer_gui.cli import main
sys.exit(main([]))
"""


def launch_to_window(env: dict, repeats: int) -> dict:
    window, imports = [], []
    for _ in range(repeats):
        began = time.time()
        shown = subprocess.run(
            [sys.executable, "-c", LAUNCH], capture_output=True, text=True, env=env, cwd=ROOT
        )
        window.append(float(shown.stdout.split()[0]) - began)
        began = time.time()
        subprocess.run([sys.executable, "-c", "import torch, timm"], check=True, env=env)
        imports.append(time.time() - began)
    return {
        "launch_to_window_s": round(statistics.median(window), 2),
        "import_torch_timm_s": round(statistics.median(imports), 2),
        "runs": repeats,
    }


def photo_folder(folder: Path, count: int, width: int, height: int) -> Path:
    folder.mkdir()
    rng = np.random.default_rng(0)
    for index in range(count):
        base = rng.integers(0, 256, (height // 16 + 1, width // 16 + 1, 3), dtype=np.uint8)
        rgb = np.kron(base, np.ones((16, 16, 1), np.uint8))[:height, :width]
        Image.fromarray(rgb).save(folder / f"img{index:03d}.jpg", quality=92)
    return folder


def full_size_weights(folder: Path) -> list[str]:
    import torch

    release = folder / "epoch=36_val_loss=0.2130.ckpt"
    factories.make_dinolizer_release(release, **factories.FULL)
    declip = folder / "ViT_layer20_conv-20_cocosd.pth"
    content, _ = factories.make_declip_vit(
        None, embed_dim=1024, depth=24, layer=20, convs=20, channels=(1024, 512, 256, 128, 64)
    )
    torch.save(content, declip)
    return ["--weights", f"dinolizer={release}", "--weights", f"declip={declip}"]


def stored_rerun(folder: Path, env: dict) -> dict:
    images = photo_folder(folder / "case", 6, 640, 480)
    weights = full_size_weights(folder)
    seconds = []
    for run in ("first", "second"):
        command = [sys.executable, "-m", "dinolizer_gui", "analyze", str(images), "--out", str(folder / run)]
        began = time.time()
        subprocess.run([*command, *weights, "--quiet"], check=True, env=env, cwd=ROOT)
        seconds.append(time.time() - began)
    results = json.loads((folder / "second" / "results.json").read_text())
    assert all(m["cached"] for image in results["images"] for m in image["models"].values())
    return {
        "images": "6 x 640x480, DinoLizer ViT-B/14 + DeCLIP ViT-L/14",
        "first_s": round(seconds[0], 1),
        "second_s": round(seconds[1], 2),
        "ratio": round(seconds[0] / seconds[1], 1),
    }


def viewer_reopen(folder: Path) -> dict:
    from PySide6.QtWidgets import QApplication

    from dinolizer_gui.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    images = photo_folder(folder / "batch", 200, 512, 384)
    files = {
        "dinolizer": folder / "epoch=36_val_loss=0.2130.ckpt",
        "declip": folder / "ViT_layer20_conv-20_cocosd.pth",
    }
    factories.make_dinolizer_release(files["dinolizer"])
    factories.make_declip_vit(files["declip"])

    def opened(stop_when) -> tuple[MainWindow, float]:
        window = MainWindow(config_folder=folder / "config")
        window.show()
        for name, path in files.items():
            window.set_model_files(name, [path])
        began = time.perf_counter()
        window.open_paths([str(images)])
        while not stop_when(window):
            app.processEvents()
            time.sleep(0.002)
        return window, time.perf_counter() - began

    def batch_done(window) -> bool:
        return window.batch.worker is None and all(i.status != "queued" for i in window.batch.items)

    first, analysed = opened(batch_done)
    first.close()

    def listed_and_shown(window) -> bool:
        shown = window.view.current
        return len(window.batch.items) == 200 and shown is not None and len(shown.models) == 2

    again, reopened = opened(listed_and_shown)
    loaded = len(again.workspace.localizers)
    again.close()
    return {
        "images": 200,
        "first_analysis_s_small_models": round(analysed, 1),
        "rows_listed_and_first_image_shown_s": round(reopened, 2),
        "models_built_on_reopen": loaded,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-rerun", action="store_true")
    parser.add_argument("--skip-viewer", action="store_true")
    args = parser.parse_args()
    report = {}
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        env = {
            **os.environ,
            "DINOLIZER_GUI_CONFIG": str(folder / "config"),
            "DINOLIZER_GUI_STORE": str(folder / "store"),
            "DINOLIZER_GUI_CACHE": str(folder / "cache"),
            "DINOLIZER_GUI_WEIGHTS": str(folder / "weights"),
        }
        os.environ.update(env)
        report["window"] = launch_to_window(env, args.repeats)
        if not args.skip_rerun:
            (folder / "rerun").mkdir()
            report["stored_rerun"] = stored_rerun(folder / "rerun", env)
        if not args.skip_viewer:
            (folder / "viewer").mkdir()
            report["viewer_reopen"] = viewer_reopen(folder / "viewer")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
