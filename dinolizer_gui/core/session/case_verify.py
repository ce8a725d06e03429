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

import os
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from ..io.names import for_terminal
from ..io.regular import NotRegular, open_regular, read_regular, sha256_regular, within
from ..store.chain import REPAIRED, Chain, read_chain
from .case_entries import (
    CASE_FILE,
    LOG_FILE,
    PLANTED,
    CaseError,
    Vouched,
    case_file_problems,
    evidence_from,
    linked_folders,
    malformed,
    vouched_files,
)
from .case_package import MANIFEST, left_behind
from .evidence import check_evidence
from .package_members import (
    DAMAGED,
    Digest,
    PackageMembers,
    Unchecked,
    check_layout,
    check_manifest,
    sound_members,
)

MAX_RATIO = 1100  # deflate never shrinks data more than ~1032:1: a member claiming more is a zip bomb
MAX_LISTED = 100  # files left out named in the export's entry (the rest counted)
HEAD = re.compile(r"^(\d+):([0-9a-f]{64})$")


@dataclass
class Verification:
    target: str
    problems: list[str] = field(default_factory=list)  # what is broken, the first broken entry first
    repaired: list[str] = field(default_factory=list)  # log breaks a recorded repair acknowledges
    notes: list[str] = field(default_factory=list)  # what was not checked, and what is fine
    unchecked: int = 0  # files the log names that were not found (outside the case, evidence): not checked
    evidence_not_given: int = 0  # a package's listed evidence, not checked: no --evidence folder given
    entries: int = 0
    head: tuple[int, str] = (0, "0" * 64)

    @property
    def intact(self) -> bool:
        return not self.problems and not self.repaired

    @property
    def verdict(self) -> str:
        if self.problems:
            return f"BROKEN ({len(self.problems)} problem(s))"
        verdict = f"REPAIRED ({len(self.repaired)} break(s) in the log)" if self.repaired else "INTACT"
        if self.unchecked:
            verdict += f" — {self.unchecked} file(s) not found, not checked"
        if self.evidence_not_given:
            verdict += f" — {self.evidence_not_given} evidence file(s) not checked (no --evidence DIR)"
        return verdict

    def not_checked(self, note: str) -> None:
        self.notes.append(note)
        self.unchecked += 1

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
            return sha256_regular(within(folder, name))
        except FileNotFoundError:
            return None
        except (OSError, NotRegular) as exc:
            raise Unchecked(_unreadable(exc)) from None

    def read(name: str) -> bytes | None:
        try:
            return read_regular(folder / name)
        except FileNotFoundError:
            return None
        except (OSError, NotRegular) as exc:
            result.problems.append(f"{name}: {_unreadable(exc)}")
            return b""

    chain = _check_log(result, read(LOG_FILE), anchor)
    result.problems += [f"{name}: {PLANTED}" for name in linked_folders(folder)]
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
    return [name for name in names if name not in named and not left_behind(name)]


ZIP_START = (
    b"PK\x03\x04"  # a zip's first member header: what a package, however damaged after it, begins with
)


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
        result = Verification(str(target))
        if not zipfile.is_zipfile(handle):
            handle.seek(0)
            if handle.read(4) != ZIP_START:
                raise CaseError(target, "is neither a case folder nor a case package (.zip)")
            result.problems.append("the package is a zip cut short or damaged: its directory cannot be found")
            return result
        try:
            package = zipfile.ZipFile(handle)
        except DAMAGED as exc:
            result.problems.append(f"the package is not a readable zip ({exc})")
            return result
        with package:
            size = os.fstat(handle.fileno()).st_size
            members = sound_members(result.problems, package, size)
            if len(members) == len(package.infolist()):  # each entry sound: then every byte is checked
                check_layout(result.problems, handle, members, size)
            _verify_package(result, PackageMembers(result.problems, package, members), evidence_dir, anchor)
    return result


def _verify_package(
    result: Verification, package: PackageMembers, evidence_dir: Path | None, anchor: tuple[int, str] | None
) -> None:
    check_manifest(result.problems, package)
    chain = _check_log(result, package.read(LOG_FILE), anchor)
    _check_export_entry(result, chain, len(package.members))
    _check_case_file(result, chain, package.read(CASE_FILE))
    vouched = _check_vouched(result, chain, package.digest, package=True)
    for name in sorted(set(package.members) - vouched - {CASE_FILE, LOG_FILE, MANIFEST}):
        result.problems.append(
            f"{for_terminal(name)}: in the package but not named by the log: nothing vouches for it"
        )
    if evidence_dir is None:
        result.evidence_not_given = len(evidence_from(chain.entries))
        result.notes.append(
            f"evidence: {result.evidence_not_given} file(s) listed, not checked (give --evidence DIR to "
            "check them)"
        )
    else:
        _check_evidence(result, chain, None, evidence_dir)


def _check_export_entry(result: Verification, chain: Chain, members: int) -> None:
    """A package's log ends with the export that made it, which counts its files: a log cut short inside a
    package (its last entries, the export among them, dropped) is seen without an anchor."""
    last = chain.entries[-1] if chain.entries else None
    if last is None or last["kind"] != "case-exported":
        result.problems.append(
            f"{LOG_FILE} does not end with the export that made the package (case-exported): its last "
            "entries were cut, or the package was not made by this app"
        )
    elif last["data"].get("files") != members:
        result.problems.append(
            f"the package holds {members} file(s), its export (log seq {last['seq']}) says "
            f"{for_terminal(str(last['data'].get('files')))}"
        )


def _check_log(result: Verification, data: bytes | None, anchor: tuple[int, str] | None) -> Chain:
    if not data:
        result.problems.append(f"{LOG_FILE} is missing or empty")
    chain = read_chain(data or b"")
    result.problems += [f"log {for_terminal(problem)}" for problem in chain.problems]
    result.repaired += [f"log {for_terminal(problem)}" for problem in chain.repaired]
    result.entries, result.head = len(chain.entries), chain.head
    result.problems += malformed(chain.entries)
    result.repaired += [
        f"log seq {entry['seq']}: a torn last line was set aside in {for_terminal(str(kept))} — a write cut "
        "short by a crash, or bytes cut off the log (which removes its last entry): what it held is not in "
        "the log"
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
        result.not_checked(f"{where}: outside the case, not in the package: not checked")
        return
    try:
        now = sha256_regular(Path(item.name))
    except FileNotFoundError:
        result.not_checked(f"{where}: outside the case and not found there: not checked")
        return
    except (OSError, NotRegular) as exc:
        result.problems.append(f"{where}: {_unreadable(exc)}")
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
            result.not_checked(f"{described}: not checked")
        else:
            result.notes.append(described)


def _unreadable(exc: BaseException) -> str:
    reason = exc.reason if isinstance(exc, NotRegular) else getattr(exc, "strerror", None) or str(exc)
    return f"unreadable ({reason})"
