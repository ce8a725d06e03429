"""Noise: the residual of a median filter, and the local noise level (a standard deviation, sigma).

Both are measured on the luminance, Y = 0.299 R + 0.587 G + 0.114 B (BT.601),
in 8-bit grey levels.

- Residual: |Y - median of Y over k x k| (Y rounded to 8 bits), shown times
  `gain`, clipped at 255.
- Noise level: the finest diagonal wavelet detail of Y (Haar, on the 2 x 2 cells
  of the image's grid: HH = (a - b - c + d) / 2, whose value for white noise of
  standard deviation sigma has standard deviation sigma), and per block of
  `block` x `block` pixels the robust estimate sigma = MAD(HH) / 0.6745 (Donoho;
  MAD = median absolute deviation from the block's median). A block with no
  whole 2 x 2 cell (a one-pixel strip at the image's edge) has no estimate
  (NaN, black). The picture maps sigma linearly to 0..255, 255 being `sigma_scale`
  (the 99th percentile of the blocks' sigma rounded up to a round number).
"""

from __future__ import annotations

import math
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from ..progress import Progress
from .base import InstrumentResult, block_picture, luminance, scaled_levels
from .work import band_starts, in_order

MAD_TO_SIGMA = 0.6745  # MAD of a normal distribution / its standard deviation
_ROUND_STEPS = (1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)


@dataclass(kw_only=True)
class NoiseResult(InstrumentResult):
    residual: np.ndarray  # H x W uint8: |Y - median(Y)|
    sigma: np.ndarray  # ceil(H / block) x ceil(W / block) float32, grey levels (NaN: no estimate)
    sigma_scale: float  # the sigma shown as 255

    def pictures(self) -> tuple[str, ...]:
        return ("png", "sigma_png")

    def picture(self, key: str) -> np.ndarray:
        if self._known(key) == "png":
            return cv2.convertScaleAbs(self.residual, alpha=float(self.params["gain"]))
        levels = scaled_levels(np.nan_to_num(self.sigma, nan=0.0), self.sigma_scale)
        return block_picture(levels, int(self.params["block"]), self.height, self.width)

    def sigma_in(self, x: int, y: int, width: int, height: int) -> float:
        """The median sigma of the blocks that lie wholly inside a rectangle of the image (NaN: none does)."""
        block = int(self.params["block"])
        first_row, first_column = -(-y // block), -(-x // block)
        rows = self.sigma[first_row : (y + height) // block, first_column : (x + width) // block]
        return float(np.nanmedian(rows)) if np.isfinite(rows).any() else math.nan

    def to_record(self, paths: Mapping[str, str]) -> dict[str, Any]:
        finite = self.sigma[np.isfinite(self.sigma)]
        return {
            "filter": self.params["filter"],
            "gain": self.params["gain"],
            "block": self.params["block"],
            "png": paths.get("png"),
            "sigma_png": paths.get("sigma_png"),
            "sigma_scale": self.sigma_scale,
            "sigma_median": round(float(np.median(finite)), 4) if finite.size else None,
            "sigma_max": round(float(finite.max()), 4) if finite.size else None,
            "notes": self.notes,
        }


def noise(
    rgb: np.ndarray, params: Mapping[str, Any], _source: Any = None
) -> Generator[Progress, None, NoiseResult]:
    """`params`: filter (median size, odd 3-7), gain (display), block (sigma block side, a multiple of 8)."""
    height, width = rgb.shape[:2]
    size, block = int(params["filter"]), int(params["block"])
    residual = np.empty((height, width), np.uint8)
    sigma = np.full((-(-height // block), -(-width // block)), np.nan, np.float32)
    reach = size // 2

    def band_noise(rows: tuple[int, int]) -> tuple[int, int, np.ndarray, np.ndarray]:
        top, bottom = rows
        above, below = max(0, top - reach), min(height, bottom + reach)
        grey = cv2.cvtColor(np.ascontiguousarray(rgb[above:below]), cv2.COLOR_RGB2GRAY)
        band = cv2.absdiff(grey, cv2.medianBlur(grey, size))[top - above : bottom - above]
        shape = (-(-(bottom - top) // block), sigma.shape[1])
        return top, bottom, band, block_sigma(diagonal_detail(luminance(rgb[top:bottom])), block // 2, shape)

    bands = band_starts(height, width, block)
    for done, (top, bottom, band, sigmas) in enumerate(in_order(band_noise, bands), start=1):
        residual[top:bottom] = band
        sigma[top // block : top // block + len(sigmas)] = sigmas
        yield Progress(done, len(bands), "noise")
    return NoiseResult(
        name="noise",
        params=dict(params),
        height=height,
        width=width,
        residual=residual,
        sigma=sigma,
        sigma_scale=round_up(float(np.nanpercentile(sigma, 99)) if np.isfinite(sigma).any() else 1.0),
    )


def diagonal_detail(values: np.ndarray) -> np.ndarray:
    """The Haar HH coefficient of each whole 2 x 2 cell."""
    rows, columns = values.shape[0] // 2 * 2, values.shape[1] // 2 * 2
    cells = values[:rows, :columns]
    return (cells[0::2, 0::2] - cells[0::2, 1::2] - cells[1::2, 0::2] + cells[1::2, 1::2]) * 0.5


def block_sigma(detail: np.ndarray, cells: int, shape: tuple[int, int]) -> np.ndarray:
    """MAD / 0.6745 over each `cells` x `cells` group of coefficients, as a grid of `shape` blocks (the last
    row and column of groups may be partial, and a block at the image's edge may hold none: NaN)."""
    rows, columns = detail.shape
    sigma = np.full(shape, np.nan, np.float32)
    whole_rows, whole_columns = rows // cells * cells, columns // cells * cells
    for row_part in (slice(0, whole_rows), slice(whole_rows, rows)):
        for column_part in (slice(0, whole_columns), slice(whole_columns, columns)):
            part = detail[row_part, column_part]
            if part.size:
                group_rows = min(cells, part.shape[0])
                group_columns = min(cells, part.shape[1])
                first_row, first_column = row_part.start // cells, column_part.start // cells
                sigma[
                    first_row : first_row + part.shape[0] // group_rows,
                    first_column : first_column + part.shape[1] // group_columns,
                ] = _mad_sigma(part, group_rows, group_columns)
    return sigma


def _mad_sigma(values: np.ndarray, group_rows: int, group_columns: int) -> np.ndarray:
    grid_rows, grid_columns = values.shape[0] // group_rows, values.shape[1] // group_columns
    groups = (
        values.reshape(grid_rows, group_rows, grid_columns, group_columns)
        .swapaxes(1, 2)
        .reshape(grid_rows, grid_columns, -1)
    )
    centre = np.median(groups, axis=2, keepdims=True)
    return np.median(np.abs(groups - centre), axis=2) / MAD_TO_SIGMA


def round_up(value: float) -> float:
    """The smallest round number (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 times a power of ten) at or above the value,
    and at least 1."""
    if value <= 1.0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    return next(step * power for step in _ROUND_STEPS if step * power >= value * (1 - 1e-9))
