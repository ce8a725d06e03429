"""Batches: finding the images, and analysing a queue of them with the results store.

One image is in memory at a time; finished maps live in the store, not in the
queue, so thousands of images (or a few huge ones) keep memory bounded.
PyTorch is imported only once a runner exists: the viewer lists a queue
before any model is loaded.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
from natsort import natsorted

from ..engine.analysis import AnalysisOptions, ImageOutcome, ModelOutcome
from ..errors import user_message
from ..io.images import DEFAULT_MAX_PIXELS, ImageLoadError, LoadedImage, is_image_path, load_image
from ..io.outputs import is_output_folder
from ..io.provenance import ProvenanceSummary, provenance_of, summarise
from ..progress import Progress, relay
from ..store.results import ResultStore, StoredResultDamaged, result_key
from ..store.verdicts import Verdict
from .thresholds import Thresholds

if TYPE_CHECKING:
    from ..models.localizer import ModelLike

THUMBNAIL_SIZE = 96
# From this size on, a model's weights leave resident memory once it has run on the image, so that the
# image's full-size buffers (maps, masks, composites) never stack on both models' weights (1.5 GB on the
# CPU). Below it, keeping them resident saves re-reading them from the page cache (~0.05 s a DeCLIP run).
RELEASE_WEIGHTS_FROM_PIXELS = 20_000_000


@dataclass(frozen=True)
class Found:
    """An entry of the inputs: an image to analyse, or what could not be looked at and why."""

    path: Path
    problem: str = (
        ""  # a folder that could not be read, a link not followed: reported, never skipped silently
    )


def scan_inputs(
    paths: Sequence[Path | str], follow_links: bool = False, every_file: bool = False
) -> list[Found]:
    """Files given explicitly, plus the images found recursively in folders.

    Folders contribute only names with image extensions, in natural order; hidden files and folders, the
    app's output folders and symbolic-link loops are skipped. Nothing else is skipped in silence: a folder
    that cannot be read (permissions, a path longer than the system allows) is an entry with its reason, and
    so is a link inside a folder that leads out of it (not followed unless `follow_links`). Whatever is kept
    and cannot be read (a path given explicitly that is not an image, a pipe named like one) gets a clear
    error when it is loaded. With `every_file` (listing evidence), the other files in folders are entries
    too, each saying why it is left out (hidden, not an image type).
    """
    found: list[Found] = []
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        for entry in _walk_images(path, follow_links, every_file) if path.is_dir() else [Found(path)]:
            key = entry.path.absolute()
            if key not in seen:
                seen.add(key)
                found.append(entry)
    return found


def _walk_images(root: Path, follow_links: bool, every_file: bool) -> list[Found]:
    """The images under `root` and the problems met, in natural order."""
    found: list[Found] = []
    visited: set[tuple[int, int]] = set()
    inside = os.path.realpath(root)

    def unreadable(error: OSError) -> None:
        reason = error.strerror or type(error).__name__
        found.append(
            Found(
                Path(error.filename or root),
                f"folder could not be read: {reason}; its images are not analysed",
            )
        )

    def leaves(path: Path) -> str:
        """Why a link is not followed ("" when it is): it leads out of the folder dropped."""
        if follow_links or not path.is_symlink():
            return ""
        target = os.path.realpath(path)
        if target == inside or target.startswith(inside.rstrip(os.sep) + os.sep):
            return ""
        return f"a link out of {root} (to {target}): not followed (--follow-links follows it)"

    for folder, subfolders, files in os.walk(root, followlinks=True, onerror=unreadable):
        try:
            stat = os.stat(folder)
        except OSError as error:  # gone, or out of reach, since it was listed
            unreadable(error)
            subfolders[:] = []
            continue
        identity = (stat.st_dev, stat.st_ino)
        if identity in visited or is_output_folder(
            Path(folder)
        ):  # a symlink loop, a folder seen, our outputs
            subfolders[:] = []
            continue
        visited.add(identity)
        kept = []
        if every_file:
            hidden = natsorted(name for name in subfolders if name.startswith("."))
            found += [Found(Path(folder) / name, "a hidden folder: not looked into") for name in hidden]
        for name in natsorted(d for d in subfolders if not d.startswith(".")):
            why = _safely(leaves, Path(folder) / name)
            if why:
                found.append(Found(Path(folder) / name, why))
            else:
                kept.append(name)
        subfolders[:] = kept
        for name in natsorted(files):
            path = Path(folder) / name
            if not name.startswith(".") and is_image_path(Path(name)):
                found.append(Found(path, _safely(leaves, path)))
            elif every_file:
                found.append(Found(path, "a hidden file: not listed" if name.startswith(".") else LEFT_OUT))
    return found


LEFT_OUT = "not an image type: not listed"


def _safely(check: Callable[[Path], str], path: Path) -> str:
    """A check of one entry; an entry that cannot even be looked at (a path longer than the system allows)
    is a problem of its own."""
    try:
        return check(path)
    except OSError as error:
        return f"could not be read: {error.strerror or type(error).__name__}; not analysed"


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


class BatchRunner:
    """Analyses queued items in order; iterate `run()`, close it to cancel (between two window batches)."""

    def __init__(
        self,
        localizers: list[ModelLike],
        options: AnalysisOptions,
        store: ResultStore | None,
        thresholds: Thresholds,
        max_pixels: int | None = DEFAULT_MAX_PIXELS,
        stability: bool = False,
        trust_anchors: str | None = None,
    ):
        """With `stability`, each map is checked under benign variants of the image (session/stability);
        with `trust_anchors` (PEM, "" for none), each file's provenance is read (or taken from the store)."""
        from ..models.localizer import model_runtimes

        self.localizers = localizers
        self.options = options
        self.store = store
        self.stability = stability
        self.trust_anchors = trust_anchors
        self.thresholds = thresholds  # the session's one owner: masks and areas follow its moves
        self.max_pixels = max_pixels
        self.runtimes = model_runtimes([loc.name for loc in localizers], options)

    def run(
        self, items: list[BatchItem], on_image: ImageDone | None = None, on_model: ModelDone | None = None
    ) -> Generator[BatchProgress, None, None]:
        """Analyse the queued items; `on_model` gets each map as it is made, `on_image` each finished item.

        A map lives only until `on_model` returns, so a huge image holds one
        model's map at a time; keep what you need from it in the callback.
        """
        first_by_hash = {
            item.sha256: item for item in items if item.sha256 and item.status == ItemStatus.DONE
        }
        finished = sum(1 for item in items if item.status.finished)
        for index, item in enumerate(items):
            if item.status != ItemStatus.QUEUED:
                continue
            item.status = ItemStatus.RUNNING
            yield BatchProgress(index, finished, len(items), "loading")
            try:
                outcome = yield from self._analyse(index, item, finished, len(items), first_by_hash, on_model)
            except BaseException:
                item.status = ItemStatus.QUEUED  # cancelled or failed mid-image: it will run again
                raise
            finished += 1
            if on_image:
                on_image(item, outcome)
            yield BatchProgress(index, finished, len(items), "finished")

    def _analyse(self, index, item, finished, total, first_by_hash, on_model):
        from ..engine.device import release_freed_memory

        if item.problem:
            item.status, item.reason = ItemStatus.ERROR, item.problem
            return ImageOutcome(item.path, error=item.problem)
        try:
            image = load_image(item.path, self.max_pixels)
        except ImageLoadError as exc:
            item.status, item.reason = ItemStatus.ERROR, exc.reason
            return ImageOutcome(item.path, error=exc.reason)
        item.sha256, item.width, item.height = image.sha256, image.width, image.height
        if item.verdict is None and self.store is not None:
            item.verdict = self.store.verdict(image.sha256) or Verdict()  # looked up: none recorded
        item.file_size, item.thumbnail = image.file_size, _thumbnail(image.rgb)
        if self.trust_anchors is not None:
            item.provenance = summarise(
                stored_provenance(self.store, item.path, image.sha256, self.trust_anchors)
            )
        first = first_by_hash.get(image.sha256)
        if first is not None and first is not item:
            item.status, item.duplicate_of, item.models = ItemStatus.SKIPPED, first.path, dict(first.models)
            item.reason = f"duplicate of {first.path} (same SHA-256)"
            return None
        outcome = ImageOutcome(item.path, image)
        for localizer in self.localizers:
            try:
                model_outcome, cached = yield from self._model(
                    index, finished, total, image, localizer, item.recompute
                )
            except (RuntimeError, ValueError, MemoryError) as exc:
                item.status = ItemStatus.ERROR
                item.reason = outcome.error = f"{localizer.name} failed: {user_message(exc)}"
                return outcome
            if (self.stability or item.check_stability) and model_outcome.run.probability is not None:
                model_outcome.stability = yield from self._stability(
                    index, finished, total, image, localizer, model_outcome.run
                )
            summary = model_outcome.summary
            item.models[localizer.name] = ModelSummary(
                summary.score, summary.flagged, summary.marked_area, summary.threshold, cached
            )
            if on_model:
                on_model(item, image, localizer.name, model_outcome)
            del model_outcome  # otherwise this map stays alive while the next model runs
            release_freed_memory()  # a huge image's temporaries must not stay resident for the next model
        item.status, item.recompute, item.check_stability = ItemStatus.DONE, False, False
        first_by_hash[image.sha256] = item
        return outcome

    def _model(self, index, finished, total, image, localizer, recompute):
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
            done, windows = progress.done, progress.total or 0
            return BatchProgress(
                index, finished, total, "model", localizer.name, done, windows, progress.preview
            )

        run = yield from relay(localizer.analyze(image, self.options, runtime), batch_progress)
        run.notes += notes
        run.computed_at = time.time()
        if image.width * image.height >= RELEASE_WEIGHTS_FROM_PIXELS:
            localizer.release_weight_pages()
        score = run.score
        if self.store is not None:
            self.store.put(key, image.sha256, localizer.name, run, score)
        return self._outcome(localizer, run, score), False

    def _stability(self, index, finished, total, image, localizer, run):
        """The map's stability check (variants from the store where it holds them)."""
        from .stability import check_stability

        def batch_progress(progress: Progress) -> BatchProgress:
            return BatchProgress(
                index,
                finished,
                total,
                "stability",
                localizer.name,
                progress.done,
                progress.total or 0,
                variant=progress.stage.removeprefix("stability: "),
            )

        check = check_stability(
            localizer, image, run, self.options, self.runtimes[localizer.name], self.store
        )
        return (yield from relay(check, batch_progress))

    def _outcome(self, localizer: ModelLike, run, score: float) -> ModelOutcome:
        from ..maps.postprocess import summarise_run

        threshold = self.thresholds.of(localizer.name) if run.probability is not None else None
        return ModelOutcome(run, summarise_run(run, threshold, localizer.score_threshold, score))
