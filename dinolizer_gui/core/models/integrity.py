"""Whether weights are what they claim to be: install records, a hash cache, and the verification state
that every run checks and every output states.

A file installed in the weights folder has the SHA-256 recorded when it was
installed; every run compares the file with that record and refuses a file that
changed. Hashing a 1.7 GB checkpoint takes seconds, so the SHA-256 is cached
keyed by the file's path, size, inode, modification and change times (a
change time cannot be set back by a user); any change recomputes it.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from platformdirs import user_cache_dir

from ..io.hashing import sha256_of_file
from ..io.outputs import read_json, write_json_atomic
from .layouts import CheckpointError
from .weights_folder import APP_NAME, ManifestEntry

HASHES_FILE = "hashes.json"
CACHE_ENV = "DINOLIZER_GUI_CACHE"


class WeightsState(str, Enum):
    VERIFIED = "verified"
    RECORDED = "recorded"
    UNOFFICIAL = "unofficial"
    UNCHECKED = "unchecked"
    SESSION = "session"
    CORRUPT = "corrupt"

    def __str__(self) -> str:
        return self.value


MEANING = {
    WeightsState.VERIFIED: "the published file, verified against its published hash",
    WeightsState.RECORDED: "no hash is published; unchanged since its SHA-256 was recorded at install",
    WeightsState.UNOFFICIAL: "UNOFFICIAL: not the published file (its hash differs from the published one)",
    WeightsState.UNCHECKED: "placed in the weights folder by hand; no published hash or install record",
    WeightsState.SESSION: "given for this run only: not installed, not checked against a published hash",
    WeightsState.CORRUPT: "changed or damaged since it was installed",
}


@dataclass(frozen=True)
class Verification:
    state: WeightsState
    sha256: str
    detail: str = ""

    def as_dict(self) -> dict[str, str]:
        return {
            "state": self.state.value,
            "meaning": MEANING[self.state] + (f" ({self.detail})" if self.detail else ""),
        }


def stated(checkpoint: dict) -> str:
    """What a checkpoint file is, in words, as every output says it (from its `verification` entry)."""
    verification = checkpoint.get("verification") or {}
    return verification.get("meaning") or "not verified"


def install_records(folder: Path) -> dict[str, dict]:
    """file name -> {"sha256": recorded at install, "state": verified | recorded | unofficial}.

    Malformed records are ignored (the file is then treated as placed by hand).
    """
    return {
        name: record
        for name, record in read_json(folder / HASHES_FILE).items()
        if isinstance(record, dict)
        and isinstance(record.get("sha256"), str)
        and record.get("state") in ("verified", "recorded", "unofficial")
    }


def record_install(folder: Path, file_name: str, sha256: str, state: WeightsState, source: str) -> None:
    records = install_records(folder)
    records[file_name] = {"sha256": sha256, "state": state.value, "source": source}
    write_json_atomic(folder / HASHES_FILE, records, indent=2, sort_keys=True)


def forget_install(folder: Path, file_name: str) -> None:
    records = install_records(folder)
    if records.pop(file_name, None) is not None:
        write_json_atomic(folder / HASHES_FILE, records, indent=2, sort_keys=True)


class HashCache:
    """SHA-256 of files, remembered while the file's size, inode, mtime and ctime stay the same."""

    def __init__(self, file: Path | None = None):
        folder = os.environ.get(CACHE_ENV) or user_cache_dir(APP_NAME, appauthor=False)
        self.file = file or Path(folder) / "hashes.json"
        self._lock = threading.Lock()

    def known(self, path: Path | str) -> str | None:
        """The cached SHA-256 if the file is unchanged since it was hashed, else None (reads no data)."""
        path = Path(path)
        with self._lock:
            known = read_json(self.file).get(os.path.realpath(path))
        valid = isinstance(known, dict) and known.get("identity") == _identity(path)
        return str(known["sha256"]) if valid else None  # type: ignore[index]

    def sha256(self, path: Path | str, recompute: bool = False) -> str:
        path = Path(path)
        if not recompute and (digest := self.known(path)) is not None:
            return digest
        identity = _identity(path)
        digest = sha256_of_file(path)
        with self._lock:
            entries = read_json(self.file)
            entries[os.path.realpath(path)] = {"identity": identity, "sha256": digest}
            try:
                self.file.parent.mkdir(parents=True, exist_ok=True)
                write_json_atomic(self.file, entries)
            except OSError:
                pass  # a cache that cannot be written only costs time
        return digest


def _identity(path: Path) -> list[int]:
    stat = os.stat(path)
    return [stat.st_size, stat.st_ino, stat.st_mtime_ns, stat.st_ctime_ns]


def classify(
    file_name: str, actual: str | None, record: dict | None, entry: ManifestEntry | None
) -> tuple[WeightsState, str]:
    """The state of an installed file from its install record or the published hash, and a detail."""
    if record is not None:
        if actual is not None and actual != record["sha256"]:
            return WeightsState.CORRUPT, f"SHA-256 is {actual}, recorded at install {record['sha256']}"
        origin = record.get("source")
        return WeightsState(record["state"]), (f"when it was {origin}" if isinstance(origin, str) else "")
    published = entry.sha256 if entry is not None else None
    if actual is None or published is None:
        return WeightsState.UNCHECKED, "no install record"
    if actual == published:
        return WeightsState.VERIFIED, ""
    return WeightsState.UNOFFICIAL, f"differs from the published SHA-256 {published}"


def verify_installed(
    path: Path, folder: Path, manifest: list[ManifestEntry], cache: HashCache
) -> Verification:
    """Check an installed file against its record; a file changed since installation is refused."""
    actual = cache.sha256(path)
    entry = next((e for e in manifest if e.file == path.name), None)
    state, detail = classify(path.name, actual, install_records(folder).get(path.name), entry)
    if state is WeightsState.CORRUPT:
        raise CheckpointError(
            path,
            f"changed since it was installed ({detail}); it is not used. `dinolizer-gui models verify` "
            "lists it as corrupt: remove it and install it again",
        )
    return Verification(state, actual, detail)


def verify_session(path: Path, manifest: list[ManifestEntry], cache: HashCache) -> Verification:
    """A file given for this run only: its hash, and whether it happens to be a published file."""
    actual = cache.sha256(path)
    published = next((e for e in manifest if e.sha256 == actual), None)
    return Verification(
        WeightsState.SESSION, actual, f"it is the published {published.file}" if published else ""
    )
