"""Sliding-window geometry (pure arithmetic: importing it loads no PyTorch)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

DINOLIZER_WINDOW = 504
DINOLIZER_SMALL_IMAGE_AREA_SIDE = 1016  # small images are resized to about 1016 x 1016 pixels


def row_bands(height: int, width: int, pixels: int = 1 << 20) -> list[slice]:
    """Bands of whole rows of about `pixels` pixels.

    Full-size work done a band at a time keeps its temporaries to a few MB however large the image.
    """
    rows = max(1, pixels // max(width, 1))
    return [slice(top, top + rows) for top in range(0, height, rows)]


def window_starts(length: int, window: int, stride: int) -> list[int]:
    """Starts 0, stride, 2*stride, ... plus one window flush with the far edge."""
    if length < window:
        raise ValueError(f"length {length} is smaller than the window {window}")
    if stride <= 0:
        raise ValueError("stride must be positive")
    starts = list(range(0, length - window + 1, stride))
    if starts[-1] != length - window:
        starts.append(length - window)
    return starts


@dataclass(frozen=True)
class WindowGrid:
    height: int
    width: int
    window: int
    stride: int

    @cached_property
    def row_starts(self) -> list[int]:
        return window_starts(self.height, self.window, self.stride)

    @cached_property
    def col_starts(self) -> list[int]:
        return window_starts(self.width, self.window, self.stride)

    @property
    def boxes(self) -> list[tuple[int, int]]:
        """(top, left) of every window, row by row."""
        return [(top, left) for top in self.row_starts for left in self.col_starts]

    def __len__(self) -> int:
        return len(self.row_starts) * len(self.col_starts)

    @cached_property
    def first_pass(self) -> list[tuple[int, int]]:
        """The fewest windows of the grid that cover every pixel (row by row): a first, coarse look."""
        rows, cols = (
            covering_starts(self.row_starts, self.window),
            covering_starts(self.col_starts, self.window),
        )
        return [(top, left) for top in rows for left in cols]

    @property
    def progressive_boxes(self) -> list[tuple[int, int]]:
        """Every window, the first pass first, then the others row by row."""
        first = set(self.first_pass)
        return self.first_pass + [box for box in self.boxes if box not in first]

    @cached_property
    def row_coverage(self) -> np.ndarray:
        return _coverage(self.height, self.row_starts, self.window)

    @cached_property
    def col_coverage(self) -> np.ndarray:
        return _coverage(self.width, self.col_starts, self.window)

    def coverage(self) -> np.ndarray:
        """Number of windows covering each pixel (the grid is a product of two 1-D grids)."""
        return np.outer(self.row_coverage, self.col_coverage)


def covering_starts(starts: list[int], window: int) -> list[int]:
    """Greedily, the fewest of these window starts whose windows still cover the whole length."""
    picked = [starts[0]]
    for index, start in enumerate(starts[1:], 1):
        following = starts[index + 1] if index + 1 < len(starts) else None
        gap_next = following is None or following > picked[-1] + window  # the next start would leave a gap
        if gap_next and start > picked[-1]:
            picked.append(start)
    return picked


def _coverage(length: int, starts: list[int], window: int) -> np.ndarray:
    counts = np.zeros(length, dtype=np.int64)
    for start in starts:
        counts[start : start + window] += 1
    return counts


def dinolizer_working_size(width: int, height: int, window: int = DINOLIZER_WINDOW) -> tuple[int, int]:
    """Size the official DinoLizer pipeline analyses an image at.

    Images with a side under one window are resized to an area of about
    1016 x 1016 (aspect ratio kept), then scaled up until both sides reach a
    window. Larger images are analysed at their own size.
    """
    if min(width, height) >= window:
        return width, height
    scale = DINOLIZER_SMALL_IMAGE_AREA_SIDE / math.sqrt(width * height)
    new_w, new_h = round(width * scale), round(height * scale)
    shortest = min(new_w, new_h)
    if shortest < window:
        grow = window / shortest
        new_w, new_h = max(window, round(new_w * grow)), max(window, round(new_h * grow))
    return new_w, new_h
