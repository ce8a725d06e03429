"""The File menu's commands: open images and folders, cases, ground truth, the report, the results store,
quit."""

from __future__ import annotations

from collections.abc import Callable

from ..action_ids import ActionId, MenuId
from ..actions import ActionSpec, Key, MenuPlace
from ..controllers.case import CaseController
from ..dialogs import Dialogs

FILE = MenuId.FILE


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
