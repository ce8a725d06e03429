"""From a probability map to evidence: mask, regions and image-level scores.

All of this is cheap and never re-runs a model, so a threshold change only
calls these functions again.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np

from .tiling import row_bands

if TYPE_CHECKING:
    from .analysis import ModelRun

SCORE_PERCENTILE = 99.0


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


@dataclass(frozen=True)
class Summary:
    threshold: float | None  # the pixel threshold; None for a model without a map
    score: float  # 99th percentile of the probability map, or an image-level detector's probability
    score_threshold: float
    flagged: bool  # score >= score_threshold (an image-level detector: its own rule)
    marked_area: float | None  # fraction of pixels at or above the pixel threshold; None without a map
    regions: list[Region]


def binary_mask(probability: np.ndarray, threshold: float) -> np.ndarray:
    """Pixels at or above the threshold, as a boolean H x W array."""
    return probability >= threshold


def image_score(probability: np.ndarray) -> float:
    """The 99th percentile of the map as np.percentile computes it (linear interpolation), with no copy."""
    flat = probability.reshape(-1)
    position = (flat.size - 1) * SCORE_PERCENTILE / 100.0
    below = int(np.floor(position))
    low = _order_statistic(flat, below)
    if below + 1 >= flat.size or position == below:
        return float(low)
    high = _order_statistic(flat, below + 1)
    return float(low + (high - low) * (position - below))


def _order_statistic(flat: np.ndarray, rank: int, chunk: int = 1 << 20) -> float:
    """The rank-th smallest value of a float map, exactly, in one chunk of memory however many are equal.

    A radix select: floats are mapped to unsigned keys in the same order, and
    each pass counts 16 bits of the keys among those that share the bits
    already chosen, so a float32 map takes two passes and never a copy.
    """
    values = flat if flat.dtype in (np.float32, np.float64) else flat.astype(np.float64)
    bits = values.itemsize * 8
    prefix = 0
    for shift in range(bits - 16, -1, -16):
        counts = np.zeros(1 << 16, np.int64)
        for start in range(0, values.size, chunk):
            keys = _ordered_keys(values[start : start + chunk])
            if shift + 16 < bits:
                keys = keys[(keys >> (shift + 16)) == prefix]
            counts += np.bincount(((keys >> shift) & 0xFFFF).astype(np.intp), minlength=1 << 16)
        cumulative = np.cumsum(counts)
        digit = int(np.searchsorted(cumulative, rank, side="right"))
        rank -= int(cumulative[digit - 1]) if digit else 0
        prefix = (prefix << 16) | digit
    return float(_value_of_key(prefix, values.dtype))


def _ordered_keys(values: np.ndarray) -> np.ndarray:
    """Unsigned integers that sort as the floats do: sign flipped for positives, all bits for negatives."""
    unsigned = np.dtype(f"u{values.itemsize}").type
    raw = values.view(unsigned)
    negative = raw >> (values.itemsize * 8 - 1)
    return raw ^ (
        negative * unsigned(np.iinfo(unsigned).max >> 1) | (unsigned(1) << (values.itemsize * 8 - 1))
    )


def _value_of_key(key: int, dtype: np.dtype) -> np.floating:
    bits = np.dtype(dtype).itemsize * 8
    sign = 1 << (bits - 1)
    raw = key ^ sign if key & sign else key ^ ((1 << bits) - 1)
    return np.array([raw], np.dtype(f"u{bits // 8}")).view(dtype)[0]


def _components(mask8: np.ndarray):
    """Connected components with 16-bit labels (half the memory) unless there are more than 65,535."""
    try:
        count, labels, stats, _ = cv2.connectedComponentsWithStats(mask8, connectivity=8, ltype=cv2.CV_16U)
    except cv2.error:  # OpenCV refuses when the labels would overflow
        count, labels, stats, _ = cv2.connectedComponentsWithStats(mask8, connectivity=8, ltype=cv2.CV_32S)
    return count, labels, stats


def find_regions(probability: np.ndarray, mask: np.ndarray) -> list[Region]:
    """8-connected components of the mask, largest first (statistics gathered a band of rows at a time)."""
    count, labels, stats = _components(mask.view(np.uint8))
    if count <= 1:
        return []
    sums = np.zeros(count)
    maxima = np.zeros(count, dtype=np.float32)
    for band in row_bands(*labels.shape):
        band_labels = labels[band]
        inside = band_labels > 0
        band_index = band_labels[inside]
        band_prob = probability[band][inside]
        sums += np.bincount(band_index, weights=band_prob, minlength=count)
        np.maximum.at(maxima, band_index, band_prob.astype(np.float32))
    peaks = maxima
    total = probability.size
    regions = []
    for label in range(1, count):
        x, y, w, h, area = (int(v) for v in stats[label])
        regions.append((area, x, y, w, h, float(sums[label] / area), float(peaks[label])))
    regions.sort(key=lambda r: (-r[0], r[2], r[1]))
    return [
        Region(i + 1, x, y, w, h, area, round(100.0 * area / total, 4), round(mean, 6), round(peak, 6))
        for i, (area, x, y, w, h, mean, peak) in enumerate(regions)
    ]


def summarise_run(
    run: ModelRun, threshold: float, score_threshold: float, score: float | None = None
) -> Summary:
    """A run's summary: mask statistics for a map, the detector's own decision for an image-level answer."""
    if run.image_level is not None:
        level = run.image_level
        return Summary(None, round(level.probability, 6), 0.5, level.flagged, None, [])
    if run.probability is None:
        raise ValueError("a model run holds a map or an image-level answer")
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
