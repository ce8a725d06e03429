"""A case: a folder holding one matter's evidence list, results, verdicts, reports and a tamper-evident log.

    Case-2026-114/
      case.json      title, number, examiners, created, notes, app version
      audit.jsonl    who did what, when, with which weights (store/audit.py): the evidence list is its replay
      store/         the case's results store (maps, verdicts): a case copied elsewhere opens with everything
      runs/<time>/   results folders (results.json, masks, maps, reports) of the analyses made in the case
      evidence/      copies of evidence, only when asked for (each copy's hash checked against the original)

Evidence is never written to: it is hashed where it is, and copied only on request.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ... import __version__
from ..errors import OutputError, PathError
from ..io.hashing import sha256_of_file
from ..io.outputs import make_folder, read_json, write_json_atomic
from ..store.audit import AuditLog, Chain, utc_now
from ..store.results import ResultStore
from .batch import scan_inputs

CASE_FILE, LOG_FILE, STORE_DIR, RUNS_DIR, COPIES_DIR = "case.json", "audit.jsonl", "store", "runs", "evidence"
CASE_SCHEMA = "dinolizer-gui/case"


class CaseError(PathError):
    """A folder that is not a case, or a case that cannot be used as asked."""


@dataclass(frozen=True)
class Evidence:
    path: str  # as given
    absolute: str  # where it was when added
    sha256: str
    size: int
    added: str  # UTC
    added_by: str  # examiner (OS user)
    copy: str | None = None  # the copy inside the case, relative to it


@dataclass(frozen=True)
class EvidenceState:
    evidence: Evidence
    state: str  # "intact", "changed", "missing"
    found_at: str | None = None
    sha256_now: str | None = None

    def describe(self) -> str:
        if self.state == "intact":
            return f"{self.evidence.path}: intact"
        if self.state == "missing":
            return (
                f"{self.evidence.path}: MISSING (not found{' at ' + self.found_at if self.found_at else ''})"
            )
        return (
            f"{self.evidence.path}: CHANGED since it was added (SHA-256 {self.evidence.sha256} then, "
            f"{self.sha256_now} now at {self.found_at})"
        )


def evidence_from(entries: list[dict]) -> list[Evidence]:
    """The evidence list a log describes: every evidence-added entry not undone by an evidence-removed one."""
    listed: dict[tuple[str, str], Evidence] = {}
    for entry in entries:
        data, who = entry["data"], _who(entry["actor"])
        key = (data.get("path", ""), data.get("sha256", ""))
        if entry["kind"] == "evidence-added":
            absolute = data.get("absolute", key[0])
            listed[key] = Evidence(
                key[0], absolute, key[1], int(data.get("size", 0)), entry["time"], who, data.get("copy")
            )
        elif entry["kind"] == "evidence-removed":
            listed.pop(key, None)
    return list(listed.values())


def _who(actor: dict) -> str:
    examiner, user = actor.get("examiner") or "", actor.get("user") or ""
    return f"{examiner} ({user})" if examiner else user


def check_evidence(evidence: list[Evidence], base: Path | None = None, elsewhere: Path | None = None):
    """Each evidence file's state now: where it was added (a relative path also from `base`), its copy, or
    its name in `elsewhere`."""
    states = []
    for item in evidence:
        given = Path(item.path)
        candidates = [Path(item.absolute)] + (
            [base / given] if base is not None and not given.is_absolute() else []
        )
        if item.copy and base is not None:
            candidates.append(base / item.copy)
        if elsewhere is not None:
            candidates.append(Path(elsewhere) / given.name)
        found = next((path for path in candidates if path.is_file()), None)
        if found is None:
            states.append(EvidenceState(item, "missing", str(candidates[-1])))
            continue
        now = sha256_of_file(found)
        states.append(EvidenceState(item, "intact" if now == item.sha256 else "changed", str(found), now))
    return states


class Case:
    def __init__(self, folder: Path, info: dict, examiner: str, read_only: bool):
        self.folder = Path(folder)
        self.info = info
        self.examiner = examiner
        self.read_only = read_only
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
        write_json_atomic(folder / CASE_FILE, info, indent=2, ensure_ascii=False)
        case = cls(folder, info, examiner, read_only=False)
        case.log.append("case-created", {"title": title, "number": number, "app_version": __version__})
        return case

    @classmethod
    def open(cls, folder: Path, examiner: str = "", read_only: bool = False) -> Case:
        """Open a case (read-only when asked, or when its folder cannot be written: read-only media); the
        opening is logged."""
        folder = Path(folder)
        if not (folder / CASE_FILE).is_file():
            raise CaseError(folder, f"is not a case (no {CASE_FILE})")
        try:
            info = read_json(folder / CASE_FILE)
        except (OSError, ValueError) as exc:
            raise CaseError(folder, f"is not a case (no readable {CASE_FILE}: {exc})") from None
        if info.get("schema") != CASE_SCHEMA:
            raise CaseError(folder, f"{CASE_FILE} is not a DinoLizer GUI case file")
        case = cls(folder, info, examiner, read_only or not _writable(folder))
        if not case.read_only:
            if examiner and examiner not in info.get("examiners", []):
                info["examiners"] = [*info.get("examiners", []), examiner]
                write_json_atomic(folder / CASE_FILE, info, indent=2, ensure_ascii=False)
            case.log.append("case-opened", {"app_version": __version__})
        return case

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
            self._store = ResultStore(self.folder / STORE_DIR)
        return self._store

    def new_run_folder(self) -> Path:
        stamp = utc_now().replace(":", "").replace("-", "").replace(".", "-")
        return self.folder / RUNS_DIR / stamp

    def chain(self) -> Chain:
        return self.log.read()

    # --- evidence ------------------------------------------------------------------------------
    def evidence(self) -> list[Evidence]:
        return evidence_from(self.chain().entries)

    def add_evidence(self, paths: Sequence[Path | str], copies: bool = False) -> list[Evidence]:
        """List the images (files, or those found in folders) as evidence; those already listed with the same
        content are left as they are. With `copies`, each is also copied into the case, the copy checked."""
        added = []
        for found in scan_inputs(paths):
            if found.problem or not found.path.is_file():
                continue
            item = self.add_hashed(found.path, sha256_of_file(found.path), found.path.stat().st_size, copies)
            if item is not None:
                added.append(item)
        return added

    def add_hashed(self, path: Path, sha256: str, size: int, copies: bool = False) -> Evidence | None:
        """List one file already hashed (the analysis read it); None when it is listed already."""
        listed = self._listed_keys()
        if (str(path), sha256) in listed:
            return None
        data: dict = {
            "path": str(path),
            "absolute": str(Path(path).absolute()),
            "sha256": sha256,
            "size": size,
        }
        if copies:
            data["copy"] = self._copy(Path(path), sha256)
        added = evidence_from([self.log.append("evidence-added", data)])[0]
        listed.add((added.path, added.sha256))
        return added

    def _listed_keys(self) -> set[tuple[str, str]]:
        if self._listed is None:
            self._listed = {(item.path, item.sha256) for item in self.evidence()}
        return self._listed

    def _copy(self, path: Path, sha256: str) -> str:
        relative = f"{COPIES_DIR}/{sha256[:12]}_{path.name}"
        target = self.folder / relative
        make_folder(target.parent)
        try:
            shutil.copyfile(path, target)
        except OSError as exc:
            raise OutputError.of(target, exc) from None
        if sha256_of_file(target) != sha256:
            target.unlink(missing_ok=True)
            raise CaseError(path, "its copy in the case does not have the original's SHA-256: not added")
        return relative

    def remove_evidence(self, path: str, reason: str = "") -> bool:
        item = next((e for e in self.evidence() if e.path == str(path)), None)
        if item is None:
            return False
        self.log.append("evidence-removed", {"path": item.path, "sha256": item.sha256, "reason": reason})
        self._listed_keys().discard((item.path, item.sha256))
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

    def relative(self, path: Path) -> str:
        """A path inside the case as the log records it (relative, with /), else as it is."""
        try:
            return Path(path).resolve().relative_to(self.folder.resolve()).as_posix()
        except ValueError:
            return str(path)

    def report_log(self) -> dict:
        """What a report made from the case carries: title, number, examiners, the log's last seq and hash,
        and the log itself (its appendix)."""
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
                    "who": _who(entry["actor"]),
                    "kind": entry["kind"],
                    "summary": entry_summary(entry["data"]),
                }
                for entry in chain.entries
            ],
        }


def entry_summary(data: dict, short: bool = False) -> str:
    """An entry's data in one line, as `case log` and the reports' appendix print it (`short`: a file by its
    name alone, as the Case dock shows it)."""
    keys = ("path", "model", "score", "flagged", "old", "new", "format", "file", "title", "reason")
    shown = {**data, "path": Path(str(data["path"])).name} if short and "path" in data else data
    return ", ".join(f"{key} {shown[key]}" for key in keys if key in shown)


def record_analyses(case: Case, item, sha256: str, localizers: list, runtimes: dict, options) -> None:
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


def run_record(runtime, options, score: float, flagged: bool, from_store: bool) -> dict:
    """The `run` part of an analysis entry (numbers other than integers as decimal strings)."""
    return {
        "device": runtime.device.type,
        "precision": runtime.precision,
        "options": {
            "stride": options.stride,
            "declip_mode": options.declip_mode,
            "declip_stride": options.declip_stride,
            "batch_size": options.batch_size,
        },
        "score": f"{score:.6f}",
        "flagged": flagged,
        "from_store": from_store,
    }
