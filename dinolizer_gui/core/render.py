"""Pictures of a result: heat maps, overlays, masks, contours, agreement.

Shared by the CLI exports, the reports and the viewer (which only wraps the
arrays in QImages).
"""

from __future__ import annotations

import cv2
import numpy as np

COLORMAPS = {
    "inferno": cv2.COLORMAP_INFERNO, "viridis": cv2.COLORMAP_VIRIDIS, "magma": cv2.COLORMAP_MAGMA,
    "plasma": cv2.COLORMAP_PLASMA, "turbo": cv2.COLORMAP_TURBO, "cividis": cv2.COLORMAP_CIVIDIS,
}
DEFAULT_COLORMAP = "inferno"
# colour-blind-safe agreement colours (RGB): orange = DinoLizer only, blue = DeCLIP only, magenta = both
AGREEMENT_COLOURS = {"first_only": (230, 159, 0), "second_only": (0, 114, 178), "both": (204, 121, 167)}
CONTOUR_COLOUR = (0, 255, 255)


def heatmap(probability: np.ndarray, colormap: str = DEFAULT_COLORMAP) -> np.ndarray:
    """H x W x 3 uint8 RGB colour map of a probability map in [0, 1]."""
    levels = np.clip(np.rint(probability * 255.0), 0, 255).astype(np.uint8)
    return cv2.cvtColor(cv2.applyColorMap(levels, COLORMAPS[colormap]), cv2.COLOR_BGR2RGB)


def overlay(rgb: np.ndarray, probability: np.ndarray, opacity: float = 0.5,
            colormap: str = DEFAULT_COLORMAP) -> np.ndarray:
    """The heat map blended over the image; opacity scales with the probability so clean areas stay visible."""
    alpha = (opacity * np.clip(probability, 0.0, 1.0))[..., None].astype(np.float32)
    blended = rgb.astype(np.float32) * (1.0 - alpha) + heatmap(probability, colormap).astype(np.float32) * alpha
    return np.rint(blended).astype(np.uint8)


def mask_image(mask: np.ndarray) -> np.ndarray:
    """A boolean mask as an 8-bit single-channel picture (255 = flagged)."""
    return mask.astype(np.uint8) * 255


def contours(rgb: np.ndarray, mask: np.ndarray, thickness: int = 0) -> np.ndarray:
    """Outlines of the mask regions drawn on the image."""
    found, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    out = np.ascontiguousarray(rgb.copy())
    thickness = thickness or max(1, round(max(rgb.shape[:2]) / 400))
    cv2.drawContours(out, found, -1, CONTOUR_COLOUR, thickness)
    return out


def agreement(rgb: np.ndarray, first: np.ndarray, second: np.ndarray, opacity: float = 0.6) -> np.ndarray:
    """Where only the first model, only the second, or both flag pixels, over a dimmed image."""
    out = rgb.astype(np.float32) * 0.6
    for key, selected in (("first_only", first & ~second), ("second_only", second & ~first), ("both", first & second)):
        colour = np.array(AGREEMENT_COLOURS[key], dtype=np.float32)
        out[selected] = out[selected] * (1.0 - opacity) + colour * opacity
    return np.rint(out).astype(np.uint8)
