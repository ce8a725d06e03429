"""The window's commands as data, as napari's app-model has them: each command declares its id, text, keys,
and where it stands in the menus and on the toolbar; the menus, the toolbar and the keyboard-shortcuts help
are built from those declarations."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QMenuBar, QWidget

from .action_ids import MENU_BAR, ActionId, MenuId
from .qimages import load_icon

Key = QKeySequence.StandardKey
HELD_KEYS = (("Show the original while held", "Space"),)


@dataclass(frozen=True)
class MenuPlace:
    """Where an entry stands: in `menu`, with the entries of its `group` (a separator between two groups),
    in the order declared; a group's submenus come after its commands."""

    menu: MenuId
    group: int = 0


@dataclass(frozen=True)
class ActionSpec:
    id: ActionId
    text: str
    slot: Callable[..., object]  # called with `args` (and the checked state of a checkable action)
    shortcuts: tuple[str | QKeySequence.StandardKey, ...] = ()
    tip: str = ""
    icon: str = ""
    checkable: bool = False
    args: tuple[object, ...] = ()  # passed to the slot before the checked state of a checkable action
    menu: MenuPlace | None = None
    toolbar: int | None = None  # the toolbar's group it stands in; None: not on the toolbar


@dataclass(frozen=True)
class SubmenuSpec:
    id: MenuId  # the window makes the submenu itself (its entries change, or are choices)
    place: MenuPlace


Actions = dict[ActionId, QAction]


def build_actions(parent: QWidget, specs: Iterable[ActionSpec]) -> Actions:
    actions = {}
    for spec in specs:
        action = QAction(spec.text, parent, checkable=spec.checkable, toolTip=spec.tip or spec.text)
        if spec.icon:
            action.setIcon(load_icon(spec.icon))
        if spec.shortcuts:
            action.setShortcuts([QKeySequence(key) for key in spec.shortcuts])
        slot = spec.slot
        if spec.checkable:
            action.triggered.connect(lambda on, slot=slot, args=spec.args: slot(*args, on))
        else:
            action.triggered.connect(lambda _=False, slot=slot, args=spec.args: slot(*args))
        parent.addAction(action)
        actions[spec.id] = action
    return actions


def build_menus(
    menu_bar: QMenuBar,
    actions: Actions,
    specs: Sequence[ActionSpec],
    submenus: Mapping[MenuId, QMenu],
    places: Iterable[SubmenuSpec],
) -> None:
    """The menu bar's menus, each with the commands and submenus that declare a place in it."""
    entries: dict[MenuId, list[tuple[int, int, QAction | QMenu]]] = {menu: [] for menu in MENU_BAR}
    for spec in specs:
        if spec.menu is not None:
            entries[spec.menu.menu].append((spec.menu.group, 0, actions[spec.id]))
    for submenu in places:
        entries[submenu.place.menu].append((submenu.place.group, 1, submenus[submenu.id]))
    for menu_id in MENU_BAR:
        menu, previous = menu_bar.addMenu(menu_id.value), None
        for group, _, entry in sorted(entries[menu_id], key=lambda e: e[:2]):  # stable: declared order kept
            if previous is not None and group != previous:
                menu.addSeparator()
            previous = group
            if isinstance(entry, QMenu):
                menu.addMenu(entry)
            else:
                menu.addAction(entry)


def toolbar_groups(actions: Actions, specs: Iterable[ActionSpec]) -> list[list[QAction]]:
    """The commands on the toolbar, by group, in the order declared."""
    groups: dict[int, list[QAction]] = {}
    for spec in specs:
        if spec.toolbar is not None:
            groups.setdefault(spec.toolbar, []).append(actions[spec.id])
    return [groups[group] for group in sorted(groups)]


def shortcut_rows(actions: Actions) -> list[tuple[str, str]]:
    rows = [
        (a.text().replace("&", ""), a.shortcut().toString())
        for a in actions.values()
        if not a.shortcut().isEmpty()
    ]
    return rows + list(HELD_KEYS)
