"""Error level analysis: how much each pixel changes when the image is saved once more as JPEG.

The image is re-saved at a chosen quality with the standard encoder (see
recompress.py) in the file's own subsampling and 8 x 8 grid, and each pixel's
error is the largest absolute difference over its three channels (0-255). The
picture shows that error times `scale`, clipped at 255: with the default x20,
an error of 13 levels or more is white.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from ..progress import Progress
from .base import CMYK_NOTE, InstrumentResult, SourceFacts, to_displayed, to_stored
from .recompress import MCU, coded_band, resave_subsampling
from .work import band_starts, in_order

LOSSLESS_NOTE = "ELA of a lossless file mostly shows edges and texture"


@dataclass(kw_only=True)
class ElaResult(InstrumentResult):
    error: np.ndarray  # H x W uint8, as displayed: the largest |difference| over the channels
    subsampling: str  # the one re-saved with

    def pictures(self) -> tuple[str, ...]:
        return ("png",)

    def picture(self, key: str) -> np.ndarray:
        self._known(key)
        return cv2.convertScaleAbs(self.error, alpha=float(self.params["scale"]))

    @property
    def mean_error(self) -> float:
        return float(cv2.mean(self.error)[0])

    def to_record(self, paths: Mapping[str, str]) -> dict[str, Any]:
        return {
            "quality": self.params["quality"],
            "scale": self.params["scale"],
            "subsampling": self.subsampling,
            "mean_error": round(self.mean_error, 4),
            "png": paths.get("png"),
            "notes": self.notes,
        }


def error_level(
    rgb: np.ndarray, params: Mapping[str, Any], source: SourceFacts
) -> Generator[Progress, None, ElaResult]:
    """`params`: quality (50-100), scale (display gain)."""
    notes: list[str] = []
    if not source.is_jpeg:
        notes.append(f"{LOSSLESS_NOTE} (this file is {source.format or 'not a JPEG'}, not a JPEG)")
    quality = int(params["quality"])
    if source.jpeg_quality is not None:
        own, lower = source.jpeg_quality, max(50, source.jpeg_quality - 15)
        notes.append(
            f"the file's own quality is about {own}: saved again near it, the areas that share its last save "
            "change little and an area with another history (pasted, saved at another quality) may stand "
            f"out, brighter or darker; well below it (e.g. {lower}) every area changes more and the "
            "difference may fade or turn round: look at both"
        )
    if source.cmyk:
        notes.append(CMYK_NOTE)
    subsampling = resave_subsampling(source.subsampling, source.is_jpeg, notes)
    orientation = source.stored_orientation
    stored = to_stored(rgb, orientation)
    height, width = stored.shape[:2]
    error = np.empty((height, width), np.uint8)

    def band_error(rows: tuple[int, int]) -> tuple[int, int, np.ndarray]:
        band = coded_band(stored, *rows, subsampling)
        difference = cv2.absdiff(band.original, band.saved_again(quality, subsampling))
        if difference.ndim == 2:
            return (*rows, difference)
        first, second, third = cv2.split(difference)
        return (*rows, cv2.max(cv2.max(first, second), third))

    bands = band_starts(height, width, MCU)
    for done, (top, bottom, band) in enumerate(in_order(band_error, bands), start=1):
        error[top:bottom] = band
        yield Progress(done, len(bands), "error level")
    displayed = to_displayed(error, orientation) if orientation != 1 else error
    return ElaResult(
        name="ela",
        params=dict(params),
        height=rgb.shape[0],
        width=rgb.shape[1],
        notes=notes,
        error=displayed,
        subsampling=subsampling,
    )
