"""Pixel thresholds per model (linked or not) and the regions they imply, computed on a worker thread."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal
from superqt.utils import create_worker

from ...core.workspace import Workspace
from ..document import Document

REGION_DEBOUNCE_MS = 120


class ThresholdsController(QObject):
    changed = Signal(object)  # the names of the models whose threshold changed
    regionsReady = Signal(object, object)  # document, {model: Summary} (only for the document on screen)
    regionsFailed = Signal(str)

    def __init__(self, workspace: Workspace, current: Callable[[], Document | None], parent=None):
        super().__init__(parent)
        self.workspace = workspace
        self.current = current
        self._workers: set = set()
        self._timer = QTimer(self, singleShot=True, interval=REGION_DEBOUNCE_MS)
        self._timer.timeout.connect(self.refresh_regions)

    @property
    def values(self) -> dict[str, float]:
        return self.workspace.settings.thresholds

    @property
    def linked(self) -> bool:
        return self.workspace.settings.link_thresholds

    def set_linked(self, on: bool) -> None:
        self.workspace.settings.link_thresholds = on
        self.workspace.save()

    def set(self, name: str, value: float) -> float:
        """Move one model's threshold (both when linked); masks and regions follow, no model runs. Returns
        the value set (kept within 0 and 1)."""
        value = round(min(max(float(value), 0.0), 1.0), 3)
        names = set(self.values) if self.linked else {name}
        document = self.current()
        for key in names:
            self.values[key] = value
            if document is not None and key in document.models:
                document.models[key].threshold = value
        self.changed.emit(names)
        self._timer.start()
        self.workspace.save()
        return value

    def adopt(self, document: Document) -> None:
        """Show the thresholds a document's maps were summarised at."""
        maps = {name: result for name, result in document.models.items() if result.has_map}
        for name, result in maps.items():
            self.values[name] = result.threshold
        self.changed.emit(set(maps))

    def refresh_regions(self) -> None:
        """Regions are computed on a worker thread (connected components of a 12 MP mask take ~150 ms)."""
        document = self.current()
        if document is None or not document.models:
            self.regionsReady.emit(document, {})
            return
        worker = create_worker(
            _summaries, dict(document.models), document.ground_truth, _start_thread=False, _ignore_errors=True
        )
        worker.returned.connect(lambda summaries, doc=document: self._deliver(doc, summaries))
        worker.errored.connect(lambda exc: self.regionsFailed.emit(f"regions: {exc}"))
        self._workers.add(worker)
        worker.finished.connect(lambda w=worker: self._workers.discard(w))
        worker.start()

    def stop(self) -> None:
        self._timer.stop()

    def _deliver(self, document: Document, summaries: dict) -> None:
        if document is self.current():  # else a result for an image no longer shown
            self.regionsReady.emit(document, summaries)


def _summaries(results: dict, truth) -> dict:
    """Each model's regions at its threshold, and its scores against the ground truth when there is one."""
    summaries = {key: result.regions_summary() for key, result in results.items()}
    if truth is not None:
        for result in results.values():
            if result.has_map:
                result.score_against(truth)
    return summaries
