"""Screenshots of the classic instruments' views in the real window under Xvfb (docs/tools/screenshot.sh shows
how the others are made): `SCREEN=1600x1000 docs/tools/instrument_screenshots.sh docs/`.

The demo image is scikit-learn's sample photograph "china.jpg" reduced to 3/4 (its own JPEG history goes
with the resampling), forged here three ways, then saved as JPEG at quality 90: a 96 px block saved at
quality 60 first (a JPEG ghost at 60, and an error level apart), a block with Gaussian noise
of sigma 8 added (the noise level), an area copied elsewhere in the image (copy-move). The models use seeded
random weights in the official layouts, as in the other screenshots: their outlines show the drawing, not a
verdict.
"""

import io
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QTimer  # noqa: E402

from dinolizer_gui.core.session.instrument_views import VIEWS, Outline  # noqa: E402
from docs.tools.screenshot import demo_window  # noqa: E402

SHOTS = {  # view: (file, parameters, JPEG ghost quality shown)
    "ela": ("screenshot-ela.png", {"quality": 75}, 75),
    "noise": ("screenshot-noise.png", {}, 75),
    "ghost": ("screenshot-ghost.png", {}, 60),
    "copymove": ("screenshot-copymove.png", {}, 75),
}


def forged_photo(folder: Path) -> Path:
    from sklearn.datasets import load_sample_image

    photo = Image.fromarray(load_sample_image("china.jpg"))  # 427 x 640
    rgb = np.asarray(photo.resize((480, 320), Image.Resampling.LANCZOS)).copy()
    resaved = io.BytesIO()
    Image.fromarray(rgb).save(resaved, "JPEG", quality=60)
    rgb[160:256, 96:192] = np.asarray(Image.open(resaved))[160:256, 96:192]  # on the 8 x 8 grid
    noise = np.random.default_rng(1).normal(0, 8, (96, 96, 3))
    rgb[16:112, 16:112] = np.clip(rgb[16:112, 16:112] + noise, 0, 255).astype(np.uint8)  # in the sky
    rgb[200:296, 368:464] = rgb[224:320, 0:96]  # trees copied over the water
    path = folder / "china_forged.jpg"
    Image.fromarray(rgb).save(path, quality=90)
    return path


def main(out_folder: str) -> None:
    folder = Path(tempfile.mkdtemp())
    app, window = demo_window(folder)
    viewer, shots = window.workspace.viewer, list(SHOTS.items())

    def next_shot() -> None:
        if not shots:
            app.quit()
            return
        view, (name, params, quality) = shots.pop(0)
        instrument = VIEWS[view].instrument
        views = viewer.instruments.showing("input", None).with_parameters(instrument, params)
        viewer.instruments = views.with_ghost_quality(quality).showing("input", view)
        window.instruments.choose_target("input")
        window.instruments_dock.raise_()
        wait(instrument, Path(out_folder) / name)

    def wait(instrument: str, path: Path) -> None:
        if window.instruments.jobs.result(instrument) is None:
            QTimer.singleShot(300, lambda: wait(instrument, path))
            return
        dock = window.instruments_dock
        index = dock.region_choice.findText("the area saved at 60 (known for this demo)")
        if instrument == "ghost" and index > 0:  # its curve beside the whole image's
            dock.region_choice.setCurrentIndex(index)
            dock.region_choice.activated.emit(index)

        def shoot() -> None:
            app.processEvents()
            subprocess.run(["import", "-window", "root", str(path)], check=True)
            next_shot()

        QTimer.singleShot(800, shoot)

    def analysed(_path: str) -> None:
        for name, result in window.view.current.models.items():  # random weights: their top tenth outlined
            if result.has_map:
                window.thresholds.owner.move(name, round(float(np.quantile(result.probability, 0.9)), 2))
        window.toolbar.mode_combo.setCurrentText("Contours")
        window.panel_grid.choose("two")
        QTimer.singleShot(800, next_shot)

    saved_at_60 = np.zeros((320, 480), bool)
    saved_at_60[160:256, 96:192] = True  # known here: outlined on the views and offered for the ghost curve
    label = "the area saved at 60 (known for this demo)"
    window.instruments.add_outline_source(lambda _document: [Outline(label, saved_at_60, (57, 255, 20))])
    window.view.analysisFinished.connect(analysed)
    window.open_paths([str(forged_photo(folder))])
    app.exec()


if __name__ == "__main__":
    main(*sys.argv[1:])
