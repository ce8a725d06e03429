"""The Analysis menu's commands: run, pause and cancel the queue, check stability, nudge the thresholds,
record a verdict."""

from __future__ import annotations

from ...core.store.verdicts import VERDICTS
from ..action_ids import VERDICT_ACTIONS, ActionId, MenuId
from ..actions import ActionSpec, MenuPlace
from ..controllers.batch import BatchController
from ..controllers.thresholds import ThresholdsController
from ..controllers.verdicts import VerdictController
from ..controllers.view import ViewController
from ..dialogs import Dialogs
from ..docks.controls import ControlsDock
from ..panels import PanelGrid

ANALYSIS = MenuId.ANALYSIS


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
