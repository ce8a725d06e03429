"""The regions the pixel thresholds imply for the image on screen, computed on a worker thread, and the keys
that move a threshold. The thresholds themselves have one owner, the core's `Thresholds`: the views subscribe
to it directly."""

from __future__ import annotations

from functools import partial

from PySide6.QtCore import QObject, QTimer, Signal
from superqt.utils import WorkerBase, create_worker

from ...core.evaluation.ground_truth import GroundTruth
from ...core.maps.postprocess import Summary
from ...core.models.registry import titles
from ...core.session.image_results import ModelResult
from ...core.session.thresholds import Thresholds
from ..document import Document
from .view import ViewController

REGION_DEBOUNCE_MS = 120


class ThresholdsController(QObject):
    regionsReady = Signal(object, object)  # document, {model: Summary} (only for the document on screen)
    said = Signal(str, int)  # a passing note for the status bar, and for how many milliseconds

    def __init__(self, owner: Thresholds, view: ViewController, parent: QObject | None = None):
        super().__init__(parent)
        self.owner, self.view = owner, view
        self._workers: set[WorkerBase] = set()
        self._timer = QTimer(self, singleShot=True, interval=REGION_DEBOUNCE_MS)
        self._timer.timeout.connect(self.refresh_regions)
        owner.events.moved.connect(self._moved)
        view.displayed.connect(self.refresh_regions)

    def nudge(self, name: str, delta: float) -> None:
        """`]` / `[`: move one model's threshold (both when linked) by `delta`, and say what moved."""
        value = self.owner.move(name, self.owner.of(name) + delta)
        which = "Both thresholds" if self.owner.linked else f"{titles()[name]} threshold"
        self.said.emit(f"{which}: {value:.3f}", 4000)

    def _moved(self, _names: frozenset[str]) -> None:
        self._timer.start()

    def refresh_regions(self, *_: object) -> None:
        """Regions are computed on a worker thread (connected components of a 12 MP mask take ~150 ms)."""
        document = self.view.current
        if document is None or not document.models:
            self.regionsReady.emit(document, {})
            return
        worker = create_worker(
            _summaries, dict(document.models), document.ground_truth, _start_thread=False, _ignore_errors=True
        )
        worker.returned.connect(partial(self._deliver, document))
        worker.errored.connect(lambda exc: self.said.emit(f"regions: {exc}", 5000))
        self._workers.add(worker)
        worker.finished.connect(partial(self._workers.discard, worker))
        worker.start()

    def stop(self) -> None:
        self._timer.stop()

    def _deliver(self, document: Document, summaries: dict[str, Summary]) -> None:
        if document is self.view.current:  # else a result for an image no longer shown
            self.regionsReady.emit(document, summaries)


def _summaries(results: dict[str, ModelResult], truth: GroundTruth | None) -> dict[str, Summary]:
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
