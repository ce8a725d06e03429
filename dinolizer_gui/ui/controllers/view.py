"""The shown document: which image the user asked for, its loading off the GUI thread, what arrives for it."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from superqt.utils import GeneratorWorker, create_worker

from ...core.evaluation.ground_truth import GroundTruth
from ...core.io.names import readable
from ...core.models.registry import titles
from ...core.session.batch import BatchItem, ItemStatus
from ...core.session.image_results import PreviewResult
from ...core.session.jobs import ground_truth_job, open_image_job, stored_results_job
from ...core.session.workspace import Workspace
from ..document import Document, worker_job
from .batch import BatchController

# what a model panel without a map says, by the image's state in the queue
MISSING_MAP_TEXT = {ItemStatus.QUEUED: "queued — not analysed yet", ItemStatus.RUNNING: "analysing…"}


class ViewController(QObject):
    loading = Signal(str)  # path being loaded
    replaced = Signal(object)  # another Document (a new image, or the same one loaded anew) comes on screen
    displayed = Signal(object)  # the Document now on screen, or new maps of it (a preview, a ground truth)
    queueStateChanged = Signal(object)  # the Document on screen, whose image went from queued to analysing
    fitWanted = Signal()  # an image chosen to be looked at whole (a row double-clicked)
    analysisFinished = Signal(str)  # path of a displayed document that has maps
    analysisFailed = Signal(str)  # readable message
    idle = Signal()  # no document is being loaded any more
    recentChanged = Signal()
    truthNote = Signal(str)  # about a ground truth found beside the image (read, resized, unreadable)
    said = Signal(str, int)  # a passing note for the status bar, and for how many milliseconds

    def __init__(self, workspace: Workspace, batch: BatchController, parent: QObject | None = None):
        super().__init__(parent)
        self.workspace = workspace
        self.batch = batch
        self.wanted_path: str | None = None  # the image the user asked to see
        self.current: Document | None = None
        self.worker: GeneratorWorker | None = None
        self.pending: str | None = None
        self.truths: dict[str, GroundTruth | None] = {}  # per image path; None: no mask beside it
        self._truth_workers: set[GeneratorWorker] = set()
        self._shown_status: ItemStatus | None = None  # the queue state the panels' notices describe
        batch.documentReady.connect(lambda document: self.offer(document, document.path))
        batch.previewReady.connect(self.show_preview)
        batch.itemFinished.connect(self._item_finished)
        batch.failed.connect(lambda exc: self.fail(self.wanted_path or "", exc))
        batch.progressed.connect(self._follow_queue)

    def show(self, path: str) -> None:
        if self.current is not None and self.current.path == path and self.wanted_path == path:
            return
        self.wanted_path = path
        self.workspace.settings.add_recent(path)
        self.workspace.save()
        self.recentChanged.emit()
        self.load(path)

    def activate(self, path: str) -> None:
        """Show the image, fitted whole in the panels."""
        self.show(path)
        self.fitWanted.emit()

    def analyse_again(self) -> None:
        """F5: the image on screen analysed again with the current settings, its maps computed anew."""
        path = self.wanted_path
        if why := self.batch.rerun(path):
            self.said.emit(why, 8000)
            return
        assert path is not None  # rerun refuses no image
        self.reload(path)
        self.said.emit(f"Analysing {readable(Path(path).name)} again with the current settings…", 8000)

    def missing_maps(self, path: str) -> dict[str, str]:
        """Why each model has no map of the image, by its state in the queue (queued, analysing…, no
        weights)."""
        item = self.batch.item_for(path)
        status = item.status if item is not None else None
        state = MISSING_MAP_TEXT.get(status, "not analysed") if status is not None else "not analysed"
        with_weights = self.workspace.model_files()
        return {name: state if name in with_weights else "not analysed (no weights)" for name in titles()}

    def load(self, path: str) -> None:
        """Show an image: with its stored maps when done, else the input alone until the batch gets to it.

        Another image's document leaves the screen at once, so nothing of it is shown as this one's."""
        if self.current is not None and self.current.path != path:
            self.current = None
        if self.current is None:
            self._shown_status = None
        self.loading.emit(path)
        if self.worker is not None:
            self.pending = path
            self.worker.quit()
            return
        item = self.batch.item_for(path)
        if item is not None and item.problem:  # never opened: a folder that cannot be read, a link out
            self.fail(path, Exception(item.problem))
            self.idle.emit()
            return
        if (
            item is not None
            and item.status in (ItemStatus.DONE, ItemStatus.SKIPPED)
            and self.workspace.model_files()
        ):
            job = stored_results_job(self.workspace, item.duplicate_of or path)
        else:
            job = open_image_job(self.workspace, path)
        worker = create_worker(worker_job, job, _start_thread=False, _ignore_errors=True)
        worker.returned.connect(partial(self._offered, path))
        worker.errored.connect(partial(self.fail, path))
        worker.finished.connect(self._on_finished)
        self.worker = worker
        worker.start()

    def _offered(self, path: str, document: Document) -> None:
        self.offer(document, path)

    def offer(self, document: Document, path: str) -> None:
        """A document for `path`: shown if it is still the one wanted and does not replace maps by none."""
        if path != self.wanted_path:
            return  # the user has moved on
        if (
            self.current is not None
            and self.current.path == path
            and self.current.models
            and not document.models
        ):
            return
        self.current = document
        if document.path in self.truths:
            document.ground_truth = self.truths[document.path]
        else:
            self._read_truth(document, None)
        self.replaced.emit(document)
        self._display(document)
        item = self.batch.item_for(path)
        if item is not None and item.status == ItemStatus.ERROR:
            self.fail(path, Exception(item.reason))
        if document.models:
            self.analysisFinished.emit(document.path)

    def reload(self, path: str) -> None:
        """Show the image without the maps on screen (they are being computed again)."""
        self.current = None
        self.load(path)

    def load_ground_truth(self, mask_path: str) -> None:
        """Read a mask for the image on screen (its outline and the models' scores against it follow)."""
        if self.current is not None:
            self._read_truth(self.current, mask_path)

    def _read_truth(self, document: Document, mask_path: str | None) -> None:
        path, image = document.path, document.image
        self.truths.setdefault(path, None)  # looked for once per image
        worker = create_worker(
            ground_truth_job,
            path,
            image.height,
            image.width,
            mask_path,
            _start_thread=False,
            _ignore_errors=True,
        )
        worker.returned.connect(partial(self._truth_read, path))
        worker.errored.connect(partial(self._truth_failed, path, given=mask_path))
        self._truth_workers.add(worker)
        worker.finished.connect(partial(self._truth_workers.discard, worker))
        worker.start()

    def _truth_read(self, path: str, truth: GroundTruth | None) -> None:
        if truth is None:
            return
        self.truths[path] = truth
        note = f"Ground truth: {readable(Path(truth.path).name)}"
        self.truthNote.emit("; ".join([note, *truth.warnings]))
        if self.current is not None and self.current.path == path:
            self.current.ground_truth = truth
            self._display(self.current)

    def _truth_failed(self, path: str, exc: BaseException, given: str | None = None) -> None:
        reason = f"ground-truth mask {readable(Path(getattr(exc, 'path', '') or given or '').name)}: "
        reason += str(getattr(exc, "reason", None) or exc)
        if given:
            self.analysisFailed.emit(reason)
        else:
            self.truthNote.emit(reason)

    def show_preview(self, preview: PreviewResult) -> None:
        """A model's map so far on the image on screen, until its final map arrives."""
        current = self.current
        if current is None or current.path != preview.path or preview.path != self.wanted_path:
            return
        existing = current.models.get(preview.model)
        if existing is not None and existing.preview is None:
            return  # the final map is already shown
        current.models[preview.model] = preview.result
        self._display(current)

    def _display(self, document: Document) -> None:
        item = self.batch.item_for(document.path)
        self._shown_status = item.status if item is not None else None
        self.displayed.emit(document)

    def _follow_queue(self, *_: object) -> None:
        """The image on screen went from queued to analysing: its empty panels say so."""
        document = self.current
        item = self.batch.item_for(document.path) if document is not None else None
        if document is not None and item is not None and item.status != self._shown_status:
            self._shown_status = item.status
            self.queueStateChanged.emit(document)

    def fail(self, path: str, exc: BaseException) -> None:
        message = readable(f"{Path(path).name}: {getattr(exc, 'reason', None) or exc}")
        if "out of memory" in str(exc).lower():
            message += " — try the CPU (Analysis › Device) or a larger stride"
        self.analysisFailed.emit(message)

    def stop(self) -> None:
        self.pending = None
        if self.worker is not None:
            self.worker.quit()

    def _item_finished(self, item: BatchItem) -> None:
        if item.path != self.wanted_path:
            return
        if item.status == ItemStatus.ERROR:
            self.fail(item.path, Exception(item.reason))
        elif item.status == ItemStatus.SKIPPED:
            self.load(item.path)

    def _on_finished(self, *_: object) -> None:
        self.worker = None
        if self.pending:
            path, self.pending = self.pending, None
            self.load(path)
        self.idle.emit()
