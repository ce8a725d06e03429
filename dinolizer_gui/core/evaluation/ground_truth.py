"""Ground-truth masks: which mask belongs to which image, and reading one as a boolean array.

Pairing rule: the mask of IMAGES/sub/name.ext is the file under MASKS/sub/
whose name is `name`, `name_mask`, `name_gt`, `name-mask` or
`name_groundtruth` (letter case as given), with any image extension. Several
candidates for one image are an error for that image: a mask is never
guessed.

A mask pixel is manipulated when any of its channels is at least 128 (of
255; 16-bit masks are scaled to 8 bits first); `invert` swaps the two for
data sets where white means authentic. A mask without a manipulated pixel
marks an authentic image. A mask whose size differs from the image is resized
with nearest-neighbour sampling, with a warning.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ..io.images import IMAGE_EXTENSIONS, load_image
from ..maps.render import outline

MASK_SUFFIXES = ("", "_mask", "_gt", "-mask", "_groundtruth")
MASK_FOLDERS = ("masks", "mask", "gt", "groundtruth", "ground_truth")  # beside the images' folder
POSITIVE_FROM = 128


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


def read_mask(path: Path | str, height: int, width: int, invert: bool = False) -> GroundTruth:
    """The mask as booleans at the image's size; raises ImageLoadError naming the file."""
    loaded = load_image(path)
    mask = loaded.rgb.max(axis=2) >= POSITIVE_FROM
    if invert:
        mask = ~mask
    warnings = []
    if mask.shape != (height, width):
        warnings.append(
            f"mask is {mask.shape[1]}x{mask.shape[0]}, the image {width}x{height}: "
            "mask resized with nearest-neighbour sampling"
        )
        mask = cv2.resize(mask.view(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST).astype(bool)
    return GroundTruth(str(path), mask, warnings)
