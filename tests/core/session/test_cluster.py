"""`analyze --cluster ray`: a local Ray with 2 CPUs; the driver writes exactly what a local run writes."""

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.cli_run import analyze_args, run_cli

ray = pytest.importorskip("ray", reason="the [cluster] extra (CI installs it)")

from dinolizer_gui.core.session.batch import ItemStatus, make_items  # noqa: E402
from dinolizer_gui.core.session.cluster import ActorPool, ClusterError, ClusterOptions, ClusterRunner  # noqa: E402
from dinolizer_gui.core.session.settings import Settings  # noqa: E402
from dinolizer_gui.core.session.thresholds import Thresholds  # noqa: E402
from dinolizer_gui.core.session.workspace import Workspace  # noqa: E402
from dinolizer_gui.core.store.results import ResultStore  # noqa: E402

FLOAT32 = ("--precision", "float32")


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)  # never another
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


def _comparable(out: Path) -> list:
    images = json.loads((out / "results.json").read_text())["images"]
    for image in images:
        for model in image["models"].values():
            for timing_or_device in ("computed_at", "seconds", "device", "notes", "cached"):
                model.pop(timing_or_device, None)
    return images


def test_a_cluster_run_writes_what_a_local_run_writes(weights, images, tmp_path):
    assert run_cli(*analyze_args(weights, images, tmp_path / "local", "--no-cache", *FLOAT32)).code == 0
    cluster = ["--cluster", "ray", "--actors", "2", "--actor-threads", "1"]
    assert (
        run_cli(*analyze_args(weights, images, tmp_path / "ray", "--no-cache", *FLOAT32, *cluster)).code == 0
    )
    assert _comparable(tmp_path / "ray") == _comparable(tmp_path / "local")
    device = json.loads((tmp_path / "ray" / "results.json").read_text())["device"]
    assert device["used"] == "CPU on 2 Ray actor(s)"
    assert device["precision"] == {"dinolizer": "float32", "declip": "float32"}
    pngs = sorted(p.relative_to(tmp_path / "local") for p in (tmp_path / "local").rglob("*.png"))
    assert len(pngs) >= 4 * 5
    for png in pngs:
        assert (tmp_path / "ray" / png).read_bytes() == (tmp_path / "local" / png).read_bytes(), png


def test_ctrl_c_cancels_cleanly_and_keeps_what_finished(weights, images, tmp_path, monkeypatch):
    waits, real_wait = [], ray.wait

    def interrupted_wait(refs, num_returns=1, **bounds):
        waits.append(1)
        if len(waits) == 3:
            raise KeyboardInterrupt
        return real_wait(refs, num_returns=num_returns, **bounds)

    monkeypatch.setattr(ray, "wait", interrupted_wait)
    out = tmp_path / "out"
    cluster = ["--cluster", "ray", "--actors", "2", "--actor-threads", "1"]
    code, _, err = run_cli(*analyze_args(weights, images, out, *FLOAT32, *cluster))
    assert code == 130
    said = re.search(r"cancelled: the (\d+) images finished are kept", err)
    kept = json.loads((out / "results.json").read_text())["images"]
    assert said and 2 <= len(kept) == int(said[1]) < 5  # two waits answered, then Ctrl+C
    assert all(image["status"] == "ok" or image["path"].endswith("img0_copy.png") for image in kept)


def test_more_actors_than_the_cluster_holds_is_an_error_at_once(weights, images, tmp_path):
    cluster = ["--cluster", "ray", "--actors", "3", "--actor-threads", "1"]
    code, _, err = run_cli(*analyze_args(weights, images, tmp_path / "out", *FLOAT32, *cluster))
    assert code == 2
    assert "3 actor(s) of 1 CPU(s) each need 3 CPUs; the cluster has 2" in err


def _models(weights, folder: Path, store: ResultStore | None = None):
    files, _ = weights
    workspace = Workspace(Settings(device="cpu", precision="float32"), folder / "config", None, store)
    return [workspace.model("dinolizer", [files["release"]])], workspace.options()


@pytest.fixture(scope="module")
def pool(local_ray, weights, tmp_path_factory):
    """Two actors for the runner tests: starting actors (torch, timm, the models) is the slow part. They
    hold both CPUs of the local Ray, so the tests of whole `analyze --cluster` runs come before."""
    models, options = _models(weights, tmp_path_factory.mktemp("pool"))
    pool = ActorPool(models, options, ClusterOptions(actors=2, threads=1))
    yield pool
    pool.close()


def _runner(weights, tmp_path, pool, **cluster):
    store = ResultStore(tmp_path / "store")
    models, options = _models(weights, tmp_path, store)
    settings = ClusterOptions(actors=2, threads=1, **cluster)
    return ClusterRunner(models, options, store, Thresholds(), None, settings, pool)


def test_an_actor_killed_mid_batch_is_replaced_and_its_images_retried(weights, images, tmp_path, pool):
    runner = _runner(weights, tmp_path, pool)
    items = make_items([images])
    for progress in runner.run(items):
        if progress.stage == "finished" and not runner.stats.replaced:
            ray.kill(runner.pool.actors[0], no_restart=True)  # work is in flight on it
    assert runner.stats.replaced >= 1
    assert [item.status for item in items].count(ItemStatus.DONE) == 4, [item.reason for item in items]
    assert all(item.status in (ItemStatus.DONE, ItemStatus.SKIPPED) for item in items)


def test_a_rerun_after_the_driver_stopped_computes_nothing_already_stored(weights, images, tmp_path, pool):
    runner = _runner(weights, tmp_path, pool)
    items = make_items([images])
    run = runner.run(items)
    while sum(item.status == ItemStatus.DONE for item in items) < 2:
        next(run)
    finished = [item.path for item in items if item.status == ItemStatus.DONE]
    run.close()  # the driver stops: images in flight go back to the queue
    assert finished and all(item.status != ItemStatus.RUNNING for item in items)

    again = _runner(weights, tmp_path, pool)
    dispatched = []
    submit = again._submit
    again._submit = lambda task, *a: (dispatched.append(task.item.path), submit(task, *a))[1]
    items = make_items([images])
    for _ in again.run(items):
        pass
    assert not set(finished) & set(dispatched)
    cached = {item.path for item in items if item.models and all(m.cached for m in item.models.values())}
    assert set(finished) <= cached


def test_ship_images_sends_the_bytes_when_workers_cannot_read_the_paths(weights, images, tmp_path, pool):
    elsewhere = (("/", "/nowhere-on-this-node/"),)
    runner = _runner(weights, tmp_path, pool, path_map=elsewhere)
    items = make_items([images / "img1.png"])
    list(runner.run(items))
    assert items[0].status == ItemStatus.ERROR and "img1.png: no such file" in items[0].reason

    runner = _runner(weights, tmp_path, pool, path_map=elsewhere, ship_images=True)
    items = make_items([images / "img1.png", images / "img2.png"])
    list(runner.run(items))
    assert [item.status for item in items] == [ItemStatus.DONE, ItemStatus.DONE]


def test_a_duplicate_whose_twin_failed_on_a_worker_is_analysed_on_its_own(weights, images, tmp_path, pool):
    unreadable, readable = tmp_path / "a", tmp_path / "b"
    unreadable.mkdir(), readable.mkdir()
    shutil.copy(images / "img1.png", unreadable / "img1.png")
    shutil.copy(images / "img1.png", readable / "img1.png")
    runner = _runner(weights, tmp_path, pool, path_map=((str(unreadable), "/nowhere-on-this-node"),))
    items = make_items([unreadable, readable])
    list(runner.run(items))
    assert items[0].status == ItemStatus.ERROR and "no such file" in items[0].reason
    assert items[1].status == ItemStatus.DONE and items[1].models["dinolizer"].score is not None


def test_a_run_refuses_actors_that_hold_other_weights(weights, tmp_path, pool):
    files, _ = weights
    workspace = Workspace(Settings(device="cpu", precision="float32"), tmp_path / "config", None, None)
    other = [workspace.model("declip", [files["declip"]])]
    with pytest.raises(ClusterError, match="other weights"):
        ClusterRunner(other, workspace.options(), None, Thresholds(), None, ClusterOptions(), pool)


def test_actors_that_cannot_start_in_time_are_an_error_and_are_stopped(weights, tmp_path, pool, monkeypatch):
    from dinolizer_gui.core.session.cluster import pool as actor_pool

    monkeypatch.setattr(actor_pool, "ACTOR_START_SECONDS", 2)  # the shared pool holds both CPUs meanwhile
    killed, kill = [], ray.kill
    monkeypatch.setattr(ray, "kill", lambda actor, **how: (killed.append(actor), kill(actor, **how)))
    models, options = _models(weights, tmp_path)
    with pytest.raises(ClusterError, match="did not start within 2 s"):
        ActorPool(models, options, ClusterOptions(actors=1, threads=1))
    assert len(killed) == 1  # the waiting actor does not linger to take the CPUs later
