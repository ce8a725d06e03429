"""Driving the main window as a user would: dropping files, reading what a panel shows."""

import numpy as np
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QImage


def drop(window, *paths):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    event = QDropEvent(
        QPointF(50, 50),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    window.dropEvent(event)


def layer_pixels(panel) -> np.ndarray:
    image = panel.view.layer.pixmap().toImage().convertToFormat(QImage.Format.Format_RGBA8888)
    return np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.width(), 4).copy()


def analysed(qtbot, window, weights, photo):
    files, _ = weights
    window.set_model_files("dinolizer", [files["release"]])
    window.set_model_files("declip", [files["declip"]])
    with qtbot.waitSignal(window.view.analysisFinished, timeout=60000):
        drop(window, photo)
    return window.view.current


def wait_batch_done(qtbot, window, timeout=60000):
    qtbot.waitUntil(
        lambda: (
            window.batch.worker is None
            and window.batch.items
            and all(i.status not in ("queued", "running") for i in window.batch.items)
        ),
        timeout=timeout,
    )
