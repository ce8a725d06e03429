"""Handing a case over: the package (a zip with MANIFEST.sha256) and the verification of a case or a package.

`verify` checks the audit log's chain, every evidence file it lists (where reachable), every report it says
was exported, and, for a package, every file against its manifest. It names the first broken entry.
"""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..io.hashing import sha256_of_file
from ..io.outputs import write_atomic
from ..store.audit import read_chain
from .case import CASE_FILE, LOG_FILE, STORE_DIR, Case, CaseError, check_evidence, evidence_from

MANIFEST = "MANIFEST.sha256"
LEFT_OUT = (STORE_DIR,)  # the store's database and raw maps stay behind: results.json and PNGs travel


@dataclass
class Verification:
    target: str
    problems: list[str] = field(default_factory=list)  # what is broken, the first broken entry first
    notes: list[str] = field(default_factory=list)  # what was not checked, and what is fine
    entries: int = 0
    head: tuple[int, str] = (0, "0" * 64)

    @property
    def intact(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        verdict = "INTACT" if self.intact else f"BROKEN ({len(self.problems)} problem(s))"
        seq, digest = self.head
        return [
            f"{self.target}: {verdict}",
            f"log: {self.entries} entries, last seq {seq}, hash {digest}",
            *(f"  PROBLEM: {problem}" for problem in self.problems),
            *(f"  {note}" for note in self.notes),
        ]


def export_case(case: Case, out: Path) -> Path:
    """Write the case's package: case.json, the runs (results.json, maps, reports), evidence copies, the log
    (with this export recorded in it before the package is closed) and MANIFEST.sha256."""
    out = Path(out)
    if case.folder.resolve() in out.resolve().parents:
        raise CaseError(out, "the package cannot be written inside the case it holds")
    files = [path for path in _case_files(case.folder) if path.name != LOG_FILE]
    case.log.append("case-exported", {"file": out.name, "files": len(files) + 2})
    digests: dict[str, str] = {}

    def write(handle) -> None:
        with zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as package:
            for path in [*files, case.folder / LOG_FILE]:
                name = path.relative_to(case.folder).as_posix()
                package.write(path, name)
                digests[name] = sha256_of_file(path)
            manifest = "".join(f"{digest}  {name}\n" for name, digest in sorted(digests.items()))
            package.writestr(MANIFEST, manifest)

    write_atomic(out, write)
    return out


def _case_files(folder: Path) -> list[Path]:
    return sorted(
        path
        for path in folder.rglob("*")
        if path.is_file()
        and not path.name.startswith(".")
        and path.relative_to(folder).parts[0] not in LEFT_OUT
    )


def verify(target: Path, evidence_dir: Path | None = None) -> Verification:
    """Verify a case folder or a case package (.zip)."""
    target = Path(target)
    if target.is_dir():
        return _verify_folder(target, evidence_dir)
    if zipfile.is_zipfile(target):
        with zipfile.ZipFile(target) as package:
            return _verify_package(target, package, evidence_dir)
    raise CaseError(target, "is neither a case folder nor a case package (.zip)")


def _verify_folder(folder: Path, evidence_dir: Path | None) -> Verification:
    if not (folder / CASE_FILE).is_file():
        raise CaseError(folder, f"is not a case (no {CASE_FILE})")
    result = Verification(str(folder))
    log = folder / LOG_FILE
    chain = _check_chain(result, log.read_bytes() if log.is_file() else b"")
    _check_evidence(result, chain.entries, folder, evidence_dir)
    _check_reports(result, chain.entries, lambda name: _digest_file(folder / name))
    return result


def _verify_package(target: Path, package: zipfile.ZipFile, evidence_dir: Path | None) -> Verification:
    result = Verification(str(target))
    names = set(package.namelist())
    if MANIFEST not in names:
        result.problems.append(f"{MANIFEST} is missing: the package's files cannot be checked")
        listed: dict[str, str] = {}
    else:
        listed = _manifest(package.read(MANIFEST).decode("utf-8", "replace"))
    for name, digest in listed.items():
        if name not in names:
            result.problems.append(f"{name}: listed in the manifest, missing from the package")
        elif _digest(_chunks(package, name)) != digest:
            result.problems.append(f"{name}: its SHA-256 differs from the manifest's: the file was changed")
    for name in sorted(names - set(listed) - {MANIFEST}):
        if not name.endswith("/"):
            result.problems.append(f"{name}: in the package but not in the manifest")
    log = package.read(LOG_FILE) if LOG_FILE in names else b""
    chain = _check_chain(result, log)
    if evidence_dir is None:
        count = len(evidence_from(chain.entries))
        result.notes.append(
            f"evidence: {count} file(s) listed, not checked (give --evidence DIR to check them)"
        )
    else:
        _check_evidence(result, chain.entries, None, evidence_dir)

    def report_digest(name: str) -> str | None:
        return _digest(_chunks(package, name)) if name in names else None

    _check_reports(result, chain.entries, report_digest)
    return result


def _check_chain(result: Verification, data: bytes):
    if not data:
        result.problems.append(f"{LOG_FILE} is missing or empty")
    chain = read_chain(data)
    result.problems += [f"log {problem}" for problem in chain.problems]
    result.entries, result.head = len(chain.entries), chain.head
    repaired = [e for e in chain.entries if e["kind"] == "log-repaired"]
    result.notes += [
        f"log seq {e['seq']}: a line torn by a crash was set aside in {e['data']['kept_in']}"
        for e in repaired
    ]
    return chain


def _check_evidence(result: Verification, entries: list[dict], base: Path | None, elsewhere: Path | None):
    for state in check_evidence(evidence_from(entries), base, elsewhere):
        if state.state == "changed":
            result.problems.append(f"evidence {state.describe()}")
        elif state.state == "missing":
            result.notes.append(f"evidence {state.describe()}: not checked")
        else:
            result.notes.append(f"evidence {state.describe()}")


def _check_reports(result: Verification, entries: list[dict], digest_of: Callable[[str], str | None]) -> None:
    for entry in entries:
        if entry["kind"] != "report-exported":
            continue
        name, recorded = entry["data"]["file"], entry["data"]["sha256"]
        now = digest_of(name)
        if now is None:
            result.problems.append(f"report {name} (log seq {entry['seq']}): missing")
        elif now != recorded:
            result.problems.append(f"report {name} (log seq {entry['seq']}): changed since it was exported")


def _manifest(text: str) -> dict[str, str]:
    listed = {}
    for line in text.splitlines():
        digest, _, name = line.partition("  ")
        if name:
            listed[name] = digest.strip()
    return listed


def _chunks(package: zipfile.ZipFile, name: str) -> Iterator[bytes]:
    with package.open(name) as handle:
        while chunk := handle.read(1 << 20):
            yield chunk


def _digest(chunks) -> str:
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    return digest.hexdigest()


def _digest_file(path: Path) -> str | None:
    return sha256_of_file(path) if path.is_file() else None
