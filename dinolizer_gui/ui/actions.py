"""The window's commands as data: menus, toolbar and the keyboard-shortcuts help are all built from here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu, QWidget

from ..core.maps.render import ViewMode
from ..core.models.registry import map_titles
from ..core.store.verdicts import VERDICTS
from .panels import AGREEMENT, LAYOUTS
from .qimages import load_icon

if TYPE_CHECKING:
    from .main_window import MainWindow

Key = QKeySequence.StandardKey


PANEL_TITLES = {"input": "Input", **map_titles(), AGREEMENT: "Agreement"}
MODE_KEYS = {
    ViewMode.OVERLAY: "V",
    ViewMode.HEAT_MAP: "H",
    ViewMode.MASK: "K",
    ViewMode.CONTOURS: "C",
    ViewMode.AGREEMENT: "A",
    ViewMode.STABILITY: "B",
}


@dataclass(frozen=True)
class ActionSpec:
    id: str
    text: str
    slot: Callable[..., object]  # called with `args` (and the checked state of a checkable action)
    shortcuts: tuple[str | QKeySequence.StandardKey, ...] = ()
    tip: str = ""
    icon: str = ""
    checkable: bool = False
    args: tuple = ()  # passed to the slot before the checked state of a checkable action


def action_specs(window: MainWindow) -> tuple[ActionSpec, ...]:
    """Every command of the window, bound to what it calls."""
    w = window

    def nudge(delta: float) -> None:
        """`]` / `[`: the threshold of the model panel last clicked, or both when they are linked."""
        w.status.showMessage(w.thresholds.nudge(w.panel_grid.active_model, delta), 4000)

    return (
        ActionSpec("open", "&Open…", w.dialogs.open_images, (Key.Open,), "Open images", "open"),
        ActionSpec(
            "open_folder",
            "Open &folder…",
            w.dialogs.open_folder,
            ("Ctrl+Shift+O",),
            "Open every image in a folder",
            "folder",
        ),
        ActionSpec(
            "export",
            "&Export report…",
            w.dialogs.export_report,
            ("Ctrl+E",),
            "PDF, JSON and HTML reports with full-resolution masks and maps",
            "export",
        ),
        ActionSpec("new_case", "&New case…", w.dialogs.new_case, tip="A case: evidence, results and a log"),
        ActionSpec("open_case", "Open &case…", w.dialogs.open_case, ("Ctrl+Shift+K",)),
        ActionSpec("export_case", "Export case &package…", w.dialogs.export_case),
        ActionSpec("close_case", "C&lose case", w.case.close),
        ActionSpec(
            "ground_truth",
            "Load &ground truth…",
            w.dialogs.load_ground_truth,
            tip="A mask of the manipulated pixels: its outline on every panel, each model's IoU, F1 and AP",
        ),
        ActionSpec(
            "new_store",
            "Use a new results &store…",
            w.dialogs.new_store,
            tip="An empty results store in a folder you choose, used from now on (the old one is damaged)",
        ),
        ActionSpec("quit", "&Quit", w.close, (Key.Quit,)),
        ActionSpec("fit", "&Fit", w.panel_grid.fit, ("Ctrl+0",), "Fit the image in the panels", "fit"),
        ActionSpec(
            "actual",
            "&100 %",
            w.panel_grid.actual_size,
            ("Ctrl+1",),
            "One image pixel per screen pixel",
            "actual",
        ),
        ActionSpec("zoom_in", "Zoom &in", w.panel_grid.zoom, (Key.ZoomIn, "Ctrl+="), args=(1.25,)),
        ActionSpec("zoom_out", "Zoom &out", w.panel_grid.zoom, (Key.ZoomOut,), args=(0.8,)),
        ActionSpec(
            "original",
            "&Original",
            w.show_original,
            ("O",),
            "Show the original in place of the overlays (or hold Space)",
            "original",
            checkable=True,
        ),
        *(
            ActionSpec(f"layout_{name}", title, w.panel_grid.choose, (f"Ctrl+Shift+{key}",), args=(name,))
            for key, (name, title) in zip((3, 2, 1), LAYOUTS.items(), strict=True)
        ),
        ActionSpec(
            "switch_pair",
            "&Switch model (two panels)",
            w.panel_grid.switch_pair,
            ("S",),
            "Two panels: the input and the next model",
        ),
        *(
            ActionSpec(
                f"panel_{key}", f"One panel: {title}", w.panel_grid.choose, (str(index),), args=("one", key)
            )
            for index, (key, title) in enumerate(PANEL_TITLES.items(), 1)
        ),
        *(
            ActionSpec(
                f"mode_{mode.name.lower()}",
                f"View: {mode.label}",
                lambda m: w.toolbar.set_mode(m),
                (key,),
                args=(mode,),
            )
            for mode, key in MODE_KEYS.items()
        ),
        ActionSpec("next", "&Next image", w.step, ("PgDown", "Ctrl+Right"), args=(1,)),
        ActionSpec("previous", "&Previous image", w.step, ("PgUp", "Ctrl+Left"), args=(-1,)),
        ActionSpec("next_flagged", "Next &flagged", w.step, ("Alt+Down",), args=(1, True)),
        ActionSpec("previous_flagged", "Previous f&lagged", w.step, ("Alt+Up",), args=(-1, True)),
        ActionSpec(
            "run",
            "&Run",
            w.run_analysis,
            ("F5",),
            "Analyse the current image again with the current settings and weights",
            "run",
        ),
        ActionSpec(
            "pause",
            "&Pause",
            w.pause,
            ("Ctrl+P",),
            "Pause the batch after the current batch of windows",
            "pause",
            checkable=True,
        ),
        ActionSpec(
            "cancel",
            "&Cancel",
            w.batch.cancel,
            ("Esc",),
            "Cancel the batch; the image being analysed returns to the queue",
            "cancel",
        ),
        ActionSpec(
            "check_stability",
            "Check &stability…",
            w.dialogs.check_stability,
            ("Ctrl+Shift+B",),
            "Analyse the image on screen (or the selected images) again under benign changes — JPEG 90 "
            "and 75, a 75 % resize, a shifted window grid — and show how much each region survives "
            "(View › Stability)",
        ),
        ActionSpec("threshold_up", "Threshold +0.01", nudge, ("]",), args=(0.01,)),
        ActionSpec("threshold_down", "Threshold -0.01", nudge, ("[",), args=(-0.01,)),
        ActionSpec("threshold_up_more", "Threshold +0.05", nudge, ("Shift+]",), args=(0.05,)),
        ActionSpec("threshold_down_more", "Threshold -0.05", nudge, ("Shift+[",), args=(-0.05,)),
        *(
            ActionSpec(
                f"verdict_{index}",
                f"Verdict: {verdict}",
                w.record_verdict,
                (f"Alt+{index + 1}",),
                "Your verdict on the image on screen, kept with the image and printed in reports",
                args=(verdict,),
            )
            for index, verdict in enumerate(VERDICTS)
        ),
        ActionSpec(
            "verdict_note",
            "Edit verdict &note",
            w.controls.focus_note,
            ("N",),
            "Your note on the image on screen",
        ),
        ActionSpec(
            "models",
            "&Manage models…",
            w.dialogs.manage_models,
            ("Ctrl+M",),
            "Download, import, verify and choose the official weights",
            "models",
        ),
        ActionSpec("load_checkpoint", "Load checkpoint &files for this session…", w.dialogs.load_checkpoint),
        ActionSpec(
            "trust_anchors",
            "Content Credentials &trust anchors…",
            w.dialogs.trust_anchors,
            tip="A folder of PEM certificates: a signer is called trusted only when its chain reaches one",
        ),
        ActionSpec("weights_folder", "Choose weights &folder…", w.dialogs.choose_weights_folder),
        ActionSpec("shortcuts", "&Keyboard shortcuts", w.dialogs.shortcuts),
        ActionSpec(
            "check",
            "&Check installation…",
            w.dialogs.check_installation,
            tip="Analyse a bundled sample with a small test checkpoint; show versions, device and folders",
        ),
        ActionSpec("about", "&About", w.dialogs.about),
    )


# "-" is a separator, "@name" a submenu the window fills in
MENUS = {
    "&File": (
        "open",
        "open_folder",
        "@recent",
        "-",
        "new_case",
        "open_case",
        "export_case",
        "close_case",
        "-",
        "ground_truth",
        "-",
        "export",
        "new_store",
        "-",
        "quit",
    ),
    "&View": (
        *(f"mode_{mode.name.lower()}" for mode in MODE_KEYS),
        "-",
        *(f"layout_{name}" for name in LAYOUTS),
        "switch_pair",
        *(f"panel_{key}" for key in PANEL_TITLES),
        "-",
        "@docks",
        "-",
        "fit",
        "actual",
        "zoom_in",
        "zoom_out",
        "original",
        "next",
        "previous",
        "next_flagged",
        "previous_flagged",
    ),
    "&Analysis": (
        "run",
        "pause",
        "cancel",
        "check_stability",
        "-",
        "threshold_up",
        "threshold_down",
        "threshold_up_more",
        "threshold_down_more",
        "@device",
        "@precision",
        "@stride",
        "-",
        *(f"verdict_{index}" for index in range(len(VERDICTS))),
        "verdict_note",
    ),
    "&Models": ("models", "load_checkpoint", "weights_folder", "@cards", "-", "trust_anchors"),
    "&Help": ("shortcuts", "check", "about"),
}
TOOLBAR = (
    "open",
    "open_folder",
    "run",
    "pause",
    "cancel",
    "-",
    "fit",
    "actual",
    "original",
    "-",
    "export",
    "models",
)
HELD_KEYS = (("Show the original while held", "Space"),)


def build_actions(window: MainWindow) -> dict[str, QAction]:
    actions = {}
    for spec in action_specs(window):
        action = QAction(spec.text, window, checkable=spec.checkable, toolTip=spec.tip or spec.text)
        if spec.icon:
            action.setIcon(load_icon(spec.icon))
        if spec.shortcuts:
            action.setShortcuts([QKeySequence(key) for key in spec.shortcuts])
        slot = spec.slot
        if spec.checkable:
            action.triggered.connect(lambda on, slot=slot, args=spec.args: slot(*args, on))
        else:
            action.triggered.connect(lambda _=False, slot=slot, args=spec.args: slot(*args))
        window.addAction(action)
        actions[spec.id] = action
    return actions


def build_menus(window: QMainWindow, actions: dict[str, QAction], submenus: dict[str, QMenu]) -> None:
    for title, entries in MENUS.items():
        menu = window.menuBar().addMenu(title)
        for entry in entries:
            if entry == "-":
                menu.addSeparator()
            elif entry.startswith("@"):
                menu.addMenu(submenus[entry[1:]])
            else:
                menu.addAction(actions[entry])


def choice_menu(parent: QWidget, title: str, choices, current, choose) -> QMenu:
    """A submenu of exclusive (value, label) choices, the current one checked; a click calls `choose`."""
    menu, group = QMenu(title, parent), QActionGroup(parent)
    for value, label in choices:
        action = QAction(label, parent, checkable=True, checked=value == current)
        action.triggered.connect(lambda _=False, v=value: choose(v))
        group.addAction(action)
        menu.addAction(action)
    return menu


def shortcut_rows(actions: dict[str, QAction]) -> list[tuple[str, str]]:
    rows = [
        (a.text().replace("&", ""), a.shortcut().toString())
        for a in actions.values()
        if not a.shortcut().isEmpty()
    ]
    return rows + list(HELD_KEYS)
