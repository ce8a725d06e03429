"""From a probability map to evidence: mask, regions and image-level scores.

All of this is cheap and never re-runs a model, so a threshold change only
calls these functions again.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from ..engine.records import count, field_of, finite, flag, optional_finite, reading
from ..engine.scores import image_score
from ..engine.tiling import row_bands

if TYPE_CHECKING:
    from ..engine.analysis import ModelRun


@dataclass(frozen=True)
class Region:
    index: int
    x: int
    y: int
    width: int
    height: int
    area_pixels: int
    area_percent: float
    mean_probability: float
    max_probability: float

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_record(cls, record: object) -> Region:
        whole = ("index", "x", "y", "width", "height", "area_pixels")
        numbers = ("area_percent", "mean_probability", "max_probability")
        return cls(
            *(count(field_of(record, name)) for name in whole),
            *(finite(field_of(record, name)) for name in numbers),
        )


@dataclass(frozen=True)
class Summary:
    threshold: float | None  # the pixel threshold; None for a model without a map
    score: float  # 99th percentile of the probability map, or an image-level detector's probability
    score_threshold: float
    flagged: bool  # score >= score_threshold (an image-level detector: its own rule)
    marked_area: float | None  # fraction of pixels at or above the pixel threshold; None without a map
    regions: list[Region]

    def to_record(self) -> dict[str, Any]:
        """The summary as plain JSON data, as results.json holds it beside its run."""
        return {
            "threshold": self.threshold,
            "score": self.score,
            "score_threshold": self.score_threshold,
            "flagged": self.flagged,
            "marked_area": self.marked_area,
            "regions": [region.as_dict() for region in self.regions],
        }

    @classmethod
    def from_record(cls, record: object) -> Summary:
        """The summary a record holds (a model's entry of results.json); RecordError saying what is wrong."""
        with reading("summary"):
            regions = field_of(record, "regions")
            if not isinstance(regions, list):
                raise TypeError(f"{regions!r} is not a list")
            return cls(
                optional_finite(field_of(record, "threshold")),
                finite(field_of(record, "score")),
                finite(field_of(record, "score_threshold")),
                flag(field_of(record, "flagged")),
                optional_finite(field_of(record, "marked_area")),
                [Region.from_record(region) for region in regions],
            )


def binary_mask(probability: np.ndarray, threshold: float) -> np.ndarray:
    """Pixels at or above the threshold, as a boolean H x W array."""
    return probability >= threshold


def _components(mask8: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """Connected components with 16-bit labels (half the memory) unless there are more than 65,535."""
    try:
        count, labels, stats, _ = cv2.connectedComponentsWithStats(mask8, connectivity=8, ltype=cv2.CV_16U)
    except cv2.error:  # OpenCV refuses when the labels would overflow
        count, labels, stats, _ = cv2.connectedComponentsWithStats(mask8, connectivity=8, ltype=cv2.CV_32S)
    return count, labels, stats


def _ordered_components(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Labels, statistics and the labels in region order: largest first, then top to bottom, left to right."""
    count, labels, stats = _components(mask.view(np.uint8))
    order = sorted(range(1, count), key=lambda label: (-stats[label, 4], stats[label, 1], stats[label, 0]))
    return labels, stats, order


def region_labels(mask: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """The mask's 8-connected components as a label image, and the label of each region in turn (region
    `i + 1` of `find_regions` is label `order[i]`)."""
    labels, _, order = _ordered_components(mask)
    return labels, order


def find_regions(probability: np.ndarray, mask: np.ndarray) -> list[Region]:
    """8-connected components of the mask, largest first (statistics gathered a band of rows at a time)."""
    labels, stats, order = _ordered_components(mask)
    if not order:
        return []
    count = len(order) + 1
    sums = np.zeros(count)
    maxima = np.zeros(count, dtype=np.float32)
    for band in row_bands(*labels.shape):
        band_labels = labels[band]
        inside = band_labels > 0
        band_index = band_labels[inside]
        band_prob = probability[band][inside]
        sums += np.bincount(band_index, weights=band_prob, minlength=count)
        np.maximum.at(maxima, band_index, band_prob.astype(np.float32))
    total = probability.size
    regions = []
    for index, label in enumerate(order, 1):
        x, y, w, h, area = (int(v) for v in stats[label])
        mean, peak = float(sums[label] / area), float(maxima[label])
        regions.append(
            Region(index, x, y, w, h, area, round(100.0 * area / total, 4), round(mean, 6), round(peak, 6))
        )
    return regions


def summarise_run(
    run: ModelRun, threshold: float | None, score_threshold: float, score: float | None = None
) -> Summary:
    """A run's summary: mask statistics for a map at the threshold, the detector's own decision for an
    image-level answer (which has no threshold)."""
    if run.image_level is not None:
        level = run.image_level
        return Summary(None, round(level.probability, 6), 0.5, level.flagged, None, [])
    if run.probability is None or threshold is None:
        raise ValueError("a map is summarised at a threshold")
    return summarise(run.probability, threshold, score_threshold, score)


def summarise(
    probability: np.ndarray, threshold: float, score_threshold: float, score: float | None = None
) -> Summary:
    """Mask statistics at a threshold; pass the score when it is already known (it does not depend on it)."""
    mask = binary_mask(probability, threshold)
    score = image_score(probability) if score is None else score
    return Summary(
        threshold=threshold,
        score=round(score, 6),
        score_threshold=score_threshold,
        flagged=score >= score_threshold,
        marked_area=round(np.count_nonzero(mask) / mask.size, 6),
        regions=find_regions(probability, mask),
    )
