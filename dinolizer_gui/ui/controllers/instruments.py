"""The classic instruments' results for the image on screen: computed off the GUI thread, one at a time on a
thread of their own (image loading and the batch never wait for them), cached per image and parameters,
stopped when the image changes or their parameters do."""

from __future__ import annotations

import threading
from collections.abc import Generator, Iterable
from dataclasses import dataclass
from functools import partial

from PySide6.QtCore import QObject, QThreadPool, Signal
from superqt.utils import FunctionWorker, GeneratorWorker, create_worker

from ...core.errors import user_message
from ...core.instruments import InstrumentResult, SourceFacts, cache_key
from ...core.progress import Progress
from ...core.report.views import read_source_facts
from ...core.session.instrument_views import ResultCache, instrument_job
from ...core.session.viewer_state import ViewerState
from ..document import Document
from .view import ViewController

STOP_WAIT_MS = 30_000  # at most a band of rows (copy-move: its keypoint search) is waited for


@dataclass
class _Job:
    instrument: str
    sha256: str
    worker: GeneratorWorker
    stop: threading.Event
    progress: Progress | None = None


class InstrumentsController(QObject):
    """Computes what the panels ask for (`want`) on the image on screen and tells when an instrument's state
    there changes (progress, result, failure)."""

    changed = Signal(str)  # an instrument's state on the image on screen (a view shows it)
    factsChanged = Signal()  # the file's own compression facts were read (the JPEG ghost shows its quality)

    def __init__(self, viewer: ViewerState, view: ViewController, parent: QObject | None = None):
        super().__init__(parent)
        self.viewer, self.view = viewer, view
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self.cache = ResultCache()
        self.facts: dict[str, SourceFacts] = {}  # by the image's SHA-256
        self.facts_problems: dict[str, str] = {}
        self.failures: dict[str, str] = {}  # by cache key
        self.jobs: dict[str, _Job] = {}  # by cache key
        self.computed = 0  # results computed (a view shown again is read from the cache)
        self._reading: dict[str, FunctionWorker] = {}
        self._wanted: list[str] = []
        view.loading.connect(self._loading)
        view.replaced.connect(self._replaced)

    @property
    def document(self) -> Document | None:
        return self.view.current

    # --- what the panels ask ----------------------------------------------------------------------
    def want(self, instruments: Iterable[str]) -> None:
        """The instruments the panels in sight show on the image on screen: each computed unless cached or
        under way; any other work on it stops (a parameter changed, a view left the panels)."""
        self._wanted = list(instruments)
        document = self.document
        if document is None:
            return
        sha256 = document.image.sha256
        if sha256 not in self.facts and sha256 not in self.facts_problems:
            if self._wanted:
                self._read_facts(document)
            return
        keys = {name: self.key(name) for name in self._wanted}
        for key, job in list(self.jobs.items()):
            if key not in keys.values():
                self._stop(job)
        for name, wanted in keys.items():
            if (
                wanted is not None
                and wanted not in self.cache
                and wanted not in self.jobs
                and wanted not in self.failures
            ):
                self._start(document, name, wanted)

    def key(self, instrument: str) -> str | None:
        """The cache key of the instrument on the image on screen with its parameters now; None until the
        file's facts are read."""
        document = self.document
        if document is None or (facts := self.facts.get(document.image.sha256)) is None:
            return None
        params = self.viewer.instruments.parameters(instrument)
        return cache_key(document.image.sha256, instrument, params, facts)

    def result(self, instrument: str) -> InstrumentResult | None:
        key = self.key(instrument)
        return self.cache.get(key) if key is not None else None

    def source_facts(self) -> SourceFacts | None:
        document = self.document
        return self.facts.get(document.image.sha256) if document is not None else None

    def status(self, instrument: str) -> str:
        """What stands in for the instrument's result on the image on screen: why it cannot be computed, or
        how far it is; "" once it is there (or nothing was asked)."""
        document = self.document
        if document is None:
            return ""
        if problem := self.facts_problems.get(document.image.sha256):
            return f"cannot be computed: {problem}"
        key = self.key(instrument)
        if key is None:
            return "reading the file…" if instrument in self._wanted else ""
        if key in self.failures:
            return f"could not be computed: {self.failures[key]}"
        job = self.jobs.get(key)
        if job is None:
            return ""
        progress = job.progress
        if progress is None or not progress.total:
            return f"{progress.stage if progress else 'waiting'}…"
        return f"computing {progress.stage}… {progress.done * 100 // progress.total} %"

    def stop(self) -> None:
        """Every job stops at its next step; waits for them (the window is closing)."""
        for job in list(self.jobs.values()):
            self._stop(job)
        self.pool.waitForDone(STOP_WAIT_MS)

    # --- the image on screen ----------------------------------------------------------------------
    def _loading(self, path: str) -> None:
        """Another image is coming: the work on any other stops at once."""
        shown = self.document
        for job in list(self.jobs.values()):
            if shown is None or shown.path != path or job.sha256 != shown.image.sha256:
                self._stop(job)

    def _replaced(self, document: Document) -> None:
        for job in list(self.jobs.values()):
            if job.sha256 != document.image.sha256:
                self._stop(job)

    def _read_facts(self, document: Document) -> None:
        sha256 = document.image.sha256
        if sha256 in self._reading:
            return
        worker = create_worker(read_source_facts, document.image, _start_thread=False, _ignore_errors=True)
        worker.returned.connect(partial(self._facts_read, sha256))
        worker.errored.connect(partial(self._facts_failed, sha256))
        worker.finished.connect(partial(self._reading.pop, sha256, None))
        self._reading[sha256] = worker
        self.pool.start(worker)

    def _facts_read(self, sha256: str, facts: SourceFacts) -> None:
        self.facts[sha256] = facts
        self._after_facts(sha256)

    def _facts_failed(self, sha256: str, exc: BaseException) -> None:
        self.facts_problems[sha256] = f"the file could not be read again ({user_message(exc)})"
        self._after_facts(sha256)

    def _after_facts(self, sha256: str) -> None:
        document = self.document
        if document is None or document.image.sha256 != sha256:
            return
        self.factsChanged.emit()
        self.want(self._wanted)
        for name in self._wanted:
            self.changed.emit(name)

    # --- jobs -------------------------------------------------------------------------------------
    def _start(self, document: Document, instrument: str, key: str) -> None:
        stop = threading.Event()
        facts = self.facts[document.image.sha256]
        params = self.viewer.instruments.parameters(instrument)
        job = instrument_job(document.image.rgb, instrument, params, facts, stop)
        worker = create_worker(_driven, job, _start_thread=False, _ignore_errors=True)
        self.jobs[key] = _Job(instrument, document.image.sha256, worker, stop)
        worker.yielded.connect(partial(self._progressed, key))
        worker.returned.connect(partial(self._returned, key))
        worker.errored.connect(partial(self._failed, key))
        worker.finished.connect(partial(self._finished, key))
        self.pool.start(worker)
        self.changed.emit(instrument)

    @staticmethod
    def _stop(job: _Job) -> None:
        """The job stops at its next step (one not started yet returns at once): its end is still told, and
        the pool, which deletes a worker once run, is never asked about it."""
        job.stop.set()

    def _progressed(self, key: str, progress: Progress) -> None:
        if (job := self.jobs.get(key)) is not None and not job.stop.is_set():
            job.progress = progress
            self.changed.emit(job.instrument)

    def _returned(self, key: str, result: InstrumentResult | None) -> None:
        if result is not None:
            self.cache.put(key, result)
            self.computed += 1

    def _failed(self, key: str, exc: BaseException) -> None:
        self.failures[key] = user_message(exc)

    def _finished(self, key: str) -> None:
        job = self.jobs.pop(key, None)
        if job is not None:
            self.changed.emit(job.instrument)
            if job.stop.is_set():
                self.want(self._wanted)  # asked for again while it was stopping


def _driven(
    job: Generator[Progress, None, InstrumentResult | None],
) -> Generator[Progress, None, InstrumentResult | None]:
    """The job as a generator function (so that superqt drives it step by step)."""
    return (yield from job)
