"""The viewer's controllers driven without building a window."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QThreadPool

from dinolizer_gui.core.session.batch import ItemStatus
from dinolizer_gui.core.session.settings import Settings
from dinolizer_gui.core.session.workspace import Workspace
from dinolizer_gui.core.store.results import ResultStore
from dinolizer_gui.ui.controllers.batch import BatchController
from dinolizer_gui.ui.controllers.thresholds import ThresholdsController
from dinolizer_gui.ui.controllers.view import ViewController


@pytest.fixture(autouse=True)
def workers_finish(qtbot):
    """Controllers here have no window to wait for their workers: the test does, before they are deleted."""
    yield
    QThreadPool.globalInstance().waitForDone(30_000)


@pytest.fixture()
def workspace(tmp_path, weights):
    files, _ = weights
    store = ResultStore(tmp_path / "store")
    space = Workspace(Settings(device="cpu"), tmp_path / "config", tmp_path / "no-weights", store)
    space.set_model_files("dinolizer", [files["release"]])
    return space


@pytest.fixture()
def folder(tmp_path):
    case = tmp_path / "case"
    case.mkdir()
    for seed in range(2):
        rng = np.random.default_rng(seed)
        Image.fromarray(rng.integers(0, 256, (90, 120, 3), dtype=np.uint8)).save(case / f"img{seed}.png")
    return case


def _controllers(workspace):
    batch = BatchController(workspace, lambda: view)
    view = ViewController(workspace, batch)
    return batch, view


def test_batch_controller_runs_the_queue_and_reports_progress(qtbot, workspace, folder):
    batch, _ = _controllers(workspace)
    texts = []
    batch.progressed.connect(lambda text, done, total: texts.append(text))
    assert [Path(item.path).name for item in batch.add([str(folder)])] == ["img0.png", "img1.png"]
    assert batch.add([str(folder)]) and len(batch.items) == 2  # known images are not queued twice
    assert batch.pause(True) is False  # nothing to pause yet
    with qtbot.waitSignal(batch.runningChanged, check_params_cb=lambda running: not running, timeout=60000):
        batch.start()
    assert [item.status for item in batch.items] == [ItemStatus.DONE, ItemStatus.DONE]
    assert batch.started_count == 1 and any(text.startswith("Image 2 of 2") for text in texts)
    flagged = sum(item.flagged for item in batch.items)
    assert batch.counts_text() == f"2 images: 2 done ({flagged} flagged), 0 errors, 0 duplicates, 0 queued"
    assert batch.rerun(batch.items[0].path) == ""
    qtbot.waitUntil(lambda: not batch.running, timeout=60000)
    assert batch.started_count == 2 and batch.items[0].status == ItemStatus.DONE
    assert not batch.items[0].models["dinolizer"].cached  # computed again, not read from the store


def test_view_controller_shows_the_wanted_image_and_ignores_stale_ones(qtbot, workspace, folder):
    batch, view = _controllers(workspace)
    items = batch.add([str(folder)])
    shown = []
    view.displayed.connect(shown.append)
    view.show(items[1].path)
    qtbot.waitUntil(lambda: view.current is not None and view.worker is None, timeout=10000)
    assert view.current.path == items[1].path and not view.current.models  # queued: the input alone
    assert workspace.settings.recent_files[0] == items[1].path
    stale = view.current
    view.offer(stale, items[0].path)  # not the image wanted any more
    assert len(shown) == 1
    with qtbot.waitSignal(view.analysisFinished, timeout=60000):
        batch.start()
    assert view.current.path == items[1].path and set(view.current.models) == {"dinolizer"}


def test_thresholds_controller_computes_the_shown_images_regions_after_each_move(qtbot, workspace, folder):
    batch, view = _controllers(workspace)
    thresholds = ThresholdsController(workspace.thresholds, view)
    owner = workspace.thresholds
    item = batch.add([str(folder)])[0]
    view.show(item.path)
    with qtbot.waitSignal(view.analysisFinished, timeout=60000):
        batch.start()
    moved = []
    owner.events.moved.connect(moved.append)
    owner.move("dinolizer", 0.8)
    assert view.current.models["dinolizer"].threshold == 0.8
    assert workspace.settings.thresholds["declip"] == 0.5
    owner.set_linked(True)
    said = []
    thresholds.said.connect(lambda text, _ms: said.append(text))

    def at_085(_document, summaries) -> bool:  # computed after the move, with no one asking
        return summaries["dinolizer"].threshold == 0.85

    with qtbot.waitSignal(thresholds.regionsReady, timeout=10000, check_params_cb=at_085) as signal:
        thresholds.nudge("dinolizer", 0.05)  # `]` on DinoLizer, both linked: both at 0.8 + 0.05
    assert said == ["Both thresholds: 0.850"]
    assert workspace.settings.thresholds == {"dinolizer": 0.85, "declip": 0.85}
    assert moved == [{"dinolizer"}, {"dinolizer", "declip"}]
    document, summaries = signal.args
    assert document is view.current and summaries["dinolizer"].threshold == 0.85
    mask = view.current.models["dinolizer"].probability >= 0.85
    assert sum(r.area_pixels for r in summaries["dinolizer"].regions) == mask.sum()
