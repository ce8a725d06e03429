"""The classic instruments as views of the panels: each shown in any panel with its title, in every layout,
computed off the GUI thread, following its parameters, read from the cache the second time, stopped when the
image changes; the models' outlines over them, the ghost's slider and curve, the file's own quality."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtTest import QTest

from dinolizer_gui.core.instruments import INSTRUMENTS, SIGMA, TIMES, compute
from dinolizer_gui.core.maps.render import AGREEMENT_COLOURS, outline
from dinolizer_gui.core.progress import Progress, run_to_end
from dinolizer_gui.core.report.views import read_source_facts
from dinolizer_gui.core.session import instrument_views
from dinolizer_gui.core.session.instrument_views import VIEWS, Outline
from dinolizer_gui.ui.action_ids import INSTRUMENT_VIEW_ACTIONS, ActionId
from dinolizer_gui.ui.actions import shortcut_rows
from dinolizer_gui.ui.instrument_views import notes_mark
from tests.ui.helpers import analysed, drop


def _jpeg(path, seed=0, quality=90, size=(40, 48)):
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
    Image.fromarray(np.kron(base, np.ones((8, 8, 1), np.uint8))).save(path, quality=quality)
    return path


@pytest.fixture()
def photo_jpeg(tmp_path):
    return _jpeg(tmp_path / "suspect.jpg")  # 384 x 320


def _open(qtbot, window, path):
    drop(window, path)
    qtbot.waitUntil(
        lambda: (
            window.view.current is not None
            and window.view.current.path == str(path)
            and window.view.worker is None
        ),
        timeout=10000,
    )
    return window.view.current


def _shown_pixels(window, key: str) -> np.ndarray:
    image = window.instruments.items[key].picture.pixmap().toImage()
    image = image.convertToFormat(QImage.Format.Format_Grayscale8)
    pixels = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return pixels[:, : image.width()].copy()


def _set(window, views) -> None:
    window.workspace.viewer.instruments = views


def _views(window):
    return window.workspace.viewer.instruments


def _wait_shown(qtbot, window, panel: str, instrument: str):
    qtbot.waitUntil(lambda: window.instruments.jobs.result(instrument) is not None, timeout=30000)
    qtbot.waitUntil(lambda: window.instruments.items[panel].picture.isVisible(), timeout=5000)
    return window.instruments.jobs.result(instrument)


def _expected(document, view: str, params=None, quality: int = 75) -> np.ndarray:
    """The picture the view must show, computed here from the file and the pixels on screen."""
    name = VIEWS[view].instrument
    result = run_to_end(compute(name, document.image.rgb, params, read_source_facts(document.image)))
    return result.picture(VIEWS[view].picture or f"q{quality}")


def _assert_shows(shown: np.ndarray, expected: np.ndarray, view: str) -> None:
    if view != "copymove":
        assert np.array_equal(shown, expected)
        return
    drawn = expected > 0  # its boxes and lines, over the image dimmed to at most a third of white
    assert np.array_equal(shown[expected == 255], expected[expected == 255]) and (shown >= expected).all()
    assert (shown[~drawn] <= 0.35 * 255 + 1).all() and shown[~drawn].std() > 0


@pytest.mark.parametrize(
    ("layout", "panel"), [("three", "declip"), ("two", "dinolizer"), ("one", "input"), ("one", "agreement")]
)
def test_every_view_shows_in_a_panel_of_every_layout_with_its_title(qtbot, window, photo_jpeg, layout, panel):
    document = _open(qtbot, window, photo_jpeg)
    window.panel_grid.choose(layout, panel if layout == "one" else None)
    assert panel in window.workspace.viewer.shown_panels()
    for name, view in VIEWS.items():
        _set(window, _views(window).showing(panel, name))
        _wait_shown(qtbot, window, panel, view.instrument)
        picture = _views(window).picture(view)
        title = INSTRUMENTS[view.instrument].panel_title(None, picture)
        assert window.panel_grid.panel(panel).title_text.startswith(title)
        assert title in window.panel_grid.panel(panel).title.text()
        _assert_shows(_shown_pixels(window, panel), _expected(document, name), name)
        others = [key for key in window.instruments.items if key != panel]
        assert not any(window.instruments.items[key].picture.isVisible() for key in others)
    _set(window, _views(window).showing(panel, None))
    assert not window.instruments.items[panel].picture.isVisible()
    assert window.panel_grid.panel(panel).title_text in ("Input", "DinoLizer", "DeCLIP", "Agreement")


def test_a_view_follows_its_parameters_and_a_second_show_reads_the_cache(qtbot, window, photo_jpeg):
    document = _open(qtbot, window, photo_jpeg)
    jobs = window.instruments.jobs
    _set(window, _views(window).showing("input", "ela"))
    _wait_shown(qtbot, window, "input", "ela")
    assert jobs.computed == 1 and np.array_equal(_shown_pixels(window, "input"), _expected(document, "ela"))

    _set(window, _views(window).with_parameters("ela", {"quality": 70}))
    qtbot.waitUntil(lambda: jobs.computed == 2, timeout=20000)
    qtbot.waitUntil(lambda: "quality 70" in window.panels[0].title_text, timeout=5000)
    shown = _shown_pixels(window, "input")
    assert np.array_equal(shown, _expected(document, "ela", {"quality": 70}))
    assert not np.array_equal(shown, _expected(document, "ela"))

    _set(window, _views(window).with_parameters("ela", {}))  # back to the defaults: from the cache
    _set(window, _views(window).showing("input", None).showing("declip", "ela"))  # another panel, again
    qtbot.wait(200)
    assert jobs.computed == 2 and window.instruments.items["declip"].picture.isVisible()
    assert np.array_equal(_shown_pixels(window, "declip"), _expected(document, "ela"))
    title = window.panel_grid.panel("declip")
    assert title.title_text.startswith(f"ELA, quality 90, scale {TIMES}20")
    mark = notes_mark(title.title.fontMetrics())  # the view has notes: a mark the font draws
    assert title.title_text.endswith(f" {mark}") and all(
        title.title.fontMetrics().inFontUcs4(ord(c)) for c in mark
    )

    dock = window.instruments_dock  # the dock's form changes the parameters too
    dock.form.boxes["scale"].setValue(40)
    assert _views(window).parameters("ela")["scale"] == 40
    qtbot.waitUntil(lambda: jobs.computed == 3, timeout=20000)
    assert f"scale {TIMES}40" in window.panel_grid.panel("declip").title_text
    dock.defaults.click()
    assert _views(window).parameters("ela") == INSTRUMENTS["ela"].checked()


def test_a_view_is_stopped_when_the_image_changes_and_says_how_far_it_is(
    qtbot, window, photo_jpeg, tmp_path, monkeypatch
):
    first = _open(qtbot, window, photo_jpeg)
    real_compute = instrument_views.compute
    started, closed = threading.Event(), threading.Event()

    def slow_on_the_first(name, rgb, params, source):
        if rgb.shape != first.image.rgb.shape:
            return real_compute(name, rgb, params, source)
        return slowly()

    def slowly():
        started.set()
        try:
            for step in range(2000):
                time.sleep(0.005)
                yield Progress(step, 2000, "error level")
        finally:
            closed.set()

    monkeypatch.setattr(instrument_views, "compute", slow_on_the_first)
    _set(window, _views(window).showing("input", "ela"))
    qtbot.waitUntil(started.is_set, timeout=10000)
    qtbot.waitUntil(lambda: "computing error level…" in window.panels[0].view.notice, timeout=10000)
    items = window.instruments.items["input"]
    assert items.cover.isVisible() and not items.picture.isVisible()  # never the input under ELA's title
    first_key = window.instruments.jobs.key("ela")

    second = _open(qtbot, window, _jpeg(tmp_path / "other.jpg", seed=1, size=(30, 40)))
    qtbot.waitUntil(closed.is_set, timeout=10000)  # the first image's job stops at its next step
    _wait_shown(qtbot, window, "input", "ela")
    assert first_key not in window.instruments.jobs.cache
    assert np.array_equal(_shown_pixels(window, "input"), _expected(second, "ela"))
    assert window.panels[0].view.notice == ""


def test_a_file_changed_since_it_was_opened_is_said_not_shown(qtbot, window, photo_jpeg):
    _open(qtbot, window, photo_jpeg)
    photo_jpeg.write_bytes(photo_jpeg.read_bytes()[:-200] + b"\0" * 200)
    _set(window, _views(window).showing("input", "ghost"))
    qtbot.waitUntil(lambda: "cannot be computed" in window.panels[0].view.notice, timeout=10000)
    assert "changed since it was opened" in window.panels[0].view.notice
    assert window.instruments.items["input"].cover.isVisible()
    assert not window.instruments.items["input"].picture.isVisible()


def test_shortcuts_show_a_view_in_the_panel_last_clicked_and_again_its_own_picture(qtbot, window, photo_jpeg):
    _open(qtbot, window, photo_jpeg)
    actions = window.actions_by_id
    QTest.mouseClick(window.panel_grid.panel("declip").view.viewport(), Qt.MouseButton.LeftButton)
    assert window.instruments.target == "declip"
    assert window.instruments_dock.panel_choice.currentData() == "declip"
    actions[INSTRUMENT_VIEW_ACTIONS["noise_sigma"]].trigger()
    assert _views(window).panels == {"declip": "noise_sigma"}
    assert window.instruments_dock.view_choice.currentData() == "noise_sigma"
    _wait_shown(qtbot, window, "declip", "noise")
    assert window.panel_grid.panel("declip").title_text.startswith(f"Noise level {SIGMA}, 32 px blocks")
    actions[INSTRUMENT_VIEW_ACTIONS["noise_sigma"]].trigger()
    assert _views(window).panels == {}
    window.panel_grid.choose("one", "input")  # the panel clicked is out of sight: the first in sight
    actions[INSTRUMENT_VIEW_ACTIONS["ghost"]].trigger()
    assert _views(window).panels == {"input": "ghost"}
    actions[ActionId.GHOST_QUALITY_UP].trigger()
    assert _views(window).ghost_quality == 80
    _wait_shown(qtbot, window, "input", "ghost")
    assert window.panels[0].title_text.startswith("JPEG ghost, quality 80, 16 px blocks")
    window.instruments_dock.ghost_slider.setValue(0)
    assert _views(window).ghost_quality == 50 and "quality 50" in window.panels[0].title_text
    rows = dict(shortcut_rows(actions))
    assert rows["Instrument: Error level (ELA)"] == "Shift+E" and rows["JPEG ghost: quality +5"] == "."
    assert actions[ActionId.TOGGLE_INSTRUMENTS].shortcut().toString() == "Ctrl+Shift+I"


def test_the_ghost_says_the_files_own_quality_and_draws_its_curve(qtbot, window, tmp_path):
    photo = _jpeg(tmp_path / "q80.jpg", quality=80)
    _open(qtbot, window, photo)
    _set(window, _views(window).showing("input", "ghost"))
    result = _wait_shown(qtbot, window, "input", "ghost")
    dock = window.instruments_dock
    qtbot.waitUntil(lambda: "about 80" in dock.file_quality.text(), timeout=5000)
    assert dock.plot.file_quality == 80 and dock.plot.shown_quality == 75
    assert dock.plot.curves == [("whole image", result.curve, "#e0e0e0")]
    assert dock.ghost.isVisibleTo(dock)
    assert "When it misleads." in dock.guide.text() and "8 x 8 grid" in dock.guide.text()
    assert not dock.plot.grab().isNull()

    mark = np.zeros((320, 384), bool)  # a region another part of the viewer offers (the examiner's marks)
    mark[64:160, 96:224] = True
    window.instruments.add_outline_source(
        lambda _document: [Outline("mark 1", mark, (255, 0, 0), drawn=False)]
    )
    assert not window.instruments.items["input"].outlines.isVisible()  # a mark draws itself
    dock._regions_changed()
    index = dock.region_choice.findText("mark 1")
    dock.region_choice.setCurrentIndex(index)
    dock.region_choice.activated.emit(index)
    assert dock.plot.curves[1] == ("mark 1", result.region_curve(mark), "#ff9f1a")
    assert dock.plot.curves[1][1] != result.region_curve((0, 0, 384, 320))


def test_the_models_regions_are_outlined_on_a_view_and_a_regions_curve_is_drawn(
    qtbot, window, weights, photo
):
    document = analysed(qtbot, window, weights, photo)
    dinolizer = document.models["dinolizer"]
    if not dinolizer.mask().any():  # a region to outline, whatever the small test checkpoint gives
        window.thresholds.owner.move("dinolizer", float(np.quantile(dinolizer.probability, 0.9)))
    _set(window, _views(window).showing("input", "ghost"))
    result = _wait_shown(qtbot, window, "input", "ghost")
    items = window.instruments.items["input"]
    assert items.outlines.isVisible()
    image = items.outlines.pixmap().toImage().convertToFormat(QImage.Format.Format_RGBA8888)
    pixels = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.width(), 4)
    ring = outline(dinolizer.mask()).view(bool) & ~outline(document.models["declip"].mask()).view(bool)
    assert ring.any() and (pixels[ring][:, :3] == AGREEMENT_COLOURS["first only"]).all()
    assert (pixels[~(ring | outline(document.models["declip"].mask()).view(bool))][:, 3] == 0).all()
    assert "not a JPEG" in window.instruments_dock.file_quality.text()

    dock = window.instruments_dock
    index = next(
        i for i in range(dock.region_choice.count()) if "DinoLizer mask" in dock.region_choice.itemText(i)
    )
    dock.region_choice.setCurrentIndex(index)
    dock.region_choice.activated.emit(index)
    label, curve, _ = dock.plot.curves[1]
    assert label.startswith("DinoLizer mask at") and curve == result.region_curve(dinolizer.mask())

    window.thresholds.owner.move("dinolizer", 0.99 if dinolizer.mask().any() else 0.01)  # outlines follow
    moved = items.outlines.pixmap().toImage().convertToFormat(QImage.Format.Format_RGBA8888)
    assert moved != image
