"""Where the window and its docks are: most of the screen at the first start, then as the user left them."""

from __future__ import annotations

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow

from ..core.session.settings import Settings

FIRST_SHARE = 0.92  # of the screen's available width and height, at the first start
FIRST_DOCK_SHARE = 0.36  # of the window's width, at most, for the batch dock at the first start


def place(window: QMainWindow, settings: Settings) -> None:
    """Before the window is shown: its last place, size and docks, else most of the screen."""
    saved = QByteArray.fromBase64(settings.window_geometry.encode("ascii"))
    if not (settings.window_geometry and window.restoreGeometry(saved)):
        screen = window.screen().availableGeometry()
        window.resize(int(screen.width() * FIRST_SHARE), int(screen.height() * FIRST_SHARE))
        window.move(screen.center() - window.rect().center())
    if settings.window_state:
        window.restoreState(QByteArray.fromBase64(settings.window_state.encode("ascii")))


def size_first_dock(window: QMainWindow, settings: Settings, dock: QDockWidget, wanted: int) -> None:
    """Once the window is laid out: at the first start the batch dock gets the width it wants, up to a
    share of the window (the panels get the rest)."""
    if not settings.window_state:
        width = min(wanted, int(window.width() * FIRST_DOCK_SHARE))
        window.resizeDocks([dock], [width], Qt.Orientation.Horizontal)


def remember(window: QMainWindow, settings: Settings) -> None:
    settings.window_state = bytes(window.saveState().toBase64().data()).decode("ascii")
    settings.window_geometry = bytes(window.saveGeometry().toBase64().data()).decode("ascii")
