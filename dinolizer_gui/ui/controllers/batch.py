"""The batch queue: adding images, running them on a worker, pause, cancel, progress and ETA."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QObject, Signal
from superqt.utils import GeneratorWorker, create_worker

from ...core.io.names import counted, readable
from ...core.models.registry import titles
from ...core.progress import Progress
from ...core.session.batch import BatchItem, BatchProgress, ItemStatus, make_items
from ...core.session.image_results import PreviewResult
from ...core.session.jobs import queue_job
from ...core.session.workspace import Workspace
from ..batch_table import BatchTableModel
from ..document import Document, worker_job
from .areas import RowAreas


class OnScreen(Protocol):
    """What the queue needs to know of the screen (the view controller): the image wanted, the one shown."""

    @property
    def wanted_path(self) -> str | None: ...

    @property
    def current(self) -> Document | None: ...


class BatchController(QObject):
    documentReady = Signal(object)  # the Document of the image on screen, as its analysis finishes
    previewReady = Signal(object)  # a PreviewResult: a model's map so far on the image on screen
    itemFinished = Signal(object)  # BatchItem
    progressed = Signal(str, int, int)  # text, done, total (0: busy, no count)
    runningChanged = Signal(bool)
    failed = Signal(object)  # the exception that stopped the batch
    cancelled = Signal()
    pausedChanged = Signal(bool)
    countsChanged = Signal(str)  # how many images are done, flagged, in error, duplicates, queued
    weightsChanged = Signal()  # models, weights or the weights folder changed
    said = Signal(str, int)  # a passing note for the status bar, and for how many milliseconds

    def __init__(
        self, workspace: Workspace, on_screen: Callable[[], OnScreen], parent: QObject | None = None
    ):
        super().__init__(parent)
        self.workspace = workspace
        self.wanted: Callable[[], str | None] = lambda: on_screen().wanted_path
        self.items: list[BatchItem] = []
        self._rows: dict[str, int] = {}  # path -> row: progress events ask for the image on screen
        self.table_model = BatchTableModel(self.items, self)
        # every row's marked areas follow the thresholds (the image on screen's from its maps in memory)
        self.areas = RowAreas(workspace, self.table_model, lambda: on_screen().current, self)
        self.itemFinished.connect(self.areas.follow_item)
        self.worker: GeneratorWorker | None = None
        self.cancelling = False
        self.started_count = 0
        self._current: tuple[int, list[str]] = (-1, [])  # the item running, and its models so far
        self._started_at = 0.0
        self._finished_at_start = 0

    @property
    def running(self) -> bool:
        return self.worker is not None

    def add(self, paths: list[str]) -> list[BatchItem]:
        """Queue the images found in `paths` (new ones only); returns every item found, old and new."""
        found = make_items(paths)
        new = [item for item in found if item.path not in self._rows]
        self._rows.update((item.path, row) for row, item in enumerate(new, len(self.items)))
        self.table_model.add(new)
        self.countsChanged.emit(self.counts_text())
        return found

    def clear(self) -> None:
        """Empty the queue (not while it runs): another case's images and results replace it."""
        if not self.running:
            self.table_model.clear()
            self._rows.clear()
            self.countsChanged.emit(self.counts_text())

    def item_for(self, path: str | None) -> BatchItem | None:
        row = self._rows.get(path) if path is not None else None
        return None if row is None else self.items[row]

    def rerun(self, path: str | None) -> str:
        """Analyse an image again with the current settings, computing every map anew; returns why not,
        or an empty string when it is queued."""
        item = self.item_for(path)
        if item is None:
            return "Open an image first."
        if not self.workspace.model_files():
            return "No model has weights yet: Models › Manage models… (Ctrl+M) gets them."
        if item.status == ItemStatus.RUNNING:
            return f"{readable(Path(item.path).name)} is being analysed now."
        item.requeue(recompute=True)
        self.table_model.refresh_row(self._rows[item.path])
        self.start()
        return ""

    def check_stability(self, paths: list[str]) -> str:
        """Queue the images for a stability check of their maps (the maps themselves come from the results
        store); returns why not, or an empty string when they are queued."""
        if not self.workspace.model_files():
            return "No model has weights yet: Models › Manage models… (Ctrl+M) gets them."
        items = [item for path in paths if (item := self.item_for(path)) is not None]
        ready = [item for item in items if item.status in (ItemStatus.DONE, ItemStatus.QUEUED)]
        if not ready:
            return "Analyse the image first: a stability check compares its maps with their variants'."
        for item in ready:
            item.requeue(check_stability=True)
            self.table_model.refresh_row(self._rows[item.path])
        self.start()
        return ""

    def start(self) -> None:
        if self.running or not any(item.status == ItemStatus.QUEUED for item in self.items):
            return
        self.started_count += 1
        self.cancelling = False
        job = queue_job(self.workspace, self.items, self.wanted)
        worker = create_worker(worker_job, job, _start_thread=False, _ignore_errors=True)
        worker.yielded.connect(self._on_event)
        worker.errored.connect(self._on_error)
        worker.aborted.connect(self._aborted)
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
            self.pausedChanged.emit(False)
            return False
        if on:
            self.worker.pause()
            self.said.emit("Batch paused", 4000)
        else:
            self.worker.resume()
        self.pausedChanged.emit(on)
        return True

    def weights_changed(self) -> None:
        """Models, weights or the weights folder changed: the queue runs once a model has weights."""
        self.weightsChanged.emit()
        if self.workspace.model_files():
            self.start()

    def cancel(self) -> None:
        if self.worker is not None:
            self.cancelling = True
            self.progressed.emit("Cancelling…", 0, 0)
            if self.worker.is_paused:
                self.worker.resume()
            self.worker.quit()  # stops between two batches of windows

    def counts_text(self) -> str:
        counts = {status: sum(1 for item in self.items if item.status == status) for status in ItemStatus}
        flagged = sum(1 for item in self.items if item.flagged and item.status == ItemStatus.DONE)
        return (
            f"{counted(len(self.items), 'image')}: {counts[ItemStatus.DONE]} done ({flagged} flagged), "
            f"{counted(counts[ItemStatus.ERROR], 'error')}, "
            f"{counted(counts[ItemStatus.SKIPPED], 'duplicate')}, {counts[ItemStatus.QUEUED]} queued"
        )

    def _on_event(self, event: object) -> None:
        if isinstance(event, Document):
            self.documentReady.emit(event)
        elif isinstance(event, PreviewResult):
            self.previewReady.emit(event)
        elif isinstance(event, Progress):
            self.progressed.emit(f"{event.stage} {titles().get(event.model, '')}…", 0, 0)
        elif isinstance(event, BatchProgress):
            self._on_progress(event)

    def _on_progress(self, event: BatchProgress) -> None:
        if event.stage not in ("model", "stability"):  # a row changes when its image starts and ends
            self.table_model.refresh_row(event.index)
        if event.stage == "finished":
            self.itemFinished.emit(self.items[event.index])
            self.countsChanged.emit(self.counts_text())
        if self.cancelling:
            return
        self.progressed.emit(self.progress_text(event), event.done, max(event.total, 1))

    def progress_text(self, event: BatchProgress) -> str:
        """Image i of N, the model running with its windows, and the whole batch's ETA."""
        running = min(event.done + 1, event.total)
        parts = [f"Image {running} of {event.total}"]
        fraction = 0.0  # of the running image, counting each model alike
        if event.stage == "model":
            index, models = self._current
            if index != event.index:
                self._current = index, models = event.index, []
            if event.model not in models:
                models.append(event.model)
            title = titles().get(event.model, event.model)
            if event.windows_total:
                parts.append(f"{title} windows {event.windows_done}/{event.windows_total}")
                windows = event.windows_done / event.windows_total
                fraction = (len(models) - 1 + windows) / max(len(self.workspace.model_files()), 1)
            else:
                parts.append(title)
        elif event.stage == "stability":
            title = titles().get(event.model, event.model)
            count = f" windows {event.windows_done}/{event.windows_total}" if event.windows_total > 1 else ""
            parts.append(f"{title} stability check: {event.variant}{count} (Esc cancels)")
        finished_now = event.done - self._finished_at_start
        if eta := self._eta(finished_now + fraction, event.total - event.done - fraction):
            parts.append(f"batch ETA {eta}")
        return " · ".join(parts)

    def _eta(self, units_done: float, units_left: float) -> str:
        elapsed = time.perf_counter() - self._started_at
        if units_done <= 0 or elapsed < 1.0:
            return ""
        left = int(elapsed / units_done * max(units_left, 0.0))
        return f"{left // 3600}:{left % 3600 // 60:02d}:{left % 60:02d}"

    def _aborted(self, *_: object) -> None:
        self.cancelled.emit()
        self.said.emit("Batch cancelled", 5000)

    def _on_error(self, exc: BaseException) -> None:
        self.cancelling = True
        self.failed.emit(exc)

    def _on_finished(self, *_: object) -> None:
        for row, item in enumerate(self.items):
            if item.status == ItemStatus.RUNNING:  # cancelled mid-image (superqt does not close generators)
                item.status = ItemStatus.QUEUED
                self.table_model.refresh_row(row)
        self.worker = None
        self.pausedChanged.emit(False)
        self.runningChanged.emit(False)
        self.countsChanged.emit(self.counts_text())
        if not self.cancelling:  # a batch that failed set `cancelling`: it is not retried in a loop
            self.start()  # images queued again (F5) behind the point the batch had reached
