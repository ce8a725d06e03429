"""Screenshot of the real window under Xvfb: docs/tools/screenshot.sh runs this.

The models use seeded random weights in the official layouts (real weights cannot
be downloaded where the docs are built), so the maps show the pipeline, not a
verdict. The demo image is scikit-image's "coffee" with a region filled by
classical (Telea) inpainting.
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import Qt, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from dinolizer_gui.ui.main_window import MainWindow  # noqa: E402
from tests import factories  # noqa: E402


def demo_image(folder: Path) -> Path:
    from skimage import data

    rgb = data.coffee()
    mask = np.zeros(rgb.shape[:2], np.uint8)
    cv2.ellipse(mask, (420, 170), (70, 45), 15, 0, 360, 255, -1)
    filled = cv2.inpaint(rgb[..., ::-1].copy(), mask, 9, cv2.INPAINT_TELEA)[..., ::-1]
    path = folder / "coffee_inpainted.png"
    Image.fromarray(filled).save(path)
    return path


def demo_folder(folder: Path) -> Path:
    """scikit-image's sample photographs, one inpainted, one duplicate and one broken file."""
    import shutil

    from skimage import data

    case = folder / "case-2026-0142"
    case.mkdir()
    for name in (
        "astronaut",
        "chelsea",
        "rocket",
        "camera",
        "coins",
        "hubble_deep_field",
        "immunohistochemistry",
        "logo",
        "page",
        "retina",
        "colorwheel",
    ):
        Image.fromarray(getattr(data, name)()).save(case / f"{name}.png")
    shutil.copy(demo_image(folder), case / "coffee_inpainted.png")
    shutil.copy(case / "chelsea.png", case / "chelsea (copy).png")
    (case / "scan_0013.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    return case


def demo_window(folder: Path) -> tuple[QApplication, MainWindow]:
    """The viewer on the whole screen, its settings and store in `folder`, with seeded weights in the
    official layouts (DinoLizer, DeCLIP) given to it."""
    release, declip = folder / "epoch=36_val_loss=0.2130.ckpt", folder / "ViT_layer20_conv-20_cocosd.pth"
    factories.make_dinolizer_release(release, head_scale=0.4)
    factories.make_declip_vit(declip)
    app = QApplication(sys.argv[:1])
    os.environ["DINOLIZER_GUI_STORE"] = str(folder / "store")
    window = MainWindow(config_folder=folder / "config")
    window.set_model_files("dinolizer", [release])
    window.set_model_files("declip", [declip])
    window.resize(app.primaryScreen().availableSize())
    window.move(0, 0)
    window.show()
    return app, window


def main(out: str, mode: str = "Overlay", layout: str = "three") -> None:
    folder = Path(tempfile.mkdtemp())
    app, window = demo_window(folder)

    def shoot():
        window.toolbar.mode_combo.setCurrentText(mode)
        window.panel_grid.choose(layout)
        window.thresholds.refresh_regions()
        app.processEvents()
        if window.controls.regions.rowCount() and mode != "Triage":
            window.controls.choose_region(0)
            window.panel_grid.leader.fit()
        app.processEvents()
        subprocess.run(["import", "-window", "root", out], check=True)
        app.quit()

    if mode == "Triage":

        def batch_done():
            if window.batch.running or any(i.status == "queued" for i in window.batch.items):
                QTimer.singleShot(300, batch_done)
                return
            window.triage_dock.table.sortByColumn(2, Qt.SortOrder.DescendingOrder)
            for name, verdict in (("astronaut", "no manipulation found"), ("rocket", "suspicious")):
                window.select_path(next(i.path for i in window.batch.items if name in i.path))
                window.verdicts.record(window.view.wanted_path, verdict)
            coffee = next(i.path for i in window.batch.items if i.path.endswith("coffee_inpainted.png"))
            window.select_path(coffee)
            QTimer.singleShot(1500, lambda: record_and_shoot(coffee))

        def record_and_shoot(coffee):
            window.verdicts.record_shown("manipulated", "cup rim filled in; matches the source's EXIF gap")
            QTimer.singleShot(500, shoot)

        mode = "Overlay"
        window.open_paths([str(demo_folder(folder))])
        QTimer.singleShot(1000, batch_done)
    elif mode == "File":
        mode = "Overlay"
        signed = folder / "signed"
        signed.mkdir()
        from tests import c2pa_files

        coffee = demo_image(folder)
        jpeg = folder / "coffee.jpg"
        exif = Image.Exif()
        exif[0x010F], exif[0x0110], exif[0x0131] = "Canon", "EOS R6", "PhotoFixer 9"
        Image.open(coffee).save(jpeg, quality=92, exif=exif)
        target = c2pa_files.sign(jpeg, signed / "coffee_signed.jpg", c2pa_files.make_chain("Newsroom Desk"))
        c2pa_files.change_pixels_after_signing(target, signed / "coffee_edited_after_signing.jpg")

        def file_done():
            if window.batch.running or any(i.status == "queued" for i in window.batch.items):
                QTimer.singleShot(300, file_done)
                return
            window.select_path(str(signed / "coffee_edited_after_signing.jpg"))
            window.file_dock.raise_()
            QTimer.singleShot(2500, shoot)

        window.open_paths([str(signed)])
        QTimer.singleShot(1000, file_done)
    elif mode in ("Case", "CaseLog"):
        tab = 2 if mode == "CaseLog" else 1
        mode = "Overlay"
        window.settings.analyst = "A. Examiner"
        window.case.new(folder / "Case-2026-114", "Harbour fire photos", "2026-114")

        def case_done():
            if window.batch.running or any(i.status == "queued" for i in window.batch.items):
                QTimer.singleShot(300, case_done)
                return
            coffee = next(i.path for i in window.batch.items if i.path.endswith("coffee_inpainted.png"))
            window.select_path(coffee)
            window.verdicts.record(coffee, "manipulated", "cup rim filled in")
            window.case_dock.raise_()
            window.case_dock.tabs.setCurrentIndex(tab)
            QTimer.singleShot(1500, shoot)

        window.open_paths([str(demo_folder(folder))])
        QTimer.singleShot(1000, case_done)
    elif mode == "Marks":
        mode = "Overlay"
        window.settings.analyst = "A. Examiner"

        def marked(_path: str) -> None:
            findings = window.findings
            for category, shape, points, label in (
                ("manipulated", "ellipse", [(340, 115), (500, 225)], "cup rim filled in"),
                ("reference", "rectangle", [(60, 60), (220, 170)], "untouched rim"),
                ("comment", "arrow", [(560, 330), (470, 230)], "light from the left"),
            ):
                findings.select("")  # the category chosen is the next mark's (a selected one would take it)
                findings.set_category(category)
                findings.add(shape, points)
                findings.change(findings.selected_id, label=label)
            findings.set_tool("polygon")
            QTimer.singleShot(1500, decide)

        def decide() -> None:
            findings = window.findings
            states = findings.states.get("dinolizer", [])
            for state, decision in zip(states, ("confirmed", "rejected"), strict=False):
                findings.decide("dinolizer", state, decision)
            findings.select(findings.marks[0].id)
            QTimer.singleShot(1500, shoot)

        window.view.analysisFinished.connect(marked)
        window.open_paths([str(demo_image(folder))])
    elif mode == "Stability":

        def check(path: str) -> None:
            if window.view.current.models["dinolizer"].stability is None:
                window.batch.check_stability([path])
                window.view.analysisFinished.disconnect()
                window.view.analysisFinished.connect(lambda _: QTimer.singleShot(1500, shoot))

        window.view.analysisFinished.connect(check)
        window.open_paths([str(demo_image(folder))])
    else:
        window.view.analysisFinished.connect(lambda _: QTimer.singleShot(1200, shoot))
        window.open_paths([str(demo_image(folder))])
    app.exec()


if __name__ == "__main__":
    main(*sys.argv[1:])
