"""Writing outputs durably and privately, and telling outputs from evidence.

Every output is written to a temporary name unique to the process, flushed
and fsynced, renamed into place, and its folder fsynced: a reader never sees
half a file, two processes never share a temporary file, and a power cut
leaves either the old file or the new one. Every output folder carries a
marker, so that the folder scanner never mistakes outputs for evidence.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from ..errors import OutputError

OUTPUT_MARKER = ".dinolizer-gui-output"
MARKER_TEXT = "This folder holds outputs of DinoLizer GUI, not evidence; the app never analyses it.\n"


def write_atomic(path: Path, data: bytes | Callable[[BinaryIO], object]) -> None:
    """Write `data` (bytes, or a function writing to a binary file) to `path`; OutputError on failure."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        descriptor = os.open(
            temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666
        )
        with os.fdopen(descriptor, "wb") as handle:
            if isinstance(data, bytes | bytearray | memoryview):
                handle.write(data)
            else:
                data(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise OutputError.of(path, exc) from None
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


def commit(staging: Path, target: Path) -> None:
    """Make a complete file written under a staging name durable, then rename it into place."""
    try:
        with open(staging, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(staging, target)
    except OSError as exc:
        raise OutputError.of(target, exc) from None
    _fsync_folder(Path(target).parent)


def write_json_atomic(path: Path, document: Any, **dump_options: Any) -> None:
    """Strict JSON (no NaN or infinity) written atomically."""
    write_atomic(path, json.dumps(document, allow_nan=False, **dump_options).encode("utf-8"))


def read_json(path: Path) -> dict:
    """A JSON object from a small state file; {} when it is missing or unreadable."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _fsync_folder(folder: Path) -> None:
    if os.name != "posix":
        return  # Windows cannot open a folder for fsync; its renames are journaled by NTFS
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def make_folder(folder: Path) -> Path:
    """Create an output folder (and its parents); raises OutputError when that is impossible."""
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError.of(folder, exc) from None
    return Path(folder)


def mark_output_folder(folder: Path) -> None:
    marker = Path(folder) / OUTPUT_MARKER
    if not marker.exists():
        write_atomic(marker, MARKER_TEXT.encode())


def is_output_folder(folder: Path) -> bool:
    return (Path(folder) / OUTPUT_MARKER).is_file()


def output_folder_of(path: Path | str) -> Path | None:
    """The output folder that holds `path`, if any (the path itself or one of its parents is marked)."""
    path = Path(path).absolute()
    return next((folder for folder in (path, *path.parents) if is_output_folder(folder)), None)


def contains(folder: Path | str, path: Path | str) -> bool:
    """True when `path` is `folder` or lies inside it."""
    folder, path = Path(folder).resolve(), Path(path).resolve()
    return path == folder or folder in path.parents
