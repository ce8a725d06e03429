"""The Models and Help menus' commands: manage models, checkpoint files and folders, trust anchors;
shortcuts, the installation check, about."""

from __future__ import annotations

from ..action_ids import ActionId, MenuId
from ..actions import ActionSpec, MenuPlace
from ..dialogs import Dialogs

MODELS, HELP = MenuId.MODELS, MenuId.HELP


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
