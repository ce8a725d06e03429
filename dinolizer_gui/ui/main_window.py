"""The main window: builds the controllers, the panels, docks, menus and toolbar. Each of them subscribes
itself to the models and controllers it shows (the viewer state and the thresholds are the core's, Qt-free);
the window forwards nothing."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QThreadPool, QTimer
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QShowEvent
from PySide6.QtWidgets import QMainWindow

from .. import __version__
from ..core.io.names import readable
from ..core.session.settings import Settings, load_settings
from ..core.session.workspace import Workspace
from ..core.store.results import open_store
from . import window_state
from .action_ids import MenuId
from .action_specs import (
    SUBMENUS,
    analysis_actions,
    file_actions,
    follow_queue_and_screen,
    instrument_actions,
    models_and_help_actions,
    view_actions,
)
from .actions import build_actions, build_menus, shortcut_rows, toolbar_groups
from .central import Central
from .controllers.batch import BatchController
from .controllers.case import CaseController
from .controllers.findings import FindingsController
from .controllers.instruments import InstrumentsController
from .controllers.thresholds import ThresholdsController
from .controllers.verdicts import VerdictController
from .controllers.view import ViewController
from .dialogs import Dialogs
from .docks import place_docks
from .docks.case import CaseDock
from .docks.controls import ControlsDock
from .docks.file import FileDock
from .docks.instruments import InstrumentsDock, place_instruments_dock
from .docks.triage import TriageDock
from .findings_ui import FindingsUI, findings_actions
from .instrument_views import InstrumentPanels
from .menus import RecentMenu, cards_menu, docks_menu, settings_menus
from .status import StatusBar
from .toolbar import MainToolBar
from .widgets import HeldKey


class MainWindow(QMainWindow):
    def __init__(self, settings: Settings | None = None, config_folder: Path | None = None):
        super().__init__()
        settings = settings or load_settings(config_folder)
        store, store_problem = open_store(Path(settings.store_dir) if settings.store_dir else None)
        self.workspace = Workspace(settings, config_folder, store=store)
        self.settings = self.workspace.settings
        self._make_controllers()
        self.setAcceptDrops(True)
        self._make_views()
        self._make_commands()
        window_state.place(self, self.settings)
        self._space = HeldKey(self, Qt.Key.Key_Space, self._hold_original)
        for changed in (self.view.loading, self.view.displayed, self.case.changed):
            changed.connect(self._show_title)
        self._show_title()
        self.central.show_startup_problems(store_problem, settings.problems)

    # --- construction ----------------------------------------------------------------------------
    def _make_controllers(self) -> None:
        workspace = self.workspace
        self.batch = BatchController(workspace, lambda: self.view, self)
        self.view = ViewController(workspace, self.batch, self)
        self.thresholds = ThresholdsController(workspace.thresholds, self.view, self)
        self.verdicts = VerdictController(workspace, self.batch, self.view, self)
        self.case = CaseController(workspace, self.batch, self.verdicts, self)
        self.findings = FindingsController(workspace, self.view, self.thresholds, self)

    def _make_views(self) -> None:
        workspace, view = self.workspace, self.view
        self.central = Central(workspace, view, self.thresholds, self.batch, self.case)
        self.panel_grid, self.panels = self.central.panel_grid, self.central.panel_grid.panels
        self.setCentralWidget(self.central)
        self.triage_dock = TriageDock(self.batch, view, self)
        self.controls = ControlsDock(
            self.thresholds, workspace.viewer, view, self.verdicts, self.panel_grid, self
        )
        self.case_dock, self.file_dock = CaseDock(self.case, self), FileDock(workspace, view, self)
        self.findings_ui = FindingsUI(self, self.findings, self.panel_grid, self.controls, self.batch)
        docks = (self.triage_dock, self.controls, self.case_dock, self.file_dock, self.findings_ui.dock)
        self.docks = place_docks(self, *docks)
        jobs = InstrumentsController(workspace.viewer, view, self)
        self.instruments = InstrumentPanels(self.panel_grid, jobs, workspace.viewer, view, self.thresholds)
        self.instruments_dock = InstrumentsDock(self.instruments, self.controls.regions, self)
        self.findings_ui.offer_marks(self.instruments)
        self.docks.update(place_instruments_dock(self, self.instruments_dock, self.triage_dock))
        self.dialogs = Dialogs(
            self,
            workspace=workspace,
            view=view,
            batch=self.batch,
            case=self.case,
            central=self.central,
            selected_items=self.triage_dock.selected_items,
            open_paths=self.open_paths,
            shortcuts=lambda: shortcut_rows(self.actions_by_id),
        )
        talking = (view, self.batch, self.thresholds, self.verdicts, self.dialogs, self.findings)
        self.status = StatusBar(workspace, view=view, batch=self.batch, central=self.central, case=self.case,
                                said=[c.said for c in talking], parent=self)  # fmt: skip
        self.setStatusBar(self.status)

    def _make_commands(self) -> None:
        viewer, dialogs = self.workspace.viewer, self.dialogs
        specs = [
            *file_actions(dialogs=dialogs, case=self.case, quit=self.close),
            *view_actions(panels=self.panel_grid, viewer=viewer, step=self.step),
            *analysis_actions(
                view=self.view,
                batch=self.batch,
                dialogs=dialogs,
                thresholds=self.thresholds,
                panels=self.panel_grid,
                verdicts=self.verdicts,
                controls=self.controls,
            ),
            *instrument_actions(self.instruments),
            *findings_actions(self.findings_ui),
            *models_and_help_actions(dialogs=dialogs),
        ]
        self.actions_by_id = build_actions(self, specs)
        docks, toggles = docks_menu(self, self.docks)
        self.actions_by_id.update(toggles)  # listed with the other shortcuts
        submenus = {
            **settings_menus(self, self.workspace, self.status.probe_device),
            MenuId.RECENT: RecentMenu(self.workspace, self.view, self.open_paths, self),
            MenuId.DOCKS: docks,
            MenuId.CARDS: cards_menu(self, dialogs.card),
        }
        build_menus(self.menuBar(), self.actions_by_id, specs, submenus, SUBMENUS)
        self.toolbar = MainToolBar(toolbar_groups(self.actions_by_id, specs), viewer, self)
        self.addToolBar(self.toolbar)
        follow_queue_and_screen(self.actions_by_id, self.view, self.batch, viewer)

    # --- opening and walking -------------------------------------------------------------------
    def open_paths(self, paths: list[str]) -> None:
        """Queue the images (files and folders) and show the first one opened."""
        found = self.batch.add(paths)
        if not found:
            self.central.show_error("No images found in what was opened.")
            return
        self.select_path(found[0].path)
        if self.workspace.model_files():
            self.batch.start()
        else:
            self.central.show_error(
                "Viewing only: no model has weights yet, so the images stay queued. "
                "Models › Manage models… (Ctrl+M) gets them.",
                sticky=True,
            )

    def select_path(self, path: str) -> None:
        if not self.triage_dock.select(path) and self.batch.item_for(path) is not None:
            self.view.show(path)  # filtered out of the table: shown all the same

    def step(self, delta: int, flagged: bool = False) -> None:
        if not self.triage_dock.step(delta, flagged) and flagged:
            self.status.showMessage("No flagged image in the table.", 4000)

    def set_model_files(self, name: str, paths: list[Path]) -> None:
        self.workspace.set_model_files(name, paths)
        self.batch.weights_changed()

    def _hold_original(self, held: bool) -> None:
        self.workspace.viewer.original = held

    def _show_title(self, *_: object) -> None:
        """The image on screen, then the case open."""
        path, case = self.view.wanted_path, self.workspace.case
        parts = [readable(Path(path).name)] if path else []
        parts += [f"Case {case.number or ''} {case.title}".replace("  ", " ")] if case is not None else []
        self.setWindowTitle(" — ".join([*parts, f"DinoLizer GUI {__version__}"]))

    # --- events ----------------------------------------------------------------------------------
    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not getattr(self, "_sized", False):  # docks can only be sized once the window is laid out
            self._sized = True
            side = (self.triage_dock, self.triage_dock.preferred_width())
            window_state.size_first_docks(self, self.settings, side, (self.controls, self.findings_ui.dock))
            self.triage_dock.follow(self)  # the dock keeps its share as the window grows
            # PyTorch loads once the window is painted, so the window never waits for it
            QTimer.singleShot(0, self.status, self.status.probe_device)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.open_paths(paths)

    def closeEvent(self, event: QCloseEvent) -> None:
        for running in (self.view, self.thresholds, self.instruments.jobs):
            running.stop()
        self.batch.cancel()
        QThreadPool.globalInstance().waitForDone(30_000)  # no worker may outlive the window it reports to
        window_state.remember(self, self.settings)
        self.workspace.save()
        super().closeEvent(event)
