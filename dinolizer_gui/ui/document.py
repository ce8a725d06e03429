"""What the viewer holds for one analysed image, prepared off the GUI thread."""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PySide6.QtGui import QImage

from ..core.batch import BatchItem, BatchRunner
from ..core.cache import ResultStore, result_key
from ..core.imageio import LoadedImage, load_image
from ..core.inference import AnalysisOptions, ModelRun
from ..core.jobs import JobProgress, LocalizerCache
from ..core.models.registry import Localizer
from ..core.postprocess import Summary, binary_mask, summarise
from ..core.render import probability_levels
from .qimages import rgb_image


@dataclass
class ModelResult:
    localizer: Localizer
    run: ModelRun
    score: float
    levels: np.ndarray  # probability quantised for colouring
    threshold: float
    summary: Summary | None = None  # regions at `threshold`, computed lazily
    _mask: tuple[float, np.ndarray] | None = None

    @property
    def probability(self) -> np.ndarray:
        return self.run.probability

    def mask(self) -> np.ndarray:
        if self._mask is None or self._mask[0] != self.threshold:
            self._mask = (self.threshold, binary_mask(self.run.probability, self.threshold))
        return self._mask[1]

    def marked_area(self) -> float:
        mask = self.mask()
        return np.count_nonzero(mask) / mask.size

    def flagged(self) -> bool:
        return self.score >= self.localizer.score_threshold

    def regions_summary(self) -> Summary:
        if self.summary is None or self.summary.threshold != self.threshold:
            self.summary = summarise(self.run.probability, self.threshold, self.localizer.score_threshold, self.score)
        return self.summary


@dataclass
class Document:
    path: str
    image: LoadedImage
    base: QImage
    models: dict[str, ModelResult] = field(default_factory=dict)


def open_job(path: str, max_pixels: int | None) -> Generator[JobProgress, None, Document]:
    """Load an image for viewing only (no model)."""
    yield JobProgress("loading image")
    image = load_image(path, max_pixels)
    return Document(path, image, rgb_image(image.rgb))


def _model_result(localizer: Localizer, run: ModelRun, score: float, threshold: float) -> ModelResult:
    return ModelResult(localizer, run, score, probability_levels(run.probability), threshold)


def _localizers(model_files, cache):
    localizers = []
    for name, files in model_files.items():
        yield JobProgress("loading model", name)
        localizers.append(cache.get(name, files))
    return localizers


def load_document(path: str, localizers: list[Localizer], store: ResultStore, options: AnalysisOptions,
                  thresholds: dict[str, float], max_pixels: int | None) -> Document:
    """An image with whatever results the store holds for it (no model is run)."""
    image = load_image(path, max_pixels)
    document = Document(path, image, rgb_image(image.rgb))
    _add_stored_results(document, localizers, store, options, thresholds)
    return document


def _add_stored_results(document: Document, localizers: list[Localizer], store: ResultStore,
                        options: AnalysisOptions, thresholds: dict[str, float]) -> None:
    for localizer in localizers:
        if localizer.name in document.models:
            continue
        stored = store.get(result_key(document.image.sha256, localizer.name, localizer.checkpoints, options))
        if stored is not None:
            threshold = thresholds.get(localizer.name, localizer.pixel_threshold)
            document.models[localizer.name] = _model_result(localizer, stored.load_run(), stored.score, threshold)


def stored_job(path: str, model_files: dict[str, list[Path]], cache: LocalizerCache, store: ResultStore,
               options: AnalysisOptions, thresholds: dict[str, float],
               max_pixels: int | None) -> Generator[JobProgress, None, Document]:
    localizers = yield from _localizers(model_files, cache)
    yield JobProgress("loading image")
    return load_document(path, localizers, store, options, thresholds, max_pixels)


def batch_job(items: list[BatchItem], model_files: dict[str, list[Path]], cache: LocalizerCache,
              store: ResultStore, options: AnalysisOptions, thresholds: dict[str, float], max_pixels: int | None,
              wanted: Callable[[], str | None]) -> Generator[object, None, None]:
    """Runs the queue; yields BatchProgress events, and a Document when the image on screen finishes."""
    localizers = yield from _localizers(model_files, cache)
    runner = BatchRunner(localizers, options, store, thresholds, max_pixels)
    ready: list[Document] = []
    shown: dict[str, ModelResult] = {}  # the maps of the image on screen; every other map goes to the store only

    def model_finished(item: BatchItem, image, name: str, model) -> None:
        if item.path == wanted():
            localizer = next(loc for loc in localizers if loc.name == name)
            shown[name] = _model_result(localizer, model.run, model.summary.score, model.summary.threshold)

    def image_finished(item: BatchItem, outcome) -> None:
        models = dict(shown)
        shown.clear()
        if outcome is None or not outcome.ok or item.path != wanted():
            return
        document = Document(item.path, outcome.image, rgb_image(outcome.image.rgb), models)
        _add_stored_results(document, localizers, store, options, thresholds)  # chosen after its first model ran
        ready.append(document)

    for progress in runner.run(items, on_image=image_finished, on_model=model_finished):
        yield progress
        while ready:
            yield ready.pop()
