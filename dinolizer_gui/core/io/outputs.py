"""Writing outputs durably and privately, and telling outputs from evidence.

Every output is written to a temporary name unique to the process, flushed
and fsynced, renamed into place, and its folder fsynced: a reader never sees
half a file, two processes never share a temporary file, and a power cut
leaves either the old file or the new one. Every output folder carries a
marker, so that the folder scanner never mistakes outputs for evidence.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from ..errors import OutputError

if TYPE_CHECKING:
    from filelock import BaseFileLock

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
        _discard(temporary)
        raise OutputError.of(path, exc) from None
    except BaseException:
        _discard(temporary)
        raise
    _fsync_folder(path.parent)


def _discard(temporary: Path) -> None:
    """Remove a temporary file if there is one (its name may be what failed: too long for the system)."""
    with contextlib.suppress(OSError):
        temporary.unlink(missing_ok=True)


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
    try:
        return (Path(folder) / OUTPUT_MARKER).is_file()
    except OSError:  # cannot be looked at (too long a path): reading it will say why
        return False


def output_folder_of(path: Path | str) -> Path | None:
    """The output folder that holds `path`, if any (the path itself or one of its parents is marked)."""
    path = Path(path).absolute()
    return next((folder for folder in (path, *path.parents) if is_output_folder(folder)), None)


def contains(folder: Path | str, path: Path | str) -> bool:
    """True when `path` is `folder` or lies inside it."""
    folder, path = Path(folder).resolve(), Path(path).resolve()
    return path == folder or folder in path.parents


def inside(folder: Path | str, path: Path | str) -> bool:
    """`contains`, False where a path cannot even be resolved (too long, a loop of links)."""
    try:
        return contains(folder, path)
    except (OSError, RuntimeError):
        return False


# What a run writes in its output folder: results (and their journal), reports, evaluation files, plots, and
# one NNNN_<name> folder per image. Nothing else is ever taken for a run's output, or removed.
RUN_OUTPUT = re.compile(
    r"^(results\.jsonl?|report\.(pdf|json|html)|evaluation\.(json|csv|pdf|html)"
    r"|precision_recall\.png|iou_per_image\.png|roc\.png|\d{4}_[A-Za-z0-9._-]+)$"
)
IMAGE_OUTPUT = re.compile(
    r"^([a-z0-9]+_(mask|overlay|heatmap|stability(overlay)?)\.png|agreement\.png|exif_thumbnail\.png|findings\.png"
    r"|view_[a-z]+(_[a-z0-9]+)?\.png|[a-z0-9]+_probability\.npy)$"
)
TEMPORARY = re.compile(r"^\..+\.\d+\.[0-9a-f]{8}\.tmp$")  # write_atomic's, left by a process killed mid-write
LOCK_FILE = ".dinolizer-gui.lock"


class OutputFolderBusy(OutputError):
    """Another run writes into the same output folder."""


class NotAFolder(OutputError):
    """The output folder given is a file."""


class HoldsEvidence(OutputError):
    """The output folder is, or holds, one of the inputs: outputs are never mixed with the evidence."""

    def __init__(self, folder: Path, evidence: Path | str):
        super().__init__(folder, f"holds the input {evidence}")
        self.evidence = evidence


class EarlierOutputs(OutputError):
    """The output folder holds an earlier run's outputs: they are replaced only when asked."""

    def __init__(self, folder: Path, outputs: list[Path]):
        self.outputs = outputs
        self.names = ", ".join(path.name for path in outputs[:4]) + (", …" if len(outputs) > 4 else "")
        super().__init__(folder, f"holds an earlier run's outputs ({self.names})")


class ForeignOutputs(OutputError):
    """The folder holds files named as a run's outputs but no run of this app made it its output folder (it
    carries no marker): they may be anything — evidence among them —, so nothing in it is ever replaced."""

    def __init__(self, folder: Path, files: list[Path]):
        names = ", ".join(path.name for path in files[:4]) + (", …" if len(files) > 4 else "")
        super().__init__(
            folder,
            f"holds files named as a run's outputs ({names}) but is not an output folder of this app (no "
            f"{OUTPUT_MARKER}): they are never replaced; choose another folder",
        )


class NotWritable(OutputError):
    """The output folder cannot be made, or nothing can be written in it."""


def previous_outputs(folder: Path) -> list[Path]:
    """The outputs of an earlier run in `folder` (results, reports, image folders), sorted."""
    try:
        return sorted(entry for entry in Path(folder).iterdir() if RUN_OUTPUT.match(entry.name))
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise OutputError.of(folder, exc) from None


def remove_outputs(folder: Path) -> list[Path]:
    """Remove an earlier run's outputs from `folder` — only files this app writes, so nothing else is ever
    lost; returns what was left in place (files this app did not write, in an image folder)."""
    left: list[Path] = []
    try:
        for entry in previous_outputs(folder):
            if entry.is_dir() and not entry.is_symlink():
                for inner in entry.iterdir():
                    if IMAGE_OUTPUT.match(inner.name) or TEMPORARY.match(inner.name):
                        inner.unlink()
                    else:
                        left.append(inner)
                if not any(entry.iterdir()):
                    entry.rmdir()
            elif entry.is_file():
                entry.unlink()
    except OSError as exc:
        raise OutputError.of(folder, exc) from None
    return left


def remove_stale_temporaries(folder: Path) -> None:
    """Temporary files of a process killed mid-write (only the folder's lock holder may call this)."""
    for entry in Path(folder).iterdir():
        candidates = entry.iterdir() if entry.is_dir() and RUN_OUTPUT.match(entry.name) else [entry]
        for candidate in candidates:
            if TEMPORARY.match(candidate.name):
                candidate.unlink(missing_ok=True)


def append_line(path: Path, line: str) -> None:
    """Append one line of text to `path` and fsync it: once this returns, the line survives a crash."""
    try:
        with open(path, "a", encoding="utf-8", newline="\n") as handle:
            handle.write(line if line.endswith("\n") else line + "\n")
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        raise OutputError.of(path, exc) from None


@contextlib.contextmanager
def held(lock_path: Path, timeout: float) -> Iterator[None]:
    """Hold a cross-platform lock file (`filelock`) for the block, waiting up to `timeout` seconds for another
    process to release it (TimeoutError when it does not)."""
    from filelock import FileLock, Timeout

    lock = FileLock(str(lock_path), timeout=timeout)
    try:
        lock.acquire()
    except Timeout:
        raise TimeoutError(f"{lock_path} is held by another process") from None
    try:
        yield
    finally:
        lock.release()


def claim_output_folder(folder: Path) -> BaseFileLock:
    """Hold `folder` for this run: a second run into it fails at once (OutputFolderBusy) instead of
    interleaving its files. A cross-platform lock file (`filelock`), released when the process ends, however
    it ends. Returns the lock; keep it for as long as the run writes."""
    from filelock import FileLock, Timeout

    lock = FileLock(str(Path(folder) / LOCK_FILE), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise OutputFolderBusy(folder, "another run is writing into this folder now") from None
    except OSError as exc:
        raise OutputError.of(folder, exc) from None
    remove_stale_temporaries(folder)
    return lock


def check_output_folder(folder: Path, evidence: Iterable[Path | str], replace: bool = False) -> None:
    """What makes `folder` no place for a run's outputs, found before anything is written: it is a file
    (NotAFolder), it is or holds one of the `evidence` (HoldsEvidence), it holds files named as outputs that
    no run of this app wrote (ForeignOutputs), or an earlier run's outputs not to be replaced
    (EarlierOutputs)."""
    _check_place(folder, evidence)
    _check_earlier(folder, replace)


@dataclass
class OutputClaim:
    """An output folder held by this run: no other run writes into it until `release`."""

    folder: Path
    lock: BaseFileLock
    left: list[Path]  # what an earlier run's removal left in place: files this app did not write

    def release(self) -> None:
        self.lock.release()


def claim_outputs(folder: Path, evidence: Iterable[Path | str], replace: bool = False) -> OutputClaim:
    """Make `folder` this run's: the checks of `check_output_folder`, the folder made and written in
    (NotWritable), held against other runs (OutputFolderBusy), and an earlier run's outputs removed when
    `replace` — only files this app writes, in a folder it marked. Keep the claim for as long as the run
    writes."""
    _check_place(folder, evidence)
    try:
        make_folder(folder)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except (OutputError, OSError) as exc:
        reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or str(exc)
        raise NotWritable(folder, reason) from None
    lock = claim_output_folder(folder)
    try:
        _check_earlier(folder, replace)
        return OutputClaim(Path(folder), lock, remove_outputs(folder) if replace else [])
    except BaseException:
        lock.release()
        raise


def _check_place(folder: Path, evidence: Iterable[Path | str]) -> None:
    if Path(folder).exists() and not Path(folder).is_dir():
        raise NotAFolder(folder, "is a file, not a folder")
    if clash := next((path for path in evidence if contains(folder, path)), None):
        raise HoldsEvidence(folder, clash)


def _check_earlier(folder: Path, replace: bool) -> None:
    """An earlier run's outputs are replaced only when asked — and only in a folder a run of this app made
    its own (marked): files of the same names anywhere else are not this app's to remove."""
    if not (earlier := previous_outputs(folder)):
        return
    if not is_output_folder(folder):
        raise ForeignOutputs(folder, earlier)
    if not replace:
        raise EarlierOutputs(folder, earlier)
