"""JPEG ghosts (H. Farid, "Exposing digital forgeries from JPEG ghosts", IEEE TIFS 4(1), 2009).

For each quality q of 50, 55, ..., 100 the image f is saved again as JPEG (the
standard encoder, see recompress.py) giving f_q, and the squared difference
d(x, y, q) is averaged over blocks of b x b pixels (the paper's spatial
averaging; here blocks of the file's 8 x 8 grid, b a multiple of 8). As in the
paper, each quality's map is normalised into [0, 1] (its minimum to 0, its
maximum to 1), shown as 0..255: darker = closer to the image saved at that
quality. An area once saved at a lower quality q0 and pasted into a better
image is darker than its surroundings at q0: its ghost.

d is taken on the luminance by default, d = (Y - Y_q)^2 with Y = 0.299 R +
0.587 G + 0.114 B (the encoder's own Y), not as the paper's mean over R, G and
B (`rgb` = 1 gives the paper's). In a chroma-subsampled JPEG (4:2:0, 4:2:2:
most files) every new save resamples the chroma again, an error at every
quality that buries the ghost in the R, G, B mean: on the tests' forgery (a
block saved at 60 in a 4:2:0 image saved at 90) the block's R, G, B curve has
its lowest point below 90 at 65, its luminance curve at 60, four times below
its neighbours.

The sums of d over each 8 x 8 cell are kept for every quality (4 bytes per 64
pixels per quality): the pictures, the whole-image curve (the mean of d per
quality) and the curve of any region are computed from them without saving
again. A region's curve weighs each cell by the pixels of the region it holds
(exact for a region made of whole cells; at its edges, a cell's pixels are
taken as alike).
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from ..progress import Progress
from .base import CMYK_NOTE, InstrumentResult, SourceFacts, block_picture, luminance, to_displayed, to_stored
from .recompress import GREYSCALE, MCU, coded_band, resave_subsampling
from .work import band_starts, in_order

QUALITIES = tuple(range(50, 101, 5))
CELL = 8  # the JPEG grid
CHANNEL_MEAN = np.full((1, 3), 1 / 3, np.float32)


@dataclass(kw_only=True)
class GhostResult(InstrumentResult):
    qualities: tuple[int, ...]
    cells: np.ndarray  # qualities x ceil(H / 8) x ceil(W / 8) float32: sum of d over each cell, as stored
    orientation: int  # the EXIF orientation undone before re-compressing (1: none)
    subsampling: str
    file_quality: int | None

    def pictures(self) -> tuple[str, ...]:
        return tuple(f"q{quality}" for quality in self.qualities)

    def picture(self, key: str) -> np.ndarray:
        """The normalised block map at one quality (key "q60": quality 60); darker = closer."""
        index = self.pictures().index(self._known(key))
        block = int(self.params["block"])
        stored_height, stored_width = self._stored_size
        picture = block_picture(self.block_levels(index), block, stored_height, stored_width)
        return to_displayed(picture, self.orientation) if self.orientation != 1 else picture

    def block_levels(self, index: int) -> np.ndarray:
        """The b x b block map of one quality, normalised into [0, 1] and as 0..255 (as stored)."""
        group = int(self.params["block"]) // CELL
        mean = _group_sums(self.cells[index], group) / _group_sums(self._cell_pixels, group)
        low, high = float(mean.min()), float(mean.max())
        normalised = (mean - low) / (high - low) if high > low else np.zeros_like(mean)
        return np.rint(normalised * 255.0).astype(np.uint8)

    @property
    def curve(self) -> list[float]:
        """The whole image's mean d per quality."""
        pixels = float(self.height) * float(self.width)
        return [
            float(self.cells[index].sum(dtype=np.float64)) / pixels for index in range(len(self.qualities))
        ]

    def region_curve(self, region: np.ndarray | tuple[int, int, int, int]) -> list[float]:
        """The mean d per quality over a region of the displayed image: a mask (H x W, true inside) or a
        rectangle (x, y, width, height). ValueError for an empty region."""
        mask = region if isinstance(region, np.ndarray) else self._rectangle_mask(*region)
        if mask.shape != (self.height, self.width):
            raise ValueError(f"the region's mask is {mask.shape}, the image {(self.height, self.width)}")
        covered = _cell_counts(to_stored(mask, self.orientation))
        total = float(covered.sum())
        if total == 0:
            raise ValueError("the region holds no pixel of the image")
        weights = covered / self._cell_pixels
        return [
            float((self.cells[i] * weights).sum(dtype=np.float64)) / total for i in range(len(self.qualities))
        ]

    def to_record(self, paths: Mapping[str, str]) -> dict[str, Any]:
        return {
            "qualities": list(self.qualities),
            "curve": [round(value, 4) for value in self.curve],
            "block": self.params["block"],
            "difference": "rgb" if self.params["rgb"] else "luminance",
            "file_quality": self.file_quality,
            "subsampling": self.subsampling,
            "pngs": [paths.get(key) for key in self.pictures()],
            "notes": self.notes,
        }

    @property
    def _stored_size(self) -> tuple[int, int]:
        swapped = self.orientation in (5, 6, 7, 8)
        return (self.width, self.height) if swapped else (self.height, self.width)

    @property
    def _cell_pixels(self) -> np.ndarray:
        height, width = self._stored_size
        rows = np.minimum(CELL, height - CELL * np.arange(self.cells.shape[1]))
        columns = np.minimum(CELL, width - CELL * np.arange(self.cells.shape[2]))
        return np.outer(rows, columns).astype(np.float32)

    def _rectangle_mask(self, x: int, y: int, width: int, height: int) -> np.ndarray:
        mask = np.zeros((self.height, self.width), bool)
        mask[max(0, y) : max(0, y + height), max(0, x) : max(0, x + width)] = True
        return mask


def jpeg_ghosts(
    rgb: np.ndarray, params: Mapping[str, Any], source: SourceFacts
) -> Generator[Progress, None, GhostResult]:
    """`params`: block (the averaging block's side, a multiple of 8), rgb (1: d is the mean over R, G, B as in
    the paper; 0: on the luminance)."""
    notes: list[str] = []
    if not source.is_jpeg:
        notes.append(
            f"this file is {source.format or 'not a JPEG'}: a ghost here means it was saved as JPEG before, "
            "in the same 8 x 8 grid; no ghost proves nothing"
        )
    if source.cmyk:
        notes.append(CMYK_NOTE)
    subsampling = resave_subsampling(source.subsampling, source.is_jpeg, notes)
    orientation = source.stored_orientation
    stored = to_stored(rgb, orientation)
    height, width = stored.shape[:2]
    cells = np.empty((len(QUALITIES), -(-height // CELL), -(-width // CELL)), np.float32)
    squared_difference = _squared_difference(subsampling == GREYSCALE, bool(params["rgb"]))

    def band_cells(rows: tuple[int, int]) -> tuple[int, np.ndarray]:
        """One band's cell sums at every quality (the band's own luminance computed once)."""
        band = coded_band(stored, *rows, subsampling)
        original = band.original
        reference = luminance(original, "BGR") if squared_difference is _luminance_difference else original
        sums = [
            _cell_sums(squared_difference(original, reference, band.saved_again(quality, subsampling)))
            for quality in QUALITIES
        ]
        return rows[0], np.stack(sums)

    bands = band_starts(height, width, MCU)
    for done, (top, sums) in enumerate(in_order(band_cells, bands), start=1):
        cells[:, top // CELL : top // CELL + sums.shape[1]] = sums
        yield Progress(done, len(bands), "JPEG ghosts")
    return GhostResult(
        name="ghost",
        params=dict(params),
        height=rgb.shape[0],
        width=rgb.shape[1],
        notes=notes,
        qualities=QUALITIES,
        cells=cells,
        orientation=orientation,
        subsampling=subsampling,
        file_quality=source.jpeg_quality,
    )


SquaredDifference = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def _squared_difference(grey: bool, by_channel: bool) -> SquaredDifference:
    """d for a band: from (original pixels, what they are compared by, the pixels saved again)."""
    if grey:
        return _grey_difference
    return _channel_mean_difference if by_channel else _luminance_difference


def _grey_difference(original: np.ndarray, _reference: np.ndarray, resaved: np.ndarray) -> np.ndarray:
    difference = cv2.subtract(original, resaved, dtype=cv2.CV_32F)
    return cv2.multiply(difference, difference)


def _luminance_difference(_original: np.ndarray, reference: np.ndarray, resaved: np.ndarray) -> np.ndarray:
    difference = cv2.subtract(reference, luminance(resaved, "BGR"))
    return cv2.multiply(difference, difference)


def _channel_mean_difference(original: np.ndarray, _reference: np.ndarray, resaved: np.ndarray) -> np.ndarray:
    difference = cv2.subtract(original, resaved, dtype=cv2.CV_32F)
    return cv2.transform(cv2.multiply(difference, difference), CHANNEL_MEAN)


def _cell_sums(values: np.ndarray) -> np.ndarray:
    """Sums over each 8 x 8 cell (the last row and column of cells may be partial)."""
    return _group_sums(values, CELL)


def _cell_counts(mask: np.ndarray) -> np.ndarray:
    """The true pixels of a mask in each 8 x 8 cell."""
    return _group_sums(mask, CELL, np.int32).astype(np.float32)


def _group_sums(values: np.ndarray, group: int, dtype: type | None = None) -> np.ndarray:
    """Sums over each `group` x `group` values (the last row and column of groups may be partial)."""
    height, width = values.shape
    whole = height // group * group
    rows = values[:whole].reshape(-1, group, width).sum(axis=1, dtype=dtype)
    if whole < height:
        rows = np.concatenate([rows, values[whole:].sum(axis=0, keepdims=True, dtype=dtype)])
    return np.add.reduceat(rows, np.arange(0, width, group), axis=1)
