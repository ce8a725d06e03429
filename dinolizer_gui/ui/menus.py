"""The submenus the window fills in: the settings (device, precision, DinoLizer stride) as exclusive
choices, the docks and the model cards."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget, QMenu, QWidget

from ..core.models.registry import titles
from ..core.session.settings import Settings
from .actions import choice_menu

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
STRIDES = ((128, "128 (official)"), (256, "256 (faster, not official)"), (504, "504 (fastest, not official)"))


def settings_menus(
    parent: QWidget, settings: Settings, choose: Callable[[str, object], None]
) -> dict[str, QMenu]:
    """The submenus by name; choosing calls `choose(setting, value)`."""
    return {
        name: choice_menu(parent, title, choices, getattr(settings, name), lambda v, n=name: choose(n, v))
        for name, title, choices in (
            ("device", "&Device", DEVICES),
            ("precision", "&Precision", PRECISIONS),
            ("stride", "DinoLizer &stride", STRIDES),
        )
    }


def docks_menu(
    parent: QWidget, docks: dict[str, tuple[QDockWidget, str]]
) -> tuple[QMenu, dict[str, QAction]]:
    """Show or hide each dock (name: (dock, shortcut)); the toggles, to list with the other shortcuts."""
    menu, toggles = QMenu("&Docks", parent), {}
    for name, (dock, key) in docks.items():
        toggle = dock.toggleViewAction()
        toggle.setShortcut(key)
        menu.addAction(toggle)
        toggles[f"toggle_{name}"] = toggle
    return menu, toggles


def cards_menu(parent: QWidget, show_card: Callable[[str], None]) -> QMenu:
    menu = QMenu("Model &cards", parent)
    for name, title in titles().items():
        menu.addAction(title, partial(show_card, name))
    return menu
