"""The status bar: the pixel readout, the batch progress, the compute device."""

from __future__ import annotations

import contextlib
import threading

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar


class RuntimeProbe(QObject):
    """Imports PyTorch and timm off the GUI thread (the window is up first), then says which device and
    precision models will use."""

    found = Signal(object)  # each model's Runtime (the core's), by model
    failed = Signal(str)

    def start(self, workspace) -> None:
        threading.Thread(target=self._probe, args=(workspace,), name="runtime-probe", daemon=True).start()

    def _probe(self, workspace) -> None:
        try:
            import timm  # noqa: F401 - imported now so that the first analysis does not wait for it

            runtimes = workspace.runtimes()
        except Exception as exc:  # a broken PyTorch install: say so, the viewer still opens images
            self._tell(self.failed, f"PyTorch cannot be loaded: {exc}")
            return
        self._tell(self.found, runtimes)

    @staticmethod
    def _tell(signal, value) -> None:
        with contextlib.suppress(RuntimeError):  # the window closed meanwhile: there is nobody to tell
            signal.emit(value)


class StatusBar(QStatusBar):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.readout = QLabel("")
        # wide enough for "Image 12 of 240 · DinoLizer windows 412/609 · batch ETA 1:02:03" at every moment
        self.progress = QProgressBar()
        self.progress.setMinimumWidth(460)
        self.progress.setMaximumWidth(620)
        self.progress.setVisible(False)
        self.device_label = QLabel()
        self.zoom = QLabel("")
        self.zoom.setToolTip("Zoom of the panels (fit: follows the window until you zoom)")
        self.addWidget(self.readout, 1)
        self.addPermanentWidget(self.zoom)
        self.addPermanentWidget(self.progress)
        self.addPermanentWidget(self.device_label)
        self.probe = RuntimeProbe(self)
        self.probe.found.connect(self.show_device)
        self.probe.failed.connect(self.show_device_failure)

    def probe_device(self, workspace) -> None:
        """Show the device the models will use once PyTorch is loaded (in the background)."""
        self.device_label.setText("loading PyTorch…")
        self.device_label.setToolTip("PyTorch and timm are loading in the background; images open meanwhile")
        self.probe.start(workspace)

    def show_readout(self, text: str) -> None:
        self.readout.setText(text)

    def show_zoom(self, text: str) -> None:
        self.zoom.setText(text)

    def show_progress(self, text: str, done: int, total: int) -> None:
        """`done` of `total`; a total of 0 shows a busy bar."""
        self.progress.setRange(0, total)
        if total:
            self.progress.setValue(done)
        self.progress.setFormat(text)
        self.progress.setVisible(True)

    def hide_progress(self) -> None:
        self.progress.setVisible(False)

    def show_device(self, runtimes: dict) -> None:
        """The device, and each model's precision (the reasons when hovered)."""
        from ..core.models.registry import titles

        device = next(iter(runtimes.values()))
        names = titles()
        kinds = {runtime.precision for runtime in runtimes.values()}
        precisions = ", ".join(f"{names[name]} {runtime.precision}" for name, runtime in runtimes.items())
        text = f"{device.description} ({kinds.pop() if len(kinds) == 1 else precisions})"
        self.device_label.setText(f"{text} — no GPU used" if device.note else text)
        lines = [f"Models run on: {device.description}"] + [
            f"{names[name]}: {runtime.precision_reason}" for name, runtime in runtimes.items()
        ]
        self.device_label.setToolTip("\n".join(([device.note] if device.note else []) + lines))

    def show_device_failure(self, text: str) -> None:
        self.device_label.setText("PyTorch unavailable")
        self.device_label.setToolTip(text)
