"""Per-image scores against the ground truth, and each model's summary over a data set."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..maps.outcome import ModelOutcome
from ..maps.postprocess import binary_mask
from .ground_truth import GroundTruth
from .metrics import (
    PixelCounts,
    PooledCounts,
    average_precision,
    best_f1,
    counts_at,
    mask_scores,
    pixel_counts,
    precision_recall_curve,
    roc_auc,
    roc_curve,
)

# The data set's best single threshold is searched on this grid (the app's thresholds move by 0.001 at best)
THRESHOLD_GRID = np.round(np.linspace(0.0, 1.0, 1001), 3)


@dataclass(frozen=True)
class EvaluatedModel:
    """What the evaluation needs to know of a model."""

    name: str
    produces_map: bool
    threshold: float | None  # the pixel threshold of the masks (None: an image-level model)
    score_threshold: float  # the image-level flag threshold
    score_threshold_source: str


def localization_scores(
    probability: np.ndarray, truth: GroundTruth, threshold: float
) -> tuple[dict, PixelCounts]:
    """One map against its ground truth: the per-image metrics, and the counts for data-set curves."""
    counts = pixel_counts(probability, truth.mask)
    predicted = binary_mask(probability, threshold)
    marked_area = float(np.count_nonzero(predicted) / predicted.size)
    if truth.authentic:
        empty = dict.fromkeys(("iou", "f1", "best_f1", "best_f1_threshold", "ap", "precision", "recall"))
        return {**empty, "marked_area": marked_area}, counts
    at_threshold = mask_scores(predicted, truth.mask)
    best, best_threshold = best_f1(counts)
    return {
        "iou": at_threshold.iou,
        "f1": at_threshold.f1,
        "best_f1": best,
        "best_f1_threshold": best_threshold,
        "ap": average_precision(counts),
        "precision": at_threshold.precision,
        "recall": at_threshold.recall,
        "marked_area": marked_area,
    }, counts


@dataclass
class ModelTally:
    """One model's running totals over the data set."""

    model: EvaluatedModel
    rows: list[dict] = field(default_factory=list)  # per-image metrics of manipulated images
    authentic_marked: list[float] = field(default_factory=list)
    pooled: PooledCounts = field(default_factory=PooledCounts)
    f1_sums: np.ndarray = field(default_factory=lambda: np.zeros(len(THRESHOLD_GRID)))
    detection_scores: list[float] = field(default_factory=list)
    labels: list[bool] = field(default_factory=list)  # True = manipulated
    flags: list[bool] = field(default_factory=list)

    def add(self, outcome: ModelOutcome, truth: GroundTruth) -> dict:
        run, summary = outcome.run, outcome.summary
        detection = run.image_level.logit if run.image_level is not None else run.score
        self.detection_scores.append(detection)
        self.labels.append(not truth.authentic)
        self.flags.append(bool(summary.flagged))
        entry = {"score": summary.score, "flagged": bool(summary.flagged)}
        if run.probability is None or self.model.threshold is None:
            return entry
        metrics, counts = localization_scores(run.probability, truth, self.model.threshold)
        self.pooled.add(counts)
        if truth.authentic:
            self.authentic_marked.append(metrics["marked_area"])
        else:
            self.rows.append(metrics)
            true_positives, false_positives = counts_at(counts, THRESHOLD_GRID)
            positives = counts.positives
            self.f1_sums += 2 * true_positives / (true_positives + false_positives + positives)
        return {**metrics, **entry}

    def summary(self) -> dict:
        labels = np.array(self.labels, bool)
        return {
            "kind": "localization" if self.model.produces_map else "image-level",
            "images": len(labels),
            "manipulated": int(labels.sum()),
            "authentic": int((~labels).sum()),
            "threshold": self.model.threshold if self.model.produces_map else None,
            "localization": self._localization() if self.model.produces_map else None,
            "detection": self._detection(labels),
        }

    def _localization(self) -> dict:
        """Means over the manipulated images (null without any), pooled AP, the best single threshold."""
        authentic = float(np.mean(self.authentic_marked)) if self.authentic_marked else None
        keys = ("iou", "f1", "precision", "recall", "best_f1", "ap")
        means = {f"mean_{key}": _mean([row[key] for row in self.rows]) for key in keys}
        mean_f1 = self.f1_sums / max(len(self.rows), 1)
        best = len(mean_f1) - 1 - int(np.argmax(mean_f1[::-1]))  # ties: the highest threshold
        pooled = self.pooled.counts()
        return {
            **means,
            "mean_marked_area_manipulated": _mean([row["marked_area"] for row in self.rows]),
            "mean_marked_area_authentic": authentic,
            "pooled_ap": average_precision(pooled) if pooled.positives else None,
            "best_threshold": float(THRESHOLD_GRID[best]) if self.rows else None,
            "mean_f1_at_best_threshold": float(mean_f1[best]) if self.rows else None,
        }

    def _detection(self, labels: np.ndarray) -> dict:
        flags = np.array(self.flags, bool)
        manipulated, authentic = labels.sum(), (~labels).sum()
        return {
            "score": "mean crop logit" if not self.model.produces_map else "99th percentile of the map",
            "auc": roc_auc(np.array(self.detection_scores), labels),
            "flag_threshold": self.model.score_threshold,
            "flag_threshold_source": self.model.score_threshold_source,
            "accuracy": float((flags == labels).mean()) if len(labels) else None,
            "tpr": float((flags & labels).sum() / manipulated) if manipulated else None,
            "tnr": float((~flags & ~labels).sum() / authentic) if authentic else None,
        }

    def curves(self) -> dict:
        """What the plots draw: the pooled precision-recall curve, per-image IoU, the ROC."""
        curves: dict = {"iou": [row["iou"] for row in self.rows]}
        if self.model.produces_map and self.pooled.counts().positives:
            precision, recall, _ = precision_recall_curve(self.pooled.counts())
            curves["pr"] = (recall, precision)
        labels = np.array(self.labels, bool)
        if labels.any() and (~labels).any():
            curves["roc"] = roc_curve(np.array(self.detection_scores), labels)
        return curves


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None
