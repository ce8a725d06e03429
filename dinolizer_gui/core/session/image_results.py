"""One image's results as the viewer and exports use them: maps with live thresholds, masks, regions.

Moving a threshold only re-derives masks, areas and regions here; a model
never runs again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..engine.analysis import AnalysisOptions, ModelRun
from ..evaluation.ground_truth import GroundTruth
from ..evaluation.metrics import mask_scores
from ..io.images import LoadedImage
from ..maps.postprocess import Summary, binary_mask, summarise_run
from ..maps.render import probability_levels
from ..maps.stability import StabilityAt, StabilityCheck
from ..store.results import ResultStore, StoredResultDamaged, result_key
from .thresholds import Thresholds

if TYPE_CHECKING:
    from ..models.model_like import ModelLike


@dataclass
class ModelResult:
    localizer: ModelLike
    run: ModelRun
    score: float
    levels: np.ndarray | None  # probability quantised for colouring; None for a model without a map
    thresholds: Thresholds  # the session's: masks, areas and regions follow them
    summary: Summary | None = None  # regions at `threshold`, computed lazily
    preview: tuple[int, int] | None = None  # (windows done, windows in all): the map of an analysis under way
    stability: StabilityCheck | None = None  # its check under benign variants, once one was run
    _mask: tuple[float, np.ndarray] | None = None
    _marked: tuple[float, float] | None = None  # (threshold, marked area): the dock and the table both ask
    _truth_curve: tuple[GroundTruth, dict] | None = None  # AP and best F1 against a ground truth
    _truth_scores: tuple[GroundTruth, float, dict] | None = None  # and IoU, F1 at a threshold

    @classmethod
    def of(cls, localizer: ModelLike, run: ModelRun, score: float, thresholds: Thresholds) -> ModelResult:
        levels = probability_levels(run.probability) if run.probability is not None else None
        return cls(localizer, run, score, levels, thresholds)

    @property
    def threshold(self) -> float | None:
        """The model's pixel threshold now; None for a model without a map."""
        return self.thresholds.of(self.localizer.name) if self.has_map else None

    def _cut(self) -> float:
        """The threshold of a map (a model without one has none)."""
        if (threshold := self.threshold) is None:
            raise ValueError(f"{self.localizer.name} gives no map")
        return threshold

    @property
    def has_map(self) -> bool:
        return self.run.probability is not None

    @property
    def probability(self) -> np.ndarray:
        if self.run.probability is None:
            raise ValueError(f"{self.localizer.name} gives no map")
        return self.run.probability

    def mask(self) -> np.ndarray:
        threshold = self._cut()
        if self._mask is None or self._mask[0] != threshold:
            self._mask = (threshold, binary_mask(self.probability, threshold))
        return self._mask[1]

    def marked_area(self) -> float:
        threshold = self._cut()
        if self._marked is None or self._marked[0] != threshold:
            mask = self.mask()
            self._marked = (threshold, np.count_nonzero(mask) / mask.size)
        return self._marked[1]

    def flagged(self) -> bool:
        if self.run.image_level is not None:
            return self.run.image_level.flagged
        return self.score >= self.localizer.score_threshold

    def score_against(self, truth: GroundTruth) -> dict:
        """IoU, F1, precision and recall at the threshold, AP and best F1 of the map against the ground truth
        (as `evaluate` computes them); the AP sorts every pixel, so call this off the GUI thread."""
        from ..evaluation.evaluator import localization_scores

        if self._truth_curve is None or self._truth_curve[0] is not truth:
            scores, _ = localization_scores(self.probability, truth, self._cut())
            self._truth_curve = (truth, {"ap": scores["ap"], "best_f1": scores["best_f1"]})
        if (cached := self.scored_against(truth)) is not None:
            return cached
        scores = {"ap": None, "best_f1": None, **self._truth_curve[1]}
        if not truth.authentic:
            at_threshold = mask_scores(self.mask(), truth.mask)
            scores.update(iou=at_threshold.iou, f1=at_threshold.f1)
        scores["marked_area"] = self.marked_area()
        self._truth_scores = (truth, self._cut(), scores)
        return scores

    def scored_against(self, truth: GroundTruth) -> dict | None:
        """The scores against this ground truth at the current threshold if already computed, else None."""
        cached = self._truth_scores
        if cached is not None and cached[0] is truth and cached[1] == self.threshold:
            return cached[2]
        return None

    def stability_now(self) -> StabilityAt | None:
        """The stability check read at the current threshold (None: no check was run)."""
        if self.stability is None or (threshold := self.threshold) is None:
            return None
        return self.stability.at(threshold)

    def regions_summary(self) -> Summary:
        if self.summary is None or self.summary.threshold != self.threshold:
            self.summary = summarise_run(self.run, self.threshold, self.localizer.score_threshold, self.score)
        return self.summary


@dataclass(frozen=True)
class PreviewResult:
    """One model's map so far on the image being analysed (a progressive analysis shows it as it improves)."""

    path: str
    model: str
    result: ModelResult


@dataclass
class ImageResults:
    path: str
    image: LoadedImage
    models: dict[str, ModelResult] = field(default_factory=dict)
    ground_truth: GroundTruth | None = None


def add_stored_results(
    results: ImageResults,
    localizers: list[ModelLike],
    store: ResultStore,
    options: AnalysisOptions,
    thresholds: Thresholds,
    runtimes: dict,
) -> None:
    """Add each model's result that the store holds for the image, with its stability check when the store
    holds every variant's map (no model is run)."""
    from .stability import stored_check

    for localizer in localizers:
        if localizer.name in results.models:
            continue
        runtime = runtimes[localizer.name]
        key = result_key(results.image.sha256, localizer.name, localizer.checkpoints, options, runtime)
        try:
            stored = store.load(key)
        except StoredResultDamaged:
            continue  # dropped: shown as not analysed, and the next run computes it again
        if stored is None:
            continue
        run, score = stored
        result = ModelResult.of(localizer, run, score, thresholds)
        if run.probability is not None:
            result.stability = stored_check(localizer, results.image, run, options, runtime, store)
        results.models[localizer.name] = result
