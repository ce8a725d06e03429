"""What the viewer holds for one analysed image, prepared off the GUI thread."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PySide6.QtGui import QImage

from ..core.imageio import LoadedImage, load_image
from ..core.inference import AnalysisOptions, ModelRun
from ..core.jobs import JobProgress, LocalizerCache, analysis_job
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


def analyse_job(path: str, model_files: dict[str, list[Path]], options: AnalysisOptions, cache: LocalizerCache,
                thresholds: dict[str, float], max_pixels: int | None) -> Generator[JobProgress, None, Document]:
    """Load the models (once per session), analyse, and prepare everything the panels show."""
    localizers = []
    for name, files in model_files.items():
        yield JobProgress("loading model", name)
        localizers.append(cache.get(name, files))
    result = yield from analysis_job(path, localizers, options, max_pixels)
    document = Document(path, result.image, rgb_image(result.image.rgb))
    for localizer in localizers:
        run = result.runs[localizer.name]
        document.models[localizer.name] = ModelResult(
            localizer, run, result.scores[localizer.name], probability_levels(run.probability),
            thresholds.get(localizer.name, localizer.pixel_threshold))
    return document
