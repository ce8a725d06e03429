"""A case: a folder holding one matter's evidence list, results, verdicts, reports and a tamper-evident log.

    Case-2026-114/
      case.json      title, number, examiners, created, notes, app version (vouched for by the log)
      audit.jsonl    who did what, when, with which weights (store/audit.py): the evidence list is its replay
      store/         the case's results store (maps, verdicts): a case copied elsewhere opens with everything
      runs/<time>/   results folders (results.json, masks, maps, reports) of the analyses made in the case
      evidence/      copies of evidence, only when asked for (each copy's hash checked against the original)

Evidence is never written to: it is hashed where it is, and copied only on request. What the log records
about a file (an evidence file and its copy, case.json, a report, a run's files) is the SHA-256 that every
later check compares with.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ... import __version__
from ..engine.analysis import AnalysisOptions
from ..errors import OutputError
from ..io.hashing import sha256_of_file
from ..io.names import readable
from ..io.outputs import RUN_OUTPUT, inside, make_folder, write_atomic
from ..io.regular import NotRegular, folder_or_absent, open_regular
from ..store.audit import AuditLog, utc_now
from ..store.chain import Chain
from ..store.results import ResultStore
from .case_entries import (
    CASE_FILE,
    CASE_SCHEMA,
    COPIES_DIR,
    LOG_FILE,
    PLANTED,
    RUNS_DIR,
    STORE_DIR,
    CaseError,
    Evidence,
    case_file_bytes,
    case_file_problems,
    entry_summary,
    evidence_from,
    evidence_of,
    linked_folders,
    path_fields,
    read_case_file,
    run_record,
    vouched_info,
    who_did,
)
from .evidence import EvidenceState, Listing, check_evidence, copy_name, file_digest, hash_regular
from .inputs import scan_inputs

if TYPE_CHECKING:
    from ..engine.device import Runtime
    from ..models.model_like import ModelLike
    from .batch import BatchItem


class Case:
    def __init__(self, folder: Path, info: dict, examiner: str, read_only: bool):
        self.folder = Path(folder)
        self.info = info
        self.examiner = examiner
        self.read_only = read_only
        self.warnings: list[str] = []  # what the examiner must know when opening it (a break, a changed file)
        self.log = AuditLog(self.folder / LOG_FILE, examiner, read_only)
        self._store: ResultStore | None = None
        # (path, SHA-256) of the evidence listed, read from the log once: a batch adds thousands of images,
        # and reading the whole log again for each would cost time quadratic in the case's size. Another
        # process adding the same file meanwhile at worst logs it twice; the evidence list is the same.
        self._listed: set[tuple[str, str]] | None = None

    # --- creating and opening ------------------------------------------------------------------
    @classmethod
    def create(cls, folder: Path, title: str, number: str = "", examiner: str = "", notes: str = "") -> Case:
        folder = Path(folder)
        if (folder / CASE_FILE).exists():
            raise CaseError(folder, "is already a case (open it instead)")
        if folder.exists() and any(folder.iterdir()):
            raise CaseError(folder, "is not empty: a new case needs a folder of its own")
        if not title.strip():
            raise CaseError(folder, "a case needs a title")
        make_folder(folder)
        info = {
            "schema": CASE_SCHEMA,
            "version": 1,
            "title": title,
            "number": number,
            "examiners": [examiner] if examiner else [],
            "created": utc_now(),
            "notes": notes,
            "app_version": __version__,
        }
        case = cls(folder, info, examiner, read_only=False)
        with case.log.writing() as record:
            case._write_info(info, record, "case-created", {"title": title, "number": number})
        return case

    @classmethod
    def open(cls, folder: Path, examiner: str = "", read_only: bool = False) -> Case:
        """Open a case (read-only when asked, when its folder cannot be written — read-only media —, or when
        its log has a break no repair acknowledges); the opening is logged. case.json is compared with what
        the log recorded: when they differ, the log's values are used and the examiner warned."""
        folder = Path(folder)
        data = read_case_file(folder)
        try:
            chain = AuditLog(folder / LOG_FILE).read()
        except NotRegular as exc:
            raise CaseError(folder, f"cannot be opened: {LOG_FILE} {exc.reason}") from None
        info = vouched_info(folder, data, chain)
        planted = linked_folders(folder)
        if planted and not read_only:
            raise CaseError(folder / planted[0], PLANTED)
        breaks = chain.breaks
        case = cls(folder, info, examiner, read_only or bool(breaks) or not _writable(folder))
        problems, _ = case_file_problems(chain.entries, data)
        case.warnings += [f"the case's log is broken: {problem}" for problem in breaks[:3]] + problems
        case.warnings += [f"{name}: {PLANTED}" for name in planted]
        if breaks:
            case.warnings.append("nothing is recorded until a repair is recorded (case repair)")
        if not case.read_only:
            with case.log.writing() as record:
                if examiner and examiner not in info.get("examiners", []):
                    updated = {**info, "examiners": [*info.get("examiners", []), examiner]}
                    case._write_info(updated, record, "case-updated", {"examiner_added": examiner})
                record("case-opened", {"app_version": __version__})
            case.warnings += case.log.set_aside
        return case

    def _write_info(self, info: dict, record: Callable[[str, dict], dict], kind: str, data: dict) -> None:
        """Write case.json and record its content and SHA-256 in the log (under the log's lock)."""
        content = case_file_bytes(info)
        write_atomic(self.folder / CASE_FILE, content)
        record(kind, {**data, "case": info, "case_sha256": hashlib.sha256(content).hexdigest()})
        self.info = info

    @property
    def title(self) -> str:
        return str(self.info.get("title", ""))

    @property
    def number(self) -> str:
        return str(self.info.get("number", ""))

    @property
    def store(self) -> ResultStore:
        """The case's own results store (its maps and verdicts travel with the folder)."""
        if self._store is None:
            self._store = ResultStore(self.own_folder(STORE_DIR))
        return self._store

    def new_run_folder(self) -> Path:
        stamp = utc_now().replace(":", "").replace("-", "").replace(".", "-")
        return self.own_folder(RUNS_DIR) / stamp

    def own_folder(self, name: str) -> Path:
        """One of the case's own folders, never followed when it is a link (or anything but a folder)."""
        if not folder_or_absent(self.folder / name):
            raise CaseError(self.folder / name, PLANTED)
        return self.folder / name

    def chain(self) -> Chain:
        return self.log.read()

    def repair(self, reason: str) -> dict:
        """Record that the examiner saw the log's breaks; the case is written again (its log never verifies
        intact again)."""
        if not _writable(self.folder):
            raise CaseError(self.folder, "cannot be written (read-only media?): no repair can be recorded")
        self.log.read_only = False
        entry = self.log.repair(reason)
        self.read_only = False
        self.warnings = []
        return entry

    # --- evidence ------------------------------------------------------------------------------
    def evidence(self) -> list[Evidence]:
        return evidence_from(self.chain().entries)

    def add_evidence(
        self, paths: Sequence[Path | str], copies: bool = False, every_file: bool = False
    ) -> Listing:
        """List the images (files, or those found in folders) as evidence; those already listed with the same
        content are left as they are. With `copies`, each is also copied into the case, the copy checked.
        Nothing is skipped in silence: each entry that could not be listed is in the result with its reason
        (with `every_file`, the other files of a folder too); files inside the case itself are counted."""
        listing = Listing()
        for found in scan_inputs(paths, every_file=every_file):
            if inside(self.folder, found.path):
                listing.in_case += 1
            elif found.problem:
                listing.refused.append((str(found.path), found.problem))
            else:
                self._add_found(found.path, copies, listing)
        return listing

    def _add_found(self, path: Path, copies: bool, listing: Listing) -> None:
        try:
            digest, size = hash_regular(path)
        except (OSError, NotRegular) as exc:
            reason = exc.reason if isinstance(exc, NotRegular) else exc.strerror or type(exc).__name__
            listing.refused.append((readable(path), f"could not be read: {reason}"))
            return
        try:
            item = self.add_hashed(path, digest, size, copies)
        except CaseError as exc:  # its copy could not be made
            listing.refused.append((readable(path), exc.reason))
            return
        if item is not None:
            listing.added.append(item)

    def add_hashed(self, path: Path, sha256: str, size: int, copies: bool = False) -> Evidence | None:
        """List one file already hashed (the analysis read it); None when it is listed already."""
        listed = self._listed_keys()
        absolute = Path(path).absolute()
        if (str(absolute), sha256) in listed:
            return None
        data: dict = {**path_fields("path", path), **path_fields("absolute", absolute), "sha256": sha256,
                      "size": size}  # fmt: skip
        if (from_case := _relative(absolute, self.folder.absolute())) is not None:
            data.update(path_fields("from_case", from_case))
        copy = self._copy(Path(path), sha256) if copies else None
        try:
            entry = self.log.append("evidence-added", {**data, **({"copy": copy} if copy else {})})
        except BaseException:
            if copy is not None:  # a copy the log does not record is not left behind
                (self.folder / copy).unlink(missing_ok=True)
            raise
        added = evidence_of(entry)
        listed.add((added.absolute, added.sha256))
        return added

    def _listed_keys(self) -> set[tuple[str, str]]:
        if self._listed is None:
            self._listed = {(item.absolute, item.sha256) for item in self.evidence()}
        return self._listed

    def _copy(self, path: Path, sha256: str) -> str:
        """Copy an evidence file into the case (never through a link planted there, the folder `evidence/`
        included), checked by its hash; its name inside the case."""
        relative = f"{COPIES_DIR}/{copy_name(path, sha256)}"
        target = self.own_folder(COPIES_DIR) / copy_name(path, sha256)
        make_folder(target.parent)
        if file_digest(target) == sha256:
            return relative  # the same bytes copied before (listed under another name)
        digest = hashlib.sha256()
        try:
            with (
                os.fdopen(open_regular(path), "rb") as source,
                os.fdopen(open_regular(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL), "wb") as copy,
            ):
                while chunk := source.read(1 << 20):
                    digest.update(chunk)
                    copy.write(chunk)
                copy.flush()
                os.fsync(copy.fileno())
        except FileExistsError:
            raise CaseError(target, "exists with other bytes: the copy was not made") from None
        except OSError as exc:
            raise OutputError.of(target, exc) from None
        if digest.hexdigest() != sha256 or file_digest(target) != sha256:
            target.unlink(missing_ok=True)
            raise CaseError(path, "its copy in the case does not have the original's SHA-256: not added")
        return relative

    def remove_evidence(self, path: str, reason: str = "") -> bool:
        """Take a file off the evidence list (named where it was added, or as it was given)."""
        listed = self.evidence()
        absolute = str(Path(path).absolute())
        item = next((e for e in listed if e.absolute == absolute), None) or next(
            (e for e in listed if e.path == str(path)), None
        )
        if item is None:
            return False
        data = {**path_fields("path", item.path), **path_fields("absolute", item.absolute)}
        self.log.append("evidence-removed", {**data, "sha256": item.sha256, "reason": reason})
        self._listed_keys().discard((item.absolute, item.sha256))
        return True

    def evidence_states(self, elsewhere: Path | None = None) -> list[EvidenceState]:
        return check_evidence(self.evidence(), self.folder, elsewhere)

    # --- what is recorded ----------------------------------------------------------------------
    def record_analysis(self, path: str, sha256: str, model: dict, run: dict) -> dict:
        """An analysis of one image by one model: `model` as `describe()` gives it, `run` the device,
        precision, options, score and flag."""
        weights = [
            {
                "file": checkpoint.get("file"),
                "sha256": checkpoint.get("sha256"),
                "verification": (checkpoint.get("verification") or {}).get("state", "not verified"),
            }
            for checkpoint in model.get("checkpoints", [])
        ]
        data = {"path": path, "image_sha256": sha256, "model": model["name"], "variant": model.get("variant"),
                "weights": weights, **run}  # fmt: skip
        return self.log.append("analysis", data)

    def record_verdict(self, path: str, sha256: str, old: str, new: str, note: str) -> dict:
        return self.log.append(
            "verdict", {"path": path, "image_sha256": sha256, "old": old, "new": new, "note": note}
        )

    def record_report(self, report: Path, fmt: str) -> dict:
        return self.log.append(
            "report-exported",
            {"format": fmt, "file": self.relative(report), "sha256": sha256_of_file(report)},
        )

    def record_run(self, folder: Path) -> dict:
        """A results folder written for the case: the SHA-256 of each file the run wrote (results, reports,
        each image's folder — nothing else in the folder), so that verify and the package vouch for every
        byte of it."""
        folder = Path(folder)
        files = {name: digest for name, path in run_files(folder) if (digest := file_digest(path))}
        return self.log.append("run-written", {"folder": self.relative(folder), "files": files})

    def relative(self, path: Path) -> str:
        """A path as the log records it: inside the case, relative to it with /; outside, absolute."""
        resolved = Path(path).resolve()
        try:
            return resolved.relative_to(self.folder.resolve()).as_posix() or "."
        except ValueError:
            return str(resolved)

    def report_log(self) -> dict:
        """What a report made from the case carries: title, number, examiners (as the log vouches for them),
        the log's last seq and hash, and the log itself (its appendix)."""
        chain = self.chain()
        seq, digest = chain.head
        return {
            "folder": str(self.folder),
            "title": self.title,
            "number": self.number,
            "examiners": list(self.info.get("examiners", [])),
            "last_seq": seq,
            "last_hash": digest,
            "entries": [
                {
                    "seq": entry["seq"],
                    "time": entry["time"],
                    "who": who_did(entry["actor"]),
                    "kind": entry["kind"],
                    "summary": entry_summary(entry["data"]),
                }
                for entry in chain.entries
            ],
        }


def run_files(folder: Path) -> list[tuple[str, Path]]:
    """(name relative to the folder, path) of every file a run wrote there: its results and reports, and the
    regular files of its image folders; links are never followed."""
    found = []
    for entry in sorted(folder.iterdir()):
        if not RUN_OUTPUT.match(entry.name) or entry.is_symlink():
            continue
        inner = sorted(entry.iterdir()) if entry.is_dir() else [entry]
        found += [(p.relative_to(folder).as_posix(), p) for p in inner if p.is_file() and not p.is_symlink()]
    return found


def _relative(path: Path, folder: Path) -> str | None:
    """`path` relative to `folder` (with ..), None where there is no such path (another drive)."""
    try:
        return Path(os.path.relpath(path, folder)).as_posix()
    except ValueError:
        return None


def record_analyses(
    case: Case,
    item: BatchItem,
    sha256: str,
    localizers: Sequence[ModelLike],
    runtimes: dict[str, Runtime],
    options: AnalysisOptions,
) -> None:
    """Record in the case's log each model's analysis of a finished batch item (computed or stored)."""
    for localizer in localizers:
        summary = item.models.get(localizer.name)
        if summary is None:
            continue
        run = run_record(runtimes[localizer.name], options, summary.score, summary.flagged, summary.cached)
        case.record_analysis(item.path, sha256, localizer.describe(), run)


def _writable(folder: Path) -> bool:
    try:
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False
