"""Batches: analysing a queue of images with the results store.

One image is in memory at a time; finished maps live in the store, not in the
queue, so thousands of images (or a few huge ones) keep memory bounded.
PyTorch is imported only once a runner exists: the viewer lists a queue
before any model is loaded.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from ..engine.analysis import AnalysisOptions, ImageOutcome, ModelRun
from ..errors import user_message
from ..io.images import DEFAULT_MAX_PIXELS, ImageLoadError, LoadedImage, load_image
from ..io.provenance import provenance_of
from ..io.provenance.summaries import ProvenanceSummary, summarise
from ..maps.outcome import ModelOutcome
from ..maps.postprocess import summarise_run
from ..maps.stability import StabilityCheck
from ..progress import Progress, relay
from ..store.results import ResultStore, StoredResultDamaged, result_key
from ..store.verdicts import Verdict
from .inputs import scan_inputs
from .map_sources import LocalMaps, MapSource
from .thresholds import Thresholds

if TYPE_CHECKING:
    from ..models.model_like import ModelLike

THUMBNAIL_SIZE = 96
# From this size on, a model's weights leave resident memory once it has run on the image, so that the
# image's full-size buffers (maps, masks, composites) never stack on both models' weights (1.5 GB on the
# CPU). Below it, keeping them resident saves re-reading them from the page cache (~0.05 s a DeCLIP run).
RELEASE_WEIGHTS_FROM_PIXELS = 20_000_000


class ItemStatus(str, Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    ERROR = "error"
    SKIPPED = "skipped"  # a duplicate of an earlier file (same SHA-256)

    def __str__(self) -> str:
        return self.value

    @property
    def finished(self) -> bool:
        return self in (ItemStatus.DONE, ItemStatus.ERROR, ItemStatus.SKIPPED)


@dataclass
class ModelSummary:
    score: float
    flagged: bool
    marked_area: float | None  # None for a model without a map
    threshold: float | None
    cached: bool  # served from the results store, not computed in this run


@dataclass
class BatchItem:
    path: str
    status: ItemStatus = ItemStatus.QUEUED
    reason: str = ""
    sha256: str | None = None
    width: int | None = None
    height: int | None = None
    file_size: int | None = None
    duplicate_of: str | None = None
    models: dict[str, ModelSummary] = field(default_factory=dict)
    thumbnail: np.ndarray | None = None
    recompute: bool = False  # analyse again even where the results store holds the maps
    check_stability: bool = False  # check each map under benign variants too (once; the store keeps them)
    problem: str = ""  # found unreadable when the inputs were scanned: an error as soon as it is reached
    verdict: Verdict | None = None  # the analyst's, never a model's
    provenance: ProvenanceSummary | None = None  # what the file says about itself (the viewer reads it)
    to_review: dict[str, int] = field(
        default_factory=dict
    )  # regions without the examiner's decision, by model

    @property
    def flagged(self) -> bool:
        return any(m.flagged for m in self.models.values())

    def requeue(self, recompute: bool = False, check_stability: bool = False) -> None:
        """Back in the queue, to be analysed again (with `recompute`, never from stored maps; with
        `check_stability`, its maps checked under benign variants too)."""
        self.status, self.reason, self.models, self.duplicate_of = ItemStatus.QUEUED, "", {}, None
        self.recompute, self.check_stability = recompute, check_stability


@dataclass(frozen=True)
class BatchProgress:
    index: int  # the item being worked on
    done: int  # items finished (done, error or skipped)
    total: int
    stage: str  # "loading", "model", "finished"
    model: str = ""
    windows_done: int = 0
    windows_total: int = 0
    # the map so far (progressive)
    preview: np.ndarray | None = field(default=None, compare=False, repr=False)
    variant: str = ""  # stage "stability": the variant running ("resize75, 1 of 4")


def stored_provenance(store: ResultStore | None, path: str, sha256: str, anchors: str) -> dict:
    """The file's provenance from the store, else read from the file (and kept in the store)."""
    if store is not None and (known := store.provenance(sha256, anchors)) is not None:
        return known
    document = provenance_of(path, anchors)
    if store is not None:
        store.put_provenance(sha256, anchors, document)
    return document


def make_items(paths: Sequence[Path | str], follow_links: bool = False) -> list[BatchItem]:
    return [BatchItem(str(f.path), problem=f.problem) for f in scan_inputs(paths, follow_links)]


def _thumbnail(rgb: np.ndarray) -> np.ndarray:
    scale = THUMBNAIL_SIZE / max(rgb.shape[:2])
    size = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


ModelDone = Callable[[BatchItem, LoadedImage, str, ModelOutcome], None]
ImageDone = Callable[[BatchItem, ImageOutcome | None], None]


@dataclass
class BatchPass:
    """One run over a queue: how many items have finished, and the first item done of each SHA-256 (its
    duplicates are skipped)."""

    items: list[BatchItem]
    finished: int = 0
    first_by_hash: dict[str, BatchItem] = field(default_factory=dict)

    @classmethod
    def over(cls, items: list[BatchItem]) -> BatchPass:
        done = {item.sha256: item for item in items if item.sha256 and item.status == ItemStatus.DONE}
        return cls(items, sum(1 for item in items if item.status.finished), done)

    def progress(self, index: int, stage: str, **detail: Any) -> BatchProgress:
        return BatchProgress(index, self.finished, len(self.items), stage, **detail)


class BatchRunner:
    """Analyses queued items in order; iterate `run()`, close it to cancel (between two window batches)."""

    def __init__(
        self,
        localizers: Sequence[ModelLike],
        options: AnalysisOptions,
        store: ResultStore | None,
        thresholds: Thresholds,
        max_pixels: int | None = DEFAULT_MAX_PIXELS,
        stability: bool = False,
        trust_anchors: str | None = None,
        maps: MapSource | None = None,
    ):
        """With `stability`, each map is checked under benign variants of the image (session/stability);
        with `trust_anchors` (PEM, "" for none), each file's provenance is read (or taken from the store).
        The maps come from `maps` (computed here by default)."""
        self.localizers = localizers
        self.options = options
        self.store = store
        self.stability = stability
        self.trust_anchors = trust_anchors
        self.thresholds = thresholds  # the session's one owner: masks and areas follow its moves
        self.max_pixels = max_pixels
        self.maps = maps or LocalMaps()
        self.runtimes = self.maps.runtimes([loc.name for loc in localizers], options)

    def run(
        self, items: list[BatchItem], on_image: ImageDone | None = None, on_model: ModelDone | None = None
    ) -> Generator[BatchProgress, None, None]:
        """Analyse the queued items; `on_model` gets each map as it is made, `on_image` each finished item.

        A map lives only until `on_model` returns, so a huge image holds one
        model's map at a time; keep what you need from it in the callback.
        """
        batch = BatchPass.over(items)
        for index, item in enumerate(items):
            if item.status != ItemStatus.QUEUED:
                continue
            item.status = ItemStatus.RUNNING
            yield batch.progress(index, "loading")
            yield from self.finish(batch, index, on_image, on_model)

    def finish(
        self, batch: BatchPass, index: int, on_image: ImageDone | None, on_model: ModelDone | None
    ) -> Generator[BatchProgress, None, None]:
        """Finish one item of the pass: analyse it (one found failed already is reported as such), then
        count it and hand it to `on_image`. Cancelled or failed mid-image, it goes back to the queue."""
        item = batch.items[index]
        try:
            if item.status == ItemStatus.ERROR:
                outcome: ImageOutcome | None = ImageOutcome(item.path, error=item.reason)
            else:
                item.status = ItemStatus.RUNNING
                outcome = yield from self._analyse(batch, index, item, on_model)
        except BaseException:
            item.status = ItemStatus.QUEUED
            raise
        batch.finished += 1
        if on_image:
            on_image(item, outcome)
        yield batch.progress(index, "finished")

    def _analyse(
        self, batch: BatchPass, index: int, item: BatchItem, on_model: ModelDone | None
    ) -> Generator[BatchProgress, None, ImageOutcome | None]:
        if item.problem:
            item.status, item.reason = ItemStatus.ERROR, item.problem
            return ImageOutcome(item.path, error=item.problem)
        try:
            image = load_image(item.path, self.max_pixels)
        except ImageLoadError as exc:
            item.status, item.reason = ItemStatus.ERROR, exc.reason
            return ImageOutcome(item.path, error=exc.reason)
        self._describe(item, image)
        first = batch.first_by_hash.get(image.sha256)
        if first is not None and first is not item:
            item.status, item.duplicate_of, item.models = ItemStatus.SKIPPED, first.path, dict(first.models)
            item.reason = f"duplicate of {first.path} (same SHA-256)"
            return None
        outcome = ImageOutcome(item.path, image)
        for localizer in self.localizers:
            try:
                yield from self._model_outcome(batch, index, item, image, localizer, on_model)
            except (RuntimeError, ValueError, MemoryError) as exc:
                item.status = ItemStatus.ERROR
                item.reason = outcome.error = f"{localizer.name} failed: {user_message(exc)}"
                return outcome
        item.status, item.recompute, item.check_stability = ItemStatus.DONE, False, False
        batch.first_by_hash[image.sha256] = item
        return outcome

    def _describe(self, item: BatchItem, image: LoadedImage) -> None:
        """What the item shows before its maps: size, hash, thumbnail, the analyst's verdict, provenance."""
        item.sha256, item.width, item.height = image.sha256, image.width, image.height
        if item.verdict is None and self.store is not None:
            item.verdict = self.store.verdict(image.sha256) or Verdict()  # looked up: none recorded
        item.file_size, item.thumbnail = image.file_size, _thumbnail(image.rgb)
        if self.trust_anchors is not None:
            item.provenance = summarise(
                stored_provenance(self.store, item.path, image.sha256, self.trust_anchors)
            )

    def _model_outcome(
        self,
        batch: BatchPass,
        index: int,
        item: BatchItem,
        image: LoadedImage,
        localizer: ModelLike,
        on_model: ModelDone | None,
    ) -> Generator[BatchProgress, None, None]:
        """One model's outcome on the image, its stability check when asked, handed to `on_model`."""
        from ..engine.device import release_freed_memory

        model_outcome, cached = yield from self._model(batch, index, image, localizer, item.recompute)
        if (self.stability or item.check_stability) and model_outcome.run.probability is not None:
            model_outcome.stability = yield from self._stability(
                batch, index, image, localizer, model_outcome.run
            )
        summary = model_outcome.summary
        item.models[localizer.name] = ModelSummary(
            summary.score, summary.flagged, summary.marked_area, summary.threshold, cached
        )
        if on_model:
            on_model(item, image, localizer.name, model_outcome)
        del model_outcome  # otherwise this map stays alive while the next model runs
        release_freed_memory()  # a huge image's temporaries must not stay resident for the next model

    def _model(
        self, batch: BatchPass, index: int, image: LoadedImage, localizer: ModelLike, recompute: bool
    ) -> Generator[BatchProgress, None, tuple[ModelOutcome, bool]]:
        """The model's outcome on the image, from the store when it holds it (unless `recompute`), and
        whether it did."""
        runtime = self.runtimes[localizer.name]
        key = result_key(image.sha256, localizer.name, localizer.checkpoints, self.options, runtime)
        notes = []
        if self.store is not None and not recompute:
            try:
                if (stored := self.store.load(key)) is not None:
                    return self._outcome(localizer, *stored), True
            except StoredResultDamaged as exc:
                notes.append(f"{exc}; it was dropped and computed again")

        def batch_progress(progress: Progress) -> BatchProgress:
            windows = progress.total or 0
            return batch.progress(
                index, "model", model=localizer.name, windows_done=progress.done, windows_total=windows,
                preview=progress.preview,
            )  # fmt: skip

        run = yield from relay(self.maps.compute(localizer, image, self.options, runtime), batch_progress)
        run.notes += notes
        run.computed_at = time.time()
        if image.width * image.height >= RELEASE_WEIGHTS_FROM_PIXELS:
            localizer.release_weight_pages()
        score = run.score
        if self.store is not None:
            self.store.put(key, image.sha256, localizer.name, run, score)
        return self._outcome(localizer, run, score), False

    def _stability(
        self, batch: BatchPass, index: int, image: LoadedImage, localizer: ModelLike, run: ModelRun
    ) -> Generator[BatchProgress, None, StabilityCheck]:
        """The map's stability check (variants from the store where it holds them)."""
        from .stability import check_stability

        def batch_progress(progress: Progress) -> BatchProgress:
            return batch.progress(
                index, "stability", model=localizer.name, windows_done=progress.done,
                windows_total=progress.total or 0, variant=progress.stage.removeprefix("stability: "),
            )  # fmt: skip

        check = check_stability(
            localizer, image, run, self.options, self.runtimes[localizer.name], self.store
        )
        return (yield from relay(check, batch_progress))

    def _outcome(self, localizer: ModelLike, run: ModelRun, score: float) -> ModelOutcome:
        threshold = self.thresholds.of(localizer.name) if run.probability is not None else None
        return ModelOutcome(run, summarise_run(run, threshold, localizer.score_threshold, score))
