"""The results store trusts nothing it reads: a row or a map damaged (or written by something else) is dropped
and computed again, never followed outside the store, never decompressed beyond the size it must have."""

import sqlite3
import tracemalloc
import zlib

import numpy as np
import pytest
from PIL import Image

from dinolizer_gui.core.engine.analysis import AnalysisOptions, ModelRun
from dinolizer_gui.core.models.registry import load_localizer
from dinolizer_gui.core.progress import run_to_end
from dinolizer_gui.core.session.batch import BatchRunner, make_items
from dinolizer_gui.core.session.thresholds import Thresholds
from dinolizer_gui.core.store.results import ResultStore, StoredResultDamaged

KEY = "ab" + "c" * 62


def _stored(tmp_path) -> ResultStore:
    store = ResultStore(tmp_path / "store")
    run = ModelRun(np.full((4, 5), 0.3, np.float32), 1, (5, 4), ["resized"], "CPU (float32)", ["a note"])
    store.put(KEY, "f" * 64, "declip", run, 0.3)
    return store


def _set(store: ResultStore, column: str, value) -> None:
    with sqlite3.connect(store.database) as db:
        db.execute(f"UPDATE results SET {column} = ?", (value,))


def test_a_stored_run_comes_back_as_it_was_written(tmp_path):
    run, score = _stored(tmp_path).load(KEY)
    assert score == 0.3 and run.windows == 1 and run.working_size == (5, 4) and run.device == "CPU (float32)"
    assert np.array_equal(run.probability, np.full((4, 5), 0.3, np.float32))
    assert run.notes[0] == "a note" and run.notes[1].startswith("served from the results store")


@pytest.mark.parametrize("where", ["relative", "absolute"])
def test_a_row_naming_a_file_outside_the_store_never_touches_it(tmp_path, where):
    store = _stored(tmp_path)
    evidence = tmp_path / "evidence" / "other.png"
    evidence.parent.mkdir()
    evidence.write_bytes(b"the evidence")
    _set(store, "map_file", "../../evidence/other.png" if where == "relative" else str(evidence))
    with pytest.raises(StoredResultDamaged, match="damaged row"):
        store.load(KEY)
    assert evidence.read_bytes() == b"the evidence"
    assert store.get(KEY) is None and not store.map_path(KEY).exists()  # dropped: computed again


def test_a_map_that_inflates_beyond_its_size_is_refused_without_inflating_it(tmp_path):
    store = _stored(tmp_path)
    store.map_path(KEY).write_bytes(zlib.compress(bytes(200_000_000), 9))  # 200 MB of zeros, ~200 kB
    tracemalloc.start()
    with pytest.raises(StoredResultDamaged, match="does not hold 5 x 4 values"):
        store.load(KEY)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 5_000_000


@pytest.mark.parametrize(
    "run, reason", [("{}", "KeyError"), ("{not json", "JSONDecodeError"), ('{"windows": -1}', "")]
)
def test_a_damaged_run_record_is_an_error_of_the_store_not_of_the_model(tmp_path, run, reason):
    store = _stored(tmp_path)
    _set(store, "run", run)
    with pytest.raises(StoredResultDamaged, match=f"damaged.*{reason}"):
        store.load(KEY)
    assert store.get(KEY) is None


def test_a_batch_recomputes_a_damaged_result_and_says_so(weights, tmp_path):
    files, _ = weights
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (96, 128, 3), np.uint8)).save(
        tmp_path / "x.png"
    )
    store = ResultStore(tmp_path / "store")
    localizer = load_localizer("declip", [files["declip"]])
    runner = BatchRunner([localizer], AnalysisOptions(device="cpu"), store, Thresholds())
    run_to_end(runner.run(make_items([tmp_path / "x.png"])))
    _set(store, "run", "{}")
    seen = []
    items = make_items([tmp_path / "x.png"])
    run_to_end(runner.run(items, on_model=lambda item, image, name, model: seen.append(model.run.notes)))
    assert items[0].status == "done" and not items[0].models["declip"].cached
    assert any("damaged" in note and "computed again" in note for note in seen[0])
