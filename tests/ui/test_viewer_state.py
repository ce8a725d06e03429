"""The viewer state (mode, colour map, opacity, zoom lock, the original, the layout) and the thresholds have
one owner each, in the core: one change there reaches every view that shows it, a view bound to another
state no longer follows the first, and every row of the triage table follows a threshold move."""

import shutil

import numpy as np
import pytest
from PIL import Image

from dinolizer_gui.core.maps.render import ViewMode, colormap_rgb
from dinolizer_gui.core.session.settings import load_settings
from dinolizer_gui.core.session.viewer_state import PanelLayout, ViewerState
from dinolizer_gui.ui.action_ids import ActionId
from tests.ui.helpers import analysed, cell, layer_pixels, wait_batch_done


def _shown(window) -> list[str]:
    return [panel.key for panel in window.panels if panel.isVisibleTo(window.panel_grid)]


def _parts(window):
    return window.workspace.viewer, window.toolbar, window.controls, window.panel_grid


def _toolbar(toolbar) -> tuple[ViewMode, str, int]:
    """What the toolbar shows: the mode, the colour map, the opacity in percent."""
    mode = ViewMode(toolbar.mode_combo.currentData())
    return mode, toolbar.colormap_combo.currentText(), toolbar.opacity_slider.value()


def _legend_colours(colormap: str) -> list[tuple[int, int, int]]:
    return [tuple(int(c) for c in rgb) for rgb in colormap_rgb(colormap)]


def test_one_change_of_the_state_reaches_panels_legend_controls_and_toolbar(qtbot, window, weights, photo):
    document = analysed(qtbot, window, weights, photo)
    viewer, toolbar, controls, grid = _parts(window)
    panel, result = window.panels[1], document.models["dinolizer"]
    heard = []
    viewer.events.colormap.connect(heard.append)

    viewer.mode = ViewMode.MASK
    assert ViewMode(toolbar.mode_combo.currentData()) is ViewMode.MASK
    assert np.array_equal(layer_pixels(panel)[..., 0] == 255, result.mask())
    assert controls.legend.colours == _legend_colours("inferno") and not controls.legend.swatches
    viewer.mode = ViewMode.AGREEMENT
    assert _shown(window) == ["input", "agreement"] and "both" in controls.legend.swatches

    viewer.mode = ViewMode.HEAT_MAP
    viewer.colormap = "viridis"
    viewer.colormap = "viridis"  # no change: nothing is told
    assert heard == ["viridis"] and toolbar.colormap_combo.currentText() == "viridis"
    assert controls.legend.colours == _legend_colours("viridis")
    assert np.array_equal(layer_pixels(panel)[..., :3], colormap_rgb("viridis")[result.levels])

    viewer.mode = ViewMode.OVERLAY
    viewer.opacity = 0.3
    assert toolbar.opacity_slider.value() == 30
    assert all(p.view.layer.opacity() == pytest.approx(0.3) for p in grid.model_panels)

    viewer.zoom_locked = False
    assert not controls.lock_check.isChecked() and not grid.link.locked
    others = [p.view.scale_factor for p in window.panels[2:3]]
    window.panels[1].view.zoom(4.0)
    assert [p.view.scale_factor for p in window.panels[2:3]] == others  # each panel zooms alone

    viewer.original = True
    assert window.actions_by_id[ActionId.ORIGINAL].isChecked() and panel.view.layer.pixmap().isNull()
    viewer.original = False
    saved = load_settings(window.workspace.config_folder)
    assert (saved.colormap, saved.opacity) == ("viridis", 0.3)  # kept for the next start


def test_the_widgets_write_to_the_state_and_nowhere_else(qtbot, window, weights, photo):
    analysed(qtbot, window, weights, photo)
    viewer = window.workspace.viewer
    window.toolbar.mode_combo.setCurrentText("Contours")
    window.toolbar.colormap_combo.setCurrentText("magma")
    window.toolbar.opacity_slider.setValue(45)
    window.controls.lock_check.setChecked(False)
    window.actions_by_id[ActionId.LAYOUT_TWO].trigger()
    assert (viewer.mode, viewer.colormap, viewer.opacity) == (ViewMode.CONTOURS, "magma", 0.45)
    assert not viewer.zoom_locked and not window.panel_grid.link.locked
    assert viewer.layout.name == "two" and _shown(window) == ["input", "dinolizer"]
    window.actions_by_id[ActionId.MODE_STABILITY].trigger()
    assert viewer.mode is ViewMode.STABILITY and window.toolbar.mode_combo.currentText() == "Stability"


def test_views_bound_to_another_state_follow_it_and_no_longer_the_first(qtbot, window, weights, photo):
    analysed(qtbot, window, weights, photo)
    first, second = window.workspace.viewer, ViewerState(colormap="cividis", opacity=0.8, zoom_locked=False)
    views = (window.panel_grid, window.controls, window.toolbar)
    for view in views:
        view.bind(second)
    toolbar, controls, grid = window.toolbar, window.controls, window.panel_grid
    assert toolbar.colormap_combo.currentText() == "cividis" and toolbar.opacity_slider.value() == 80
    assert not controls.lock_check.isChecked() and not grid.link.locked
    assert controls.legend.colours == _legend_colours("cividis")

    before = layer_pixels(window.panels[1])
    first.mode, first.colormap, first.opacity, first.zoom_locked = ViewMode.MASK, "turbo", 0.1, True
    first.layout = PanelLayout("one", "declip")
    assert _toolbar(toolbar) == (ViewMode.OVERLAY, "cividis", 80)
    assert not controls.lock_check.isChecked() and not grid.link.locked
    assert controls.legend.colours == _legend_colours("cividis")
    assert np.array_equal(layer_pixels(window.panels[1]), before)
    assert _shown(window) == ["input", "dinolizer", "declip"]

    second.mode, second.colormap, second.zoom_locked = ViewMode.MASK, "turbo", True
    second.layout = PanelLayout("two", pair="declip")
    assert _toolbar(toolbar) == (ViewMode.MASK, "turbo", 80)
    assert controls.lock_check.isChecked() and grid.link.locked
    assert _shown(window) == ["input", "declip"]
    mask = window.view.current.models["declip"].mask()
    assert np.array_equal(layer_pixels(window.panels[2])[..., 0] == 255, mask)


def _folder(tmp_path):
    folder = tmp_path / "folder"
    folder.mkdir()
    for index in range(3):
        rng = np.random.default_rng(10 + index)
        pixels = np.kron(rng.integers(0, 256, (20, 25, 3), dtype=np.uint8), np.ones((8, 8, 1), np.uint8))
        Image.fromarray(pixels).save(folder / f"img{index}.png")
    shutil.copy(folder / "img1.png", folder / "img1_copy.png")  # a duplicate row
    return folder


def test_every_row_of_the_triage_table_follows_a_threshold_move(qtbot, window, weights, tmp_path):
    files, _ = weights
    window.set_model_files("dinolizer", [files["release"]])
    window.open_paths([str(_folder(tmp_path))])
    wait_batch_done(qtbot, window)
    maps = {}
    for item in window.batch.items:  # each image's map, as the viewer shows it
        if window.view.current is None or window.view.current.path != item.path:
            with qtbot.waitSignal(window.view.analysisFinished, timeout=20000):
                window.select_path(item.path)
        maps[item.path] = window.view.current.models["dinolizer"].probability.copy()
    first = window.batch.items[0].path
    with qtbot.waitSignal(window.view.analysisFinished, timeout=20000):
        window.select_path(first)  # the first image on screen again: the others' maps are in the store only

    def rows_follow(threshold: float) -> bool:
        return all(
            cell(window, path, "DinoLizer marked") == f"{np.mean(p >= threshold):.2%} at {threshold:.3g}"
            for path, p in maps.items()
        )

    assert len({f"{np.mean(p >= 0.7):.2%}" for p in maps.values()}) > 2  # each row follows its own map
    window.workspace.thresholds.move("dinolizer", 0.7)
    qtbot.waitUntil(lambda: rows_follow(0.7), timeout=20000)  # the other rows' maps read from the store
    window.workspace.thresholds.move("dinolizer", 0.35)
    assert rows_follow(0.35)  # at once: every map's areas are known now
    assert all(item.models["dinolizer"].threshold == 0.35 for item in window.batch.items)
