"""Every row of the triage table follows a threshold move: the marked area of each finished image at the new
threshold, not only the image on screen's.

A row's map is not in memory (the results store keeps it): its areas at every threshold the viewer can set
are read from the store once, off the GUI thread, and kept (4 KB a map); later moves update every row at
once. Until its areas are read, a row keeps the area measured at the threshold it names."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer
from superqt.utils import GeneratorWorker, create_worker

from ...core.session.batch import BatchItem, ModelSummary
from ...core.session.marked_areas import AreasRead, MarkedAreas, StoredMap, stored_areas_job
from ...core.session.workspace import Workspace
from ..batch_table import BatchTableModel
from ..document import Document

READ_DELAY_MS = 300  # the store is read once a threshold has stopped moving


class RowAreas(QObject):
    def __init__(
        self,
        workspace: Workspace,
        table: BatchTableModel,
        shown: Callable[[], Document | None],
        parent: QObject | None = None,
    ):
        super().__init__(parent)
        self.workspace, self.table, self.shown = workspace, table, shown
        self.known: dict[StoredMap, MarkedAreas] = {}
        self._unreadable: set[StoredMap] = set()  # not in the store under the current settings
        self._worker: GeneratorWorker | None = None
        self._timer = QTimer(self, singleShot=True, interval=READ_DELAY_MS)
        self._timer.timeout.connect(self._read)
        workspace.thresholds.events.moved.connect(self.follow)

    @property
    def items(self) -> list[BatchItem]:
        return self.table.items

    def follow(self, names: frozenset[str]) -> None:
        """The thresholds of `names` moved: every row whose areas are known shows them at once; the others'
        are read from the store."""
        unknown = False
        for row, item in enumerate(self.items):
            updated, missing = self._update(item, names)
            unknown |= missing
            if updated:
                self.table.refresh_row(row)
        if unknown:
            self._timer.start()

    def follow_item(self, item: BatchItem) -> None:
        """An image finished: measured at a threshold moved meanwhile, it follows too."""
        self.follow(frozenset(item.models))

    def _update(self, item: BatchItem, names: frozenset[str]) -> tuple[bool, bool]:
        """Set the row's areas at the current thresholds; returns whether any changed, and whether any is
        not known yet."""
        updated = missing = False
        for name in names & item.models.keys():
            summary = item.models[name]
            if summary.marked_area is None:  # an image-level answer: no map, no threshold
                continue
            threshold = self.workspace.thresholds.of(name)
            if summary.threshold == threshold:
                continue
            area = self._area(item, name, summary, threshold)
            if area is None:
                missing |= item.sha256 is not None and self._map(item, name) not in self._unreadable
                continue
            summary.marked_area, summary.threshold = area, threshold
            updated = True
        return updated, missing

    def _area(self, item: BatchItem, name: str, summary: ModelSummary, threshold: float) -> float | None:
        document = self.shown()
        result = document.models.get(name) if document is not None and document.path == item.path else None
        in_memory = result is not None and result.has_map and result.preview is None
        if result is not None and in_memory and round(result.score, 6) == summary.score:
            return result.marked_area()  # the map itself, at any threshold
        areas = self.known.get(self._map(item, name)) if item.sha256 else None
        return areas.at(threshold) if areas is not None else None

    @staticmethod
    def _map(item: BatchItem, name: str) -> StoredMap:
        assert item.sha256 is not None  # a row with a score has been read
        return StoredMap(item.sha256, name, item.models[name].score)

    def _read(self) -> None:
        if self._worker is not None:
            self._timer.start()  # after the reading under way
            return
        wanted = {
            self._map(item, name)
            for item in self.items
            if item.sha256 is not None
            for name, summary in list(item.models.items())  # a copy: the batch adds to it on its thread
            if summary.marked_area is not None
        }
        wanted -= self.known.keys() | self._unreadable
        if not wanted:
            return
        self._unreadable |= wanted  # until read
        maps = sorted(wanted, key=str)
        worker = create_worker(
            stored_areas_job, self.workspace, maps, _start_thread=False, _ignore_errors=True
        )
        worker.yielded.connect(self._arrived)
        worker.finished.connect(self._finished)
        self._worker = worker
        worker.start()

    def _arrived(self, event: object) -> None:
        if not isinstance(event, AreasRead):
            return  # the models loading
        self.known[event.map] = event.areas
        self._unreadable.discard(event.map)
        for row, item in enumerate(self.items):
            if item.sha256 == event.map.sha256 and self._update(item, frozenset([event.map.model]))[0]:
                self.table.refresh_row(row)

    def _finished(self, *_: object) -> None:
        self._worker = None
