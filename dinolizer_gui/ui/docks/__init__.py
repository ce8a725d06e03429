"""The window's dock widgets: the triage table, the thresholds, scores and regions, the examiner's marks, the
file, the case."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow

from ..action_ids import ActionId


def place_docks(
    window: QMainWindow,
    batch: QDockWidget,
    controls: QDockWidget,
    case: QDockWidget,
    file: QDockWidget,
    marks: QDockWidget,
) -> dict[ActionId, tuple[QDockWidget, str]]:
    """The batch, file and case docks share the left side (as tabs, the batch in front), the controls and the
    marks the bottom, side by side; returns each dock with the shortcut that shows or hides it, by its
    toggle's id."""
    left, bottom = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.BottomDockWidgetArea
    window.addDockWidget(left, batch)
    window.addDockWidget(bottom, controls)
    window.addDockWidget(bottom, marks)
    window.splitDockWidget(controls, marks, Qt.Orientation.Horizontal)
    for dock in (file, case):
        window.addDockWidget(left, dock)
        window.tabifyDockWidget(batch, dock)
    batch.raise_()
    return {
        ActionId.TOGGLE_BATCH: (batch, "Ctrl+B"),
        ActionId.TOGGLE_CONTROLS: (controls, "Ctrl+Shift+T"),
        ActionId.TOGGLE_FILE: (file, "Ctrl+Shift+F"),
        ActionId.TOGGLE_CASE: (case, "Ctrl+Shift+C"),
        ActionId.TOGGLE_MARKS: (marks, "Ctrl+Shift+M"),
    }
