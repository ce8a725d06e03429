"""The thresholds have one owner (the session's `Thresholds`): a change made there alone reaches the panels,
the dock, the batch table, the regions and the next export."""

import numpy as np
import pytest

from dinolizer_gui.core.maps.render import ViewMode
from dinolizer_gui.core.session.settings import Settings, load_settings
from dinolizer_gui.core.session.thresholds import Thresholds
from dinolizer_gui.core.session.workspace import Workspace
from tests.ui.helpers import analysed, cell, export, layer_pixels


def test_the_owner_moves_one_or_every_threshold_and_tells_who_listens_of_real_changes_only():
    owner = Thresholds()
    moved, linked = [], []
    owner.events.moved.connect(moved.append)
    owner.events.linked.connect(linked.append)
    assert owner.of("dinolizer") == owner.of("declip") == 0.5  # the registry's default, its only copy
    assert owner.move("dinolizer", 1.7) == 1.0  # kept within 0 and 1
    assert owner.move("dinolizer", 1.0) == 1.0  # no change: nobody is told
    owner.set_linked(True)
    owner.set_linked(True)
    assert owner.move("declip", 0.41234) == 0.412
    assert owner.all() == {"dinolizer": 0.412, "declip": 0.412}
    assert moved == [{"dinolizer"}, {"dinolizer", "declip"}] and linked == [True]
    owner.reset(0.3)  # a run's fixed thresholds: in place, unlinked
    assert owner.all() == {"dinolizer": 0.3, "declip": 0.3} and not owner.linked
    assert moved[-1] == {"dinolizer", "declip"} and linked == [True, False]


def test_a_sessions_own_thresholds_change_the_owner_in_place_and_are_never_saved(tmp_path):
    workspace = Workspace(Settings(), tmp_path / "config")
    owner, moved = workspace.thresholds, []
    owner.events.moved.connect(moved.append)
    owner.move("declip", 0.6)
    assert load_settings(tmp_path / "config").thresholds["declip"] == 0.6
    workspace.use_thresholds(0.25)  # analyze --threshold 0.25
    assert workspace.thresholds is owner and moved[-1] == {"dinolizer", "declip"}  # its listeners follow
    assert owner.all() == {"dinolizer": 0.25, "declip": 0.25}
    owner.move("dinolizer", 0.9)
    assert load_settings(tmp_path / "config").thresholds == {"dinolizer": 0.5, "declip": 0.6}
    workspace.use_thresholds(None)
    assert owner.all() == {"dinolizer": 0.5, "declip": 0.5}


def test_a_change_at_the_owner_alone_reaches_panels_dock_table_regions_and_export(
    qtbot, window, weights, photo, tmp_path
):
    analysed(qtbot, window, weights, photo)
    window.workspace.viewer.mode = ViewMode.MASK
    qtbot.waitUntil(lambda: window.controls.regions.rowCount() > 0, timeout=10000)
    before = layer_pixels(window.panels[1])

    def at_new_threshold(_document, summaries) -> bool:  # not a refresh still running from before the move
        return "dinolizer" in summaries and summaries["dinolizer"].threshold == 0.7

    with qtbot.waitSignal(
        window.thresholds.regionsReady, timeout=10000, check_params_cb=at_new_threshold
    ) as regions:
        window.workspace.thresholds.move("dinolizer", 0.7)  # not through any widget
    result = window.view.current.models["dinolizer"]
    mask = result.probability >= 0.7
    assert result.threshold == 0.7 and np.array_equal(result.mask(), mask)
    assert not np.array_equal(layer_pixels(window.panels[1]), before)  # the panel shows the new mask
    assert window.controls.threshold["dinolizer"].value() == 0.7
    assert window.controls.threshold["dinolizer"].marked.text().endswith("at 0.7")
    assert cell(window, photo, "DinoLizer marked") == f"{mask.mean():.2%} at 0.7"
    _, summaries = regions.args
    assert summaries["dinolizer"].threshold == 0.7
    assert sum(r.area_pixels for r in summaries["dinolizer"].regions) == mask.sum()
    assert window.settings.thresholds["dinolizer"] == 0.7  # kept for the next start
    report = export(qtbot, window, tmp_path / "export")
    assert report["analysis"]["parameters"]["thresholds"]["dinolizer"] == 0.7
    entry = report["images"][0]["models"]["dinolizer"]
    assert entry["threshold"] == 0.7 and entry["marked_area"] == pytest.approx(mask.mean(), abs=1e-6)
