"""Opening a file only when it is a regular file: never through a symbolic link (a link planted in a case
or an evidence folder could point the app at another file, and a write through it would change that file),
never blocking on a named pipe or a device. The one place that knows how each system does this.

POSIX refuses a final link itself (`O_NOFOLLOW`) and opens pipes without waiting (`O_NONBLOCK`); Windows
has neither flag, so a link is refused by looking at the path first (a window of time remains there), and
opening a pipe or device by a file name is not possible on it. Either way the opened file's own status
(`fstat`) must say "regular file" before a byte is read or written.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from collections.abc import Collection, Iterable
from pathlib import Path

from ..errors import OutputError, PathError

NO_FOLLOW = getattr(os, "O_NOFOLLOW", 0)
NO_BLOCK = getattr(os, "O_NONBLOCK", 0)
BINARY = getattr(os, "O_BINARY", 0)


class NotRegular(PathError):
    """A path that is a symbolic link, a pipe, a device or a folder where a regular file was expected."""


def open_regular(path: Path | str, flags: int = os.O_RDONLY, mode: int = 0o666) -> int:
    """A descriptor of `path` opened with `flags`, only when it is a regular file reached without following
    a link at its end; NotRegular otherwise (OSError for the usual reasons: missing, no permission)."""
    path = Path(path)
    if not NO_FOLLOW and path.is_symlink():
        raise NotRegular(path, "is a symbolic link: not followed")
    try:
        descriptor = os.open(path, flags | NO_FOLLOW | NO_BLOCK | BINARY, mode)
    except OSError as exc:
        if exc.errno == errno.ELOOP or (exc.errno == errno.EMLINK and path.is_symlink()):
            raise NotRegular(path, "is a symbolic link: not followed") from None
        if exc.errno == errno.ENXIO:  # a pipe opened for writing with no reader
            raise NotRegular(path, "is a named pipe, not a file") from None
        raise
    kind = os.fstat(descriptor).st_mode
    if not stat.S_ISREG(kind):
        os.close(descriptor)
        raise NotRegular(path, f"is {_kind(kind)}, not a regular file")
    if NO_BLOCK:  # only meant for the open itself: reads and writes of a regular file wait as usual
        os.set_blocking(descriptor, True)
    return descriptor


def read_regular(path: Path | str, limit: int | None = None) -> bytes:
    """The bytes of a regular file (at most `limit`), read without following a link."""
    with os.fdopen(open_regular(path), "rb") as handle:
        return handle.read() if limit is None else handle.read(limit)


def sha256_regular(path: Path | str) -> str:
    """The SHA-256 of a regular file, read without following a link (NotRegular, OSError otherwise)."""
    digest = hashlib.sha256()
    with os.fdopen(open_regular(path), "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def regular_or_absent(path: Path | str) -> bool:
    """True when `path` does not exist or is a regular file that is not a link."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except FileNotFoundError:
        return True


def folder_or_absent(path: Path | str) -> bool:
    """True when `path` does not exist or is a real folder (not a link to one)."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except FileNotFoundError:
        return True


def check_file_target(
    out: Path, replace: bool, evidence_places: Iterable[Path], evidence_digests: Collection[str]
) -> None:
    """OutputError unless a single output file may be written at `out`: not a link, a folder or a device;
    not an existing file unless `replace`; and never one of the evidence (by place or by content), which
    no `replace` overwrites."""
    if not regular_or_absent(out):
        raise OutputError(out, "is not a regular file (a link, a folder, a device): not written")
    if not os.path.lexists(out):
        return
    if not replace:
        raise OutputError(out, "exists: not overwritten (--replace replaces it)")
    same_place = any(_same_file(out, place) for place in evidence_places)
    if same_place or sha256_regular(out) in evidence_digests:
        raise OutputError(out, "is an evidence file: never overwritten")


def _same_file(first: Path, second: Path) -> bool:
    try:
        return os.path.samefile(first, second)
    except OSError:
        return False


def within(root: Path, name: str) -> Path:
    """`root / name` for a plain relative name (parts separated by /, none empty, `.` or `..`) whose every
    folder under `root` is a real folder, not a link; NotRegular otherwise. With `open_regular` on the result,
    nothing outside `root` is reached through a link planted in it."""
    parts = name.split("/")
    if "\\" in name or "\0" in name or any(part in ("", ".", "..") for part in parts):
        raise NotRegular(root / name, "is not a plain path inside its folder")
    current = Path(root)
    for part in parts[:-1]:
        current = current / part
        if not folder_or_absent(current):
            raise NotRegular(current, "is not a real folder (a link?): not followed")
    return Path(root, *parts)


def _kind(mode: int) -> str:
    kinds = {
        stat.S_ISFIFO: "a named pipe",
        stat.S_ISCHR: "a character device",
        stat.S_ISBLK: "a block device",
        stat.S_ISSOCK: "a socket",
        stat.S_ISDIR: "a folder",
        stat.S_ISLNK: "a symbolic link",
    }
    return next((name for test, name in kinds.items() if test(mode)), "not a regular file")
