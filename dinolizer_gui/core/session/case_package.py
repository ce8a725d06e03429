"""Handing a case over: the package (a zip with MANIFEST.sha256) and the verification of a case or a package.

`verify` vouches for what the log names, by the SHA-256 the log recorded: the log's own lines (each in its
canonical form, hashed and chained), case.json, every evidence file where it is found (where it was added,
beside the case, in the folder the examiner gives), every copy of evidence in the case, every report and
every file of every run the log records. A package's MANIFEST.sha256 only says the zip was not damaged in
transit: anyone can recompute it, so every member is checked against the log as well, and a member the log
does not name is a problem. What verify cannot see: a log cut after its last entry, or a log rewritten
whole with its chain recomputed — compare the head it prints with one recorded elsewhere
(`--expect-head SEQ:HASH`).
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import stat
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import BinaryIO

from ..io.names import for_terminal
from ..io.outputs import contains, write_atomic
from ..io.regular import NotRegular, open_regular, regular_or_absent, within
from ..io.stored_zip import StoredZipWriter, canonical_layout
from ..store.audit import REPAIRED, Chain, read_chain
from .case import (
    CASE_FILE,
    LOG_FILE,
    STORE_DIR,
    Case,
    CaseError,
    case_file_problems,
    check_evidence,
    copies_from,
    evidence_from,
    malformed,
    well_formed,
)

MANIFEST = "MANIFEST.sha256"
LEFT_OUT = (STORE_DIR,)  # the store's database and raw maps stay behind: results.json and PNGs travel
MAX_RATIO = 1100  # deflate never shrinks data more than ~1032:1: a member claiming more is a zip bomb
MAX_LISTED = 100  # files left out named in the export's entry (the rest counted)
HEAD = re.compile(r"^(\d+):([0-9a-f]{64})$")


@dataclass
class Verification:
    target: str
    problems: list[str] = field(default_factory=list)  # what is broken, the first broken entry first
    repaired: list[str] = field(default_factory=list)  # log breaks a recorded repair acknowledges
    notes: list[str] = field(default_factory=list)  # what was not checked, and what is fine
    entries: int = 0
    head: tuple[int, str] = (0, "0" * 64)

    @property
    def intact(self) -> bool:
        return not self.problems and not self.repaired

    @property
    def verdict(self) -> str:
        if self.problems:
            return f"BROKEN ({len(self.problems)} problem(s))"
        return f"REPAIRED ({len(self.repaired)} break(s) in the log)" if self.repaired else "INTACT"

    def lines(self) -> list[str]:
        seq, digest = self.head
        return [
            f"{self.target}: {self.verdict}",
            f"log: {self.entries} entries, head seq {seq} hash {digest} (record it: verify --expect-head "
            f"{seq}:{digest} later shows whether entries were cut)",
            *(f"  PROBLEM: {problem}" for problem in self.problems),
            *(f"  REPAIRED: {problem}" for problem in self.repaired),
            *(f"  {note}" for note in self.notes),
        ]


def parse_head(text: str) -> tuple[int, str]:
    """`SEQ:HASH` as `verify` prints it; ValueError otherwise."""
    found = HEAD.match(text.strip().lower())
    if found is None:
        raise ValueError(f"{text!r} is not SEQ:HASH (a number, a colon, 64 hex digits)")
    return int(found.group(1)), found.group(2)


# --- what the log vouches for ------------------------------------------------------------------------
@dataclass(frozen=True)
class Vouched:
    """A file the log names with its SHA-256: inside the case (a relative name) or outside it."""

    name: str
    sha256: str
    what: str  # "report", "run file", "copy of evidence", "torn line kept"
    seq: int

    @property
    def outside(self) -> bool:
        """Recorded as an absolute path: written outside the case (inside names are relative)."""
        return PurePosixPath(self.name).is_absolute() or PureWindowsPath(self.name).is_absolute()

    @property
    def changed(self) -> str:
        done = {"report": "exported", "run file": "written", "copy of evidence": "copied"}.get(
            self.what, "kept"
        )
        return f"changed since it was {done}"


def vouched_files(entries: list[dict]) -> list[Vouched]:
    found: list[Vouched] = []
    for entry in well_formed(entries):
        data, seq, kind = entry["data"], entry["seq"], entry["kind"]
        if kind == "report-exported":
            found.append(Vouched(str(data.get("file")), str(data.get("sha256")), "report", seq))
        elif kind == "run-written" and isinstance(data.get("files"), dict):
            folder = str(data.get("folder", ""))
            found += [
                Vouched(_join(folder, name), str(digest), "run file", seq)
                for name, digest in data["files"].items()
            ]
        elif kind == REPAIRED and (kept := data.get("kept_in") or data.get("torn_kept_in")):
            digest = data.get("sha256") or data.get("torn_sha256")
            found.append(Vouched(str(kept), str(digest), "torn line kept", seq))
    found += [Vouched(name, digest, "copy of evidence", 0) for name, digest in copies_from(entries).items()]
    return found


def _join(folder: str, name: str) -> str:
    return name if folder in ("", ".") else f"{folder.rstrip('/')}/{name}"


def _safe_name(name: str) -> bool:
    """A relative name inside the case or package: no absolute path, drive, `..`, backslash or NUL."""
    if not name or any(c in name for c in "\\\0\n\r") or re.match(r"^[A-Za-z]:", name):
        return False
    path = PurePosixPath(name)
    return not path.is_absolute() and all(part not in ("", ".", "..") for part in name.split("/"))


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
    if _inside(case.folder, out):
        raise CaseError(out, "the package cannot be written inside the case it holds")
    if not regular_or_absent(out):
        raise CaseError(out, "is not a regular file (a link, a folder, a device): not written")
    if not out.exists():
        return
    if not replace:
        raise CaseError(out, "exists: not overwritten (--replace replaces it)")
    digest = _file_digest(out)
    for item in case.evidence():
        places = [Path(item.absolute), *([case.folder / item.from_case] if item.from_case else [])]
        if digest == item.sha256 or any(_same_file(out, place) for place in places):
            raise CaseError(out, "is a listed evidence file: never overwritten")


def _export(case: Case, out: Path, commit: bool) -> Exported:
    try:
        log_bytes = _read(case.folder / LOG_FILE)
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
        if not _safe_name(name):
            left_out.append((name, "a name a package cannot carry safely: not packed"))
        elif not regular_or_absent(path):
            left_out.append((name, "not a regular file (a link, a folder): not packed"))
        elif not path.exists():
            left_out.append((name, "missing from the case"))
        else:
            members.append(name)
    for path in sorted(folder.rglob("*")):
        name = path.relative_to(folder).as_posix()
        if name in named or name == LOG_FILE or path.is_dir() or _skipped(name):
            continue
        left_out.append((name, "not named by the log (nothing vouches for it)"))
    return members, left_out


def _skipped(name: str) -> bool:
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


# --- verification ------------------------------------------------------------------------------------
class Unchecked(Exception):
    """A file that is there but cannot be checked (a link, unreadable, damaged in the package)."""


Digest = Callable[[str], "str | None"]  # a name's SHA-256, None when absent; raises Unchecked


def verify(
    target: Path, evidence_dir: Path | None = None, expect_head: tuple[int, str] | None = None
) -> Verification:
    """Verify a case folder or a case package (.zip); `expect_head` (seq, hash): a head recorded earlier,
    which the log must still hold."""
    target = Path(target)
    if target.is_dir() and not target.is_symlink():
        return _verify_folder(target, evidence_dir, expect_head)
    return _verify_package_file(target, evidence_dir, expect_head)


def _verify_folder(folder: Path, evidence_dir: Path | None, anchor: tuple[int, str] | None) -> Verification:
    if not (folder / CASE_FILE).exists():
        raise CaseError(folder, f"is not a case (no {CASE_FILE})")
    result = Verification(str(folder))

    def digest_of(name: str) -> str | None:
        try:
            return _file_digest(within(folder, name))
        except FileNotFoundError:
            return None
        except (OSError, NotRegular) as exc:
            raise Unchecked(_unreadable(exc)) from None

    def read(name: str) -> bytes | None:
        try:
            return _read(folder / name)
        except FileNotFoundError:
            return None
        except (OSError, NotRegular) as exc:
            result.problems.append(f"{name}: {_unreadable(exc)}")
            return b""

    chain = _check_log(result, read(LOG_FILE), anchor)
    _check_case_file(result, chain, read(CASE_FILE))
    _check_vouched(result, chain, digest_of, package=False)
    _check_evidence(result, chain, folder, evidence_dir)
    if unnamed := _unnamed(folder, chain):
        shown = ", ".join(for_terminal(name) for name in unnamed[:5]) + (", …" if len(unnamed) > 5 else "")
        result.notes.append(
            f"{len(unnamed)} file(s) in the case not named by the log, not vouched for: {shown}"
        )
    return result


def _unnamed(folder: Path, chain: Chain) -> list[str]:
    named = {CASE_FILE, LOG_FILE} | {item.name for item in vouched_files(chain.entries)}
    names = (path.relative_to(folder).as_posix() for path in sorted(folder.rglob("*")) if not path.is_dir())
    return [name for name in names if name not in named and not _skipped(name)]


def _verify_package_file(
    target: Path, evidence_dir: Path | None, anchor: tuple[int, str] | None
) -> Verification:
    try:
        handle = os.fdopen(open_regular(target), "rb")
    except NotRegular as exc:
        raise CaseError(target, f"is neither a case folder nor a case package ({exc.reason})") from None
    except OSError as exc:
        raise CaseError(target, f"cannot be read: {exc.strerror}") from None
    with handle:
        if not zipfile.is_zipfile(handle):
            raise CaseError(target, "is neither a case folder nor a case package (.zip)")
        result = Verification(str(target))
        try:
            package = zipfile.ZipFile(handle)
        except DAMAGED as exc:
            result.problems.append(f"the package is not a readable zip ({exc})")
            return result
        with package:
            size = os.fstat(handle.fileno()).st_size
            members = _sound_members(result, package, size)
            if len(members) == len(package.infolist()):  # each entry sound: then every byte is checked
                _check_layout(result, handle, members, size)
            _verify_package(result, _Package(result, package, members), evidence_dir, anchor)
    return result


def _check_layout(
    result: Verification, handle: BinaryIO, members: dict[str, zipfile.ZipInfo], size: int
) -> None:
    """Every byte of the package outside its members' data (their CRC and the log check those) must be the
    byte a package of these contents has: headers, order, timestamps, comments, anything appended."""
    names = package_order(list(members))
    entries = [(name, members[name].file_size, members[name].CRC) for name in names]
    placed, headers, tail = canonical_layout(entries)
    same = all(info.compress_type == zipfile.ZIP_STORED for info in members.values())
    for member, header in zip(placed, headers, strict=True):
        same = same and members[member.name].header_offset == member.offset
        same = same and _bytes_at(handle, member.offset, len(header)) == header
    end = placed[-1].offset + len(headers[-1]) + placed[-1].size if placed else 0
    same = same and size == end + len(tail) and _bytes_at(handle, end, len(tail)) == tail
    if not same:
        result.problems.append(
            "the package's bytes are not those DinoLizer GUI writes for these contents: its zip structure "
            "(headers, order, times, comments, appended bytes) was changed, or an earlier version made it"
        )


def _bytes_at(handle: BinaryIO, offset: int, count: int) -> bytes:
    handle.seek(offset)
    return handle.read(count)


class _Package:
    """The sound members of a package, each read at most once for its digest."""

    def __init__(self, result: Verification, package: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo]):
        self.result, self.package, self.members = result, package, members
        self.digests: dict[str, str] = {}

    def digest(self, name: str) -> str | None:
        if name not in self.members:
            return None
        if name not in self.digests:
            digest = hashlib.sha256()
            try:
                with self.package.open(self.members[name]) as handle:
                    while chunk := handle.read(1 << 20):
                        digest.update(chunk)
            except DAMAGED as exc:
                self.digests[name] = f"damaged in the package ({exc})"
            else:
                self.digests[name] = digest.hexdigest()
        if self.digests[name].startswith("damaged"):
            raise Unchecked(self.digests[name])
        return self.digests[name]

    def read(self, name: str) -> bytes | None:
        if name not in self.members:
            return None
        try:
            return self.package.read(self.members[name])
        except DAMAGED as exc:
            self.result.problems.append(f"{for_terminal(name)}: damaged in the package ({exc})")
            return b""


# what reading a damaged member raises: a bad CRC or header, a name that is not text, a cut stream
DAMAGED = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, OSError, ValueError)


def _verify_package(
    result: Verification, package: _Package, evidence_dir: Path | None, anchor: tuple[int, str] | None
) -> None:
    _check_manifest(result, package)
    chain = _check_log(result, package.read(LOG_FILE), anchor)
    _check_case_file(result, chain, package.read(CASE_FILE))
    vouched = _check_vouched(result, chain, package.digest, package=True)
    for name in sorted(set(package.members) - vouched - {CASE_FILE, LOG_FILE, MANIFEST}):
        result.problems.append(
            f"{for_terminal(name)}: in the package but not named by the log: nothing vouches for it"
        )
    if evidence_dir is None:
        count = len(evidence_from(chain.entries))
        result.notes.append(
            f"evidence: {count} file(s) listed, not checked (give --evidence DIR to check them)"
        )
    else:
        _check_evidence(result, chain, None, evidence_dir)


def _sound_members(result: Verification, package: zipfile.ZipFile, size: int) -> dict[str, zipfile.ZipInfo]:
    """The members safe to read, by name; each other one is a problem: an unsafe or repeated name, a link,
    encryption, an unknown method, a size it cannot have, or bytes shared with another member."""
    infos = package.infolist()
    counts = Counter(info.filename for info in infos)
    sound: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        if why := _member_problem(info, counts):
            result.problems.append(f"{for_terminal(info.filename)}: {why}")
        else:
            sound[info.filename] = info
    if sum(info.compress_size for info in sound.values()) > size:
        result.problems.append("the members claim more compressed bytes than the package holds: not read")
        return {}
    ordered = sorted(sound.values(), key=lambda info: info.header_offset)
    for first, second in itertools.pairwise(ordered):
        end = first.header_offset + 30 + len(first.filename.encode()) + first.compress_size
        if end > second.header_offset:
            result.problems.append(
                f"{for_terminal(second.filename)} shares bytes with {for_terminal(first.filename)}: not read"
            )
            return {}
    return sound


def _member_problem(info: zipfile.ZipInfo, counts: Counter) -> str:
    if info.is_dir():
        return "a folder entry: a package DinoLizer GUI writes holds none"
    if not _safe_name(info.filename):
        return "an unsafe name (absolute, with .. or a drive): not read"
    if counts[info.filename] > 1:
        return "appears more than once in the package"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "a symbolic link in the package: not followed"
    if info.flag_bits & 0x1:
        return "encrypted: cannot be checked"
    if info.compress_type != zipfile.ZIP_STORED or info.file_size != info.compress_size:
        return (
            f"compressed (method {info.compress_type}): a package DinoLizer GUI writes stores its members; "
            "not inflated"
        )
    return ""


def _check_manifest(result: Verification, package: _Package) -> None:
    """The package's own manifest: a check of transport only (anyone can recompute it); it must be exactly
    the manifest of the package's members."""
    text = package.read(MANIFEST)
    if text is None:
        result.problems.append(f"{MANIFEST} is missing: the package's files cannot be checked")
        return
    listed = _manifest(text.decode("utf-8", "replace"))
    said = len(result.problems)
    actual: dict[str, str] = {}
    for name in sorted(set(listed) | set(package.members) - {MANIFEST}):
        shown = for_terminal(name)
        try:
            now = package.digest(name)
        except Unchecked as exc:
            result.problems.append(f"{shown}: {exc}")
            continue
        if now is None:
            result.problems.append(f"{shown}: listed in the manifest, missing from the package")
            continue
        actual[name] = now
        if name not in listed:
            result.problems.append(f"{shown}: in the package but not in the manifest")
        elif now != listed[name]:
            result.problems.append(f"{shown}: its SHA-256 differs from the manifest's: the file was changed")
    expected = "".join(f"{digest}  {name}\n" for name, digest in sorted(actual.items())).encode()
    if len(result.problems) == said and text != expected:
        result.problems.append(
            f"{MANIFEST} is not the manifest of the package's files (lines added or changed)"
        )


def _check_log(result: Verification, data: bytes | None, anchor: tuple[int, str] | None) -> Chain:
    if not data:
        result.problems.append(f"{LOG_FILE} is missing or empty")
    chain = read_chain(data or b"")
    result.problems += [f"log {for_terminal(problem)}" for problem in chain.problems]
    result.repaired += [f"log {for_terminal(problem)}" for problem in chain.repaired]
    result.entries, result.head = len(chain.entries), chain.head
    result.problems += malformed(chain.entries)
    result.notes += [
        f"log seq {entry['seq']}: a line torn by a crash was set aside in {for_terminal(str(kept))}"
        for entry in chain.entries
        if entry["kind"] == REPAIRED and (kept := entry["data"].get("kept_in"))
    ]
    if anchor is not None:
        _check_anchor(result, chain, anchor)
    return chain


def _check_anchor(result: Verification, chain: Chain, anchor: tuple[int, str]) -> None:
    seq, digest = anchor
    held = [entry["hash"] for entry in chain.entries if entry["seq"] == seq]
    if digest in held:
        result.notes.append(f"the log still holds the head recorded earlier (seq {seq}, hash {digest})")
    elif not held:
        result.problems.append(
            f"the log has no entry seq {seq} (the head recorded earlier): entries were cut from its end"
        )
    else:
        result.problems.append(
            f"the log's entry seq {seq} is not the one recorded earlier (hash {digest}): the log was "
            "rewritten"
        )


def _check_case_file(result: Verification, chain: Chain, data: bytes | None) -> None:
    problems, notes = case_file_problems(chain.entries, data)
    result.problems += [for_terminal(problem) for problem in problems]
    result.notes += notes


def _check_vouched(result: Verification, chain: Chain, digest_of: Digest, package: bool) -> set[str]:
    """Every file the log names against the SHA-256 it recorded; returns the names inside the case."""
    checked = set()
    for item in vouched_files(chain.entries):
        where = f"{item.what} {for_terminal(item.name)}" + (f" (log seq {item.seq})" if item.seq else "")
        if item.outside:
            _check_outside(result, item, where, package)
            continue
        checked.add(item.name)
        try:
            now = digest_of(item.name)
        except Unchecked as exc:
            result.problems.append(f"{where}: {exc}")
            continue
        if now is None:
            result.problems.append(f"{where}: missing")
        elif now != item.sha256:
            result.problems.append(f"{where}: {item.changed}")
    return checked


def _check_outside(result: Verification, item: Vouched, where: str, package: bool) -> None:
    if package:
        result.notes.append(f"{where}: outside the case, not in the package: not checked")
        return
    try:
        now = _file_digest(Path(item.name))
    except (OSError, NotRegular):
        result.notes.append(f"{where}: outside the case and not found there: not checked")
        return
    if now != item.sha256:
        result.problems.append(f"{where}: {item.changed}")


def _check_evidence(result: Verification, chain: Chain, base: Path | None, elsewhere: Path | None) -> None:
    """Every listed evidence file where it is found; with a folder given (`elsewhere`), a file the folder
    does not hold is a problem: the examiner asked for it to be checked there."""
    for state in check_evidence(evidence_from(chain.entries), base, elsewhere, copies=False):
        described = f"evidence {for_terminal(state.describe())}"
        if state.state == "changed":
            result.problems.append(described)
        elif elsewhere is not None and (state.state == "missing" or state.not_found):
            result.problems.append(f"{described} — the folder given does not hold it")
        elif state.state == "missing":
            result.notes.append(f"{described}: not checked")
        else:
            result.notes.append(described)


def _manifest(text: str) -> dict[str, str]:
    listed = {}
    for line in text.splitlines():
        digest, _, name = line.partition("  ")
        if name:
            listed[name] = digest.strip()
    return listed


def _unreadable(exc: BaseException) -> str:
    reason = exc.reason if isinstance(exc, NotRegular) else getattr(exc, "strerror", None) or str(exc)
    return f"unreadable ({reason})"


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with os.fdopen(open_regular(path), "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _read(path: Path) -> bytes:
    with os.fdopen(open_regular(path), "rb") as handle:
        return handle.read()


def _same_file(first: Path, second: Path) -> bool:
    try:
        return os.path.samefile(first, second)
    except OSError:
        return False


def _inside(folder: Path, path: Path) -> bool:
    try:
        return contains(folder, path)
    except OSError:
        return False
