"""Every command of the window, bound to what it calls, with its place in the menus and on the toolbar; and
how the commands follow the queue and the screen (enabled, checked)."""

from __future__ import annotations

from collections.abc import Callable

from ..core.maps.render import ViewMode
from ..core.session.instrument_views import VIEWS
from ..core.session.viewer_state import ViewerState
from ..core.store.verdicts import VERDICTS
from .action_ids import (
    INSTRUMENT_VIEW_ACTIONS,
    LAYOUT_ACTIONS,
    MODE_ACTIONS,
    PANEL_ACTIONS,
    VERDICT_ACTIONS,
    ActionId,
    MenuId,
)
from .actions import Actions, ActionSpec, Key, MenuPlace, SubmenuSpec
from .controllers.batch import BatchController
from .controllers.case import CaseController
from .controllers.thresholds import ThresholdsController
from .controllers.verdicts import VerdictController
from .controllers.view import ViewController
from .dialogs import Dialogs
from .docks.controls import ControlsDock
from .instrument_views import InstrumentPanels
from .panels import LAYOUTS, PANEL_TITLES, PanelGrid

FILE, VIEW, ANALYSIS, MODELS, HELP = MenuId.FILE, MenuId.VIEW, MenuId.ANALYSIS, MenuId.MODELS, MenuId.HELP
MODE_KEYS = {
    ViewMode.OVERLAY: "V",
    ViewMode.HEAT_MAP: "H",
    ViewMode.MASK: "K",
    ViewMode.CONTOURS: "C",
    ViewMode.AGREEMENT: "A",
    ViewMode.STABILITY: "B",
}
LAYOUT_KEYS = {"three": "Ctrl+Shift+3", "two": "Ctrl+Shift+2", "one": "Ctrl+Shift+1"}
SUBMENUS = (
    SubmenuSpec(MenuId.RECENT, MenuPlace(FILE, 0)),
    SubmenuSpec(MenuId.DOCKS, MenuPlace(VIEW, 2)),
    SubmenuSpec(MenuId.DEVICE, MenuPlace(ANALYSIS, 1)),
    SubmenuSpec(MenuId.PRECISION, MenuPlace(ANALYSIS, 1)),
    SubmenuSpec(MenuId.STRIDE, MenuPlace(ANALYSIS, 1)),
    SubmenuSpec(MenuId.CARDS, MenuPlace(MODELS, 0)),
)


def file_actions(*, dialogs: Dialogs, case: CaseController, quit: Callable[[], object]) -> list[ActionSpec]:
    return [*_open_actions(dialogs), *_case_actions(dialogs, case), *_output_actions(dialogs, quit)]


def _open_actions(dialogs: Dialogs) -> list[ActionSpec]:
    place = MenuPlace(FILE, 0)
    return [
        ActionSpec(
            ActionId.OPEN,
            "&Open…",
            dialogs.open_images,
            (Key.Open,),
            "Open images",
            "open",
            menu=place,
            toolbar=0,
        ),
        ActionSpec(
            ActionId.OPEN_FOLDER,
            "Open &folder…",
            dialogs.open_folder,
            ("Ctrl+Shift+O",),
            "Open every image in a folder",
            "folder",
            menu=place,
            toolbar=0,
        ),
    ]


def _case_actions(dialogs: Dialogs, case: CaseController) -> list[ActionSpec]:
    place = MenuPlace(FILE, 1)
    return [
        ActionSpec(
            ActionId.NEW_CASE,
            "&New case…",
            dialogs.new_case,
            tip="A case: evidence, results and a log",
            menu=place,
        ),
        ActionSpec(ActionId.OPEN_CASE, "Open &case…", dialogs.open_case, ("Ctrl+Shift+K",), menu=place),
        ActionSpec(ActionId.EXPORT_CASE, "Export case &package…", dialogs.export_case, menu=place),
        ActionSpec(ActionId.CLOSE_CASE, "C&lose case", case.close, menu=place),
    ]


def _output_actions(dialogs: Dialogs, quit: Callable[[], object]) -> list[ActionSpec]:
    def place(group: int) -> MenuPlace:
        return MenuPlace(FILE, group)

    return [
        ActionSpec(
            ActionId.GROUND_TRUTH,
            "Load &ground truth…",
            dialogs.load_ground_truth,
            tip="A mask of the manipulated pixels: its outline on every panel, each model's IoU, F1 and AP",
            menu=place(2),
        ),
        ActionSpec(
            ActionId.EXPORT,
            "&Export report…",
            dialogs.export_report,
            ("Ctrl+E",),
            "PDF, JSON and HTML reports with full-resolution masks and maps",
            "export",
            menu=place(3),
            toolbar=2,
        ),
        ActionSpec(
            ActionId.NEW_STORE,
            "Use a new results &store…",
            dialogs.new_store,
            tip="An empty results store in a folder you choose, used from now on (the old one is damaged)",
            menu=place(3),
        ),
        ActionSpec(ActionId.QUIT, "&Quit", quit, (Key.Quit,), menu=place(4)),
    ]


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


def analysis_actions(
    *,
    view: ViewController,
    batch: BatchController,
    dialogs: Dialogs,
    thresholds: ThresholdsController,
    panels: PanelGrid,
    verdicts: VerdictController,
    controls: ControlsDock,
) -> list[ActionSpec]:
    return [
        *_queue_actions(view, batch, dialogs),
        *_threshold_actions(thresholds, panels),
        *_verdict_actions(verdicts, controls),
    ]


def _queue_actions(view: ViewController, batch: BatchController, dialogs: Dialogs) -> list[ActionSpec]:
    place = MenuPlace(ANALYSIS, 0)
    return [
        ActionSpec(
            ActionId.RUN,
            "&Run",
            view.analyse_again,
            ("F5",),
            "Analyse the current image again with the current settings and weights",
            "run",
            menu=place,
            toolbar=0,
        ),
        ActionSpec(
            ActionId.PAUSE,
            "&Pause",
            batch.pause,
            ("Ctrl+P",),
            "Pause the batch after the current batch of windows",
            "pause",
            checkable=True,
            menu=place,
            toolbar=0,
        ),
        ActionSpec(
            ActionId.CANCEL,
            "&Cancel",
            batch.cancel,
            ("Esc",),
            "Cancel the batch; the image being analysed returns to the queue",
            "cancel",
            menu=place,
            toolbar=0,
        ),
        ActionSpec(
            ActionId.CHECK_STABILITY,
            "Check &stability…",
            dialogs.check_stability,
            ("Ctrl+Shift+B",),
            "Analyse the image on screen (or the selected images) again under benign changes — JPEG 90 "
            "and 75, a 75 % resize, a shifted window grid — and show how much each region survives "
            "(View › Stability)",
            menu=place,
        ),
    ]


def _threshold_actions(thresholds: ThresholdsController, panels: PanelGrid) -> list[ActionSpec]:
    def nudge(delta: float) -> None:
        """`]` / `[`: the threshold of the model panel last clicked, or both when they are linked."""
        thresholds.nudge(panels.active_model, delta)

    place = MenuPlace(ANALYSIS, 1)
    return [
        ActionSpec(ActionId.THRESHOLD_UP, "Threshold +0.01", nudge, ("]",), args=(0.01,), menu=place),
        ActionSpec(ActionId.THRESHOLD_DOWN, "Threshold -0.01", nudge, ("[",), args=(-0.01,), menu=place),
        ActionSpec(
            ActionId.THRESHOLD_UP_MORE, "Threshold +0.05", nudge, ("Shift+]",), args=(0.05,), menu=place
        ),
        ActionSpec(
            ActionId.THRESHOLD_DOWN_MORE, "Threshold -0.05", nudge, ("Shift+[",), args=(-0.05,), menu=place
        ),
    ]


def _verdict_actions(verdicts: VerdictController, controls: ControlsDock) -> list[ActionSpec]:
    place = MenuPlace(ANALYSIS, 2)
    return [
        *(
            ActionSpec(
                VERDICT_ACTIONS[verdict],
                f"Verdict: {verdict}",
                verdicts.record_shown,
                (f"Alt+{index + 1}",),
                "Your verdict on the image on screen, kept with the image and printed in reports",
                args=(verdict,),
                menu=place,
            )
            for index, verdict in enumerate(VERDICTS)
        ),
        ActionSpec(
            ActionId.VERDICT_NOTE,
            "Edit verdict &note",
            controls.focus_note,
            ("N",),
            "Your note on the image on screen",
            menu=place,
        ),
    ]


def models_and_help_actions(*, dialogs: Dialogs) -> list[ActionSpec]:
    return [
        ActionSpec(
            ActionId.MODELS,
            "&Manage models…",
            dialogs.manage_models,
            ("Ctrl+M",),
            "Download, import, verify and choose the official weights",
            "models",
            menu=MenuPlace(MODELS, 0),
            toolbar=2,
        ),
        ActionSpec(
            ActionId.LOAD_CHECKPOINT,
            "Load checkpoint &files for this session…",
            dialogs.load_checkpoint,
            menu=MenuPlace(MODELS, 0),
        ),
        ActionSpec(
            ActionId.WEIGHTS_FOLDER,
            "Choose weights &folder…",
            dialogs.choose_weights_folder,
            menu=MenuPlace(MODELS, 0),
        ),
        ActionSpec(
            ActionId.TRUST_ANCHORS,
            "Content Credentials &trust anchors…",
            dialogs.trust_anchors,
            tip="A folder of PEM certificates: a signer is called trusted only when its chain reaches one",
            menu=MenuPlace(MODELS, 1),
        ),
        ActionSpec(ActionId.SHORTCUTS, "&Keyboard shortcuts", dialogs.shortcuts, menu=MenuPlace(HELP)),
        ActionSpec(
            ActionId.CHECK,
            "&Check installation…",
            dialogs.check_installation,
            tip="Analyse a bundled sample with a small test checkpoint; show versions, device and folders",
            menu=MenuPlace(HELP),
        ),
        ActionSpec(ActionId.ABOUT, "&About", dialogs.about, menu=MenuPlace(HELP)),
    ]


def follow_queue_and_screen(
    actions: Actions, view: ViewController, batch: BatchController, viewer: ViewerState
) -> None:
    """F5 needs an image on screen; pause and cancel a running batch; Original shows whether it is shown."""
    run, pause, cancel = actions[ActionId.RUN], actions[ActionId.PAUSE], actions[ActionId.CANCEL]

    def enable(*_: object) -> None:
        run.setEnabled(view.wanted_path is not None)  # F5 says why it cannot
        for action in (pause, cancel):
            action.setEnabled(batch.running)

    for signal in (view.loading, view.idle, batch.runningChanged):
        signal.connect(enable)
    batch.pausedChanged.connect(pause.setChecked)
    viewer.events.original.connect(actions[ActionId.ORIGINAL].setChecked)
    enable()
