"""`analyze --cluster ray`: a local Ray with 2 CPUs; the driver writes exactly what a local run writes."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dinolizer_gui.cli import main

ray = pytest.importorskip("ray", reason="the [cluster] extra (CI installs it)")

from dinolizer_gui.core.batch import ItemStatus, make_items  # noqa: E402
from dinolizer_gui.core.cluster import ClusterOptions, ClusterRunner  # noqa: E402
from dinolizer_gui.core.results_store import ResultStore  # noqa: E402
from dinolizer_gui.core.settings import Settings  # noqa: E402
from dinolizer_gui.core.workspace import Workspace  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture()
def images(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    for index in range(4):
        pixels = np.random.default_rng(index).integers(0, 256, (260, 330, 3), dtype=np.uint8)
        Image.fromarray(np.kron(pixels[::4, ::4], np.ones((4, 4, 1), np.uint8))[:260, :330]).save(
            folder / f"img{index}.png"
        )
    shutil.copy(folder / "img0.png", folder / "img0_copy.png")
    return folder


def _flags(weights):
    files, _ = weights
    return [
        "--weights", f"dinolizer={files['release']}", "--weights", f"declip={files['declip']}",
        "--device", "cpu", "--precision", "float32", "--quiet",
    ]  # fmt: skip


def _comparable(out: Path) -> list:
    images = json.loads((out / "results.json").read_text())["images"]
    for image in images:
        for model in image["models"].values():
            for timing_or_device in ("computed_at", "seconds", "device", "notes", "cached"):
                model.pop(timing_or_device, None)
    return images


def test_a_cluster_run_writes_what_a_local_run_writes(weights, images, tmp_path):
    flags = _flags(weights)
    assert main(["analyze", str(images), "--out", str(tmp_path / "local"), "--no-cache", *flags]) == 0
    cluster = ["--cluster", "ray", "--actors", "2", "--actor-threads", "1"]
    assert main(["analyze", str(images), "--out", str(tmp_path / "ray"), "--no-cache", *flags, *cluster]) == 0
    assert _comparable(tmp_path / "ray") == _comparable(tmp_path / "local")
    device = json.loads((tmp_path / "ray" / "results.json").read_text())["device"]
    assert device["used"] == "CPU on 2 Ray actor(s)" and device["precision"] == "float32"
    pngs = sorted(p.relative_to(tmp_path / "local") for p in (tmp_path / "local").rglob("*.png"))
    assert len(pngs) >= 4 * 5
    for png in pngs:
        assert (tmp_path / "ray" / png).read_bytes() == (tmp_path / "local" / png).read_bytes(), png


def _runner(weights, tmp_path, **cluster):
    files, _ = weights
    store = ResultStore(tmp_path / "store")
    workspace = Workspace(Settings(device="cpu", precision="float32"), tmp_path / "config", None, store)
    models = [workspace.model("dinolizer", [files["release"]])]
    options = ClusterOptions(actors=2, threads=1, **cluster)
    return ClusterRunner(models, workspace.options(), store, {"dinolizer": 0.5}, None, options)


def test_an_actor_killed_mid_batch_is_replaced_and_its_images_retried(weights, images, tmp_path):
    runner = _runner(weights, tmp_path)
    items = make_items([images])
    try:
        for progress in runner.run(items):
            if progress.stage == "finished" and not runner.stats.replaced:
                ray.kill(runner.actors[0], no_restart=True)  # work is in flight on it
    finally:
        runner.close()
    assert runner.stats.replaced >= 1
    assert [item.status for item in items].count(ItemStatus.DONE) == 4
    assert all(item.status in (ItemStatus.DONE, ItemStatus.SKIPPED) for item in items)


def test_a_rerun_after_the_driver_stopped_computes_nothing_already_stored(weights, images, tmp_path):
    runner = _runner(weights, tmp_path)
    items = make_items([images])
    run = runner.run(items)
    while sum(item.status == ItemStatus.DONE for item in items) < 2:
        next(run)
    finished = [item.path for item in items if item.status == ItemStatus.DONE]
    run.close()  # the driver stops: images in flight go back to the queue
    runner.close()
    assert finished and all(item.status != ItemStatus.RUNNING for item in items)

    again = _runner(weights, tmp_path)
    dispatched = []
    submit = again._submit
    again._submit = lambda task, *a: (dispatched.append(task.item.path), submit(task, *a))[1]
    items = make_items([images])
    try:
        for _ in again.run(items):
            pass
    finally:
        again.close()
    assert not set(finished) & set(dispatched)
    cached = {item.path for item in items if item.models and all(m.cached for m in item.models.values())}
    assert set(finished) <= cached


def test_ship_images_sends_the_bytes_when_workers_cannot_read_the_paths(weights, images, tmp_path):
    elsewhere = (("/", "/nowhere-on-this-node/"),)
    runner = _runner(weights, tmp_path, path_map=elsewhere)
    items = make_items([images / "img1.png"])
    try:
        list(runner.run(items))
    finally:
        runner.close()
    assert items[0].status == ItemStatus.ERROR and "img1.png: no such file" in items[0].reason

    runner = _runner(weights, tmp_path, path_map=elsewhere, ship_images=True)
    items = make_items([images / "img1.png", images / "img2.png"])
    try:
        list(runner.run(items))
    finally:
        runner.close()
    assert [item.status for item in items] == [ItemStatus.DONE, ItemStatus.DONE]


def test_ctrl_c_cancels_cleanly_and_keeps_what_finished(weights, images, tmp_path, monkeypatch, capsys):
    waits, real_wait = [], ray.wait

    def interrupted_wait(refs, num_returns=1):
        waits.append(1)
        if len(waits) == 3:
            raise KeyboardInterrupt
        return real_wait(refs, num_returns=num_returns)

    monkeypatch.setattr(ray, "wait", interrupted_wait)
    out = tmp_path / "out"
    cluster = ["--cluster", "ray", "--actors", "2", "--actor-threads", "1"]
    assert main(["analyze", str(images), "--out", str(out), *_flags(weights), *cluster]) == 130
    assert "cancelled: the 2 images finished are kept" in capsys.readouterr().err
    kept = json.loads((out / "results.json").read_text())["images"]
    assert len(kept) == 2 and all(image["status"] == "ok" for image in kept)


def test_a_duplicate_whose_twin_failed_on_a_worker_is_analysed_on_its_own(weights, images, tmp_path):
    unreadable, readable = tmp_path / "a", tmp_path / "b"
    unreadable.mkdir(), readable.mkdir()
    shutil.copy(images / "img1.png", unreadable / "img1.png")
    shutil.copy(images / "img1.png", readable / "img1.png")
    runner = _runner(weights, tmp_path, path_map=((str(unreadable), "/nowhere-on-this-node"),))
    items = make_items([unreadable, readable])
    try:
        list(runner.run(items))
    finally:
        runner.close()
    assert items[0].status == ItemStatus.ERROR and "no such file" in items[0].reason
    assert items[1].status == ItemStatus.DONE and items[1].models["dinolizer"].score is not None
