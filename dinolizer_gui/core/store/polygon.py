"""Which pixels a polygon holds: those whose centres lie inside it or on its outline (even-odd rule for a
polygon that crosses itself) — the convention of every mark, so that the area a report gives, the findings
mask and a mask taken back as marks count the very same pixels."""

from __future__ import annotations

import numpy as np

ROWS_AT_ONCE = 256  # rows of crossings computed together (memory: rows by edges)


def centres_inside(points: np.ndarray, left: int, top: int, right: int, bottom: int) -> np.ndarray:
    """(bottom - top, right - left) booleans: the pixels of that window whose centres (x + 0.5, y + 0.5)
    the closed polygon `points` (N by 2, image pixels) holds."""
    inside = np.zeros((bottom - top, right - left), bool)
    start, end = points, np.roll(points, -1, axis=0)
    centres_x = np.arange(left, right) + 0.5
    for first in range(top, bottom, ROWS_AT_ONCE):
        rows = np.arange(first, min(bottom, first + ROWS_AT_ONCE)) + 0.5
        inside[first - top : first - top + len(rows)] = _rows(start, end, rows, centres_x)
    _mark_outline(inside, start, end, left, top)
    return inside


def _rows(start: np.ndarray, end: np.ndarray, rows: np.ndarray, centres_x: np.ndarray) -> np.ndarray:
    """Even-odd inside for these rows: a centre is inside when an odd number of edges cross its row to its
    right (each edge counted on the half-open span of its rows, so a vertex is never counted twice)."""
    y = rows[:, None]
    crosses = (start[:, 1] <= y) != (end[:, 1] <= y)
    with np.errstate(divide="ignore", invalid="ignore"):
        at = start[:, 0] + (y - start[:, 1]) * (end[:, 0] - start[:, 0]) / (end[:, 1] - start[:, 1])
    at = np.sort(np.where(crosses, at, np.inf), axis=1)
    counts = crosses.sum(axis=1)
    result = np.zeros((len(rows), len(centres_x)), bool)
    for row, (crossings, count) in enumerate(zip(at, counts, strict=True)):
        right_of = count - np.searchsorted(crossings[:count], centres_x, side="right")
        result[row] = right_of % 2 == 1
    return result


def _mark_outline(inside: np.ndarray, start: np.ndarray, end: np.ndarray, left: int, top: int) -> None:
    """The pixels whose centres lie exactly on an edge (a polygon through pixel centres, as one taken from
    a mask is, holds its outline's pixels)."""
    height, width = inside.shape
    for (x0, y0), (x1, y1) in zip(start, end, strict=True):
        low, high = max(np.ceil(min(y0, y1) - 0.5), top), min(np.floor(max(y0, y1) - 0.5), top + height - 1)
        if y0 == y1:
            if (y0 - 0.5).is_integer() and top <= y0 - 0.5 < top + height:
                first = max(int(np.ceil(min(x0, x1) - 0.5)) - left, 0)
                last = min(int(np.floor(max(x0, x1) - 0.5)) - left, width - 1)
                inside[int(y0 - 0.5) - top, first : last + 1] = True
            continue
        rows = np.arange(low, high + 1)
        xs = x0 + (rows + 0.5 - y0) * (x1 - x0) / (y1 - y0) - 0.5
        exact = np.abs(xs - np.round(xs)) < 1e-9
        columns = np.round(xs[exact]).astype(int) - left
        kept = (columns >= 0) & (columns < width)
        inside[rows[exact][kept].astype(int) - top, columns[kept]] = True
