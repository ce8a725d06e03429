"""The results store: finished maps keyed by file hash, checkpoint hashes and parameters.

SQLite (WAL journal, one transaction per result) holds the rows; each
probability map is a zlib-compressed float32 file beside it, written and
renamed into place before its row is committed. A crash or SIGKILL therefore
loses at most the result being computed, never a finished one, and never leaves
a row without its map. Each call opens its own connection, so several threads
and processes can read while one writes.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sqlite3
import tempfile
import time
import zlib
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from platformdirs import user_data_dir

from ..engine.analysis import AnalysisOptions, ModelRun, RunRecordError
from ..errors import OutputError
from ..io.outputs import make_folder, write_atomic
from ..io.provenance import reading_key
from ..models.registry import REGISTRY
from ..models.weights_folder import APP_NAME
from .findings import Findings
from .verdicts import Verdict

if TYPE_CHECKING:
    from ..engine.device import Runtime

STORE_ENV = "DINOLIZER_GUI_STORE"
SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    key TEXT PRIMARY KEY,
    file_sha256 TEXT NOT NULL,
    model TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    score REAL NOT NULL,
    run TEXT NOT NULL,          -- windows, working size, preprocessing, device, notes (JSON)
    map_file TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS results_by_file ON results (file_sha256);
CREATE TABLE IF NOT EXISTS verdicts (
    file_sha256 TEXT PRIMARY KEY,   -- the analyst's verdict on an image, whatever its name or its analyses
    verdict TEXT NOT NULL,
    note TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS provenance (
    key TEXT PRIMARY KEY,        -- the file's SHA-256 and the trust anchors it was read with
    document TEXT NOT NULL       -- what the file says about itself (JSON)
);
CREATE TABLE IF NOT EXISTS findings (
    file_sha256 TEXT PRIMARY KEY,   -- the examiner's marks and region decisions on an image (JSON)
    document TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS models (
    key TEXT PRIMARY KEY,        -- the model and its checkpoints' SHA-256
    description TEXT NOT NULL    -- what outputs say of it (JSON): variant, card, thresholds, load notes
);
"""


def default_store_dir() -> Path:
    return Path(os.environ.get(STORE_ENV) or Path(user_data_dir(APP_NAME, appauthor=False)) / "store")


def open_store(folder: Path | None = None) -> tuple[ResultStore | None, str]:
    """The results store, or None and why it cannot be used: a damaged or read-only store never keeps the
    viewer from starting (it then works without one)."""
    try:
        return ResultStore(folder), ""
    except OutputError as exc:
        return None, str(exc)


def result_key(
    file_sha256: str,
    model: str,
    checkpoints: list[dict],
    options: AnalysisOptions,
    runtime: Runtime,
    variant: str = "",
) -> str:
    """Everything that changes a map: pixels, weights, the model's parameters, device and precision, and
    the benign variant of the image analysed (a stability check's; "" for the image itself)."""
    computes = runtime.to_record()
    parameters = {
        "model": model,
        "weights": sorted(c["sha256"] for c in checkpoints),
        "device": computes["device"],
        "precision": computes["precision"],
        **REGISTRY[model].key_parameters(options),
    }
    if variant:
        parameters["variant"] = variant
    text = json.dumps(parameters, sort_keys=True) + file_sha256
    return hashlib.sha256(text.encode()).hexdigest()


class StoreError(OutputError):
    """The results store cannot be opened, read or written (damaged, read-only, disk full)."""


class StoredResultDamaged(Exception):
    """A stored result whose row or map was damaged after it was written (or written by something else)."""


MAX_STORED_PIXELS = 1 << 31  # a stored map larger than this (8 GB of float32) is not one this app wrote


@dataclass(frozen=True)
class StoredResult:
    key: str
    model: str
    score: float
    width: int
    height: int
    run_text: str  # the run's record (JSON), checked when the run is loaded
    map_path: Path | None  # None: an image-level result, which has no map
    created: float

    def load_run(self) -> ModelRun:
        """The stored run; raises StoredResultDamaged when its record or its map is not what was written."""
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.created))
        try:
            record = json.loads(self.run_text)
            run = ModelRun.from_record(record, self._map() if self.map_path is not None else None)
        except (ValueError, RunRecordError) as exc:  # JSON and record errors are ValueErrors
            raise StoredResultDamaged(
                f"stored result {self.key[:12]}… is damaged ({type(exc).__name__}: {exc})"
            ) from None
        run.notes.append(f"served from the results store (computed {when})")
        run.computed_at = self.created
        return run

    def _map(self) -> np.ndarray:
        """The map, decompressed to exactly the size its row gives and never more."""
        if not (self.width > 0 and self.height > 0 and self.width * self.height <= MAX_STORED_PIXELS):
            raise ValueError(f"a map of {self.width} x {self.height} pixels")
        expected = self.width * self.height * 4
        assert self.map_path is not None
        try:
            inflater = zlib.decompressobj()
            data = inflater.decompress(self.map_path.read_bytes(), expected)
        except (OSError, zlib.error) as exc:
            raise ValueError(f"map {self.map_path.name}: {exc}") from None
        if len(data) != expected or inflater.unconsumed_tail or not inflater.eof:
            raise ValueError(f"map {self.map_path.name} does not hold {self.width} x {self.height} values")
        return np.frombuffer(data, dtype=np.float32).reshape(self.height, self.width)  # a view


class ResultStore:
    """Rows in SQLite, maps beside them; a failure to read or write it is an OutputError naming the store."""

    def __init__(self, folder: Path | None = None):
        """Open (or create) the store; OutputError at once when it is damaged or cannot be written, before
        any model has run."""
        self.folder = Path(folder or default_store_dir())
        self.database = self.folder / "results.sqlite"
        self.maps = make_folder(self.folder / "maps")
        with self._session() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)
        self._check_writable()

    def _check_writable(self) -> None:
        """A write that is rolled back, and a file made and removed among the maps."""
        try:
            with closing(sqlite3.connect(self.database, timeout=60)) as db:
                db.execute("BEGIN IMMEDIATE")
                db.execute("INSERT OR REPLACE INTO models VALUES ('', '')")
                db.rollback()
            tempfile.TemporaryFile(dir=self.maps).close()
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(self.folder, f"the results store cannot be written ({exc})") from None

    @contextmanager
    def _session(self, write: bool = False) -> Iterator[sqlite3.Connection]:
        try:
            with closing(sqlite3.connect(self.database, timeout=60)) as db:
                db.row_factory = sqlite3.Row
                if write:
                    with db:  # one transaction, committed at the end
                        yield db
                else:
                    yield db
        except sqlite3.Error as exc:
            full = "full" in str(exc) or "I/O" in str(exc)
            hint = " (is the disk full?)" if full else ""
            raise StoreError(self.database, f"results store failed: {exc}{hint}") from None

    def map_path(self, key: str) -> Path:
        """Where a result's map lives: named by its key alone, so that no row can point anywhere else."""
        return self.maps / key[:2] / f"{key}.f32z"

    def get(self, key: str) -> StoredResult | None:
        """The stored result, or None; a row that is not what this store writes raises StoredResultDamaged
        (drop it: its map is then recomputed)."""
        with self._session() as db:
            row = db.execute("SELECT * FROM results WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        map_path = self.map_path(key) if row["map_file"] else None
        if map_path is not None and not map_path.is_file():
            return None  # a crash between the map's removal and the row's
        numbers = (row["score"], row["width"], row["height"], row["created"])
        if not (
            row["map_file"] in ("", f"{key[:2]}/{key}.f32z")
            and all(isinstance(n, (int, float)) and math.isfinite(n) for n in numbers)
            and isinstance(row["run"], str)
        ):
            raise StoredResultDamaged(f"stored result {key[:12]}… has a damaged row")
        score, width, height, created = numbers
        return StoredResult(key, row["model"], score, width, height, row["run"], map_path, created)

    def maps_of(self, file_sha256: str, model: str) -> list[np.ndarray]:
        """Every map stored for a file by one model (other weights, options or devices each have theirs);
        damaged ones left out."""
        with self._session() as db:
            keys = [row["key"] for row in db.execute(
                "SELECT key FROM results WHERE file_sha256 = ? AND model = ? AND map_file != ''",
                (file_sha256, model),
            )]  # fmt: skip
        maps = []
        for key in keys:
            try:
                stored = self.get(key)
                run = stored.load_run() if stored is not None else None
            except StoredResultDamaged:
                continue
            if run is not None and run.probability is not None:
                maps.append(run.probability)
        return maps

    def load(self, key: str) -> tuple[ModelRun, float] | None:
        """The stored run and its score, or None when none is stored. A damaged result is dropped (its map is
        then computed again) and StoredResultDamaged raised, so that the caller can say so."""
        try:
            stored = self.get(key)
            return None if stored is None else (stored.load_run(), stored.score)
        except StoredResultDamaged:
            self.drop(key)
            raise

    def holds(self, key: str) -> bool:
        """Whether a result is stored under the key (its map is checked when loaded; a damaged row is dropped
        and not held)."""
        try:
            return self.get(key) is not None
        except StoredResultDamaged:
            self.drop(key)
            return False

    def put(self, key: str, file_sha256: str, model: str, run: ModelRun, score: float) -> StoredResult:
        if not math.isfinite(score):
            raise ValueError(f"refusing to store a non-finite score ({score})")
        run_text = json.dumps(run.record(), allow_nan=False)
        target, map_file, height, width = None, "", 0, 0
        if run.probability is not None:
            height, width = run.probability.shape
            map_file = f"{key[:2]}/{key}.f32z"
            make_folder(self.maps / key[:2])
            target = self.map_path(key)
            pixels = np.ascontiguousarray(run.probability, np.float32)
            write_atomic(target, zlib.compress(pixels.data.cast("B"), 1))  # complete before a row names it
        created = time.time()
        with self._session(write=True) as db:
            db.execute(
                "INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    key,
                    file_sha256,
                    model,
                    width,
                    height,
                    score,
                    run_text,
                    map_file,
                    created,
                ),
            )
        return StoredResult(key, model, score, width, height, run_text, target, created)

    def drop(self, key: str) -> None:
        """Forget a result (its row, then its map), e.g. a damaged one. Only the key names the map file, so
        nothing outside the store's maps folder is ever removed, whatever the row says."""
        with self._session(write=True) as db:
            db.execute("DELETE FROM results WHERE key = ?", (key,))
        self.map_path(key).unlink(missing_ok=True)

    def verdict(self, file_sha256: str) -> Verdict | None:
        with self._session() as db:
            row = db.execute("SELECT * FROM verdicts WHERE file_sha256 = ?", (file_sha256,)).fetchone()
        return None if row is None else Verdict(row["verdict"], row["note"], row["recorded_at"])

    def put_verdict(self, file_sha256: str, verdict: Verdict) -> None:
        with self._session(write=True) as db:
            db.execute(
                "INSERT OR REPLACE INTO verdicts VALUES (?, ?, ?, ?)",
                (file_sha256, verdict.verdict, verdict.note, verdict.recorded_at),
            )

    def findings(self, file_sha256: str) -> Findings:
        """The examiner's marks and region decisions on an image (empty when there are none); a row that no
        longer reads is said, never taken for "no findings"."""
        with self._session() as db:
            row = db.execute("SELECT document FROM findings WHERE file_sha256 = ?", (file_sha256,)).fetchone()
        if row is None:
            return Findings(file_sha256)
        try:
            return Findings.from_record(json.loads(row["document"]))
        except ValueError as exc:  # FindingsError and JSON errors alike
            raise StoreError(
                self.database, f"the findings on {file_sha256[:12]}… are damaged ({exc})"
            ) from None

    def put_all_findings(self, all_findings: list[Findings]) -> None:
        """Several images' findings in one transaction: all are kept, or none."""
        with self._session(write=True) as db:
            db.executemany(
                "INSERT OR REPLACE INTO findings VALUES (?, ?)",
                [(item.sha256, json.dumps(item.to_record(), allow_nan=False)) for item in all_findings],
            )

    def findings_of_all(self) -> list[Findings]:
        with self._session() as db:
            rows = db.execute("SELECT file_sha256 FROM findings ORDER BY file_sha256").fetchall()
        return [self.findings(row["file_sha256"]) for row in rows]

    def size_of(self, file_sha256: str) -> tuple[int, int] | None:
        """(width, height) of an image as displayed, from any result stored for it (None: never analysed)."""
        with self._session() as db:
            row = db.execute(
                "SELECT width, height FROM results WHERE file_sha256 = ? LIMIT 1", (file_sha256,)
            ).fetchone()
        return None if row is None else (row["width"], row["height"])

    @staticmethod
    def _provenance_key(file_sha256: str, anchors: str) -> str:
        """The file, the user's anchors, and what the reading depends on besides (the reader's version, the
        trust list): a reading made by an older reader or against another list is made again."""
        return hashlib.sha256(f"{file_sha256}\n{anchors}\n{reading_key()}".encode()).hexdigest()

    def provenance(self, file_sha256: str, anchors: str = "") -> dict | None:
        """What the file said about itself when it was read with these trust anchors (None: not read yet, or
        a row that is not a JSON object)."""
        with self._session() as db:
            row = db.execute(
                "SELECT document FROM provenance WHERE key = ?", (self._provenance_key(file_sha256, anchors),)
            ).fetchone()
        try:
            document = json.loads(row["document"]) if row is not None else None
        except ValueError:
            return None
        return document if isinstance(document, dict) and "c2pa" in document else None

    def put_provenance(self, file_sha256: str, anchors: str, document: dict) -> None:
        with self._session(write=True) as db:
            db.execute(
                "INSERT OR REPLACE INTO provenance VALUES (?, ?)",
                (self._provenance_key(file_sha256, anchors), json.dumps(document, allow_nan=False)),
            )

    def description(self, key: str) -> dict | None:
        """What a model built from these checkpoints is, recorded when it was first built (no load needed)."""
        with self._session() as db:
            row = db.execute("SELECT description FROM models WHERE key = ?", (key,)).fetchone()
        return json.loads(row["description"]) if row is not None else None

    def put_description(self, key: str, description: dict) -> None:
        with self._session(write=True) as db:
            db.execute(
                "INSERT OR REPLACE INTO models VALUES (?, ?)", (key, json.dumps(description, allow_nan=False))
            )

    def count(self) -> int:
        with self._session() as db:
            return db.execute("SELECT COUNT(*) FROM results").fetchone()[0]
