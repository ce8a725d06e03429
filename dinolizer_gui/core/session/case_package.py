"""Handing a case over: the package — a zip of every file the log vouches for, the log with the export
recorded in it, and MANIFEST.sha256 — written once, under the log's lock, never over a file or evidence.
Its bytes follow from its contents alone (core/io/stored_zip), so `verify` can see any change to the zip."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ..errors import OutputError
from ..io.outputs import write_atomic
from ..io.regular import NotRegular, open_regular, read_regular, regular_or_absent, within
from ..io.stored_zip import StoredZipWriter
from ..store.chain import Chain, read_chain
from .case import Case
from .case_entries import (
    CASE_FILE,
    LOG_FILE,
    STORE_DIR,
    CaseError,
    safe_member_name,
    vouched_files,
)
from .evidence import protected

MANIFEST = "MANIFEST.sha256"
LEFT_OUT = (STORE_DIR,)  # the store's database and raw maps stay behind: results.json and PNGs travel
MAX_RATIO = 1100  # deflate never shrinks data more than ~1032:1: a member claiming more is a zip bomb
MAX_LISTED = 100  # files left out named in the export's entry (the rest counted)
HEAD = re.compile(r"^(\d+):([0-9a-f]{64})$")


# --- export ------------------------------------------------------------------------------------------
@dataclass
class Exported:
    path: Path
    files: int  # members of the package, the log and the manifest included
    left_out: list[tuple[str, str]]  # (name, reason): files of the case not packed
    outside: list[str]  # reports and runs the log names outside the case: not in the package


def export_case(case: Case, out: Path, replace: bool = False) -> Exported:
    """Write the case's package: case.json, every file the log vouches for (reports, runs, evidence copies,
    kept torn lines), the log with this export recorded in it, and MANIFEST.sha256. Each file is read once,
    packed and hashed from the same bytes, under the log's lock; the export is appended to the case's log
    only once the package is in place (a case on read-only media: the entry is in the package alone)."""
    out = Path(out).absolute()
    _refuse_target(case, out, replace)
    if case.read_only:
        return _export(case, out, commit=False)
    with case.log.writing():
        return _export(case, out, commit=True)


def _refuse_target(case: Case, out: Path, replace: bool) -> None:
    try:
        protected(case.evidence(), case.folder).check(out, replace)
    except OutputError as exc:
        raise CaseError(out, exc.reason) from None


def _export(case: Case, out: Path, commit: bool) -> Exported:
    try:
        log_bytes = read_regular(case.folder / LOG_FILE)
    except FileNotFoundError:
        log_bytes = b""
    chain = read_chain(log_bytes)
    members, left_out = _members(case.folder, chain)
    outside = sorted({item.name for item in vouched_files(chain.entries) if item.outside})
    data = {
        "file": out.name,
        "files": len(members) + 2,
        "left_out": [{"path": name, "reason": why} for name, why in left_out[:MAX_LISTED]],
        "left_out_count": len(left_out),
        "outside": outside,
    }
    entry, payload = case.log.pending("case-exported", data)
    packed_log = log_bytes + payload
    digests: dict[str, str] = {}

    def write(handle: BinaryIO) -> None:
        package = StoredZipWriter(handle)
        for name in package_order([*members, LOG_FILE]):
            if name == LOG_FILE:
                package.add(name, [packed_log], len(packed_log))
                digests[name] = hashlib.sha256(packed_log).hexdigest()
            else:
                digests[name] = _pack(package, within(case.folder, name), name)
        manifest = "".join(f"{d}  {n}\n" for n, d in sorted(digests.items())).encode()
        package.add(MANIFEST, [manifest], len(manifest))
        package.close()

    try:
        write_atomic(out, write)
    except ValueError as exc:  # a file that changed while it was packed
        raise CaseError(out, f"not written: {exc}") from None
    if commit:
        try:
            case.log.commit(entry, payload)
        except BaseException:
            out.unlink(missing_ok=True)  # a package whose export the case does not record is not left
            raise
    return Exported(out, len(digests) + 1, left_out, outside)


def package_order(names: list[str]) -> list[str]:
    """The order of a package's members: by name, the manifest last (it is made from the others)."""
    return sorted(names, key=lambda name: (name == MANIFEST, name))


def _members(folder: Path, chain: Chain) -> tuple[list[str], list[tuple[str, str]]]:
    """The case's files to pack (case.json and those the log vouches for) and those left out, with why."""
    named = {CASE_FILE} | {item.name for item in vouched_files(chain.entries) if not item.outside}
    members, left_out = [], []
    for name in sorted(named):
        try:
            path = within(folder, name)
        except NotRegular as exc:
            left_out.append((name, f"{exc.reason}: not packed"))
            continue
        if not safe_member_name(name):
            left_out.append((name, "a name a package cannot carry safely: not packed"))
        elif not regular_or_absent(path):
            left_out.append((name, "not a regular file (a link, a folder): not packed"))
        elif not path.exists():
            left_out.append((name, "missing from the case"))
        else:
            members.append(name)
    for path in sorted(folder.rglob("*")):
        name = path.relative_to(folder).as_posix()
        if name in named or name == LOG_FILE or path.is_dir() or left_behind(name):
            continue
        left_out.append((name, "not named by the log (nothing vouches for it)"))
    return members, left_out


def left_behind(name: str) -> bool:
    """The store (its database and raw maps) and hidden files (locks) never travel."""
    parts = name.split("/")
    return parts[0] in LEFT_OUT or any(part.startswith(".") for part in parts)


def _pack(package: StoredZipWriter, path: Path, name: str) -> str:
    """Pack one file, reading it once and hashing the bytes packed (never through a link)."""
    digest = hashlib.sha256()
    with os.fdopen(open_regular(path), "rb") as source:

        def chunks() -> Iterator[bytes]:
            while chunk := source.read(1 << 20):
                digest.update(chunk)
                yield chunk

        package.add(name, chunks(), os.fstat(source.fileno()).st_size)
    return digest.hexdigest()
