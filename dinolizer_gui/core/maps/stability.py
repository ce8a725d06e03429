"""How much a region survives benign changes: variants of the analysed image, their maps on the original's
pixel grid, and the stability of the original's regions at a threshold.

The variants (made from the RGB pixels the model analysed, with Pillow):
  jpeg90, jpeg75  re-encoded as JPEG at that quality (Pillow's default subsampling), decoded;
  resize75        resized BICUBIC to round(0.75 w) x round(0.75 h); its map resized back BILINEAR to w x h;
  shift64         (sliding-window models, on images that hold a whole window once cropped by 64 px) cropped
                  by 64 px on the left and the top; its map placed back at (64, 64), and the 64 px it does
                  not see do not count for it.
Everything here is cheap and runs again when a threshold moves; no model runs.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from .postprocess import binary_mask, region_labels

VARIANTS = ("jpeg90", "jpeg75", "resize75", "shift64")  # the order they are reported in
CHEAPEST_FIRST = ("resize75", "shift64", "jpeg90", "jpeg75")  # the order they run in: a first answer early
SHIFT = 64
RESIZE_FACTOR = 0.75
MEANING = (
    "Stability: the share of the analyses (the original and its benign variants — JPEG re-compression "
    "at quality 90 and 75, a 75 % resize, and for sliding-window models on images larger than a window by "
    "64 px, a window grid shifted by 64 px) in "
    "which a pixel is marked at the threshold. A region that stays marked under these changes does not "
    "depend on this particular file's compression, size or window placement; it is not proof of "
    "manipulation, and a fragile region is not proof of authenticity."
)


def variant_names(window: int | None, width: int, height: int) -> list[str]:
    """The variants that apply, cheapest first; `window`: the side of the windows the model slides (None: it
    sees the whole image at once). shift64 moves the window grid: it runs only when the image cropped by 64
    px still holds a whole window — below that the model would analyse the crop resized, not the image's
    own pixels on a shifted grid, and a map of a few dozen pixels blown up must not count as an analysis."""
    shift = window is not None and min(width, height) - SHIFT >= window
    return [name for name in CHEAPEST_FIRST if name != "shift64" or shift]


def not_run(window: int | None, width: int, height: int) -> list[str]:
    """The variants left out of a check of a sliding-window model on an image of this size, and why."""
    if window is None or "shift64" in variant_names(window, width, height):
        return []
    return [
        f"shift64 not run: the image ({width} x {height}) cropped by {SHIFT} px no longer holds a whole "
        f"{window} px window of the model"
    ]


def resized_size(width: int, height: int) -> tuple[int, int]:
    return max(1, round(RESIZE_FACTOR * width)), max(1, round(RESIZE_FACTOR * height))


def variant_size(name: str, width: int, height: int) -> tuple[int, int]:
    """The size of the variant of a `width` x `height` image (what the model analyses)."""
    if name == "resize75":
        return resized_size(width, height)
    if name == "shift64":
        return width - SHIFT, height - SHIFT
    return width, height


def make_variant(rgb: np.ndarray, name: str) -> np.ndarray:
    """The variant's pixels (H x W x 3 uint8) from the analysed image's."""
    if name.startswith("jpeg"):
        buffer = io.BytesIO()
        Image.fromarray(rgb).save(buffer, "JPEG", quality=int(name[4:]))
        buffer.seek(0)
        with Image.open(buffer) as decoded:
            return np.asarray(decoded.convert("RGB"))
    if name == "resize75":
        height, width = rgb.shape[:2]
        resized = Image.fromarray(rgb).resize(resized_size(width, height), Image.Resampling.BICUBIC)
        return np.asarray(resized)
    if name == "shift64":
        return np.ascontiguousarray(rgb[SHIFT:, SHIFT:])
    raise ValueError(f"unknown variant {name!r}; known: {', '.join(VARIANTS)}")


@dataclass(frozen=True)
class VariantMap:
    """A variant's probability map on the original's grid; it covers rows `top:` and columns `left:`."""

    name: str
    probability: np.ndarray
    top: int = 0
    left: int = 0

    @property
    def covered(self) -> tuple[slice, slice]:
        return slice(self.top, None), slice(self.left, None)


def on_original_grid(name: str, probability: np.ndarray, width: int, height: int) -> VariantMap:
    """A variant's map brought back to the original image's pixel grid."""
    if name == "resize75":
        back = Image.fromarray(probability.astype(np.float32, copy=False))  # mode F
        probability = np.asarray(back.resize((width, height), Image.Resampling.BILINEAR))
        return VariantMap(name, probability)
    if name == "shift64":
        return VariantMap(name, probability, SHIFT, SHIFT)
    return VariantMap(name, probability)


@dataclass(frozen=True)
class VariantAgreement:
    name: str
    marked_area: float  # fraction of the pixels the variant covers that it marks
    iou_with_original: float | None  # None: neither marks a pixel of the area the variant covers

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "marked_area": self.marked_area,
            "iou_with_original": self.iou_with_original,
        }


@dataclass(frozen=True)
class RegionStability:
    index: int  # the original's region number, as in its regions list
    stability: float  # mean of the stability map over the region
    marked_in: int  # analyses that mark at least half of the region's pixels they cover
    analyses: int  # analyses that cover some of the region (the original among them)

    @property
    def label(self) -> str:
        if self.marked_in == self.analyses:
            words = "stable"
        elif 2 * self.marked_in > self.analyses:
            words = "partly stable"
        else:
            words = "fragile"
        return f"{words}: marked in {self.marked_in} of {self.analyses}"

    def as_dict(self) -> dict:
        return {
            "index": self.index,
            "stability": self.stability,
            "label": self.label,
            "marked_in": self.marked_in,
            "analyses": self.analyses,
        }


class StabilityAt:
    """The stability check read at one threshold: the variants' agreement and the stability map at once, the
    regions' stability when first asked (it labels the original's regions)."""

    def __init__(self, original: np.ndarray, variants: list[VariantMap], threshold: float):
        self.threshold = threshold
        self.analyses = 1 + len(variants)  # the original plus its variants
        self._original, self._variants = original, variants
        mask = binary_mask(original, threshold)
        marked = mask.astype(np.uint8)
        covering = np.ones(mask.shape, np.uint8)
        agreements = {}
        for variant in variants:
            rows, cols = variant.covered
            variant_mask = binary_mask(variant.probability, threshold)
            original_part = mask[rows, cols]
            marked[rows, cols] += variant_mask
            covering[rows, cols] += 1
            union = np.count_nonzero(variant_mask | original_part)
            iou = np.count_nonzero(variant_mask & original_part) / union if union else None
            area = np.count_nonzero(variant_mask) / variant_mask.size
            agreements[variant.name] = VariantAgreement(variant.name, round(area, 6), _rounded(iou))
        self.variants = [agreements[name] for name in VARIANTS if name in agreements]
        # H x W float32: the fraction of the analyses covering a pixel that mark it
        self.stability = marked.astype(np.float32) / covering
        self._mask = mask
        self._regions: list[RegionStability] | None = None

    def levels(self) -> np.ndarray:
        """The stability map as 0..255 (the PNG written and the layer shown)."""
        return np.rint(self.stability * 255.0).astype(np.uint8)

    @property
    def regions(self) -> list[RegionStability]:
        """Each region of the original's mask (numbered as its regions list), with its stability."""
        if self._regions is None:
            self._regions = self._region_stability()
        return self._regions

    def region(self, index: int) -> RegionStability | None:
        regions = self.regions
        return regions[index - 1] if 0 < index <= len(regions) else None

    def _region_stability(self) -> list[RegionStability]:
        labels, order = region_labels(self._mask)
        count = len(order) + 1
        area = np.bincount(labels.ravel(), minlength=count)
        found = np.ones(count, np.int64)  # the original marks the whole of each of its regions
        present = np.ones(count, np.int64)
        for variant in self._variants:
            rows, cols = variant.covered
            part = labels[rows, cols].ravel()
            seen = np.bincount(part, minlength=count)
            hits = np.bincount(
                part, weights=binary_mask(variant.probability, self.threshold).ravel(), minlength=count
            )
            present += seen > 0
            found += (seen > 0) & (2 * hits >= seen)
        sums = np.bincount(labels.ravel(), weights=self.stability.ravel(), minlength=count)
        return [
            RegionStability(
                index, round(float(sums[label] / area[label]), 6), int(found[label]), int(present[label])
            )
            for index, label in enumerate(order, 1)
        ]


@dataclass
class StabilityCheck:
    """An original map and its variants' maps; read at any threshold (the last reading is kept)."""

    original: np.ndarray
    variants: list[VariantMap]
    _last: StabilityAt | None = field(default=None, repr=False)

    def at(self, threshold: float) -> StabilityAt:
        last = self._last
        if last is None or last.threshold != threshold:
            last = self._last = StabilityAt(self.original, self.variants, threshold)
        return last


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 6)
