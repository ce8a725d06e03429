"""The averaging of overlapping window logits into a map."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from .tiling import WindowGrid, row_bands


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
