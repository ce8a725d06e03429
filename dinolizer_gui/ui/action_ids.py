"""The names of the window's commands and menus: typed, so that a misspelt one fails where it is written."""

from __future__ import annotations

from enum import StrEnum

from ..core.maps.render import ViewMode
from ..core.session.instrument_views import VIEWS
from ..core.session.viewer_state import AGREEMENT, INPUT, LAYOUT_NAMES
from ..core.store.verdicts import VERDICTS


class ActionId(StrEnum):
    OPEN = "open"
    OPEN_FOLDER = "open_folder"
    NEW_CASE = "new_case"
    OPEN_CASE = "open_case"
    EXPORT_CASE = "export_case"
    CLOSE_CASE = "close_case"
    GROUND_TRUTH = "ground_truth"
    EXPORT = "export"
    NEW_STORE = "new_store"
    QUIT = "quit"
    MODE_OVERLAY = "mode_overlay"
    MODE_HEAT_MAP = "mode_heat_map"
    MODE_MASK = "mode_mask"
    MODE_CONTOURS = "mode_contours"
    MODE_AGREEMENT = "mode_agreement"
    MODE_STABILITY = "mode_stability"
    LAYOUT_THREE = "layout_three"
    LAYOUT_TWO = "layout_two"
    LAYOUT_ONE = "layout_one"
    SWITCH_PAIR = "switch_pair"
    PANEL_INPUT = "panel_input"
    PANEL_DINOLIZER = "panel_dinolizer"
    PANEL_DECLIP = "panel_declip"
    PANEL_AGREEMENT = "panel_agreement"
    FIT = "fit"
    ACTUAL = "actual"
    ZOOM_IN = "zoom_in"
    ZOOM_OUT = "zoom_out"
    ORIGINAL = "original"
    NEXT = "next"
    PREVIOUS = "previous"
    NEXT_FLAGGED = "next_flagged"
    PREVIOUS_FLAGGED = "previous_flagged"
    RUN = "run"
    PAUSE = "pause"
    CANCEL = "cancel"
    CHECK_STABILITY = "check_stability"
    THRESHOLD_UP = "threshold_up"
    THRESHOLD_DOWN = "threshold_down"
    THRESHOLD_UP_MORE = "threshold_up_more"
    THRESHOLD_DOWN_MORE = "threshold_down_more"
    VERDICT_NOT_REVIEWED = "verdict_0"  # by the verdict's place (Alt+1 …)
    VERDICT_NO_MANIPULATION = "verdict_1"
    VERDICT_SUSPICIOUS = "verdict_2"
    VERDICT_MANIPULATED = "verdict_3"
    VERDICT_NOTE = "verdict_note"
    MODELS = "models"
    LOAD_CHECKPOINT = "load_checkpoint"
    WEIGHTS_FOLDER = "weights_folder"
    TRUST_ANCHORS = "trust_anchors"
    SHORTCUTS = "shortcuts"
    CHECK = "check"
    ABOUT = "about"
    TOGGLE_BATCH = "toggle_batch"
    TOGGLE_CONTROLS = "toggle_controls"
    TOGGLE_FILE = "toggle_file"
    TOGGLE_CASE = "toggle_case"
    TOOL_RECTANGLE = "tool_rectangle"  # the examiner's marks
    TOOL_ELLIPSE = "tool_ellipse"
    TOOL_POLYGON = "tool_polygon"
    TOOL_FREEHAND = "tool_freehand"
    TOOL_ARROW = "tool_arrow"
    TOOL_SELECT = "tool_select"
    UNDO = "undo"
    REDO = "redo"
    DELETE_MARK = "delete_mark"
    CATEGORY_MANIPULATED = "category_manipulated"
    CATEGORY_SUSPICIOUS = "category_suspicious"
    CATEGORY_REFERENCE = "category_reference"
    CATEGORY_COMMENT = "category_comment"
    EXPORT_FINDINGS_MASK = "export_findings_mask"
    IMPORT_MASK_AS_MARKS = "import_mask_as_marks"
    TOGGLE_MARKS = "toggle_marks"
    VIEW_ELA = "view_ela"  # an instrument's view in the panel last clicked
    VIEW_NOISE = "view_noise"
    VIEW_NOISE_SIGMA = "view_noise_sigma"
    VIEW_GHOST = "view_ghost"
    VIEW_COPYMOVE = "view_copymove"
    GHOST_QUALITY_DOWN = "ghost_quality_down"
    GHOST_QUALITY_UP = "ghost_quality_up"
    TOGGLE_INSTRUMENTS = "toggle_instruments"


class MenuId(StrEnum):
    """The menu bar's menus, then the submenus the window fills in."""

    FILE = "&File"
    VIEW = "&View"
    ANALYSIS = "&Analysis"
    MARKS = "Mar&ks"
    MODELS = "&Models"
    HELP = "&Help"
    RECENT = "Open &recent"
    DOCKS = "&Docks"
    DEVICE = "&Device"
    PRECISION = "&Precision"
    STRIDE = "DinoLizer &stride"
    CARDS = "Model &cards"


MENU_BAR = (MenuId.FILE, MenuId.VIEW, MenuId.ANALYSIS, MenuId.MARKS, MenuId.MODELS, MenuId.HELP)

# the families of commands, by what they act on (a key the core adds without an id here fails at start)
MODE_ACTIONS = {
    ViewMode.OVERLAY: ActionId.MODE_OVERLAY,
    ViewMode.HEAT_MAP: ActionId.MODE_HEAT_MAP,
    ViewMode.MASK: ActionId.MODE_MASK,
    ViewMode.CONTOURS: ActionId.MODE_CONTOURS,
    ViewMode.AGREEMENT: ActionId.MODE_AGREEMENT,
    ViewMode.STABILITY: ActionId.MODE_STABILITY,
}
LAYOUT_ACTIONS = dict(
    zip(LAYOUT_NAMES, (ActionId.LAYOUT_THREE, ActionId.LAYOUT_TWO, ActionId.LAYOUT_ONE), strict=True)
)
PANEL_ACTIONS = {
    INPUT: ActionId.PANEL_INPUT,
    "dinolizer": ActionId.PANEL_DINOLIZER,
    "declip": ActionId.PANEL_DECLIP,
    AGREEMENT: ActionId.PANEL_AGREEMENT,
}
VERDICT_ACTIONS = dict(
    zip(
        VERDICTS,
        (
            ActionId.VERDICT_NOT_REVIEWED,
            ActionId.VERDICT_NO_MANIPULATION,
            ActionId.VERDICT_SUSPICIOUS,
            ActionId.VERDICT_MANIPULATED,
        ),
        strict=True,
    )
)
INSTRUMENT_VIEW_ACTIONS = {name: ActionId(f"view_{name}") for name in VIEWS}
