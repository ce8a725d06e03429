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
import json
import os
import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ... import __version__
from ..engine.analysis import AnalysisOptions
from ..errors import OutputError, PathError
from ..io.hashing import sha256_of_file
from ..io.names import for_terminal, is_exact, path_of, path_record, readable
from ..io.outputs import RUN_OUTPUT, contains, make_folder, write_atomic
from ..io.regular import NotRegular, folder_or_absent, open_regular, read_regular
from ..store.audit import AuditLog, Chain, utc_now
from ..store.results import ResultStore
from .inputs import scan_inputs

if TYPE_CHECKING:
    from ..engine.device import Runtime
    from ..models.model_like import ModelLike
    from .batch import BatchItem

CASE_FILE, LOG_FILE, STORE_DIR, RUNS_DIR, COPIES_DIR = "case.json", "audit.jsonl", "store", "runs", "evidence"
CASE_SCHEMA = "dinolizer-gui/case"
CASE_RECORDS = ("case-created", "case-updated")  # the entries that vouch for case.json
HEX64 = re.compile(r"[0-9a-f]{64}")


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
    from_case: str | None = None  # where it was, relative to the case folder (both may move together)


@dataclass(frozen=True)
class Place:
    """One place an evidence file was looked for and found: the original, the case's copy, or the folder the
    examiner pointed at; with its SHA-256 now."""

    role: str  # "original", "copy", "given folder"
    path: str
    sha256: str


@dataclass(frozen=True)
class EvidenceState:
    evidence: Evidence
    state: str  # "intact" (every place found matches), "changed" (one does not), "missing" (none found)
    found: tuple[Place, ...] = ()
    not_found: tuple[str, ...] = ()  # places looked at in vain that the examiner asked for

    @property
    def found_at(self) -> str | None:
        """A place whose bytes are the evidence's (None when none is)."""
        return next((place.path for place in self.found if place.sha256 == self.evidence.sha256), None)

    def describe(self) -> str:
        name = self.evidence.path
        if self.state == "missing":
            return f"{name}: MISSING (not found at {', '.join(self.not_found) or self.evidence.absolute})"
        if self.state == "changed":
            changed = [place for place in self.found if place.sha256 != self.evidence.sha256]
            where = "; ".join(
                f"{p.role} {p.path} " + (p.sha256 if p.sha256 == UNREADABLE else f"has SHA-256 {p.sha256}")
                for p in changed
            )
            return f"{name}: CHANGED since it was added (SHA-256 {self.evidence.sha256} then; {where})"
        places = ", ".join(f"{place.role} {place.path}" for place in self.found)
        absent = f"; not found: {', '.join(self.not_found)}" if self.not_found else ""
        return f"{name}: intact ({places}){absent}"


@dataclass
class Listing:
    """What `add_evidence` did: the files listed, and each entry it could not list with the reason."""

    added: list[Evidence] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    in_case: int = 0  # files inside the case folder itself (its copies and outputs are not evidence)


def evidence_from(entries: list[dict]) -> list[Evidence]:
    """The evidence list a log describes: every evidence-added entry not undone by an evidence-removed one
    (entries whose data is malformed are left out: `malformed` names them)."""
    listed: dict[tuple[str, str], Evidence] = {}
    for entry in well_formed(entries):
        if entry["kind"] == "evidence-added":
            item = _evidence(entry)
            listed[(item.path, item.sha256)] = item
        elif entry["kind"] == "evidence-removed":
            listed.pop((_exact(entry["data"], "path") or "", entry["data"]["sha256"]), None)
    return list(listed.values())


def copies_from(entries: list[dict]) -> dict[str, str]:
    """Every copy the log says was made in the case (its evidence removed since or not): SHA-256 by path."""
    return {
        entry["data"]["copy"]: entry["data"]["sha256"]
        for entry in well_formed(entries)
        if entry["kind"] == "evidence-added" and entry["data"].get("copy")
    }


def _evidence(entry: dict) -> Evidence:
    data = entry["data"]
    path = _exact(data, "path") or ""
    return Evidence(
        path,
        _exact(data, "absolute") or path,
        data["sha256"],
        data.get("size", 0),
        str(entry["time"]),
        _who(entry["actor"]),
        data.get("copy"),
        _exact(data, "from_case"),
    )


def path_fields(key: str, path: Path | str) -> dict[str, str]:
    """A path as an entry records it: readable text, and its exact bytes (base64) when the text is not exact
    (a name that is not UTF-8, or holds characters that do not print)."""
    record = path_record(path)
    return {key: record["path"], **({f"{key}_bytes": record["path_bytes"]} if "path_bytes" in record else {})}


def _exact(data: dict, key: str) -> str | None:
    """The exact path an entry recorded under `key` (None when it recorded none)."""
    if key not in data:
        return None
    return str(path_of({"path": data[key], "path_bytes": data.get(f"{key}_bytes")}))


# --- the data each kind of entry must hold -----------------------------------------------------------
def _text(value: object) -> bool:
    return isinstance(value, str)


def _optional_text(value: object) -> bool:
    return value is None or isinstance(value, str)


def _digest_text(value: object) -> bool:
    return isinstance(value, str) and HEX64.fullmatch(value) is not None


def _count(value: object) -> bool:
    return type(value) is int and value >= 0


def _digests(value: object) -> bool:
    return isinstance(value, dict) and all(_text(k) and _digest_text(v) for k, v in value.items())


SHAPES: dict[str, dict[str, Callable[[object], bool]]] = {
    "evidence-added": {"path": _text, "sha256": _digest_text},
    "evidence-removed": {"path": _text, "sha256": _digest_text},
    "report-exported": {"file": _text, "sha256": _digest_text},
    "run-written": {"folder": _text, "files": _digests},
}
OPTIONAL: dict[str, Callable[[object], bool]] = {
    "absolute": _text, "size": _count, "copy": _optional_text, "from_case": _text, "path_bytes": _text,
    "absolute_bytes": _text, "from_case_bytes": _text, "case": lambda v: isinstance(v, dict),
    "case_sha256": _digest_text, "kept_in": _text, "torn_kept_in": _text, "torn_sha256": _digest_text,
}  # fmt: skip


def data_problem(entry: dict) -> str:
    """Why an entry's data is not what its kind holds ("" when it is)."""
    data = entry["data"]
    wrong = [key for key, fits in SHAPES.get(entry["kind"], {}).items() if not fits(data.get(key))]
    wrong += [key for key, fits in OPTIONAL.items() if key in data and not fits(data[key])]
    if entry["kind"] == "log-repaired" and "kept_in" in data and not _digest_text(data.get("sha256")):
        wrong.append("sha256")
    return f"its data is malformed ({', '.join(wrong)})" if wrong else ""


def well_formed(entries: list[dict]) -> list[dict]:
    return [entry for entry in entries if not data_problem(entry)]


def malformed(entries: list[dict]) -> list[str]:
    """A problem for each entry whose data is not what its kind holds."""
    return [
        f"log seq {entry['seq']} ({for_terminal(entry['kind'])}): {problem}"
        for entry in entries
        if (problem := data_problem(entry))
    ]


def _who(actor: dict) -> str:
    examiner, user = actor.get("examiner") or "", actor.get("user") or ""
    return f"{examiner} ({user})" if examiner else user


def check_evidence(
    evidence: list[Evidence], base: Path | None = None, elsewhere: Path | None = None, copies: bool = True
) -> list[EvidenceState]:
    """Each evidence file's state now, from every place it can be: the original (where it was added, or
    where it lies relative to the case folder `base`), its copy in the case (unless not `copies`), and its
    name in the folder `elsewhere` the examiner gave. Every place found is hashed: one that differs is a
    change."""
    return [_state(item, base, elsewhere, copies) for item in evidence]


def _state(item: Evidence, base: Path | None, elsewhere: Path | None, copies: bool) -> EvidenceState:
    groups = [("original", _originals(item, base))]
    if copies and item.copy and base is not None:
        groups.append(("copy", [base / item.copy]))
    if elsewhere is not None:
        given = Path(item.path)
        groups.append(("given folder", _unique([elsewhere / given.name, *_inside_folder(elsewhere, given)])))
    found: list[Place] = []
    not_found: list[str] = []
    for role, paths in groups:
        here = [_place(role, path) for path in paths if _present(path)]
        found += here
        if not here and role != "original":  # an original moved is common; a copy or a file asked for not
            not_found.append(" or ".join(map(str, paths)))
    if not found:
        return EvidenceState(item, "missing", (), tuple(str(path) for _, paths in groups for path in paths))
    intact = all(place.sha256 == item.sha256 for place in found)
    return EvidenceState(item, "intact" if intact else "changed", tuple(found), tuple(not_found))


def _place(role: str, path: Path) -> Place:
    """A place where something is, hashed; a link, a pipe or an unreadable file is said as such."""
    return Place(role, str(path), _digest(path) or UNREADABLE)


UNREADABLE = "not readable as a regular file (a link, a pipe, no permission)"


def _unique(paths: list[Path]) -> list[Path]:
    return list(dict.fromkeys(paths))


def _present(path: Path) -> bool:
    try:
        os.lstat(path)
    except OSError:
        return False
    return True


def _originals(item: Evidence, base: Path | None) -> list[Path]:
    """Every place the original may be: where it was added, where it lies relative to the case folder (the
    case and its evidence moved together), the path as given read from the case folder."""
    paths = [Path(item.absolute)]
    if base is not None:
        paths += [base / item.from_case] if item.from_case else []
        paths += [] if Path(item.path).is_absolute() else [base / item.path]
    return _unique([Path(os.path.normpath(path)) for path in paths])


def _inside_folder(folder: Path, given: Path) -> list[Path]:
    return [] if given.is_absolute() else [folder / given]


def _digest(path: Path) -> str:
    """The SHA-256 of a regular file, "" when there is none to read (a link is not followed)."""
    try:
        with os.fdopen(open_regular(path), "rb") as handle:
            digest = hashlib.sha256()
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
            return digest.hexdigest()
    except (OSError, NotRegular):
        return ""


def case_file_bytes(info: dict) -> bytes:
    return json.dumps(info, indent=2, ensure_ascii=False).encode("utf-8")


def recorded_case(entries: list[dict]) -> tuple[dict | None, dict | None]:
    """(the last entry vouching for case.json, the case.json it recorded); (None, None) when none did."""
    for entry in reversed(well_formed(entries)):
        if entry["kind"] in CASE_RECORDS and "case_sha256" in entry["data"]:
            return entry, entry["data"].get("case")
    return None, None


def case_file_problems(entries: list[dict], data: bytes | None) -> tuple[list[str], list[str]]:
    """(problems, notes) of case.json's bytes against what the log recorded of them."""
    if data is None:
        return [f"{CASE_FILE} is missing"], []
    entry, recorded = recorded_case(entries)
    try:
        now = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError):
        now = None
    now = now if isinstance(now, dict) else {}
    if entry is not None:
        if hashlib.sha256(data).hexdigest() == entry["data"]["case_sha256"]:
            return [], []
        changed = _differences(recorded or {}, now)
        return [f"{CASE_FILE} differs from what the log recorded at seq {entry['seq']} ({changed})"], []
    created = next((e for e in well_formed(entries) if e["kind"] == "case-created"), None)
    if created is None:
        return [f"{CASE_FILE}: no entry of the log records it"], []
    fields = {key: created["data"][key] for key in ("title", "number") if key in created["data"]}
    changed = _differences(fields, {key: now.get(key) for key in fields})
    old = [f"{CASE_FILE}'s other fields (examiners, notes) are not vouched for: the case was made by a "
           "version that recorded only its title and number"]  # fmt: skip
    return ([f"{CASE_FILE} differs from the case-created entry ({changed})"] if changed else []), old


def _differences(then: dict, now: dict) -> str:
    keys = sorted(set(then) | set(now), key=str)
    changed = [
        f"{key} {then.get(key)!r} then, {now.get(key)!r} now" for key in keys if then.get(key) != now.get(key)
    ]
    return "; ".join(changed) or "its bytes differ"


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
        data = _case_file(folder)
        try:
            chain = AuditLog(folder / LOG_FILE).read()
        except NotRegular as exc:
            raise CaseError(folder, f"cannot be opened: {LOG_FILE} {exc.reason}") from None
        info = _vouched_info(folder, data, chain)
        breaks = chain.breaks
        case = cls(folder, info, examiner, read_only or bool(breaks) or not _writable(folder))
        problems, _ = case_file_problems(chain.entries, data)
        case.warnings += [f"the case's log is broken: {problem}" for problem in breaks[:3]] + problems
        if breaks:
            case.warnings.append("nothing is recorded until a repair is recorded (case repair)")
        if not case.read_only:
            with case.log.writing() as record:
                if examiner and examiner not in info.get("examiners", []):
                    updated = {**info, "examiners": [*info.get("examiners", []), examiner]}
                    case._write_info(updated, record, "case-updated", {"examiner_added": examiner})
                record("case-opened", {"app_version": __version__})
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
            self._store = ResultStore(self.folder / STORE_DIR)
        return self._store

    def new_run_folder(self) -> Path:
        stamp = utc_now().replace(":", "").replace("-", "").replace(".", "-")
        return self.folder / RUNS_DIR / stamp

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
            if _inside(self.folder, found.path):
                listing.in_case += 1
            elif found.problem:
                listing.refused.append((str(found.path), found.problem))
            else:
                self._add_found(found.path, copies, listing)
        return listing

    def _add_found(self, path: Path, copies: bool, listing: Listing) -> None:
        try:
            digest, size = _hash_regular(path)
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
        if (str(path), sha256) in listed:
            return None
        absolute = Path(path).absolute()
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
        added = _evidence(entry)
        listed.add((added.path, added.sha256))
        return added

    def _listed_keys(self) -> set[tuple[str, str]]:
        if self._listed is None:
            self._listed = {(item.path, item.sha256) for item in self.evidence()}
        return self._listed

    def _copy(self, path: Path, sha256: str) -> str:
        """Copy an evidence file into the case (never through a link planted there, the folder `evidence/`
        included), checked by its hash; its name inside the case."""
        relative = f"{COPIES_DIR}/{copy_name(path, sha256)}"
        target = self.folder / relative
        if not folder_or_absent(target.parent):
            raise CaseError(
                target.parent, "is not a folder of the case (a link?): no copy is made through it"
            )
        make_folder(target.parent)
        if _digest(target) == sha256:
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
        if digest.hexdigest() != sha256 or _digest(target) != sha256:
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

    def record_run(self, folder: Path) -> dict:
        """A results folder written for the case: the SHA-256 of each file the run wrote (results, reports,
        each image's folder — nothing else in the folder), so that verify and the package vouch for every
        byte of it."""
        folder = Path(folder)
        files = {name: digest for name, path in run_files(folder) if (digest := _digest(path))}
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
                    "who": _who(entry["actor"]),
                    "kind": entry["kind"],
                    "summary": entry_summary(entry["data"]),
                }
                for entry in chain.entries
            ],
        }


def _case_file(folder: Path) -> bytes:
    try:
        return read_regular(folder / CASE_FILE, 1 << 20)
    except FileNotFoundError:
        raise CaseError(folder, f"is not a case (no {CASE_FILE})") from None
    except NotRegular as exc:
        raise CaseError(folder, f"is not a case ({CASE_FILE} {exc.reason})") from None
    except OSError as exc:
        raise CaseError(folder, f"is not a case (no readable {CASE_FILE}: {exc.strerror})") from None


def _vouched_info(folder: Path, data: bytes, chain: Chain) -> dict:
    """case.json's content; the log's record of it when the file differs from that record."""
    try:
        info = json.loads(data.decode("utf-8"))
    except ValueError as exc:
        info = None
        reason = str(exc)
    if not isinstance(info, dict) or info.get("schema") != CASE_SCHEMA:
        _, recorded = recorded_case(chain.entries)
        if recorded is None:
            detail = reason if info is None else "it is not a DinoLizer GUI case file"
            raise CaseError(folder, f"is not a case ({CASE_FILE}: {detail})")
        return recorded
    entry, recorded = recorded_case(chain.entries)
    if entry is not None and recorded and hashlib.sha256(data).hexdigest() != entry["data"]["case_sha256"]:
        return recorded
    return info


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


def copy_name(path: Path, sha256: str) -> str:
    """The name of an evidence file's copy: its SHA-256's start, then its own name when that is plain text
    a package can carry (else its extension alone)."""
    name = path.name
    plain = is_exact(name) and "\\" not in name and len(name.encode()) <= 120
    suffix = path.suffix if is_exact(path.suffix) and path.suffix.isascii() else ""
    return f"{sha256[:12]}_{name}" if plain else f"{sha256[:16]}{suffix}"


def _hash_regular(path: Path) -> tuple[str, int]:
    """SHA-256 and size of an evidence file, read once, only if it is a regular file (never blocking on a
    pipe named like an image)."""
    digest, size = hashlib.sha256(), 0
    with os.fdopen(open_regular(path), "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _inside(folder: Path, path: Path) -> bool:
    try:
        return contains(folder, path)
    except OSError:
        return False


def _relative(path: Path, folder: Path) -> str | None:
    """`path` relative to `folder` (with ..), None where there is no such path (another drive)."""
    try:
        return Path(os.path.relpath(path, folder)).as_posix()
    except ValueError:
        return None


def entry_summary(data: dict, short: bool = False) -> str:
    """An entry's data in one line, as `case log` and the reports' appendix print it (`short`: a file by its
    name alone, as the Case dock shows it)."""
    keys = ("path", "model", "score", "flagged", "old", "new", "format", "file", "folder", "title", "reason")
    shown = {**data, "path": Path(str(data["path"])).name} if short and "path" in data else data
    parts = [f"{key} {shown[key]}" for key in keys if key in shown]
    if isinstance(data.get("files"), dict):
        parts.append(f"{len(data['files'])} files")
    return ", ".join(parts)


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


def run_record(
    runtime: Runtime, options: AnalysisOptions, score: float, flagged: bool, from_store: bool
) -> dict:
    """The `run` part of an analysis entry (numbers other than integers as decimal strings): the device and
    precision of the runtime's record, the options' fields that change a map."""
    computes, given = runtime.to_record(), options.to_record()
    return {
        "device": computes["device"],
        "precision": computes["precision"],
        "options": {name: given[name] for name in ("stride", "declip_mode", "declip_stride", "batch_size")},
        "score": f"{score:.6f}",
        "flagged": flagged,
        "from_store": from_store,
    }
