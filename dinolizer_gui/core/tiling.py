"""Sliding-window geometry and the averaging of overlapping window logits."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch

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


class CanvasAccumulator:
    """Sums window logits over the whole image, in any order, and can show the average at any time.

    Progressive analysis uses it: after a first pass that covers every pixel,
    `preview()` is the average of the windows so far; once every window is
    in, it is the grid's map (the same as BandAccumulator's, up to float
    rounding). It holds the image's logits, so it is for images of moderate size.
    """

    def __init__(
        self,
        grid: WindowGrid,
        channels: int,
        device: torch.device,
        finish: Callable[[torch.Tensor], np.ndarray],
    ):
        self.grid, self.finish = grid, finish
        self.sums = torch.zeros((channels, grid.height, grid.width), dtype=torch.float32, device=device)
        self.counts = torch.zeros((grid.height, grid.width), dtype=torch.float32, device=device)

    def add(self, top: int, left: int, logits: torch.Tensor) -> None:
        size = self.grid.window
        self.sums[:, top : top + size, left : left + size] += logits.float()
        self.counts[top : top + size, left : left + size] += 1

    def result(self) -> np.ndarray:
        """The average of the windows added so far (every pixel must be covered), a band at a time."""
        output = np.empty((self.grid.height, self.grid.width), dtype=np.float32)
        for band in row_bands(self.grid.height, self.grid.width):
            output[band] = self.finish(self.sums[:, band] / self.counts[None, band])
        return output


class BandAccumulator:
    """Sums window logits and averages them by coverage, one band of rows at a time.

    Windows arrive row by row (top to bottom), so the rows above the current
    window row receive nothing more: they are averaged, passed to `finish`
    (logits -> probabilities) and dropped. Only a window-high buffer is kept,
    whatever the image height. Coverage is two 1-D vectors (the grid is a
    product of two 1-D grids).
    """

    def __init__(
        self,
        grid: WindowGrid,
        channels: int,
        device: torch.device,
        finish: Callable[[torch.Tensor], np.ndarray],
    ):
        if grid.stride > grid.window:
            raise ValueError(f"stride {grid.stride} leaves gaps between windows of {grid.window} px")
        self.grid, self.finish, self.top = grid, finish, 0
        self.buffer = torch.zeros((channels, grid.window, grid.width), dtype=torch.float32, device=device)
        self.row_coverage = torch.from_numpy(grid.row_coverage).to(device, torch.float32)
        self.col_coverage = torch.from_numpy(grid.col_coverage).to(device, torch.float32)
        self.output = np.empty((grid.height, grid.width), dtype=np.float32)

    def add(self, top: int, left: int, logits: torch.Tensor) -> None:
        if top < self.top:
            raise ValueError("windows must arrive in row order")
        if top > self.top:
            self._emit(top)
        size = self.grid.window
        self.buffer[:, top - self.top : top - self.top + size, left : left + size] += logits.float()

    def _emit(self, new_top: int) -> None:
        """Finish the rows [self.top, new_top), shift the buffer up."""
        done = min(new_top, self.grid.height) - self.top
        band = self.buffer[:, :done]
        band /= self.row_coverage[self.top : self.top + done][None, :, None]
        band /= self.col_coverage[None, None, :]
        self.output[self.top : self.top + done] = self.finish(band)
        keep = self.grid.window - done
        if keep > 0:
            self.buffer[:, :keep] = self.buffer[:, done:].clone()
        self.buffer[:, max(keep, 0) :] = 0
        self.top = new_top

    def result(self) -> np.ndarray:
        self._emit(self.grid.height)
        return self.output
