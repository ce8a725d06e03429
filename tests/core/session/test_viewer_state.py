"""The viewer state without Qt: checked values, an event per real change, the panels a layout shows, and what
the next start restores."""

import pytest

from dinolizer_gui.core.maps.render import ViewMode
from dinolizer_gui.core.session.settings import Settings, load_settings
from dinolizer_gui.core.session.viewer_state import PanelLayout, ViewerState
from dinolizer_gui.core.session.workspace import Workspace


def test_each_value_is_checked_and_told_only_when_it_changes():
    state = ViewerState()
    heard: list[tuple[str, object]] = []
    for name in ("mode", "colormap", "opacity", "zoom_locked", "original", "layout"):
        getattr(state.events, name).connect(lambda value, name=name: heard.append((name, value)))
    state.mode = ViewMode.MASK
    state.mode = ViewMode("mask")  # the same mode, as a combo box hands it back
    state.colormap = "viridis"
    state.opacity = 1.4  # kept within 0 and 1
    state.opacity = 1.0
    state.zoom_locked = True  # already
    state.original = True
    state.layout = PanelLayout("two", pair="declip")
    state.layout = PanelLayout("two", pair="declip")
    assert heard == [
        ("mode", ViewMode.MASK),
        ("colormap", "viridis"),
        ("opacity", 1.0),
        ("original", True),
        ("layout", PanelLayout("two", "input", "declip")),
    ]
    with pytest.raises(ValueError, match="unknown colour map"):
        state.colormap = "rainbow"
    with pytest.raises(ValueError):
        state.mode = "sepia"  # type: ignore[assignment]
    with pytest.raises(ValueError, match="not a map model"):
        PanelLayout("two", pair="bfree")  # an image-level detector has no panel
    assert state.colormap == "viridis" and len(heard) == 5


def test_a_layout_shows_its_panels_and_agreement_is_one_panel_beside_the_input():
    assert PanelLayout().shown(ViewMode.OVERLAY) == ["input", "dinolizer", "declip"]
    assert PanelLayout().shown(ViewMode.AGREEMENT) == ["input", "agreement"]
    assert PanelLayout("two", pair="declip").shown(ViewMode.MASK) == ["input", "declip"]
    assert PanelLayout("one", "agreement").shown(ViewMode.AGREEMENT) == ["agreement"]


def test_the_workspace_keeps_colour_map_opacity_and_layout_for_the_next_start(tmp_path):
    settings = Settings(colormap="magma", opacity=0.4, panel_layout="one", single_panel="declip")
    workspace = Workspace(settings, tmp_path / "config")
    viewer = workspace.viewer
    assert (viewer.colormap, viewer.opacity, viewer.layout) == ("magma", 0.4, PanelLayout("one", "declip"))
    viewer.colormap, viewer.opacity = "turbo", 0.7
    viewer.layout = PanelLayout("two", pair="declip")
    viewer.mode = ViewMode.CONTOURS  # not kept: every start shows the overlay
    saved = load_settings(tmp_path / "config")
    assert (saved.colormap, saved.opacity) == ("turbo", 0.7)
    assert (saved.panel_layout, saved.single_panel, saved.pair_model) == ("two", "input", "declip")
    restored = Workspace(saved, tmp_path / "config").viewer
    assert restored.layout == viewer.layout and restored.mode is ViewMode.OVERLAY


def test_the_instruments_parameters_are_kept_for_the_next_start_and_wrong_ones_said(tmp_path):
    workspace = Workspace(Settings(), tmp_path / "config")
    views = workspace.viewer.instruments
    workspace.viewer.instruments = views.with_parameters("ela", {"quality": 75}).with_parameters(
        "noise", {"block": 64}
    )
    saved = load_settings(tmp_path / "config")
    restored = Workspace(saved, tmp_path / "config").viewer.instruments
    assert restored.parameters("ela")["quality"] == 75 and restored.parameters("noise")["block"] == 64
    saved.instrument_params = {"ela": {"quality": 7}, "sonar": {}, "noise": {"block": 64}}
    kept = Workspace(saved, tmp_path / "config").viewer.instruments
    assert kept.parameters("ela")["quality"] == 90 and kept.parameters("noise")["block"] == 64  # ela: default
    assert sum("instrument's parameters" in problem for problem in saved.problems) == 2


def test_a_layout_the_settings_name_wrongly_falls_back_to_its_default():
    settings = Settings(panel_layout="nine", single_panel="nowhere", pair_model="bfree")
    assert PanelLayout.from_settings(settings) == PanelLayout()
