"""The image-level score of a localizer's map: its 99th percentile, exact, without copying the map."""

from __future__ import annotations

import numpy as np

SCORE_PERCENTILE = 99.0


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
