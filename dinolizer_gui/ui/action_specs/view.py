"""The View menu's commands: view modes, layouts and single panels, zoom and the original, walking the
images, and the classic instruments' views in the panel last clicked."""

from __future__ import annotations

from collections.abc import Callable

from ...core.maps.render import ViewMode
from ...core.session.instrument_views import VIEWS
from ...core.session.viewer_state import ViewerState
from ..action_ids import (
    INSTRUMENT_VIEW_ACTIONS,
    LAYOUT_ACTIONS,
    MODE_ACTIONS,
    PANEL_ACTIONS,
    ActionId,
    MenuId,
)
from ..actions import ActionSpec, Key, MenuPlace
from ..instrument_views import InstrumentPanels
from ..panels import LAYOUTS, PANEL_TITLES, PanelGrid

VIEW = MenuId.VIEW
MODE_KEYS = {
    ViewMode.OVERLAY: "V",
    ViewMode.HEAT_MAP: "H",
    ViewMode.MASK: "K",
    ViewMode.CONTOURS: "C",
    ViewMode.AGREEMENT: "A",
    ViewMode.STABILITY: "B",
}
LAYOUT_KEYS = {"three": "Ctrl+Shift+3", "two": "Ctrl+Shift+2", "one": "Ctrl+Shift+1"}


def view_actions(
    *, panels: PanelGrid, viewer: ViewerState, step: Callable[[int, bool], None]
) -> list[ActionSpec]:
    return [
        *_mode_actions(viewer),
        *_layout_actions(panels),
        *_zoom_actions(panels, viewer),
        *_walk_actions(step),
    ]


def _mode_actions(viewer: ViewerState) -> list[ActionSpec]:
    def show(mode: ViewMode) -> None:
        viewer.mode = mode

    return [
        ActionSpec(
            MODE_ACTIONS[mode], f"View: {mode.label}", show, (key,), args=(mode,), menu=MenuPlace(VIEW, 0)
        )
        for mode, key in MODE_KEYS.items()
    ]


def _layout_actions(panels: PanelGrid) -> list[ActionSpec]:
    place = MenuPlace(VIEW, 1)
    return [
        *(
            ActionSpec(
                LAYOUT_ACTIONS[name], title, panels.choose, (LAYOUT_KEYS[name],), args=(name,), menu=place
            )
            for name, title in LAYOUTS.items()
        ),
        ActionSpec(
            ActionId.SWITCH_PAIR,
            "&Switch model (two panels)",
            panels.switch_pair,
            ("S",),
            "Two panels: the input and the next model",
            menu=place,
        ),
        *(
            ActionSpec(
                PANEL_ACTIONS[key],
                f"One panel: {title}",
                panels.choose,
                (str(index),),
                args=("one", key),
                menu=place,
            )
            for index, (key, title) in enumerate(PANEL_TITLES.items(), 1)
        ),
    ]


def _zoom_actions(panels: PanelGrid, viewer: ViewerState) -> list[ActionSpec]:
    def show_original(on: bool) -> None:
        viewer.original = on

    place = MenuPlace(VIEW, 3)
    return [
        ActionSpec(
            ActionId.FIT,
            "&Fit",
            panels.fit,
            ("Ctrl+0",),
            "Fit the image in the panels",
            "fit",
            menu=place,
            toolbar=1,
        ),
        ActionSpec(
            ActionId.ACTUAL,
            "&100 %",
            panels.actual_size,
            ("Ctrl+1",),
            "One image pixel per screen pixel",
            "actual",
            menu=place,
            toolbar=1,
        ),
        ActionSpec(
            ActionId.ZOOM_IN, "Zoom &in", panels.zoom, (Key.ZoomIn, "Ctrl+="), args=(1.25,), menu=place
        ),
        ActionSpec(ActionId.ZOOM_OUT, "Zoom &out", panels.zoom, (Key.ZoomOut,), args=(0.8,), menu=place),
        ActionSpec(
            ActionId.ORIGINAL,
            "&Original",
            show_original,
            ("O",),
            "Show the original in place of the overlays (or hold Space)",
            "original",
            checkable=True,
            menu=place,
            toolbar=1,
        ),
    ]


def _walk_actions(step: Callable[[int, bool], None]) -> list[ActionSpec]:
    place = MenuPlace(VIEW, 3)
    return [
        ActionSpec(ActionId.NEXT, "&Next image", step, ("PgDown", "Ctrl+Right"), args=(1, False), menu=place),
        ActionSpec(
            ActionId.PREVIOUS, "&Previous image", step, ("PgUp", "Ctrl+Left"), args=(-1, False), menu=place
        ),
        ActionSpec(ActionId.NEXT_FLAGGED, "Next &flagged", step, ("Alt+Down",), args=(1, True), menu=place),
        ActionSpec(
            ActionId.PREVIOUS_FLAGGED, "Previous f&lagged", step, ("Alt+Up",), args=(-1, True), menu=place
        ),
    ]


def instrument_actions(instruments: InstrumentPanels) -> list[ActionSpec]:
    """The classic instruments' views, each in the panel last clicked (its key again: the panel's own
    picture), and the JPEG ghost's quality shown."""
    place = MenuPlace(VIEW, 4)
    return [
        *(
            ActionSpec(
                INSTRUMENT_VIEW_ACTIONS[name],
                f"Instrument: {view.label}",
                instruments.toggle,
                (view.key,),
                "Show it in the panel last clicked; again: the panel's own picture (Instruments dock: its "
                "parameters and how to read it)",
                args=(name,),
                menu=place,
            )
            for name, view in VIEWS.items()
        ),
        ActionSpec(
            ActionId.GHOST_QUALITY_DOWN,
            "JPEG ghost: quality -5",
            instruments.step_ghost,
            (",",),
            args=(-1,),
            menu=place,
        ),
        ActionSpec(
            ActionId.GHOST_QUALITY_UP,
            "JPEG ghost: quality +5",
            instruments.step_ghost,
            (".",),
            args=(1,),
            menu=place,
        ),
    ]
