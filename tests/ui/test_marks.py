"""The examiner's marks in the viewer, driven with the mouse and keys as a user would: drawn with each tool in
image pixels at any zoom, shown on every panel, selected, moved, reshaped, re-categorised, deleted, undone
and redone; kept across a restart; decisions on model regions from the regions table, rejected ones
hatched, a region that changes shape under another threshold said so; every change in a case's log."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from dinolizer_gui.core.session.case import Case
from dinolizer_gui.core.store.decisions import region_states
from dinolizer_gui.core.store.results import ResultStore
from dinolizer_gui.ui.main_window import MainWindow
from tests.ui.helpers import analysed, cell, drop, wait_batch_done


def _screen(view, x: float, y: float) -> QPoint:
    """Where image pixel (x, y) is in the view's viewport."""
    return view.mapFromScene(QPointF(x, y))


def _mouse(view, kind, point: QPoint, buttons=Qt.MouseButton.LeftButton) -> None:
    button = Qt.MouseButton.LeftButton if kind != QMouseEvent.Type.MouseMove else Qt.MouseButton.NoButton
    event = QMouseEvent(
        kind,
        QPointF(point),
        view.viewport().mapToGlobal(QPointF(point)),
        button,
        buttons,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(view.viewport(), event)


def _drag(view, start: tuple[float, float], end: tuple[float, float], steps: int = 4) -> None:
    a, b = _screen(view, *start), _screen(view, *end)
    _mouse(view, QMouseEvent.Type.MouseButtonPress, a)
    for step in range(1, steps + 1):
        point = a + (b - a) * step / steps
        _mouse(view, QMouseEvent.Type.MouseMove, QPoint(round(point.x()), round(point.y())))
    _mouse(view, QMouseEvent.Type.MouseButtonRelease, b, Qt.MouseButton.NoButton)


def _click(view, x: float, y: float) -> None:
    point = _screen(view, x, y)
    _mouse(view, QMouseEvent.Type.MouseButtonPress, point)
    _mouse(view, QMouseEvent.Type.MouseButtonRelease, point, Qt.MouseButton.NoButton)


def _key(view, key) -> None:
    from PySide6.QtTest import QTest

    view.setFocus()
    QTest.keyClick(view, key)


@pytest.fixture()
def shown(qtbot, window, weights, photo):
    analysed(qtbot, window, weights, photo)
    view = window.panel_grid.panel("input").view
    view.actual_size()
    view.centerOn(QPointF(200, 150))
    return window, view


def test_a_rectangle_drawn_by_dragging_has_its_image_coordinates_at_100_and_at_another_zoom(qtbot, shown):
    window, view = shown
    window.actions_by_id["tool_rectangle"].trigger()
    _drag(view, (100, 80), (220, 160))
    (first,) = window.findings.marks
    assert first.shape == "rectangle" and first.points == ((100.0, 80.0), (220.0, 160.0))
    view.set_scale(2.5)
    view.centerOn(QPointF(300, 300))
    _drag(view, (280, 260), (330, 300))
    second = window.findings.marks[1]
    assert all(
        abs(a - b) <= 0.5
        for p, q in zip(second.points, ((280, 260), (330, 300)), strict=True)
        for a, b in zip(p, q, strict=True)
    )
    for panel in window.panels:  # on every panel, numbered
        labels = [
            item.text() for (item,) in [(i,) for i in panel.view.scene().items()] if hasattr(item, "text")
        ]
        assert "1" in labels and "2" in labels


def test_each_tool_draws_its_shape_and_esc_leaves_the_tool(qtbot, shown):
    window, view = shown
    findings = window.findings
    for tool, gesture in (
        ("ellipse", "drag"),
        ("arrow", "drag"),
        ("freehand", "drag"),
        ("polygon", "clicks"),
    ):
        findings.set_tool(tool)
        if gesture == "drag":
            _drag(view, (50, 50), (120, 90), steps=8)
        else:
            for x, y in ((40, 200), (120, 200), (80, 260)):
                _click(view, x, y)
            _key(view, Qt.Key.Key_Return)
        assert findings.marks[-1].shape == tool
    assert len(findings.marks[-1].points) == 3 and len(findings.marks[-2].points) > 2  # polygon, freehand
    _key(view, Qt.Key.Key_Escape)
    assert findings.tool == ""


def test_select_move_reshape_recategorise_delete_undo_and_redo(qtbot, shown):
    window, view = shown
    findings = window.findings
    findings.set_tool("rectangle")
    _drag(view, (100, 100), (200, 180))
    findings.set_tool("")
    mark = findings.marks[0]
    _click(view, 10, 10)  # empty: nothing selected
    assert findings.selected_id == ""
    _click(view, 100, 140)  # on its left edge
    assert findings.selected_id == mark.id
    _drag(view, (150, 100), (170, 130))  # dragging it by its top edge moves it
    assert findings.marks[0].points == ((120.0, 130.0), (220.0, 210.0))
    _drag(view, (220, 210), (260, 240))  # its corner handle reshapes it
    assert findings.marks[0].points == ((120.0, 130.0), (260.0, 240.0))
    dock = window.findings_ui.dock
    dock.category.setCurrentIndex(1)
    dock.category.activated.emit(1)
    assert findings.marks[0].category == "suspicious"
    dock.label.setText("pasted sign")
    dock.label.editingFinished.emit()
    assert findings.marks[0].label == "pasted sign"
    assert dock.table.item(0, 2).text() == "pasted sign"
    window.actions_by_id["delete_mark"].trigger()
    assert findings.marks == []
    window.actions_by_id["undo"].trigger()
    assert findings.marks[0].label == "pasted sign"
    for _ in range(3):
        window.actions_by_id["undo"].trigger()
    assert findings.marks[0].points == ((120.0, 130.0), (220.0, 210.0))
    window.actions_by_id["redo"].trigger()
    assert findings.marks[0].points == ((120.0, 130.0), (260.0, 240.0))


def test_marks_survive_a_restart(qtbot, shown, tmp_path, weights, photo):
    window, view = shown
    window.findings.set_tool("arrow")
    _drag(view, (10, 10), (90, 60))
    window.close()
    again = MainWindow(config_folder=tmp_path / "config")
    qtbot.addWidget(again)
    again.show()
    analysed(qtbot, again, weights, photo)
    (mark,) = again.findings.marks
    assert mark.shape == "arrow" and mark.points == ((10.0, 10.0), (90.0, 60.0))
    assert again.findings_ui.dock.table.rowCount() == 1


def test_decisions_on_regions_from_the_regions_table(qtbot, shown):
    window, _ = shown
    controls, findings = window.controls, window.findings
    qtbot.waitUntil(lambda: controls.regions.rowCount() > 1 and bool(findings.states), timeout=15000)
    qtbot.waitUntil(lambda: controls.regions.item(0, 2).text() == "unreviewed", timeout=10000)
    model, number = (
        controls.regions.item(0, 0).data(Qt.ItemDataRole.UserRole + 1),
        int(controls.regions.item(0, 0).text()),
    )
    with qtbot.waitSignal(findings.statesReady, timeout=10000):
        controls.decisionAsked.emit(model, number, "rejected")
    assert controls.regions.item(0, 2).text() == "rejected"
    hatches = window.findings_ui.tool.layers[id(window.panels[0].view)].hatches
    qtbot.waitUntil(lambda: len(hatches) == 1, timeout=5000)  # the rejected region, hatched
    threshold = window.workspace.thresholds.of(model)
    with qtbot.waitSignal(findings.statesReady, timeout=15000):
        window.workspace.thresholds.move(model, min(0.99, threshold + 0.1))
    document = window.view.current
    now = region_states(findings.findings, model, document.models[model].probability, threshold + 0.1)
    assert [s.text for s in findings.states[model]] == [s.text for s in now]
    shown = {
        int(controls.regions.item(r, 0).text()): controls.regions.item(r, 2).text()
        for r in range(controls.regions.rowCount())
        if controls.regions.item(r, 0).data(Qt.ItemDataRole.UserRole + 1) == model
    }
    assert shown == {s.region.index: s.text for s in now[: len(shown)]}
    assert all(s.decision != "rejected" for s in now) or len(hatches) == 1


def test_every_change_in_a_case_is_logged_with_the_marks_geometry(qtbot, window, weights, photo, tmp_path):
    case = Case.create(tmp_path / "case", "Marks", examiner="Ana")
    window.case.open(tmp_path / "case")
    analysed(qtbot, window, weights, photo)
    view = window.panel_grid.panel("input").view
    view.actual_size()
    window.findings.set_tool("rectangle")
    _drag(view, (20, 20), (80, 70))
    window.actions_by_id["undo"].trigger()
    kinds = [entry["kind"] for entry in case.chain().entries]
    assert "mark-added" in kinds and "mark-deleted" in kinds
    added = next(e for e in case.chain().entries if e["kind"] == "mark-added")
    assert len(added["data"]["geometry_sha256"]) == 64
    assert ResultStore(tmp_path / "case" / "store").findings(added["data"]["image_sha256"]).marks == []


def test_every_triage_row_says_how_many_regions_are_still_to_review(qtbot, window, weights, photo, tmp_path):
    import shutil

    other = tmp_path / "other.png"
    shutil.copy(photo, other)
    other.write_bytes(photo.read_bytes() + b"\0")  # another file, the same picture
    analysed(qtbot, window, weights, photo)
    drop(window, other)
    wait_batch_done(qtbot, window)
    findings = window.findings
    with qtbot.waitSignal(findings.statesReady, timeout=15000):
        window.view.show(str(photo))  # back on the first image (the drop showed the other)
    qtbot.waitUntil(lambda: bool(findings.states) and window.view.current.path == str(photo), timeout=15000)
    total = sum(len(states) for states in findings.states.values())
    qtbot.waitUntil(lambda: cell(window, photo, "To review") == str(total), timeout=15000)
    qtbot.waitUntil(lambda: cell(window, other, "To review") == str(total), timeout=20000)  # from the store
    model = next(name for name, states in findings.states.items() if states)
    findings.decide(model, findings.states[model][0], "confirmed")
    qtbot.waitUntil(lambda: cell(window, photo, "To review") == str(total - 1), timeout=10000)
    assert cell(window, other, "To review") == str(total)  # decisions belong to an image (its SHA-256)


def test_marks_are_offered_for_the_ghost_curve_and_not_drawn_twice(qtbot, shown):
    window, view = shown
    window.findings.set_tool("rectangle")
    _drag(view, (40, 40), (120, 100))
    outline = next(o for o in window.instruments.outlines() if o.label.startswith("Mark 1"))
    assert not outline.drawn and outline.mask[41:100, 41:120].all() and outline.mask.sum() < 82 * 62


def test_the_category_legend_flows_onto_a_second_line_in_a_narrow_dock_and_is_never_cut(qtbot):
    from dinolizer_gui.ui.docks.marks import CategoryLegend

    legend = CategoryLegend()
    qtbot.addWidget(legend)
    wide, narrow = legend.sizeHint().width(), legend.minimumSizeHint().width()
    assert legend.heightForWidth(wide) == CategoryLegend.ROW
    assert legend.heightForWidth(narrow) > CategoryLegend.ROW
    widths = dict(zip(legend._places(narrow), legend._widths(), strict=True))
    assert all(x + width <= narrow for (_, x, _), width in widths.items())  # every entry whole
