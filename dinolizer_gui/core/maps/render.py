"""Pictures of a result, as 8-bit index layers with an RGBA palette.

A layer is `levels` (H x W uint8) plus `palette` (256 x 4 uint8 RGBA). The
viewer shows a layer as an indexed QImage over the input (so a threshold or
colour-map change only rebuilds the cheap index array or the palette), and the
exports blend the same layer into RGB with `composite`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

import cv2
import numpy as np

from ..engine.tiling import row_bands

COLORMAPS = {
    "inferno": cv2.COLORMAP_INFERNO,
    "viridis": cv2.COLORMAP_VIRIDIS,
    "magma": cv2.COLORMAP_MAGMA,
    "plasma": cv2.COLORMAP_PLASMA,
    "turbo": cv2.COLORMAP_TURBO,
    "cividis": cv2.COLORMAP_CIVIDIS,
}
DEFAULT_COLORMAP = "inferno"
CONTOUR_COLOUR = (0, 255, 255)
TRUTH_COLOUR = (57, 255, 20)  # the ground truth's outline, on every panel
STABILITY_COLORMAP = (
    "viridis"  # colour-blind safe and ordered: dark = marked in few analyses, yellow = in all
)
# colour-blind-safe agreement colours (Okabe-Ito): orange = DinoLizer only, blue = DeCLIP only, magenta = both
AGREEMENT_COLOURS = {"first only": (230, 159, 0), "second only": (0, 114, 178), "both": (204, 121, 167)}


class ViewMode(str, Enum):
    """What a model panel shows."""

    OVERLAY = "overlay"
    HEAT_MAP = "heat map"
    MASK = "mask"
    CONTOURS = "contours"
    AGREEMENT = "agreement"
    STABILITY = "stability"

    @property
    def label(self) -> str:
        return self.value.capitalize()

    @property
    def uses_threshold(self) -> bool:
        return self not in (ViewMode.OVERLAY, ViewMode.HEAT_MAP)


@dataclass
class Layer:
    levels: np.ndarray  # H x W uint8 indices into the palette
    palette: np.ndarray  # 256 x 4 uint8 RGBA
    black_and_white: bool = False  # levels 0 and 1 are opaque black and white (a mask): a grey image will do


def probability_levels(probability: np.ndarray) -> np.ndarray:
    """Probabilities in [0, 1] quantised to 0..255 (for colour only; masks use the exact values)."""
    levels = np.empty(probability.shape, np.uint8)
    for band in row_bands(*probability.shape):
        levels[band] = np.clip(np.rint(probability[band] * 255.0), 0, 255)
    return levels


def colormap_rgb(colormap: str) -> np.ndarray:
    """256 x 3 uint8 RGB entries of a colour map."""
    ramp = np.arange(256, dtype=np.uint8).reshape(256, 1)
    return cv2.cvtColor(cv2.applyColorMap(ramp, COLORMAPS[colormap]), cv2.COLOR_BGR2RGB).reshape(256, 3)


def heat_palette(colormap: str = DEFAULT_COLORMAP, opaque: bool = False) -> np.ndarray:
    """Colour map entries; translucent ones fade with the probability so clean areas stay visible."""
    alpha = np.full((256, 1), 255, np.uint8) if opaque else np.arange(256, dtype=np.uint8).reshape(256, 1)
    return np.hstack([colormap_rgb(colormap), alpha])


def _palette(entries: dict[int, tuple[int, int, int]]) -> np.ndarray:
    palette = np.zeros((256, 4), np.uint8)
    for index, rgb in entries.items():
        palette[index] = (*rgb, 255)
    return palette


def heat_layer(levels: np.ndarray, colormap: str = DEFAULT_COLORMAP, opaque: bool = False) -> Layer:
    return Layer(levels, heat_palette(colormap, opaque))


def binary_mask_layer(mask: np.ndarray) -> Layer:
    """The mask as exported: white = flagged, black elsewhere."""
    return Layer(mask.view(np.uint8), _palette({0: (0, 0, 0), 1: (255, 255, 255)}), black_and_white=True)


def outline(mask: np.ndarray) -> np.ndarray:
    """1 on a ring just outside the mask's regions, about 1/1000 of the image size thick, else 0 (uint8)."""
    radius = max(1, round(max(mask.shape) / 1000))
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (2 * radius + 1, 2 * radius + 1))  # separable: fast
    pixels = mask.view(np.uint8)
    dilated = np.asarray(cv2.dilate(pixels, kernel), dtype=np.uint8)
    return np.bitwise_xor(dilated, pixels)  # a third of a morphological gradient's time


def contour_layer(mask: np.ndarray) -> Layer:
    """Region outlines."""
    return Layer(outline(mask), _palette({1: CONTOUR_COLOUR}))


def truth_layer(edges: np.ndarray) -> Layer:
    """A ground truth's outline (`outline` of its mask)."""
    return Layer(edges, _palette({1: TRUTH_COLOUR}))


def agreement_layer(first: np.ndarray, second: np.ndarray) -> Layer:
    """1 where only the first model flags a pixel, 2 only the second, 3 both."""
    levels = first.view(np.uint8) + 2 * second.view(np.uint8)
    colours = AGREEMENT_COLOURS
    return Layer(levels, _palette({1: colours["first only"], 2: colours["second only"], 3: colours["both"]}))


def stability_colour(fraction: float) -> tuple[int, int, int]:
    """The colour of a pixel marked in this fraction of the analyses (the legend's swatches)."""
    red, green, blue = colormap_rgb(STABILITY_COLORMAP)[round(fraction * 255)]
    return int(red), int(green), int(blue)


def stability_layer(levels: np.ndarray) -> Layer:
    """A stability map (0..255 = marked in 0..all of the analyses); pixels no analysis marks stay clear."""
    palette = np.hstack([colormap_rgb(STABILITY_COLORMAP), np.full((256, 1), 255, np.uint8)])
    palette[0, 3] = 0
    return Layer(levels, palette)


def model_layer(mode: ViewMode, levels: np.ndarray, mask: Callable[[], np.ndarray], colormap: str) -> Layer:
    """One model's layer in a view mode other than agreement (`mask` is called only if the mode needs it)."""
    if mode is ViewMode.OVERLAY:
        return heat_layer(levels, colormap)
    if mode is ViewMode.HEAT_MAP:
        return heat_layer(levels, colormap, opaque=True)
    if mode is ViewMode.MASK:
        return binary_mask_layer(mask())
    if mode is ViewMode.CONTOURS:
        return contour_layer(mask())
    raise ValueError(f"{mode.label} is not drawn from one map: use agreement_layer or stability_layer")


def composite(rgb: np.ndarray, layer: Layer, opacity: float = 1.0) -> np.ndarray:
    """The layer blended over the image, as H x W x 3 uint8."""
    out = np.empty_like(rgb)
    for band in row_bands(*rgb.shape[:2]):
        colours = layer.palette[layer.levels[band]]
        alpha = colours[..., 3:4].astype(np.float32) * (opacity / 255.0)
        blended = rgb[band].astype(np.float32) * (1.0 - alpha) + colours[..., :3] * alpha
        out[band] = np.rint(blended)
    return out


def mask_image(mask: np.ndarray) -> np.ndarray:
    """A boolean mask as an 8-bit single-channel picture (255 = flagged)."""
    return mask.view(np.uint8) * np.uint8(255)
