"""The batch queue: adding images, running them on a worker, pause, cancel, progress and ETA."""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal
from superqt.utils import create_worker

from ...core.batch import BatchItem, BatchProgress, ItemStatus, make_items
from ...core.image_results import PreviewResult
from ...core.jobs import queue_job
from ...core.models.registry import titles
from ...core.progress import Progress
from ...core.workspace import Workspace
from ..batch_table import BatchTableModel
from ..document import Document, worker_job


class BatchController(QObject):
    documentReady = Signal(object)  # the Document of the image on screen, as its analysis finishes
    previewReady = Signal(object)  # a PreviewResult: a model's map so far on the image on screen
    itemFinished = Signal(object)  # BatchItem
    progressed = Signal(str, int, int)  # text, done, total (0: busy, no count)
    runningChanged = Signal(bool)
    failed = Signal(object)  # the exception that stopped the batch
    cancelled = Signal()

    def __init__(self, workspace: Workspace, wanted: Callable[[], str | None], parent=None):
        super().__init__(parent)
        self.workspace = workspace
        self.wanted = wanted
        self.items: list[BatchItem] = []
        self.table_model = BatchTableModel(self.items, self)
        self.worker = None
        self.started_count = 0
        self._started_at = 0.0
        self._finished_at_start = 0

    @property
    def running(self) -> bool:
        return self.worker is not None

    def add(self, paths: list[str]) -> list[BatchItem]:
        """Queue the images found in `paths` (new ones only); returns every item found, old and new."""
        known = {item.path for item in self.items}
        found = make_items(paths)
        self.table_model.add([item for item in found if item.path not in known])
        return found

    def item_for(self, path: str | None) -> BatchItem | None:
        return next((item for item in self.items if item.path == path), None)

    def rerun(self, path: str | None) -> None:
        """Analyse an image again with the current settings (stored results are reused)."""
        item = self.item_for(path)
        if item is not None and item.status != ItemStatus.RUNNING:
            item.requeue()
            self.table_model.refresh_row(self.items.index(item))
            self.start()

    def start(self) -> None:
        if self.running or not any(item.status == ItemStatus.QUEUED for item in self.items):
            return
        self.started_count += 1
        job = queue_job(self.workspace, self.items, self.wanted)
        worker = create_worker(worker_job, job, _start_thread=False, _ignore_errors=True)
        worker.yielded.connect(self._on_event)
        worker.errored.connect(self.failed)
        worker.aborted.connect(self.cancelled)
        worker.finished.connect(self._on_finished)
        self.worker = worker
        self._started_at = time.perf_counter()
        self._finished_at_start = sum(1 for item in self.items if item.status.finished)
        self.progressed.emit("loading models…", 0, 0)
        self.runningChanged.emit(True)
        worker.start()

    def pause(self, on: bool) -> bool:
        """Pause or resume; False when there is no batch to pause."""
        if self.worker is None:
            return False
        if on:
            self.worker.pause()
        else:
            self.worker.resume()
        return True

    def cancel(self) -> None:
        if self.worker is not None:
            if self.worker.is_paused:
                self.worker.resume()
            self.worker.quit()  # stops between two batches of windows

    def counts_text(self) -> str:
        counts = {status: sum(1 for item in self.items if item.status == status) for status in ItemStatus}
        flagged = sum(1 for item in self.items if item.flagged and item.status == ItemStatus.DONE)
        images = f"{len(self.items)} image{'' if len(self.items) == 1 else 's'}"
        return (
            f"{images}: {counts[ItemStatus.DONE]} done ({flagged} flagged), {counts[ItemStatus.ERROR]} "
            "errors, "
            f"{counts[ItemStatus.SKIPPED]} duplicates, {counts[ItemStatus.QUEUED]} queued"
        )

    def _on_event(self, event) -> None:
        if isinstance(event, Document):
            self.documentReady.emit(event)
        elif isinstance(event, PreviewResult):
            self.previewReady.emit(event)
        elif isinstance(event, Progress):
            self.progressed.emit(f"{event.stage} {titles().get(event.model, '')}…", 0, 0)
        else:
            self._on_progress(event)

    def _on_progress(self, event: BatchProgress) -> None:
        if event.stage != "model":  # a row changes when its image starts and ends, not with each window
            self.table_model.refresh_row(event.index)
        if event.stage == "finished":
            self.itemFinished.emit(self.items[event.index])
        text = f"images {event.done}/{event.total}"
        if event.stage == "model" and event.windows_total:
            title = titles().get(event.model, event.model)
            text += f" — {title} windows {event.windows_done}/{event.windows_total}"
        finished_now = event.done - self._finished_at_start
        if finished_now > 0:
            remaining = (time.perf_counter() - self._started_at) / finished_now * (event.total - event.done)
            text += (
                f" — ETA {int(remaining // 3600)}:{int(remaining % 3600 // 60):02d}:{int(remaining % 60):02d}"
            )
        self.progressed.emit(text, event.done, max(event.total, 1))

    def _on_finished(self) -> None:
        for row, item in enumerate(self.items):
            if item.status == ItemStatus.RUNNING:  # cancelled mid-image (superqt does not close generators)
                item.status = ItemStatus.QUEUED
                self.table_model.refresh_row(row)
        self.worker = None
        self.runningChanged.emit(False)
