"""Where the window and its docks are: most of the screen at the first start, then as the user left them."""

from __future__ import annotations

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow

from ..core.session.settings import Settings

FIRST_SHARE = 0.92  # of the screen's available width and height, at the first start
FIRST_DOCK_SHARE = 0.36  # of the window's width, at most, for the batch dock at the first start
FIRST_CONTROLS_SHARE = 0.6  # of the bottom docks' width, for the regions' table beside the marks


def place(window: QMainWindow, settings: Settings) -> None:
    """Before the window is shown: its last place, size and docks, else most of the screen."""
    saved = QByteArray.fromBase64(settings.window_geometry.encode("ascii"))
    if not (settings.window_geometry and window.restoreGeometry(saved)):
        screen = window.screen().availableGeometry()
        window.resize(int(screen.width() * FIRST_SHARE), int(screen.height() * FIRST_SHARE))
        window.move(screen.center() - window.rect().center())
    if settings.window_state:
        window.restoreState(QByteArray.fromBase64(settings.window_state.encode("ascii")))


def size_first_docks(
    window: QMainWindow, settings: Settings, side: tuple[QDockWidget, int], bottom: tuple[QDockWidget, ...]
) -> None:
    """Once the window is laid out, at the first start: the side dock gets the width it wants, up to a
    share of the window (the panels get the rest); the first of the bottom docks the larger share of the
    bottom (sizes given before the window is laid out are not kept)."""
    if settings.window_state:
        return
    (dock, wanted), horizontal = side, Qt.Orientation.Horizontal
    window.resizeDocks([dock], [min(wanted, int(window.width() * FIRST_DOCK_SHARE))], horizontal)
    first = round(window.width() * FIRST_CONTROLS_SHARE)
    rest = [(window.width() - first) // max(1, len(bottom) - 1)] * (len(bottom) - 1)
    window.resizeDocks(list(bottom), [first, *rest], horizontal)


def remember(window: QMainWindow, settings: Settings) -> None:
    settings.window_state = bytes(window.saveState().toBase64().data()).decode("ascii")
    settings.window_geometry = bytes(window.saveGeometry().toBase64().data()).decode("ascii")
