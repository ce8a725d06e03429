"""Localization and detection metrics, exactly as scikit-learn defines them (without depending on it).

Pixel metrics compare a probability map with a binary ground truth. The
precision-recall curve is scikit-learn's `precision_recall_curve`: one point
per distinct score, a pixel predicted positive when its score is at or above
the point's threshold, plus the final point (precision 1, recall 0); average
precision is `average_precision_score`: the sum over the curve of the
precision times the recall gained, with no interpolation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PixelCounts:
    """For each distinct score, from the highest down: positives and negatives at or above it."""

    thresholds: np.ndarray  # distinct scores, decreasing
    true_positives: np.ndarray  # cumulative, int64
    false_positives: np.ndarray

    @property
    def positives(self) -> int:
        return int(self.true_positives[-1]) if len(self.true_positives) else 0


def pixel_counts(scores: np.ndarray, truth: np.ndarray) -> PixelCounts:
    """Cumulative counts by decreasing distinct score (scikit-learn's `_binary_clf_curve`)."""
    scores, truth = scores.ravel(), truth.ravel().astype(bool)
    order = np.argsort(scores, kind="stable")[::-1]
    return cumulative_counts(scores[order], truth[order], ~truth[order])


def cumulative_counts(scores: np.ndarray, positives: np.ndarray, negatives: np.ndarray) -> PixelCounts:
    """`scores` in decreasing order with how many positives and negatives each stands for."""
    if not len(scores):
        empty = np.zeros(0, np.int64)
        return PixelCounts(scores, empty, empty)
    ends = np.r_[np.flatnonzero(np.diff(scores)), len(scores) - 1]
    return PixelCounts(
        scores[ends],
        np.cumsum(positives, dtype=np.int64)[ends],
        np.cumsum(negatives, dtype=np.int64)[ends],
    )


def counts_at(counts: PixelCounts, thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """True and false positives when predicting `score >= t`, for each t."""
    above = np.searchsorted(-counts.thresholds, -np.asarray(thresholds), side="right")
    padded_tp, padded_fp = np.r_[0, counts.true_positives], np.r_[0, counts.false_positives]
    return padded_tp[above], padded_fp[above]


class PooledCounts:
    """Pixel counts gathered over many images, for the curve of all their pixels together.

    Each image adds its distinct scores with their counts; they are merged
    whenever they grow large, so memory follows the number of distinct scores.
    """

    MERGE_AT = 1 << 24

    def __init__(self) -> None:
        self._parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._size = 0
        self._merged: PixelCounts | None = None

    def add(self, counts: PixelCounts) -> None:
        self._merged = None
        self._parts.append(
            (
                counts.thresholds,
                np.diff(counts.true_positives, prepend=0),
                np.diff(counts.false_positives, prepend=0),
            )
        )
        self._size += len(counts.thresholds)
        if self._size >= self.MERGE_AT and len(self._parts) > 1:
            merged = self.counts()
            self._parts, self._size = [], 0
            self.add(merged)

    def counts(self) -> PixelCounts:
        if self._merged is None:
            if not self._parts:
                return cumulative_counts(np.zeros(0), np.zeros(0, np.int64), np.zeros(0, np.int64))
            columns = (np.concatenate(column) for column in zip(*self._parts, strict=True))
            scores, positives, negatives = columns
            order = np.argsort(scores, kind="stable")[::-1]
            self._merged = cumulative_counts(scores[order], positives[order], negatives[order])
        return self._merged


def precision_recall_curve(counts: PixelCounts) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision, recall (both ending with the point 1, 0) and thresholds, in scikit-learn's order."""
    tps, fps = counts.true_positives, counts.false_positives
    predicted = tps + fps
    precision = np.divide(tps, predicted, out=np.zeros(len(tps)), where=predicted != 0)
    recall = np.ones(len(tps)) if counts.positives == 0 else tps / counts.positives
    return np.r_[precision[::-1], 1.0], np.r_[recall[::-1], 0.0], counts.thresholds[::-1]


def average_precision(counts: PixelCounts) -> float:
    precision, recall, _ = precision_recall_curve(counts)
    return float(-np.sum(np.diff(recall) * precision[:-1]))


def best_f1(counts: PixelCounts) -> tuple[float, float]:
    """The best F1 over the curve's thresholds, and the threshold that gives it (the highest such)."""
    precision, recall, thresholds = precision_recall_curve(counts)
    precision, recall = precision[:-1], recall[:-1]
    total = precision + recall
    f1 = np.divide(2 * precision * recall, total, out=np.zeros(len(total)), where=total != 0)
    if not len(f1):
        return 0.0, 1.0
    best = len(f1) - 1 - int(np.argmax(f1[::-1]))  # ties: the highest threshold
    return float(f1[best]), float(thresholds[best])


@dataclass(frozen=True)
class MaskScores:
    """A binary prediction against the truth."""

    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float:
        predicted = self.true_positives + self.false_positives
        return self.true_positives / predicted if predicted else 0.0

    @property
    def recall(self) -> float:
        actual = self.true_positives + self.false_negatives
        return self.true_positives / actual if actual else 0.0

    @property
    def f1(self) -> float:
        denominator = 2 * self.true_positives + self.false_positives + self.false_negatives
        return 2 * self.true_positives / denominator if denominator else 0.0

    @property
    def iou(self) -> float:
        union = self.true_positives + self.false_positives + self.false_negatives
        return self.true_positives / union if union else 0.0


def mask_scores(predicted: np.ndarray, truth: np.ndarray) -> MaskScores:
    predicted, truth = predicted.astype(bool, copy=False), truth.astype(bool, copy=False)
    true_positives = int(np.count_nonzero(predicted & truth))
    return MaskScores(
        true_positives,
        int(np.count_nonzero(predicted)) - true_positives,
        int(np.count_nonzero(truth)) - true_positives,
    )


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float | None:
    """ROC area (ties count one half, as in scikit-learn's `roc_auc_score`); None with one class only."""
    scores, labels = np.asarray(scores, np.float64), np.asarray(labels, bool)
    positives, negatives = int(labels.sum()), int((~labels).sum())
    if not positives or not negatives:
        return None
    ranks = _average_ranks(scores)
    return float((ranks[labels].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def roc_curve(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """False and true positive rates from (0, 0) to (1, 1), one point per distinct score."""
    counts = pixel_counts(np.asarray(scores, np.float64), np.asarray(labels, bool))
    labels = np.asarray(labels, bool)
    positives, negatives = max(int(labels.sum()), 1), max(int((~labels).sum()), 1)
    return (
        np.r_[0.0, counts.false_positives / negatives],
        np.r_[0.0, counts.true_positives / positives],
    )


def _average_ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    starts = np.r_[0, np.flatnonzero(np.diff(ordered)) + 1]
    ends = np.r_[starts[1:], len(values)]
    mean_rank = (starts + ends + 1) / 2  # ranks start at 1
    ranks = np.empty(len(values))
    ranks[order] = np.repeat(mean_rank, ends - starts)
    return ranks
