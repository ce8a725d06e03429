"""Finding the images to analyse in the paths given: files named, and the images in folders, with every entry
that could not be looked at said rather than skipped."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from natsort import natsorted

from ..io.images import is_image_path
from ..io.outputs import OUTPUT_MARKER, is_output_folder


@dataclass(frozen=True)
class Found:
    """An entry of the inputs: an image to analyse, or what could not be looked at and why."""

    path: Path
    problem: str = (
        ""  # a folder that could not be read, a link not followed: reported, never skipped silently
    )


def scan_inputs(
    paths: Sequence[Path | str], follow_links: bool = False, every_file: bool = False
) -> list[Found]:
    """Files given explicitly, plus the images found recursively in folders.

    Folders contribute only names with image extensions, in natural order; hidden files and folders, the
    app's output folders and symbolic-link loops are skipped. Nothing else is skipped in silence: a folder
    that cannot be read (permissions, a path longer than the system allows) is an entry with its reason, and
    so is a link inside a folder that leads out of it (not followed unless `follow_links`). Whatever is kept
    and cannot be read (a path given explicitly that is not an image, a pipe named like one) gets a clear
    error when it is loaded. With `every_file` (listing evidence), the other files in folders are entries
    too, each saying why it is left out (hidden, not an image type).
    """
    found: list[Found] = []
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        for entry in _walk_images(path, follow_links, every_file) if path.is_dir() else [Found(path)]:
            key = entry.path.absolute()
            if key not in seen:
                seen.add(key)
                found.append(entry)
    return found


def _walk_images(root: Path, follow_links: bool, every_file: bool) -> list[Found]:
    """The images under `root` and the problems met, in natural order."""
    found: list[Found] = []
    visited: set[tuple[int, int]] = set()
    inside = os.path.realpath(root)

    def unreadable(error: OSError) -> None:
        reason = error.strerror or type(error).__name__
        found.append(
            Found(
                Path(error.filename or root),
                f"folder could not be read: {reason}; its images are not analysed",
            )
        )

    def leaves(path: Path) -> str:
        """Why a link is not followed ("" when it is): it leads out of the folder dropped."""
        if follow_links or not path.is_symlink():
            return ""
        target = os.path.realpath(path)
        if target == inside or target.startswith(inside.rstrip(os.sep) + os.sep):
            return ""
        return f"a link out of {root} (to {target}): not followed (--follow-links follows it)"

    for folder, subfolders, files in os.walk(root, followlinks=True, onerror=unreadable):
        try:
            stat = os.stat(folder)
        except OSError as error:  # gone, or out of reach, since it was listed
            unreadable(error)
            subfolders[:] = []
            continue
        identity = (stat.st_dev, stat.st_ino)
        if identity in visited or is_output_folder(
            Path(folder)
        ):  # a symlink loop, a folder seen, our outputs
            if every_file and identity not in visited:
                found.append(
                    Found(Path(folder), f"holds outputs of this app ({OUTPUT_MARKER}): not looked into")
                )
            subfolders[:] = []
            continue
        visited.add(identity)
        kept = []
        if every_file:
            hidden = natsorted(name for name in subfolders if name.startswith("."))
            found += [Found(Path(folder) / name, "a hidden folder: not looked into") for name in hidden]
        for name in natsorted(d for d in subfolders if not d.startswith(".")):
            why = _safely(leaves, Path(folder) / name)
            if why:
                found.append(Found(Path(folder) / name, why))
            else:
                kept.append(name)
        subfolders[:] = kept
        for name in natsorted(files):
            path = Path(folder) / name
            if not name.startswith(".") and is_image_path(Path(name)):
                found.append(Found(path, _safely(leaves, path)))
            elif every_file:
                found.append(Found(path, "a hidden file: not listed" if name.startswith(".") else LEFT_OUT))
    return found


LEFT_OUT = "not an image type: not listed"


def _safely(check: Callable[[Path], str], path: Path) -> str:
    """A check of one entry; an entry that cannot even be looked at (a path longer than the system allows)
    is a problem of its own."""
    try:
        return check(path)
    except OSError as error:
        return f"could not be read: {error.strerror or type(error).__name__}; not analysed"
