"""The window's dock widgets: the triage table, the thresholds, scores and regions, and the case."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow


def place_docks(
    window: QMainWindow, batch: QDockWidget, controls: QDockWidget, case: QDockWidget
) -> dict[str, tuple[QDockWidget, str]]:
    """The batch and case docks share the left side (as tabs, the batch in front), the controls the bottom;
    returns each dock with the shortcut that shows or hides it."""
    left, bottom = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.BottomDockWidgetArea
    window.addDockWidget(left, batch)
    window.addDockWidget(bottom, controls)
    window.addDockWidget(left, case)
    window.tabifyDockWidget(batch, case)
    batch.raise_()
    return {
        "batch": (batch, "Ctrl+B"),
        "controls": (controls, "Ctrl+Shift+T"),
        "case": (case, "Ctrl+Shift+C"),
    }
