import json
import os
import shutil
import signal
import sqlite3
import subprocess
import threading
import time
import weakref
from pathlib import Path

import numpy as np
from PIL import Image

from dinolizer_gui.core.engine.analysis import AnalysisOptions
from dinolizer_gui.core.models.registry import load_localizer
from dinolizer_gui.core.progress import run_to_end
from dinolizer_gui.core.report.results_folder import ResultsWriter
from dinolizer_gui.core.session.batch import BatchRunner, make_items
from dinolizer_gui.core.session.thresholds import Thresholds
from dinolizer_gui.core.store.results import ResultStore
from tests.cli_run import analyze_args, command, run_process

ROOT = Path(__file__).resolve().parents[3]


def _photo(path, seed, size=(120, 160)):
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(path)
    return path


def _localizers(weights):
    files, _ = weights
    return [load_localizer("dinolizer", [files["release"]]), load_localizer("declip", [files["declip"]])]


def test_good_duplicate_and_broken_files_get_their_statuses(weights, tmp_path):
    folder = tmp_path / "case"
    folder.mkdir()
    _photo(folder / "a.png", 1)
    shutil.copy(folder / "a.png", folder / "a_copy.png")
    _photo(folder / "b.jpg", 2)
    (folder / "c.png").write_bytes(b"\x89PNG broken")
    items = make_items([folder])
    runner = BatchRunner(
        _localizers(weights), AnalysisOptions(device="cpu"), ResultStore(tmp_path / "store"), Thresholds()
    )
    run_to_end(runner.run(items))
    by_name = {Path(item.path).name: item for item in items}
    assert [Path(i.path).name for i in items] == ["a.png", "a_copy.png", "b.jpg", "c.png"]
    assert by_name["a.png"].status == by_name["b.jpg"].status == "done"
    assert by_name["a_copy.png"].status == "skipped" and by_name["a_copy.png"].duplicate_of.endswith("a.png")
    assert by_name["a_copy.png"].models == by_name["a.png"].models
    assert by_name["c.png"].status == "error" and "not a recognised image format" in by_name["c.png"].reason
    assert set(by_name["b.jpg"].models) == {"dinolizer", "declip"}
    assert by_name["b.jpg"].thumbnail.shape[1] == 96


def test_a_models_map_is_freed_before_the_next_model_runs(weights, tmp_path):
    """What bounds memory on a huge image: one probability map alive at a time."""
    dinolizer, declip = _localizers(weights)
    maps = []
    analyze = declip.analyze

    def declip_checking_memory(image, options, runtime=None):
        assert maps and maps[0]() is None, "DinoLizer's map is still alive while DeCLIP runs"
        return analyze(image, options, runtime)

    declip.analyze = declip_checking_memory
    items = make_items([_photo(tmp_path / "a.png", 1)])
    run_to_end(
        BatchRunner([dinolizer, declip], AnalysisOptions(device="cpu"), None, Thresholds()).run(
            items, on_model=lambda item, image, name, model: maps.append(weakref.ref(model.run.probability))
        )
    )
    assert items[0].status == "done" and len(maps) == 2


def test_a_model_that_finished_before_another_failed_keeps_its_files(weights, tmp_path):
    dinolizer, declip = _localizers(weights)

    def out_of_memory(image, options, runtime=None):
        raise RuntimeError("CUDA out of memory\nTried to allocate 2 GiB")
        yield

    declip.analyze = out_of_memory
    items = make_items([_photo(tmp_path / "a.png", 1)])
    writer = ResultsWriter(tmp_path / "out", {})
    run_to_end(
        BatchRunner([dinolizer, declip], AnalysisOptions(device="cpu"), None, Thresholds()).run(
            items, on_image=writer.add, on_model=writer.add_model
        )
    )
    entry = json.loads((tmp_path / "out" / "results.json").read_text())["images"][0]
    assert entry["status"] == "error" and entry["error"] == "declip failed: CUDA out of memory"
    assert list(entry["models"]) == ["dinolizer"] and "agreement" not in entry
    assert (tmp_path / "out" / entry["models"]["dinolizer"]["mask"]).is_file()


def test_reopening_a_finished_batch_is_served_from_the_store(weights, tmp_path):
    folder = tmp_path / "case"
    folder.mkdir()
    for seed in range(3):
        _photo(folder / f"img{seed}.png", seed)
    store = ResultStore(tmp_path / "store")
    localizers = _localizers(weights)
    first = make_items([folder])
    run_to_end(BatchRunner(localizers, AnalysisOptions(device="cpu"), store, Thresholds()).run(first))
    calls = []
    for localizer in localizers:
        localizer.net.register_forward_hook(lambda *a: calls.append(1))
    again = make_items([folder])
    run_to_end(BatchRunner(localizers, AnalysisOptions(device="cpu"), store, Thresholds()).run(again))
    assert calls == []
    assert all(m.cached for item in again for m in item.models.values())
    assert [i.models["dinolizer"].score for i in again] == [i.models["dinolizer"].score for i in first]
    other_stride = make_items([folder])[:1]
    run_to_end(
        BatchRunner(localizers, AnalysisOptions(device="cpu", stride=256), store, Thresholds()).run(
            other_stride
        )
    )
    assert calls and not other_stride[0].models["dinolizer"].cached  # parameters are part of the key


def test_cancelling_puts_the_running_item_back_in_the_queue(weights, tmp_path):
    folder = tmp_path / "case"
    folder.mkdir()
    Image.fromarray(np.zeros((504, 1400, 3), np.uint8)).save(folder / "wide.png")
    items = make_items([folder])
    runner = BatchRunner(
        _localizers(weights)[:1], AnalysisOptions(device="cpu", batch_size=1), None, Thresholds()
    )
    generator = runner.run(items)
    while next(generator).stage != "model":
        pass
    generator.close()
    assert items[0].status == "queued"


def test_store_ignores_a_row_whose_map_is_missing_and_serves_concurrent_readers(weights, tmp_path):
    store = ResultStore(tmp_path / "store")
    localizer = _localizers(weights)[0]
    folder = tmp_path / "case"
    folder.mkdir()
    _photo(folder / "x.png", 5)
    items = make_items([folder])
    errors = []
    stop = threading.Event()

    def reader(own: ResultStore):
        while not stop.is_set():
            try:
                own.count()
            except sqlite3.Error as exc:  # the failure this test looks for
                errors.append(exc)

    threads = [threading.Thread(target=reader, args=(ResultStore(tmp_path / "store"),)) for _ in range(3)]
    for thread in threads:
        thread.start()
    run_to_end(BatchRunner([localizer], AnalysisOptions(device="cpu"), store, Thresholds()).run(items))
    stop.set()
    for thread in threads:
        thread.join()
    assert errors == [] and store.count() == 1
    for map_file in (tmp_path / "store" / "maps").rglob("*.f32z"):
        map_file.unlink()  # as if the disk lost it: the row must not be served
    again = make_items([folder])
    run_to_end(BatchRunner([localizer], AnalysisOptions(device="cpu"), store, Thresholds()).run(again))
    assert not again[0].models["dinolizer"].cached


def _stored_rows(store_dir: Path) -> dict[str, float]:
    database = store_dir / "results.sqlite"
    if not database.exists():
        return {}
    with sqlite3.connect(database, timeout=30) as db:
        if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'results'").fetchone():
            return {}  # the analysing process has created the file but not yet its schema
        return dict(db.execute("SELECT key, created FROM results").fetchall())


def test_sigkill_mid_batch_loses_nothing_and_resumes_without_recomputing(weights, tmp_path):
    folder = tmp_path / "case"
    folder.mkdir()
    for seed in range(10):
        Image.fromarray(np.random.default_rng(seed).integers(0, 256, (504, 900, 3), dtype=np.uint8)).save(
            folder / f"img{seed:02d}.png"
        )
    store = tmp_path / "store"
    args = analyze_args(weights, folder, None, "--store", store, "--batch-size", "1", models=("dinolizer",))
    victim = subprocess.Popen(command(*args, "--out", tmp_path / "out1"), cwd=ROOT)
    deadline = time.time() + 120
    while len(_stored_rows(store)) < 3 and time.time() < deadline and victim.poll() is None:
        time.sleep(0.05)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    before = _stored_rows(store)
    assert 3 <= len(before) < 10, "the batch must be killed part-way"
    assert all((store / "maps" / k[:2] / f"{k}.f32z").is_file() for k in before)  # no row without its map

    resumed = run_process(*args, "--out", tmp_path / "out2")
    assert resumed.returncode == 0
    after = _stored_rows(store)
    assert len(after) == 10
    assert all(
        after[key] == created for key, created in before.items()
    )  # finished results were not recomputed
    images = json.loads((tmp_path / "out2" / "results.json").read_text())["images"]
    cached = [e["models"]["dinolizer"]["cached"] for e in images]
    assert sum(cached) == len(before) and all(e["status"] == "ok" for e in images)
