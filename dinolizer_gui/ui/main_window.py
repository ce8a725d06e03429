"""The main window: builds the panels, docks, menus and toolbar, and connects them to the controllers."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from PySide6.QtCore import Qt, QThreadPool, QTimer
from PySide6.QtWidgets import QMainWindow, QMenu

from ..core.io.names import readable
from ..core.session.settings import Settings, load_settings
from ..core.session.workspace import Workspace
from ..core.store.results import open_store
from . import window_state
from .actions import build_actions, build_menus, shortcut_rows
from .central import Central
from .controllers.batch import BatchController
from .controllers.case import CaseController
from .controllers.thresholds import ThresholdsController
from .controllers.verdicts import VerdictController
from .controllers.view import ViewController
from .dialogs import DialogHost, Dialogs
from .docks import place_docks
from .docks.case import CaseDock
from .docks.controls import ControlsDock
from .docks.file import FileDock
from .docks.triage import TriageDock
from .menus import cards_menu, docks_menu, settings_menus
from .screen import Screen
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
        self.batch = BatchController(self.workspace, lambda: self.view.wanted_path, self)
        self.view = ViewController(self.workspace, self.batch, self)
        self.thresholds = ThresholdsController(self.workspace.thresholds, lambda: self.view.current, self)
        self.verdicts = VerdictController(self.workspace, self.batch, self.view, self)
        self.case = CaseController(self.workspace, self.batch, self.verdicts, self)
        self.setAcceptDrops(True)
        self.central = Central(str(self.workspace.weights_folder()))
        self.panel_grid, self.panels = self.central.panel_grid, self.central.panel_grid.panels
        self.setCentralWidget(self.central)
        self.triage_dock = TriageDock(self.batch.table_model, self)
        self.controls = ControlsDock(self.thresholds, self)
        self.case_dock, self.file_dock = CaseDock(self.case, self), FileDock(self.workspace, self.view, self)
        self.docks = place_docks(self, self.triage_dock, self.controls, self.case_dock, self.file_dock)
        self.dialogs = Dialogs(self._dialog_host())
        self.actions_by_id = build_actions(self)
        build_menus(self, self.actions_by_id, self._submenus())
        self.toolbar = MainToolBar(self.actions_by_id, self.settings, self)
        self.addToolBar(self.toolbar)
        self.status = StatusBar(self)
        self.setStatusBar(self.status)
        widgets = (self.central, self.controls, self.toolbar, self.status)
        self.on_screen = Screen(self, self.workspace, self.view, self.batch, self.verdicts, *widgets)
        self._connect()
        self._restore_layout()
        self._space = HeldKey(self, Qt.Key.Key_Space, self.show_original)
        self.update_state()
        self.on_screen.show_case()  # the title
        self.on_screen.startup_problems(store_problem, settings.problems)

    # --- construction ----------------------------------------------------------------------------
    def _dialog_host(self) -> DialogHost:
        return DialogHost(
            self,
            self.workspace,
            self.view,
            self.batch,
            lambda: self.triage_dock.selected_items(),
            self.open_paths,
            self.show_error,
            lambda text: self.status.showMessage(text, 8000),
            lambda: shortcut_rows(self.actions_by_id),
            self.weights_changed,
            lambda: self.central.hide_banner(sticky=True),  # the store problem is no longer true
            self.case,
        )

    def _submenus(self) -> dict[str, QMenu]:
        self.recent_menu = QMenu("Open &recent", self)
        self._fill_recent()
        docks, toggles = docks_menu(self, self.docks)
        self.actions_by_id.update(toggles)  # listed with the other shortcuts
        menus = settings_menus(self, self.settings, self.change_setting)
        menus.update(recent=self.recent_menu, cards=cards_menu(self, self.dialogs.card), docks=docks)
        return menus

    def _connect(self) -> None:
        screen, grid, controls = self.on_screen, self.panel_grid, self.controls
        self.dialogs.serve(self.central.welcome)
        self.toolbar.modeChanged.connect(screen.refresh_layers)
        self.toolbar.colormapChanged.connect(lambda name: self.change_setting("colormap", name))
        self.toolbar.opacityChanged.connect(lambda opacity: self.change_setting("opacity", opacity))
        grid.hovered.connect(screen.show_readout)
        grid.cardRequested.connect(self.dialogs.card)
        grid.arranged.connect(self._arranged)
        for panel in self.panels:
            panel.view.viewChanged.connect(screen.show_zoom)
        self.triage_dock.chosen.connect(self.view.show)
        self.triage_dock.activated.connect(self.view.show)
        self.triage_dock.activated.connect(lambda _: grid.fit())  # after the image is shown
        controls.regionChosen.connect(self.show_region)
        controls.regionHovered.connect(lambda rect, n: grid.show_region("hovered", rect, n))
        controls.lockToggled.connect(lambda on: setattr(grid.link, "locked", on))
        controls.verdictChosen.connect(lambda verdict: self.record_verdict(verdict=verdict))
        controls.noteEdited.connect(lambda note: self.record_verdict(note=note))
        self.thresholds.changed.connect(self._thresholds_changed)
        self.thresholds.regionsFailed.connect(lambda text: self.status.showMessage(text, 5000))
        self.thresholds.regionsReady.connect(lambda document, _: screen.show_scores(document))
        self.batch.progressed.connect(self.status.show_progress)
        self.batch.progressed.connect(lambda *_: screen.follow_queue_state())
        self.batch.itemFinished.connect(lambda _: self._show_counts())
        self.batch.runningChanged.connect(self._batch_running)
        self.batch.cancelled.connect(lambda: self.status.showMessage("Batch cancelled", 5000))
        self.view.loading.connect(screen.loading)
        self.view.replaced.connect(screen.show_input)
        self.view.displayed.connect(self.display)
        self.view.analysisFailed.connect(self.show_error)
        self.view.idle.connect(self.update_state)
        self.view.recentChanged.connect(self._fill_recent)
        self.view.truthNote.connect(lambda text: self.status.showMessage(text, 10000))
        self.verdicts.changed.connect(self._verdict_changed)
        self.case.changed.connect(screen.show_case)
        self.case.problem.connect(self.show_error)
        self.case.exported.connect(
            lambda path: self.status.showMessage(f"Case package written: {path}", 10000)
        )

    # --- opening and walking -------------------------------------------------------------------
    def open_paths(self, paths: list[str]) -> None:
        """Queue the images (files and folders) and show the first one opened."""
        found = self.batch.add(paths)
        if not found:
            self.show_error("No images found in what was opened.")
            return
        self._show_counts()
        self.select_path(found[0].path)
        if self.workspace.model_files():
            self.batch.start()
        else:
            self.show_error(
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

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for path in self.settings.recent_files:
            self.recent_menu.addAction(path, partial(self.open_paths, [path]))
        self.recent_menu.setEnabled(bool(self.settings.recent_files))

    def _show_counts(self) -> None:
        self.triage_dock.show_counts(self.batch.counts_text())

    # --- analysis --------------------------------------------------------------------------------
    def run_analysis(self) -> None:
        """F5: the image on screen analysed again with the current settings, its maps computed anew."""
        path = self.view.wanted_path
        if why := self.batch.rerun(path):
            self.status.showMessage(why, 8000)
            return
        assert path is not None  # rerun refuses no image
        self.view.reload(path)
        self.status.showMessage(
            f"Analysing {readable(Path(path).name)} again with the current settings…", 8000
        )

    def pause(self, on: bool) -> None:
        if not self.batch.pause(on):
            self.actions_by_id["pause"].setChecked(False)
        elif on:
            self.status.showMessage("Batch paused", 4000)

    def _batch_running(self, running: bool) -> None:
        if not running:
            self.actions_by_id["pause"].setChecked(False)
            self.status.hide_progress()
            self._show_counts()
        self.update_state()

    # --- display ---------------------------------------------------------------------------------
    def display(self, document) -> None:
        self.on_screen.display(document)
        self.thresholds.refresh_regions()
        self.update_state()

    def show_region(self, rect, number: int) -> None:
        self.panel_grid.show_region("selected", rect, number)
        self.panel_grid.zoom_to(rect)

    def show_original(self, on: bool) -> None:
        self.actions_by_id["original"].setChecked(on)
        self.on_screen.show_original(on)

    def show_error(self, message: str, sticky: bool = False) -> None:
        self.on_screen.show_error(message, sticky)

    def _arranged(self) -> None:
        self.panel_grid.remember(self.settings)
        self.on_screen.refresh_layers()  # layers are drawn only on the panels in sight
        self.on_screen.show_zoom()

    def _restore_layout(self) -> None:
        window_state.place(self, self.settings)
        self.panel_grid.restore(self.settings)

    # --- thresholds and verdicts -----------------------------------------------------------------
    def _thresholds_changed(self, names: set[str]) -> None:
        self.on_screen.refresh_layers(changed=names)
        if self.view.current is not None:
            self.batch.follow_thresholds(self.view.current)

    def record_verdict(self, verdict: str | None = None, note: str | None = None) -> None:
        if message := self.verdicts.record(self.view.wanted_path, verdict, note):
            self.status.showMessage(message, 4000)

    def _verdict_changed(self, path: str) -> None:
        if path == self.view.wanted_path:
            self.controls.show_verdict(self.verdicts.verdict_for(path))

    # --- weights and settings --------------------------------------------------------------------
    def set_model_files(self, name: str, paths: list[Path]) -> None:
        self.workspace.set_model_files(name, paths)
        self.weights_changed()

    def weights_changed(self) -> None:
        """Models, weights or the weights folder changed: the queue runs once a model has weights."""
        self.central.show_weights_folder(str(self.workspace.weights_folder()))
        if self.workspace.model_files():
            self.central.hide_banner(sticky=True)  # "viewing only" is no longer true
            self.batch.start()
        self.update_state()

    def change_setting(self, name: str, value) -> None:
        setattr(self.settings, name, value)
        self.workspace.save()
        if name in ("device", "precision"):
            self.status.probe_device(self.workspace)
        elif name == "opacity":
            self.on_screen.set_opacity(value)
        elif name == "colormap":
            self.on_screen.refresh_layers()

    def update_state(self) -> None:
        has_models = bool(self.workspace.model_files())
        self.actions_by_id["run"].setEnabled(self.view.wanted_path is not None)  # F5 says why it cannot
        self.actions_by_id["cancel"].setEnabled(self.batch.running)
        self.actions_by_id["pause"].setEnabled(self.batch.running)
        if self.view.current is None and self.view.worker is None:
            self.central.show_viewer() if has_models else self.central.show_welcome()

    # --- events ----------------------------------------------------------------------------------
    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not getattr(self, "_sized", False):  # docks can only be sized once the window is laid out
            self._sized = True
            window_state.size_first_dock(
                self, self.settings, self.triage_dock, self.triage_dock.preferred_width()
            )
            self.triage_dock.follow(self)  # the dock keeps its share as the window grows
            # PyTorch loads once the window is painted, so the window never waits for it
            QTimer.singleShot(0, self.status, lambda: self.status.probe_device(self.workspace))

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.open_paths(paths)

    def closeEvent(self, event) -> None:
        self.view.stop()
        self.thresholds.stop()
        self.batch.cancel()
        QThreadPool.globalInstance().waitForDone(30_000)  # no worker may outlive the window it reports to
        window_state.remember(self, self.settings)
        self.workspace.save()
        super().closeEvent(event)
