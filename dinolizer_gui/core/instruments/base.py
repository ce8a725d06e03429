"""What every instrument shares: the facts of the file it reads, its parameters, its result.

An instrument runs on the image as displayed (EXIF orientation applied) and
gives 8-bit grey pictures of that size, brighter meaning more of what it
measures, plus the numbers behind them. The JPEG instruments (error level,
ghosts) re-compress in the file's own 8 x 8 grid: for a JPEG whose EXIF
orientation turns or mirrors it, they work on the pixels as stored and turn
their pictures afterwards (`to_stored`, `to_displayed`).
"""

from __future__ import annotations

import io
import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
from PIL import Image

from ..io.images import orientation_of
from ..io.provenance.containers import JpegLayout, jpeg_layout
from ..io.provenance.jpeg import jpeg_facts

JPEG_FORMATS = ("JPEG", "MPO")


@dataclass(frozen=True)
class SourceFacts:
    """What the file says about its own compression: its format, the orientation it is shown with (1-8: its
    EXIF's, else its XMP's, as the loader applies it), and for a JPEG its estimated quality (IJG scale),
    chroma subsampling ("4:2:0", "greyscale", ...) and whether it holds four colours (CMYK, YCCK)."""

    format: str = ""
    jpeg_quality: int | None = None
    subsampling: str = ""
    orientation: int = 1
    cmyk: bool = False  # a four-colour (CMYK or YCCK) JPEG

    @property
    def is_jpeg(self) -> bool:
        return self.format in JPEG_FORMATS

    @property
    def stored_orientation(self) -> int:
        """The orientation to undo before re-compressing: the pixels as stored are in the grid of the file's
        JPEG compression (its own, or an earlier one of a file saved as PNG or TIFF since)."""
        return self.orientation if self.orientation in _TO_DISPLAYED else 1

    @classmethod
    def from_file(cls, file_format: str, data: bytes) -> SourceFacts:
        """The facts of a file the loader decoded as `file_format` (LoadedImage.format), read from its bytes:
        a JPEG's markers and the EXIF orientation the loader applied (no pixel is decoded). A JPEG whose
        markers cannot be read gives the format alone (its quality unknown, 4:2:0 assumed, not turned)."""
        orientation = _orientation(data)
        if file_format not in JPEG_FORMATS:
            return cls(format=file_format, orientation=orientation)
        try:
            layout = jpeg_layout(data)
            facts = jpeg_facts(data, layout)
        except ValueError:
            return cls(format=file_format, orientation=orientation)
        return cls(file_format, facts.quality, facts.subsampling, orientation, _four_colours(data, layout))

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "jpeg_quality": self.jpeg_quality,
            "subsampling": self.subsampling,
            "orientation": self.orientation,
        }


def _orientation(data: bytes) -> int:
    """The orientation the loader applies (the EXIF's, else the XMP's); 1 when the file does not open."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            return orientation_of(image)
    except Exception:  # a file Pillow cannot open: the loader refused it already
        return 1


def _four_colours(data: bytes, layout: JpegLayout) -> bool:
    """Whether the JPEG's frame holds four components (CMYK or YCCK)."""
    frames = [segment for segment in layout.segments if segment.kind.startswith("SOF")]
    return bool(frames) and frames[0].end - frames[0].body > 5 and data[frames[0].body + 5] == 4
    return 1


@dataclass(frozen=True)
class Parameter:
    """One adjustable parameter: its default and the values it may take (minimum..maximum in `step`s)."""

    name: str
    label: str
    default: float
    minimum: float
    maximum: float
    step: float = 1
    unit: str = ""
    help: str = ""

    @property
    def is_integer(self) -> bool:
        return all(float(v).is_integer() for v in (self.default, self.minimum, self.step))

    def checked(self, value: Any) -> float:
        """The value, as an int for an integer parameter; ValueError naming the parameter otherwise."""
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{self.label}: {value!r} is not a number") from None
        steps = (number - self.minimum) / self.step
        if not (self.minimum <= number <= self.maximum) or not math.isclose(
            steps, round(steps), abs_tol=1e-6
        ):
            every = "" if self.step == 1 else f" in steps of {self.step:g}"
            raise ValueError(f"{self.label} must be {self.minimum:g}–{self.maximum:g}{every} (got {value!r})")
        return round(number) if self.is_integer else round(self.minimum + round(steps) * self.step, 10)


@dataclass(kw_only=True)
class InstrumentResult(ABC):
    """The pictures and numbers of one instrument on one image."""

    name: str
    params: dict[str, Any]
    height: int
    width: int
    notes: list[str] = field(default_factory=list)

    @abstractmethod
    def pictures(self) -> tuple[str, ...]:
        """The keys of its pictures, in the order they are shown."""

    @abstractmethod
    def picture(self, key: str) -> np.ndarray:
        """An 8-bit grey picture (H x W, the displayed size): brighter = more of what it measures. KeyError
        for a key that is not one of `pictures()`."""

    def _known(self, key: str) -> str:
        if key not in self.pictures():
            raise KeyError(f"{self.name} has no picture {key!r} (it has {', '.join(self.pictures())})")
        return key

    @abstractmethod
    def to_record(self, paths: Mapping[str, str]) -> dict[str, Any]:
        """The results.json form; `paths` gives each picture's file (by key), relative to the results
        folder, as whoever wrote the PNGs named them."""


def block_picture(levels: np.ndarray, block: int, height: int, width: int) -> np.ndarray:
    """A map of one value per `block` x `block` pixels as a picture of `height` x `width` (each block filled
    with its value: the blocks stay visible, nothing is interpolated)."""
    rows = np.repeat(levels, block, axis=0)[:height]
    return np.ascontiguousarray(np.repeat(rows, block, axis=1)[:, :width])


def luminance(pixels: np.ndarray, order: str = "RGB") -> np.ndarray:
    """Y = 0.299 R + 0.587 G + 0.114 B (BT.601, as a JPEG encoder computes it) in float32, unrounded, of
    pixels whose channels are in `order` (RGB or BGR)."""
    red, green, blue = cv2.split(pixels) if order == "RGB" else cv2.split(pixels)[::-1]
    partial = cv2.addWeighted(red, 0.299, green, 0.587, 0.0, dtype=cv2.CV_32F)
    return cv2.addWeighted(partial, 1.0, blue, 0.114, 0.0, dtype=cv2.CV_32F)


def scaled_levels(values: np.ndarray, top: float) -> np.ndarray:
    """Values in [0, top] as 0..255 (clipped above)."""
    return np.clip(np.rint(values * (255.0 / top)), 0, 255).astype(np.uint8)


# EXIF orientation: how the stored pixels become the displayed ones (Pillow's exif_transpose), as numpy views
_TO_DISPLAYED = {
    1: lambda a: a,
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: np.rot90(a, 2).swapaxes(0, 1),
    8: lambda a: np.rot90(a, 1),
}
_TO_STORED = {**_TO_DISPLAYED, 6: _TO_DISPLAYED[8], 8: _TO_DISPLAYED[6]}


CMYK_NOTE = (
    "a four-colour (CMYK or YCCK) JPEG: it is saved again here as the colour JPEG its pixels decode to, "
    "not as it was coded, so error level and ghosts do not apply to it"
)


def to_stored(displayed: np.ndarray, orientation: int) -> np.ndarray:
    """The pixels as the file stores them (a view), from the displayed ones."""
    return _TO_STORED[orientation](displayed)


def to_displayed(stored: np.ndarray, orientation: int) -> np.ndarray:
    """The pixels as displayed (a contiguous array), from the stored ones."""
    return np.ascontiguousarray(_TO_DISPLAYED[orientation](stored))
