"""Finding the images to analyse in files and folders."""

from __future__ import annotations

import os
from pathlib import Path

from natsort import natsorted

from .imageio import is_image_path


def scan_inputs(paths: list[Path | str]) -> list[Path]:
    """Files given explicitly, plus the images found recursively in folders.

    Folders contribute only files with image extensions, in natural order;
    hidden files and folders are skipped and symbolic-link loops are not
    followed. A path given explicitly is kept even if it is not an image, so
    that it gets a clear error instead of being silently dropped.
    """
    found: list[Path] = []
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        candidates = _walk_images(path) if path.is_dir() else [path]
        for candidate in candidates:
            key = candidate.absolute()
            if key not in seen:
                seen.add(key)
                found.append(candidate)
    return found


def _walk_images(root: Path) -> list[Path]:
    images: list[Path] = []
    visited: set[tuple[int, int]] = set()
    for folder, subfolders, files in os.walk(root, followlinks=True):
        try:
            stat = os.stat(folder)
        except OSError:
            subfolders[:] = []
            continue
        identity = (stat.st_dev, stat.st_ino)
        if identity in visited:  # a symlink loop or a second link to a folder already scanned
            subfolders[:] = []
            continue
        visited.add(identity)
        subfolders[:] = natsorted(d for d in subfolders if not d.startswith("."))
        images += [Path(folder) / name for name in natsorted(files)
                   if not name.startswith(".") and is_image_path(Path(name)) and (Path(folder) / name).is_file()]
    return images
