"""The status bar: the pixel readout, the batch progress, the compute device."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar


class StatusBar(QStatusBar):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.readout = QLabel("")
        self.progress = QProgressBar(maximumWidth=360, visible=False, textVisible=True)
        self.device_label = QLabel()
        self.addWidget(self.readout, 1)
        self.addPermanentWidget(self.progress)
        self.addPermanentWidget(self.device_label)

    def show_progress(self, text: str, done: int, total: int) -> None:
        """`done` of `total`; a total of 0 shows a busy bar."""
        self.progress.setRange(0, total)
        if total:
            self.progress.setValue(done)
        self.progress.setFormat(text)
        self.progress.setVisible(True)

    def hide_progress(self) -> None:
        self.progress.setVisible(False)

    def show_device(self, runtime) -> None:
        note = runtime.note
        self.device_label.setText(
            f"CPU ({note.removeprefix('CUDA not used: ')})" if note else runtime.description
        )
        self.device_label.setToolTip(note or f"Models run on: {runtime.description}")
