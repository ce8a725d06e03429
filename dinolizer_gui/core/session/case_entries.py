"""What a case's log says, entry by entry: the data each kind of entry must hold (an entry whose hash holds
but whose data does not is a problem, never used), the evidence list it describes, the copies, reports and
run files it vouches for, what it recorded of case.json, and its entries in one line for people."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING

from ..engine.analysis import AnalysisOptions
from ..errors import PathError
from ..io.names import for_terminal, path_of, path_record
from ..io.regular import NotRegular, folder_or_absent, read_regular
from ..store.chain import HEX64, REPAIRED, Chain

if TYPE_CHECKING:
    from ..engine.device import Runtime

CASE_FILE = "case.json"
CASE_SCHEMA = "dinolizer-gui/case"
CASE_RECORDS = ("case-created", "case-updated")  # the entries that vouch for case.json


LOG_FILE, STORE_DIR, RUNS_DIR, COPIES_DIR = "audit.jsonl", "store", "runs", "evidence"
INNER_FOLDERS = (STORE_DIR, RUNS_DIR, COPIES_DIR)
PLANTED = "is not a folder of the case (a link?): never followed; the case opens only read-only"


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


def evidence_from(entries: list[dict]) -> list[Evidence]:
    """The evidence list a log describes: every evidence-added entry not undone by an evidence-removed one
    (entries whose data is malformed are left out: `malformed` names them)."""
    listed: dict[tuple[str, str], Evidence] = {}  # by where it was added and its content
    for entry in well_formed(entries):
        if entry["kind"] == "evidence-added":
            item = evidence_of(entry)
            listed[(item.absolute, item.sha256)] = item
        elif entry["kind"] == "evidence-removed":
            removed = evidence_of(entry)  # a removal recorded before `absolute` was: by the path as given
            for key in [key for key, item in listed.items() if _same_evidence(item, removed, entry)]:
                del listed[key]
    return list(listed.values())


def _same_evidence(item: Evidence, removed: Evidence, entry: dict) -> bool:
    if item.sha256 != removed.sha256:
        return False
    return item.absolute == removed.absolute if "absolute" in entry["data"] else item.path == removed.path


def copies_from(entries: list[dict]) -> dict[str, str]:
    """Every copy the log says was made in the case (its evidence removed since or not): SHA-256 by path."""
    return {
        entry["data"]["copy"]: entry["data"]["sha256"]
        for entry in well_formed(entries)
        if entry["kind"] == "evidence-added" and entry["data"].get("copy")
    }


def evidence_of(entry: dict) -> Evidence:
    data = entry["data"]
    path = _exact(data, "path") or ""
    return Evidence(
        path,
        _exact(data, "absolute") or path,
        data["sha256"],
        data.get("size", 0),
        str(entry["time"]),
        who_did(entry["actor"]),
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


def _path_text(value: object) -> bool:
    """A path as text: no system takes a NUL in one."""
    return isinstance(value, str) and "\0" not in value


def _optional_path(value: object) -> bool:
    return value is None or _path_text(value)


def _path_bytes(value: object) -> bool:
    """A path's exact bytes: base64 of a name without NUL."""
    try:
        raw = base64.b64decode(value, validate=True)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return bool(raw) and b"\0" not in raw


def _digest_text(value: object) -> bool:
    return isinstance(value, str) and HEX64.fullmatch(value) is not None


def _count(value: object) -> bool:
    return type(value) is int and value >= 0


def _digests(value: object) -> bool:
    return isinstance(value, dict) and all(_path_text(k) and _digest_text(v) for k, v in value.items())


SHAPES: dict[str, dict[str, Callable[[object], bool]]] = {
    "evidence-added": {"path": _path_text, "sha256": _digest_text},
    "evidence-removed": {"path": _path_text, "sha256": _digest_text},
    "report-exported": {"file": _path_text, "sha256": _digest_text},
    "run-written": {"folder": _path_text, "files": _digests},
}


OPTIONAL: dict[str, Callable[[object], bool]] = {
    "absolute": _path_text, "size": _count, "copy": _optional_path, "from_case": _path_text,
    "path_bytes": _path_bytes, "absolute_bytes": _path_bytes, "from_case_bytes": _path_bytes,
    "case": lambda v: isinstance(v, dict), "case_sha256": _digest_text, "kept_in": _path_text,
    "torn_kept_in": _path_text, "torn_sha256": _digest_text,
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


def who_did(actor: dict) -> str:
    examiner, user = actor.get("examiner") or "", actor.get("user") or ""
    return f"{examiner} ({user})" if examiner else user


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


def entry_summary(data: dict, short: bool = False) -> str:
    """An entry's data in one line, as `case log` and the reports' appendix print it (`short`: a file by its
    name alone, as the Case dock shows it)."""
    keys = ("path", "model", "score", "flagged", "old", "new", "format", "file", "folder", "title", "reason")
    shown = {**data, "path": Path(str(data["path"])).name} if short and "path" in data else data
    parts = [f"{key} {shown[key]}" for key in keys if key in shown]
    if isinstance(data.get("files"), dict):
        parts.append(f"{len(data['files'])} files")
    return ", ".join(parts)


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


def safe_member_name(name: str) -> bool:
    """A relative name inside the case or package: no absolute path, drive, `..`, backslash or NUL."""
    if not name or any(c in name for c in "\\\0\n\r") or re.match(r"^[A-Za-z]:", name):
        return False
    path = PurePosixPath(name)
    return not path.is_absolute() and all(part not in ("", ".", "..") for part in name.split("/"))


def read_case_file(folder: Path) -> bytes:
    try:
        return read_regular(folder / CASE_FILE, 1 << 20)
    except FileNotFoundError:
        raise CaseError(folder, f"is not a case (no {CASE_FILE})") from None
    except NotRegular as exc:
        raise CaseError(folder, f"is not a case ({CASE_FILE} {exc.reason})") from None
    except OSError as exc:
        raise CaseError(folder, f"is not a case (no readable {CASE_FILE}: {exc.strerror})") from None


def vouched_info(folder: Path, data: bytes, chain: Chain) -> dict:
    """case.json's content; the log's record of it when the file differs from that record."""
    try:
        info = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        info = None
        reason = str(exc) or type(exc).__name__
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


def linked_folders(folder: Path) -> list[str]:
    """The case's own folders (store, runs, evidence copies) that are there but are not real folders: a
    link planted in their place would send what the case writes, and what it reads, elsewhere."""
    return [name for name in INNER_FOLDERS if not folder_or_absent(Path(folder) / name)]
