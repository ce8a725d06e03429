"""The status bar: the pixel readout, the zoom, the batch progress, the compute device, and what the window's
parts say in passing. It subscribes itself to each of them."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal, SignalInstance
from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar, QWidget

from ..core.models.registry import titles
from ..core.session.workspace import Workspace
from .central import Central
from .controllers.batch import BatchController
from .controllers.case import CaseController
from .controllers.view import ViewController
from .document import Document

if TYPE_CHECKING:  # PyTorch is imported once the window is painted, never before
    from ..core.engine.device import Runtime


class RuntimeProbe(QObject):
    """Imports PyTorch and timm off the GUI thread (the window is up first), then says which device and
    precision models will use."""

    found = Signal(object)  # each model's Runtime (the core's), by model
    failed = Signal(str)

    def start(self, workspace: Workspace) -> None:
        threading.Thread(target=self._probe, args=(workspace,), name="runtime-probe", daemon=True).start()

    def _probe(self, workspace: Workspace) -> None:
        try:
            import timm  # noqa: F401 - imported now so that the first analysis does not wait for it

            runtimes = workspace.runtimes()
        except Exception as exc:  # a broken PyTorch install: say so, the viewer still opens images
            self._tell(self.failed, f"PyTorch cannot be loaded: {exc}")
            return
        self._tell(self.found, runtimes)

    @staticmethod
    def _tell(signal: SignalInstance, value: object) -> None:
        with contextlib.suppress(RuntimeError):  # the window closed meanwhile: there is nobody to tell
            signal.emit(value)


class StatusBar(QStatusBar):
    def __init__(
        self,
        workspace: Workspace,
        *,
        view: ViewController,
        batch: BatchController,
        central: Central,
        case: CaseController,
        said: Iterable[SignalInstance],  # (text, milliseconds) signals: notes in passing
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.workspace, self.view, self.panels = workspace, view, central.panel_grid
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
        self.panels.hovered.connect(self.show_readout)
        self.panels.zoomChanged.connect(self.show_zoom)
        batch.progressed.connect(self.show_progress)
        batch.runningChanged.connect(self._running)
        view.displayed.connect(self._warnings)
        for note in (view.truthNote, central.errorShown):
            note.connect(lambda text: self.showMessage(text, 10000))
        case.exported.connect(lambda path: self.showMessage(f"Case package written: {path}", 10000))
        for signal in said:
            signal.connect(self.showMessage)

    def probe_device(self) -> None:
        """Show the device the models will use once PyTorch is loaded (in the background)."""
        self.device_label.setText("loading PyTorch…")
        self.device_label.setToolTip("PyTorch and timm are loading in the background; images open meanwhile")
        self.probe.start(self.workspace)

    def show_readout(self, x: int, y: int) -> None:
        """The pixel under the cursor and each model's probability there."""
        document = self.view.current
        if document is None or x < 0:
            self.readout.setText("")
            return
        parts = [f"({x}, {y})"] + [
            f"{titles()[name]} {result.probability[y, x]:.3f}"
            for name, result in document.models.items()
            if result.has_map and result.probability is not None
        ]
        self.readout.setText("   ".join(parts))

    def show_zoom(self) -> None:
        leader = self.panels.leader
        self.zoom.setText(f"{leader.scale_factor:.0%}" + (" (fit)" if leader.fitted else ""))

    def _running(self, running: bool) -> None:
        if not running:
            self.progress.setVisible(False)

    def _warnings(self, document: Document) -> None:
        """What was done to the image's pixels to read it (EXIF rotation, colour conversion…)."""
        self.showMessage("; ".join(document.image.warnings), 10000)

    def show_progress(self, text: str, done: int, total: int) -> None:
        """`done` of `total`; a total of 0 shows a busy bar."""
        self.progress.setRange(0, total)
        if total:
            self.progress.setValue(done)
        self.progress.setFormat(text)
        self.progress.setVisible(True)

    def show_device(self, runtimes: dict[str, Runtime]) -> None:
        """The device, and each model's precision (the reasons when hovered)."""
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
