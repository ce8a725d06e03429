"""Ground-truth masks: which mask belongs to which image, and reading one as a boolean array.

Pairing rule: the mask of IMAGES/sub/name.ext is the file under MASKS/sub/
whose name is `name`, `name_mask`, `name_gt`, `name-mask` or
`name_groundtruth` (letter case as given), with any image extension. Several
candidates for one image are an error for that image: a mask is never
guessed.

Reading rule (every case listed in the mask's warnings):
- a mask whose values are only 0 and 1 (any mode): 1 = manipulated;
- black and white (mode 1): white = manipulated;
- otherwise a pixel is manipulated when any of its channels reaches half of its full scale: 128 of 255
  (8 bits), 32768 of 65535 (16 bits); a palette mask is read through its palette;
- a mask with transparency (an alpha channel that is not fully opaque) is ambiguous — the region may be
  drawn in the colours or in the alpha — and is an error, as is a floating-point mask with values outside
  0..1.
`invert` swaps the two classes for data sets where white means authentic. A mask without a manipulated
pixel marks an authentic image. A mask of the image's shape but another size is resized with
nearest-neighbour sampling, with a warning; a mask of another shape (its width and height swapped by an
EXIF rotation it did not follow, a crop) is an error: stretched, it would score the wrong pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from ..io.images import IMAGE_EXTENSIONS, ImageLoadError, open_as_stored
from ..maps.render import outline

MASK_SUFFIXES = ("", "_mask", "_gt", "-mask", "_groundtruth")
MASK_FOLDERS = ("masks", "mask", "gt", "groundtruth", "ground_truth")  # beside the images' folder


class PairingError(ValueError):
    """An image without exactly one mask."""


@dataclass
class GroundTruth:
    path: str
    mask: np.ndarray  # H x W bool, True = manipulated, at the image's displayed size
    warnings: list[str] = field(default_factory=list)
    edges: np.ndarray | None = None  # its outline for display (uint8 0/1), once computed

    @property
    def authentic(self) -> bool:
        return not bool(self.mask.any())

    def outline(self) -> np.ndarray:
        if self.edges is None:
            self.edges = outline(self.mask)
        return self.edges


def mask_candidates(image: Path, folder: Path) -> list[Path]:
    """Files in `folder` named as a mask of `image` by the pairing rule."""
    if not folder.is_dir():
        return []
    names = {image.stem + suffix for suffix in MASK_SUFFIXES}
    return sorted(
        entry
        for entry in folder.iterdir()
        if entry.stem in names and entry.suffix.lower() in IMAGE_EXTENSIONS and entry.is_file()
    )


def find_mask(image: Path, images_root: Path, masks_root: Path) -> Path:
    """The mask of `image` (found under `images_root`) in `masks_root`; raises PairingError."""
    relative = image.relative_to(images_root).parent if images_root.is_dir() else Path()
    folder = masks_root / relative
    found = [path for path in mask_candidates(image, folder) if path.resolve() != image.resolve()]
    if not found:
        names = ", ".join(f"{image.stem}{suffix}.*" for suffix in MASK_SUFFIXES)
        raise PairingError(f"no ground-truth mask: looked for {names} in {folder}")
    if len(found) > 1:
        raise PairingError(f"several ground-truth masks match: {', '.join(p.name for p in found)}")
    return found[0]


def find_mask_beside(image: Path) -> Path | None:
    """For the viewer: the one mask named by the pairing rule next to the image (a suffixed name only) or in a
    folder `masks`, `mask`, `gt`, `groundtruth` or `ground_truth` beside the image's folder; else None."""
    found = [p for p in mask_candidates(image, image.parent) if p.stem != image.stem]
    for name in MASK_FOLDERS:
        found += mask_candidates(image, image.parent.parent / name)
    return found[0] if len(found) == 1 else None


def mask_values(image: Image.Image, path: Path | str) -> tuple[np.ndarray, str]:
    """The manipulated pixels of a mask by the reading rule, and how they were read; raises ImageLoadError
    for an ambiguous mask."""
    if "A" in image.getbands() or "transparency" in image.info:
        rgba = np.asarray(image.convert("RGBA"))
        if (rgba[..., 3] < 255).any():
            raise ImageLoadError(
                path,
                "the mask has transparency: the region may be drawn in the colours or in the alpha channel, "
                "which is ambiguous; save it as a greyscale image (white = manipulated)",
            )
        image = image.convert("RGB")
    if image.mode == "P":
        image = image.convert("RGB")
    values = np.asarray(image)
    if values.ndim == 2:
        values = values[..., None]
    present = np.unique(values)
    if present.size <= 2 and 1 in present.tolist() and set(present.tolist()) <= {0, 1}:
        return values.max(axis=2).astype(bool), "a 0/1 mask: 1 = manipulated"
    if image.mode == "F":
        if present.min() < 0 or present.max() > 1:
            raise ImageLoadError(path, "a floating-point mask with values outside 0..1 is ambiguous")
        return values.max(axis=2) >= 0.5, "a floating-point mask: manipulated from 0.5"
    full = 65535 if values.dtype == np.uint16 or image.mode.startswith("I") else 255
    if image.mode == "I" and values.max(initial=0) > 65535:
        raise ImageLoadError(path, "a 32-bit integer mask is ambiguous; save it as 8 or 16 bits")
    half = (full + 1) // 2
    return values.max(axis=2) >= half, f"manipulated where any channel reaches {half} of {full}"


READ_AS = "mask read as"  # the first warning of every mask: how it was read (the others say more)
MAX_SHAPE_DIFFERENCE = 0.02  # of the aspect ratio: beyond it a mask is not the image's


def read_mask(path: Path | str, height: int, width: int, invert: bool = False) -> GroundTruth:
    """The mask as booleans at the image's size by the reading rule; raises ImageLoadError naming the file."""
    mask, how = mask_values(open_as_stored(path), path)
    if invert:
        mask = ~mask
    warnings = [f"{READ_AS} {how}" + ("; inverted (white = authentic)" if invert else "")]
    ratio = (mask.shape[1] / mask.shape[0]) / (width / height)
    if abs(ratio - 1) > MAX_SHAPE_DIFFERENCE:
        raise ImageLoadError(
            path,
            f"the mask is {mask.shape[1]}x{mask.shape[0]}, the image {width}x{height}: another shape (a "
            "rotation the mask did not follow, a crop?) — not compared",
        )
    if mask.shape != (height, width):
        warnings.append(
            f"mask is {mask.shape[1]}x{mask.shape[0]}, the image {width}x{height}: "
            "mask resized with nearest-neighbour sampling"
        )
        mask = cv2.resize(mask.view(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST).astype(bool)
    return GroundTruth(str(path), mask, warnings)
