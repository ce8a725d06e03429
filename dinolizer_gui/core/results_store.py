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
import os
import sqlite3
import time
import zlib
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from platformdirs import user_data_dir

from .analysis import AnalysisOptions, ModelRun
from .files import write_atomic
from .models.registry import REGISTRY
from .models.weights_folder import APP_NAME

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
"""


def default_store_dir() -> Path:
    return Path(os.environ.get(STORE_ENV) or Path(user_data_dir(APP_NAME, appauthor=False)) / "store")


def result_key(
    file_sha256: str, model: str, checkpoints: list[dict], options: AnalysisOptions, device_type: str
) -> str:
    """Everything that changes a map: pixels, weights, the model's parameters, device and precision."""
    parameters = {
        "model": model,
        "weights": sorted(c["sha256"] for c in checkpoints),
        "device": device_type,
        "precision": options.precision if device_type == "cuda" else "float32",
        **REGISTRY[model].key_parameters(options),
    }
    text = json.dumps(parameters, sort_keys=True) + file_sha256
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class StoredResult:
    key: str
    model: str
    score: float
    width: int
    height: int
    run_info: dict
    map_path: Path
    created: float

    def load_run(self) -> ModelRun:
        data = zlib.decompress(self.map_path.read_bytes())
        probability = np.frombuffer(data, dtype=np.float32).reshape(self.height, self.width)  # read-only view
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.created))
        return ModelRun(
            probability,
            self.run_info["windows"],
            tuple(self.run_info["working_size"]),
            self.run_info["preprocessing"],
            self.run_info["device"],
            self.run_info["notes"] + [f"served from the results store (computed {when})"],
        )


class ResultStore:
    def __init__(self, folder: Path | None = None):
        self.folder = Path(folder or default_store_dir())
        self.maps = self.folder / "maps"
        self.maps.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.folder / "results.sqlite", timeout=60)
        db.row_factory = sqlite3.Row
        return db

    def get(self, key: str) -> StoredResult | None:
        with closing(self._connect()) as db:
            row = db.execute("SELECT * FROM results WHERE key = ?", (key,)).fetchone()
        if row is None or not (self.maps / row["map_file"]).is_file():
            return None
        return StoredResult(
            row["key"],
            row["model"],
            row["score"],
            row["width"],
            row["height"],
            json.loads(row["run"]),
            self.maps / row["map_file"],
            row["created"],
        )

    def put(self, key: str, file_sha256: str, model: str, run: ModelRun, score: float) -> StoredResult:
        height, width = run.probability.shape
        map_file = f"{key[:2]}/{key}.f32z"
        target = self.maps / map_file
        target.parent.mkdir(exist_ok=True)
        pixels = np.ascontiguousarray(run.probability, np.float32)
        write_atomic(target, zlib.compress(pixels.data.cast("B"), 1))  # complete before a row points to it
        info = {
            "windows": run.windows,
            "working_size": list(run.working_size),
            "preprocessing": run.preprocessing,
            "device": run.device,
            "notes": run.notes,
        }
        created = time.time()
        with closing(self._connect()) as db, db:
            db.execute(
                "INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (key, file_sha256, model, width, height, score, json.dumps(info), map_file, created),
            )
        return StoredResult(key, model, score, width, height, info, target, created)

    def count(self) -> int:
        with closing(self._connect()) as db:
            return db.execute("SELECT COUNT(*) FROM results").fetchone()[0]
