"""Large images, easy looking: layouts, maximised panels, region boxes, zoom, tables that fit."""

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from dinolizer_gui.core.session.settings import load_settings
from dinolizer_gui.ui.action_ids import ActionId
from dinolizer_gui.ui.main_window import MainWindow
from tests.ui.helpers import analysed, layer_pixels


def _shown(window) -> list[str]:
    return [panel.key for panel in window.panels if panel.isVisibleTo(window.panel_grid)]


def test_layouts_keys_and_double_click_show_the_panels_asked_for_and_are_remembered(
    qtbot, window, weights, photo
):
    analysed(qtbot, window, weights, photo)
    assert _shown(window) == ["input", "dinolizer", "declip"]
    window.actions_by_id[ActionId.LAYOUT_TWO].trigger()
    assert _shown(window) == ["input", "dinolizer"]
    window.actions_by_id[ActionId.SWITCH_PAIR].trigger()
    assert _shown(window) == ["input", "declip"] and window.panel_grid.active_model == "declip"
    window.actions_by_id[ActionId.PANEL_AGREEMENT].trigger()  # key 4
    assert _shown(window) == ["agreement"]
    first, second = (window.view.current.models[n].mask() for n in ("dinolizer", "declip"))
    pixels = layer_pixels(window.panel_grid.panel("agreement"))
    assert (pixels[first & second][:, :3] == (204, 121, 167)).all()
    window.actions_by_id[ActionId.LAYOUT_THREE].trigger()
    window.actions_by_id[ActionId.MODE_AGREEMENT].trigger()  # the agreement is one panel, not drawn twice
    assert _shown(window) == ["input", "agreement"]
    window.actions_by_id[ActionId.MODE_MASK].trigger()
    assert _shown(window) == ["input", "dinolizer", "declip"]

    view = window.panel_grid.panel("declip").view
    QTest.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton)
    assert _shown(window) == ["declip"]
    QTest.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton)
    assert _shown(window) == ["input", "dinolizer", "declip"]

    window.actions_by_id[ActionId.LAYOUT_TWO].trigger()
    config = window.workspace.config_folder
    window.close()
    assert load_settings(config).panel_layout == "two"
    again = MainWindow(config_folder=config)
    qtbot.addWidget(again)
    again.show()
    assert _shown(again) == ["input", "declip"]


def test_at_1600_by_1000_a_landscape_photo_fills_its_panel_in_two_panels(qtbot, tmp_path, weights, photo):
    window = MainWindow(config_folder=tmp_path / "config")
    qtbot.addWidget(window)
    window.resize(1600, 1000)
    window.show()
    analysed(qtbot, window, weights, photo)
    window.actions_by_id[ActionId.LAYOUT_TWO].trigger()
    qtbot.wait(50)
    view = window.panel_grid.panel("dinolizer").view
    view.fit()
    assert window.triage_dock.isVisible() and view.viewport().width() >= 450
    # the width bounds the fit (Qt's fitInView keeps a few pixels of margin), not the height
    assert view.scale_factor * 640 >= view.viewport().width() - 16
    assert view.scale_factor * 512 < view.viewport().height() - 16
    assert "%" in window.status.zoom.text() and "fit" in window.status.zoom.text()
    view.zoom(2.0)
    assert "fit" not in window.status.zoom.text()


def test_a_chosen_region_is_a_numbered_box_on_every_panel_and_hover_shows_another(
    qtbot, window, weights, photo
):
    analysed(qtbot, window, weights, photo)
    qtbot.waitUntil(lambda: window.controls.regions.rowCount() > 1, timeout=10000)
    assert window.controls.regions.horizontalHeaderItem(0).text() == "#"
    window.controls.choose_region(1)
    number = int(window.controls.regions.item(1, 0).text())
    for panel in window.panels:
        box = panel.view.boxes["selected"]
        assert box.rect.isVisible() and box.label.text() == f"#{number}"
    x, y, w, h = window.controls.regions.item(1, 0).data(Qt.ItemDataRole.UserRole)
    assert window.panels[0].view.boxes["selected"].rect.rect().getRect() == (x, y, max(w, 1), max(h, 1))
    window.controls._hover(0)
    assert all(panel.view.boxes["hovered"].rect.isVisible() for panel in window.panels)


def test_the_batch_table_shows_scores_and_verdicts_without_scrolling_and_sorts_highest_first(
    qtbot, weights, photo, tmp_path
):
    import numpy as np
    from PIL import Image

    window = MainWindow(config_folder=tmp_path / "config")
    qtbot.addWidget(window)
    window.resize(1600, 1000)
    window.show()
    for index in range(3):
        Image.fromarray(np.full((40, 60, 3), 50 * index, np.uint8)).save(
            tmp_path / f"a_rather_long_file_name_from_a_seized_phone_{index}.png"
        )
    analysed(qtbot, window, weights, photo)
    window.open_paths([str(tmp_path)])
    qtbot.waitUntil(lambda: window.batch.worker is None, timeout=60000)
    table = window.triage_dock.table
    model = window.batch.table_model
    headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    models = headers.index("Models")
    for column in (models, headers.index("Analyst")):
        assert table.columnViewportPosition(column) + table.columnWidth(column) <= table.viewport().width()
    score = headers.index("DinoLizer")
    table.horizontalHeader().sectionClicked.emit(score)
    proxy = window.triage_dock.proxy
    scores = [
        window.batch.items[proxy.mapToSource(proxy.index(row, 0)).row()].models["dinolizer"].score
        for row in range(proxy.rowCount())
    ]
    assert scores == sorted(scores, reverse=True)


def test_at_1280_by_800_the_window_and_its_status_bar_fit_the_screen(qtbot, tmp_path):
    window = MainWindow(config_folder=tmp_path / "config")
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    assert window.minimumSizeHint().height() <= 800 and window.height() <= 800
    assert window.status.geometry().bottom() < 800


def test_at_1280_wide_the_view_controls_stay_in_the_toolbar_and_wide_windows_keep_the_labels(qtbot, tmp_path):
    window = MainWindow(config_folder=tmp_path / "config")
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    toolbar = window.toolbar
    qtbot.waitUntil(lambda: toolbar.opacity_slider.isVisible() and toolbar.mode_combo.isVisible())
    assert toolbar.toolButtonStyle() == Qt.ToolButtonStyle.ToolButtonIconOnly
    window.resize(1900, 1000)
    qtbot.waitUntil(lambda: toolbar.toolButtonStyle() == Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    assert toolbar.opacity_slider.isVisible()
