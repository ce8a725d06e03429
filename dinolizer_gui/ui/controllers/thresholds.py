"""Pixel thresholds per model (linked or not) and the regions they imply, computed on a worker thread."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from PySide6.QtCore import QObject, QTimer, Signal
from superqt.utils import create_worker

from ...core.models.registry import titles
from ...core.session.thresholds import Thresholds
from ..document import Document

REGION_DEBOUNCE_MS = 120


class ThresholdsController(QObject):
    """The viewer's side of the session's thresholds (their one owner is the core's `Thresholds`): a change
    becomes the `changed` signal, and the regions of the image on screen are computed again off the GUI
    thread."""

    changed = Signal(object)  # the names of the models whose threshold changed
    regionsReady = Signal(object, object)  # document, {model: Summary} (only for the document on screen)
    regionsFailed = Signal(str)

    def __init__(self, thresholds: Thresholds, current: Callable[[], Document | None], parent=None):
        super().__init__(parent)
        self.owner = thresholds
        self.current = current
        self._workers: set = set()
        self._timer = QTimer(self, singleShot=True, interval=REGION_DEBOUNCE_MS)
        self._timer.timeout.connect(self.refresh_regions)
        thresholds.subscribe(self._owner_changed)

    def of(self, name: str) -> float:
        return self.owner.of(name)

    @property
    def linked(self) -> bool:
        return self.owner.linked

    def set_linked(self, on: bool) -> None:
        self.owner.set_linked(on)

    def move(self, name: str, value: float) -> float:
        """Move one model's threshold (both when linked); masks and regions follow, no model runs. Returns
        the value set (kept within 0 and 1)."""
        return self.owner.move(name, value)

    def nudge(self, name: str, delta: float) -> str:
        """`]` / `[`: move one model's threshold (both when linked) by `delta`; says what moved."""
        value = self.move(name, self.of(name) + delta)
        which = "Both thresholds" if self.linked else f"{titles()[name]} threshold"
        return f"{which}: {value:.3f}"

    def _owner_changed(self, names: set[str]) -> None:
        if names:
            self.changed.emit(names)
            self._timer.start()

    def refresh_regions(self) -> None:
        """Regions are computed on a worker thread (connected components of a 12 MP mask take ~150 ms)."""
        document = self.current()
        if document is None or not document.models:
            self.regionsReady.emit(document, {})
            return
        worker = create_worker(
            _summaries, dict(document.models), document.ground_truth, _start_thread=False, _ignore_errors=True
        )
        worker.returned.connect(partial(self._deliver, document))
        worker.errored.connect(lambda exc: self.regionsFailed.emit(f"regions: {exc}"))
        self._workers.add(worker)
        worker.finished.connect(partial(self._workers.discard, worker))
        worker.start()

    def stop(self) -> None:
        self._timer.stop()

    def _deliver(self, document: Document, summaries: dict) -> None:
        if document is self.current():  # else a result for an image no longer shown
            self.regionsReady.emit(document, summaries)


def _summaries(results: dict, truth) -> dict:
    """Each model's regions at its threshold (with their stability, when a check was run), and its scores
    against the ground truth when there is one."""
    summaries = {key: result.regions_summary() for key, result in results.items()}
    for result in results.values():
        if (check := result.stability_now()) is not None:
            check.regions  # noqa: B018 — labelled here, off the GUI thread; the table reads them
    if truth is not None:
        for result in results.values():
            if result.has_map:
                result.score_against(truth)
    return summaries
