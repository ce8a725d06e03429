"""Driving the main window as a user would: dropping files, reading what a panel and the triage table show,
exporting a report."""

import json

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


def _column(window, header: str) -> int:
    model = window.batch.table_model
    return next(
        c for c in range(model.columnCount()) if model.headerData(c, Qt.Orientation.Horizontal) == header
    )


def cell(window, path, header: str) -> str:
    """What the triage table shows in `header`'s column on the row of `path`."""
    model = window.batch.table_model
    row = next(r for r, item in enumerate(window.batch.items) if item.path == str(path))
    return model.data(model.index(row, _column(window, header)))


def export(qtbot, window, folder, scope="Current image", analyst="B. Analyst"):
    """File › Export report… to `folder` as a user fills the dialog; returns report.json."""
    dialog = window.dialogs.export_report()
    qtbot.addWidget(dialog)
    dialog.analyst.setText(analyst)
    dialog.folder.setText(str(folder))
    dialog.formats["html"].setChecked(True)
    dialog.scope.setCurrentText(scope)
    with qtbot.waitSignal(dialog.exported, timeout=60000):
        dialog.buttons.accepted.emit()
    return json.loads((folder / "report.json").read_text())
