"""The submenus the window fills in: the settings (device, precision, DinoLizer stride) as exclusive choices,
the recent files, the docks and the model cards."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from typing import TypeVar

from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QDockWidget, QMenu, QWidget

from ..core.models.registry import titles
from ..core.session.workspace import Workspace
from .action_ids import ActionId, MenuId
from .controllers.view import ViewController

DEVICES = (
    ("auto", "Automatic: a GPU if there is one, else the CPU"),
    ("cpu", "CPU"),
    ("cuda", "NVIDIA GPU (CUDA)"),
    ("mps", "Apple GPU (MPS)"),
)
PRECISIONS = (
    ("auto", "Automatic: per model, the fastest that keeps its official output (float32 on CPUs)"),
    ("float32", "float32: the official maps exactly"),
    ("bfloat16", "bfloat16 (beyond some models' fidelity bar: said in the results)"),
    ("float16", "float16 (GPUs only; beyond some models' fidelity bar)"),
)
T = TypeVar("T")
STRIDES = ((128, "128 (official)"), (256, "256 (faster, not official)"), (504, "504 (fastest, not official)"))


def choice_menu(
    parent: QWidget,
    title: str,
    choices: Iterable[tuple[T, str]],
    current: T,
    choose: Callable[[T], None],
) -> QMenu:
    """A submenu of exclusive (value, label) choices, the current one checked; a click calls `choose`."""
    menu, group = QMenu(title, parent), QActionGroup(parent)
    for value, label in choices:
        action = QAction(label, parent, checkable=True, checked=value == current)
        action.triggered.connect(lambda _=False, v=value: choose(v))
        group.addAction(action)
        menu.addAction(action)
    return menu


def settings_menus(
    parent: QWidget, workspace: Workspace, device_changed: Callable[[], None]
) -> dict[MenuId, QMenu]:
    """The device, precision and stride submenus; a choice is saved at once (a device or precision chosen
    calls `device_changed`)."""
    settings = workspace.settings

    def device(value: str) -> None:
        settings.device = value
        workspace.save()
        device_changed()

    def precision(value: str) -> None:
        settings.precision = value
        workspace.save()
        device_changed()

    def stride(value: int) -> None:
        settings.stride = value
        workspace.save()

    return {
        MenuId.DEVICE: choice_menu(parent, MenuId.DEVICE.value, DEVICES, settings.device, device),
        MenuId.PRECISION: choice_menu(
            parent, MenuId.PRECISION.value, PRECISIONS, settings.precision, precision
        ),
        MenuId.STRIDE: choice_menu(parent, MenuId.STRIDE.value, STRIDES, settings.stride, stride),
    }


class RecentMenu(QMenu):
    """File › Open recent: the images opened last (the view controller keeps the list), one click away."""

    def __init__(
        self,
        workspace: Workspace,
        view: ViewController,
        open_paths: Callable[[list[str]], None],
        parent: QWidget,
    ):
        super().__init__(MenuId.RECENT.value, parent)
        self.settings, self.open_paths = workspace.settings, open_paths
        view.recentChanged.connect(self.fill)
        self.fill()

    def fill(self) -> None:
        self.clear()
        for path in self.settings.recent_files:
            self.addAction(path, partial(self.open_paths, [path]))
        self.setEnabled(bool(self.settings.recent_files))


def docks_menu(
    parent: QWidget, docks: dict[ActionId, tuple[QDockWidget, str]]
) -> tuple[QMenu, dict[ActionId, QAction]]:
    """Show or hide each dock ((dock, shortcut) by its toggle's id); the toggles, to list with the other
    shortcuts."""
    menu, toggles = QMenu(MenuId.DOCKS.value, parent), {}
    for action_id, (dock, key) in docks.items():
        toggle = dock.toggleViewAction()
        toggle.setShortcut(key)
        menu.addAction(toggle)
        toggles[action_id] = toggle
    return menu, toggles


def cards_menu(parent: QWidget, show_card: Callable[[str], None]) -> QMenu:
    menu = QMenu(MenuId.CARDS.value, parent)
    for name, title in titles().items():
        menu.addAction(title, partial(show_card, name))
    return menu
