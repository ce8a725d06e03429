"""Every command of the window, bound to what it calls, with its place in the menus and on the toolbar, one
module per menu (`file`, `view`, `analysis`, `models_help`; the examiner's marks: `findings_ui`); the submenus
the window fills itself; and how the commands follow the queue and the screen (enabled, checked)."""

from __future__ import annotations

from ...core.session.viewer_state import ViewerState
from ..action_ids import ActionId, MenuId
from ..actions import Actions, MenuPlace, SubmenuSpec
from ..controllers.batch import BatchController
from ..controllers.view import ViewController
from .analysis import analysis_actions
from .file import file_actions
from .models_help import models_and_help_actions
from .view import instrument_actions, view_actions

__all__ = [
    "SUBMENUS",
    "analysis_actions",
    "file_actions",
    "follow_queue_and_screen",
    "instrument_actions",
    "models_and_help_actions",
    "view_actions",
]

SUBMENUS = (
    SubmenuSpec(MenuId.RECENT, MenuPlace(MenuId.FILE, 0)),
    SubmenuSpec(MenuId.DOCKS, MenuPlace(MenuId.VIEW, 2)),
    SubmenuSpec(MenuId.DEVICE, MenuPlace(MenuId.ANALYSIS, 1)),
    SubmenuSpec(MenuId.PRECISION, MenuPlace(MenuId.ANALYSIS, 1)),
    SubmenuSpec(MenuId.STRIDE, MenuPlace(MenuId.ANALYSIS, 1)),
    SubmenuSpec(MenuId.CARDS, MenuPlace(MenuId.MODELS, 0)),
)


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
