"""Analysis › Check stability in the viewer: progress naming the variant, the Stability view with its legend
in analyses, the regions table's Stability column, live thresholds, and the check kept for the next visit."""

import numpy as np
import pytest
from PIL import Image
from PySide6.QtWidgets import QMessageBox

from dinolizer_gui.core.maps.render import ViewMode, stability_colour
from dinolizer_gui.ui.action_ids import ActionId
from tests.ui.helpers import analysed, layer_pixels, wait_batch_done


def _column(window, header: str) -> int:
    table = window.controls.regions
    return next(c for c in range(table.columnCount()) if table.horizontalHeaderItem(c).text() == header)


@pytest.fixture()
def tall_photo(tmp_path):
    """640 x 576: cropped by 64 px it still holds a whole 504 px window, so the shifted grid runs too."""
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (72, 80, 3), dtype=np.uint8)
    path = tmp_path / "tall.png"
    Image.fromarray(np.kron(base, np.ones((8, 8, 1), np.uint8))).save(path)
    return path


def test_a_stability_check_from_the_menu_shows_its_map_legend_and_region_labels(
    qtbot, window, weights, tall_photo, monkeypatch
):
    analysed(qtbot, window, weights, tall_photo)
    window.workspace.viewer.mode = ViewMode.STABILITY
    panel = window.panels[1]  # DinoLizer
    assert "no stability check yet" in panel.view.notice
    # a check estimated under a minute starts without asking (a longer one asks first)
    monkeypatch.setattr(QMessageBox, "question", lambda *_: QMessageBox.StandardButton.No)
    texts = []
    window.batch.progressed.connect(lambda text, *_: texts.append(text))
    window.actions_by_id[ActionId.CHECK_STABILITY].trigger()
    qtbot.waitUntil(lambda: window.view.current.models["dinolizer"].stability is not None, timeout=120000)
    wait_batch_done(qtbot, window)
    assert any("DinoLizer stability check: resize75, 1 of 4" in text for text in texts)
    assert any("variant(s) to analyse" in text and "about" in text for text in texts)  # said before it ran
    result = window.view.current.models["dinolizer"]
    reading = result.stability_now()
    assert reading.analyses == 5 and window.view.current.models["declip"].stability_now().analyses == 4
    qtbot.waitUntil(
        lambda: window.controls.regions.item(0, _column(window, "Stability")).text() != "—", timeout=10000
    )
    assert panel.view.notice == ""
    shown = layer_pixels(panel)
    assert shown.shape[:2] == result.probability.shape
    stable = reading.stability == 1.0
    if stable.any():  # a pixel every analysis marks is drawn in the legend's last colour
        y, x = np.argwhere(stable)[0]
        assert tuple(shown[y, x, :3]) == stability_colour(1.0)
    y, x = np.argwhere(reading.stability == 0)[0]
    assert shown[y, x, 3] == 0  # a pixel no analysis marks stays clear
    legend = window.controls.legend.swatches
    # DinoLizer's 5 analyses and DeCLIP's 4 (no window grid to shift), by the share they make
    assert list(legend) == [
        "marked in 1 of 5",
        "1 of 4",
        "2 of 5",
        "2 of 4",
        "3 of 5",
        "3 of 4",
        "4 of 5",
        "all",
    ]
    assert legend["all"] == stability_colour(1.0) and legend["2 of 4"] == stability_colour(0.5)
    first = reading.region(1)
    cell = window.controls.regions.item(0, _column(window, "Stability")).text()
    assert cell == f"{first.stability:.2f} — {first.label}"

    def at_new_threshold(_document, summaries) -> bool:
        return summaries["dinolizer"].threshold == 0.3

    with qtbot.waitSignal(window.thresholds.regionsReady, timeout=10000, check_params_cb=at_new_threshold):
        window.workspace.thresholds.move("dinolizer", 0.3)  # every reading follows the threshold
    moved = result.stability_now()
    assert moved.threshold == 0.3 and not np.array_equal(moved.stability, reading.stability)
    assert not np.array_equal(layer_pixels(panel), shown)
    # the check is kept: back on this image after another, it is there without computing anything
    window.view.reload(str(tall_photo))
    qtbot.waitUntil(
        lambda: window.view.current is not None and "dinolizer" in window.view.current.models, timeout=20000
    )
    assert window.view.current.models["dinolizer"].stability is not None
