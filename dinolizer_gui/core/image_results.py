"""One image's results as the viewer and exports use them: maps with live thresholds, masks, regions.

Moving a threshold only re-derives masks, areas and regions here; a model
never runs again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .analysis import AnalysisOptions, ModelRun
from .imageio import LoadedImage
from .postprocess import Summary, binary_mask, summarise
from .render import probability_levels
from .results_store import ResultStore, result_key

if TYPE_CHECKING:
    from .models.localizer import Localizer


@dataclass
class ModelResult:
    localizer: Localizer
    run: ModelRun
    score: float
    levels: np.ndarray  # probability quantised for colouring
    threshold: float
    summary: Summary | None = None  # regions at `threshold`, computed lazily
    _mask: tuple[float, np.ndarray] | None = None

    @classmethod
    def of(cls, localizer: Localizer, run: ModelRun, score: float, threshold: float) -> ModelResult:
        return cls(localizer, run, score, probability_levels(run.probability), threshold)

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
            self.summary = summarise(
                self.run.probability, self.threshold, self.localizer.score_threshold, self.score
            )
        return self.summary


@dataclass
class ImageResults:
    path: str
    image: LoadedImage
    models: dict[str, ModelResult] = field(default_factory=dict)


def add_stored_results(
    results: ImageResults,
    localizers: list[Localizer],
    store: ResultStore,
    options: AnalysisOptions,
    thresholds: dict[str, float],
    device_type: str,
) -> None:
    """Add each model's map that the store holds for the image (no model is run)."""
    for localizer in localizers:
        if localizer.name in results.models:
            continue
        key = result_key(results.image.sha256, localizer.name, localizer.checkpoints, options, device_type)
        stored = store.get(key)
        if stored is not None:
            threshold = thresholds.get(localizer.name, localizer.pixel_threshold)
            results.models[localizer.name] = ModelResult.of(
                localizer, stored.load_run(), stored.score, threshold
            )
