"""Every row of the triage table says how many of its image's model regions are still to review: counted
from the maps in the results store (off the GUI thread, once the thresholds stop moving), and, for the image
on screen, from its regions as the regions table shows them."""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer
from superqt.utils import GeneratorWorker, create_worker

from ...core.session.batch import BatchItem
from ...core.session.marked_areas import StoredMap
from ...core.session.review import ToReview, review_job
from ...core.session.workspace import Workspace
from ...core.store.decisions import RegionState, unreviewed_count
from ..batch_table import BatchTableModel
from .findings import FindingsController

COUNT_DELAY_MS = 800  # the store is read once a threshold has stopped moving


class RowReview(QObject):
    def __init__(
        self,
        workspace: Workspace,
        table: BatchTableModel,
        findings: FindingsController,
        parent: QObject | None = None,
    ):
        super().__init__(parent)
        self.workspace, self.table, self.findings = workspace, table, findings
        self._worker: GeneratorWorker | None = None
        self._timer = QTimer(self, singleShot=True, interval=COUNT_DELAY_MS)
        self._timer.timeout.connect(self._count)
        workspace.thresholds.events.moved.connect(self._stale)
        findings.statesReady.connect(self._shown)

    def follow_item(self, item: BatchItem) -> None:
        """An image finished: its regions are counted."""
        self._timer.start()

    def _stale(self, names: frozenset[str]) -> None:
        for row, item in enumerate(self.table.items):
            if any(item.to_review.pop(name, None) is not None for name in names):
                self.table.refresh_row(row)
        self._timer.start()

    def _shown(self, states: dict[str, list[RegionState]]) -> None:
        """The image on screen: its count from the regions the regions table shows."""
        document = self.findings.view.current
        if document is None:
            return
        for row, item in enumerate(self.table.items):
            if item.sha256 == document.image.sha256:
                item.to_review.update({name: unreviewed_count(found) for name, found in states.items()})
                self.table.refresh_row(row)

    def _count(self) -> None:
        if self._worker is not None:
            self._timer.start()  # after the counting under way
            return
        wanted = sorted(
            {
                StoredMap(item.sha256, name, summary.score)
                for item in self.table.items
                if item.sha256 is not None
                for name, summary in list(item.models.items())  # a copy: the batch adds to it on its thread
                if summary.marked_area is not None and name not in item.to_review
            },
            key=str,
        )
        if not wanted:
            return
        self._worker = create_worker(
            review_job, self.workspace, wanted, _start_thread=False, _ignore_errors=True
        )
        self._worker.yielded.connect(self._arrived)
        self._worker.finished.connect(self._finished)
        self._worker.start()

    def _arrived(self, event: object) -> None:
        if not isinstance(event, ToReview):
            return  # the models loading
        for row, item in enumerate(self.table.items):
            if item.sha256 == event.sha256:
                item.to_review[event.model] = event.count
                self.table.refresh_row(row)

    def _finished(self, *_: object) -> None:
        self._worker = None
