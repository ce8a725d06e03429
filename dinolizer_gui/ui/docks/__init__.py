"""The window's dock widgets: the triage table, the thresholds, scores and regions, the file, the case."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow


def place_docks(
    window: QMainWindow, batch: QDockWidget, controls: QDockWidget, case: QDockWidget, file: QDockWidget
) -> dict[str, tuple[QDockWidget, str]]:
    """The batch, file and case docks share the left side (as tabs, the batch in front), the controls the
    bottom; returns each dock with the shortcut that shows or hides it."""
    left, bottom = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.BottomDockWidgetArea
    window.addDockWidget(left, batch)
    window.addDockWidget(bottom, controls)
    for dock in (file, case):
        window.addDockWidget(left, dock)
        window.tabifyDockWidget(batch, dock)
    batch.raise_()
    return {
        "batch": (batch, "Ctrl+B"),
        "controls": (controls, "Ctrl+Shift+T"),
        "file": (file, "Ctrl+Shift+F"),
        "case": (case, "Ctrl+Shift+C"),
    }
