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
import time
import zlib
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from platformdirs import user_data_dir

from .analysis import AnalysisOptions, ImageLevel, ModelRun
from .errors import OutputError
from .files import make_folder, write_atomic
from .models.registry import REGISTRY
from .models.weights_folder import APP_NAME
from .verdicts import Verdict

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
CREATE TABLE IF NOT EXISTS models (
    key TEXT PRIMARY KEY,        -- the model and its checkpoints' SHA-256
    description TEXT NOT NULL    -- what outputs say of it (JSON): variant, card, thresholds, load notes
);
"""


def default_store_dir() -> Path:
    return Path(os.environ.get(STORE_ENV) or Path(user_data_dir(APP_NAME, appauthor=False)) / "store")


def result_key(
    file_sha256: str, model: str, checkpoints: list[dict], options: AnalysisOptions, runtime
) -> str:
    """Everything that changes a map: pixels, weights, the model's parameters, device and precision."""
    parameters = {
        "model": model,
        "weights": sorted(c["sha256"] for c in checkpoints),
        "device": runtime.device.type,
        "precision": runtime.precision,
        **REGISTRY[model].key_parameters(options),
    }
    text = json.dumps(parameters, sort_keys=True) + file_sha256
    return hashlib.sha256(text.encode()).hexdigest()


class StoredMapCorrupt(Exception):
    """A stored map whose bytes were damaged after it was written."""


@dataclass(frozen=True)
class StoredResult:
    key: str
    model: str
    score: float
    width: int
    height: int
    run_info: dict
    map_path: Path | None  # None: an image-level result, which has no map
    created: float

    def load_run(self) -> ModelRun:
        """The stored run; raises StoredMapCorrupt when a map no longer decompresses to the right size."""
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.created))
        info = self.run_info
        run = ModelRun(
            None,
            info["windows"],
            tuple(info["working_size"]),
            info["preprocessing"],
            info["device"],
            [*info["notes"], f"served from the results store (computed {when})"],
            computed_at=self.created,
        )
        if self.map_path is None:
            level = info["image_level"]
            run.image_level = ImageLevel(level["logit"], tuple(level["crop_logits"]))
            return run
        try:
            data = zlib.decompress(self.map_path.read_bytes())
            run.probability = np.frombuffer(data, dtype=np.float32).reshape(self.height, self.width)  # a view
        except (OSError, ValueError, zlib.error) as exc:
            raise StoredMapCorrupt(f"stored map {self.map_path} is damaged ({exc})") from None
        return run


class ResultStore:
    """Rows in SQLite, maps beside them; a failure to read or write it is an OutputError naming the store."""

    def __init__(self, folder: Path | None = None):
        self.folder = Path(folder or default_store_dir())
        self.database = self.folder / "results.sqlite"
        self.maps = make_folder(self.folder / "maps")
        with self._session() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)

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
            raise OutputError(self.database, f"results store failed: {exc}{hint}") from None

    def get(self, key: str) -> StoredResult | None:
        with self._session() as db:
            row = db.execute("SELECT * FROM results WHERE key = ?", (key,)).fetchone()
        map_path = self.maps / row["map_file"] if row is not None and row["map_file"] else None
        if row is None or (map_path is not None and not map_path.is_file()):
            return None
        return StoredResult(
            row["key"],
            row["model"],
            row["score"],
            row["width"],
            row["height"],
            json.loads(row["run"]),
            map_path,
            row["created"],
        )

    def put(self, key: str, file_sha256: str, model: str, run: ModelRun, score: float) -> StoredResult:
        if not math.isfinite(score):
            raise ValueError(f"refusing to store a non-finite score ({score})")
        info: dict = {
            "windows": run.windows,
            "working_size": list(run.working_size),
            "preprocessing": run.preprocessing,
            "device": run.device,
            "notes": run.notes,
        }
        target, map_file, height, width = None, "", 0, 0
        if run.image_level is not None:
            info["image_level"] = {
                "logit": run.image_level.logit,
                "crop_logits": list(run.image_level.crop_logits),
            }
        elif run.probability is not None:
            height, width = run.probability.shape
            map_file = f"{key[:2]}/{key}.f32z"
            target = make_folder(self.maps / key[:2]) / f"{key}.f32z"
            pixels = np.ascontiguousarray(run.probability, np.float32)
            write_atomic(
                target, zlib.compress(pixels.data.cast("B"), 1)
            )  # complete before a row points to it
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
                    json.dumps(info, allow_nan=False),
                    map_file,
                    created,
                ),
            )
        return StoredResult(key, model, score, width, height, info, target, created)

    def drop(self, key: str) -> None:
        """Forget a result (its row, then its map), e.g. one whose map was damaged."""
        with self._session(write=True) as db:
            row = db.execute("SELECT map_file FROM results WHERE key = ?", (key,)).fetchone()
            db.execute("DELETE FROM results WHERE key = ?", (key,))
        if row is not None:
            (self.maps / row["map_file"]).unlink(missing_ok=True)

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
