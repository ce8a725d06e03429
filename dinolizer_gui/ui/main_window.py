"""The main window: builds the panels, docks, menus and toolbar, and connects them to the controllers."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, Qt, QThreadPool, QTimer
from PySide6.QtWidgets import QMainWindow, QMenu

from .. import __version__
from ..core.batch import ItemStatus
from ..core.models.registry import titles
from ..core.names import readable
from ..core.render import ViewMode
from ..core.settings import Settings, load_settings
from ..core.workspace import Workspace
from .actions import build_actions, build_menus, choice_menu
from .central import Central
from .controllers.batch import BatchController
from .controllers.thresholds import ThresholdsController
from .controllers.verdicts import VerdictController
from .controllers.view import ViewController
from .dialogs import Dialogs
from .docks.controls import ControlsDock
from .docks.triage import TriageDock
from .document import Document
from .panels import LAYOUTS
from .status import StatusBar
from .toolbar import MainToolBar
from .widgets import HeldKey

# what a model panel without a map says, by the image's state in the queue
MISSING_MAP_TEXT = {ItemStatus.QUEUED: "queued — not analysed yet", ItemStatus.RUNNING: "analysing…"}
STRIDES = ((128, "128 (official)"), (256, "256 (faster, not official)"), (504, "504 (fastest, not official)"))


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


class MainWindow(QMainWindow):
    def __init__(self, settings: Settings | None = None, config_folder: Path | None = None):
        super().__init__()
        self.workspace = Workspace(settings or load_settings(config_folder), config_folder)
        self.settings = self.workspace.settings
        self.batch = BatchController(self.workspace, lambda: self.view.wanted_path, self)
        self.view = ViewController(self.workspace, self.batch, self)
        self.thresholds = ThresholdsController(self.workspace, lambda: self.view.current, self)
        self.verdicts = VerdictController(self.workspace, self.batch, self.view, self)
        self.dialogs = Dialogs(self)
        self.showing_original = False
        self._displayed: Document | None = None
        self._shown_status: ItemStatus | None = None  # the queue state the panels' notices describe
        self.setWindowTitle(f"DinoLizer GUI {__version__}")
        self.setAcceptDrops(True)
        self.resize(1360, 760)
        self._build_central()
        self.triage_dock = TriageDock(self.batch.table_model, self)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.triage_dock)
        self.controls = ControlsDock(self.thresholds, self)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.controls)
        self.actions_by_id = build_actions(self)
        build_menus(self, self.actions_by_id, self._submenus())
        self.toolbar = MainToolBar(self.actions_by_id, self.settings, self)
        self.addToolBar(self.toolbar)
        self.setStatusBar(StatusBar(self))
        self.status = self.statusBar()
        self._connect()
        self._restore_layout()
        self._space = HeldKey(self, Qt.Key.Key_Space, self.show_original)
        self.update_state()

    # --- construction ----------------------------------------------------------------------------
    def _build_central(self) -> None:
        self.central = Central(str(self.workspace.weights_folder()))
        self.panel_grid, self.panels = self.central.panel_grid, self.central.panel_grid.panels
        welcome = self.central.welcome
        welcome.choose_folder.clicked.connect(self.dialogs.choose_weights_folder)
        welcome.manage_models.clicked.connect(self.dialogs.manage_models)
        welcome.load_checkpoint.clicked.connect(self.dialogs.load_checkpoint)
        welcome.open_image.clicked.connect(self.dialogs.open_images)
        self.setCentralWidget(self.central)

    def _submenus(self) -> dict[str, QMenu]:
        self.recent_menu = QMenu("Open &recent", self)
        self._fill_recent()
        device = choice_menu(self, "&Device", DEVICES, self.settings.device, self.set_device)
        precision = choice_menu(self, "&Precision", PRECISIONS, self.settings.precision, self.set_precision)
        stride = choice_menu(
            self,
            "DinoLizer &stride",
            STRIDES,
            self.settings.stride,
            lambda value: self._set_setting("stride", value),
        )
        docks = QMenu("&Docks", self)
        for name, dock, key in (
            ("batch", self.triage_dock, "Ctrl+B"),
            ("controls", self.controls, "Ctrl+Shift+T"),
        ):
            toggle = dock.toggleViewAction()
            toggle.setShortcut(key)
            docks.addAction(toggle)
            self.actions_by_id[f"toggle_{name}"] = toggle  # listed with the other shortcuts
        cards = QMenu("Model &cards", self)
        for name, title in titles().items():
            cards.addAction(title, lambda n=name: self.dialogs.card(n))
        return {
            "recent": self.recent_menu,
            "device": device,
            "precision": precision,
            "stride": stride,
            "cards": cards,
            "docks": docks,
        }

    def _connect(self) -> None:
        self.toolbar.modeChanged.connect(self.refresh_layers)
        self.toolbar.colormapChanged.connect(lambda name: self._set_setting("colormap", name, refresh=True))
        self.toolbar.opacityChanged.connect(self.set_opacity)
        self.panel_grid.hovered.connect(self.show_readout)
        self.panel_grid.cardRequested.connect(self.dialogs.card)
        self.triage_dock.chosen.connect(self.view.show)
        self.triage_dock.activated.connect(lambda path: (self.view.show(path), self.panel_grid.leader.fit()))
        self.controls.regionChosen.connect(self.show_region)
        self.controls.regionHovered.connect(lambda rect, n: self.panel_grid.show_region("hovered", rect, n))
        self.panel_grid.arranged.connect(self._arranged)
        for panel in self.panels:
            panel.view.viewChanged.connect(self._show_zoom)
        self.controls.lockToggled.connect(lambda on: setattr(self.panel_grid.link, "locked", on))
        self.thresholds.changed.connect(self._thresholds_changed)
        self.thresholds.regionsFailed.connect(lambda text: self.status.showMessage(text, 5000))
        self.thresholds.regionsReady.connect(lambda document, _: self.show_scores(document))
        self.view.truthNote.connect(lambda text: self.status.showMessage(text, 10000))
        self.batch.progressed.connect(self.status.show_progress)
        self.batch.progressed.connect(lambda *_: self._follow_queue_state())
        self.batch.itemFinished.connect(lambda _: self.triage_dock.label.setText(self.batch.counts_text()))
        self.batch.runningChanged.connect(self._batch_running)
        self.batch.cancelled.connect(lambda: self.status.showMessage("Batch cancelled", 5000))
        self.view.loading.connect(self._loading)
        self.view.displayed.connect(self.display)
        self.view.analysisFailed.connect(self.show_error)
        self.view.idle.connect(self.update_state)
        self.view.recentChanged.connect(self._fill_recent)
        self.controls.verdict.verdictChosen.connect(lambda verdict: self.record_verdict(verdict=verdict))
        self.controls.verdict.noteEdited.connect(lambda note: self.record_verdict(note=note))
        self.verdicts.changed.connect(self._verdict_changed)

    # --- opening and walking -------------------------------------------------------------------
    def open_paths(self, paths: list[str]) -> None:
        """Queue the images (files and folders) and show the first one opened."""
        found = self.batch.add(paths)
        if not found:
            self.show_error("No images found in what was opened.")
            return
        self.triage_dock.label.setText(self.batch.counts_text())
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
            self.recent_menu.addAction(path, lambda p=path: self.open_paths([p]))
        self.recent_menu.setEnabled(bool(self.settings.recent_files))

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
            self.triage_dock.label.setText(self.batch.counts_text())
        self.update_state()

    # --- display ---------------------------------------------------------------------------------
    def _loading(self, path: str) -> None:
        self.central.hide_banner()
        if self.view.current is None:
            self.clear_display(path)

    def clear_display(self, path: str) -> None:
        """Nothing of the image shown before stays on screen while `path` loads."""
        self._displayed = None
        self.controls.verdict.show_verdict(self.verdicts.verdict_for(path), enabled=False)
        self.panel_grid.clear()
        self.show_scores(None)
        self.controls.show_regions(None, {})
        self.controls.show_marked(None)
        self.setWindowTitle(f"{readable(Path(path).name)} — DinoLizer GUI {__version__}")

    def display(self, document: Document) -> None:
        self.central.show_viewer()
        if document is not self._displayed:  # a preview updates the maps of the document on screen
            self.panel_grid.show_input(document)
            self._displayed = document
        self.thresholds.adopt(document)
        self.refresh_layers()
        self.panel_grid.show_truth(document.ground_truth)
        self.show_scores(document)
        self.thresholds.refresh_regions()
        self.setWindowTitle(f"{readable(Path(document.path).name)} — DinoLizer GUI {__version__}")
        self.controls.verdict.show_verdict(self.verdicts.verdict_for(document.path))
        self.status.showMessage("; ".join(document.image.warnings), 10000)
        self.update_state()

    def _follow_queue_state(self) -> None:
        """The image on screen went from queued to analysing: its empty panels say so."""
        document = self.view.current
        item = self.batch.item_for(document.path) if document is not None else None
        if item is not None and item.status != self._shown_status:
            self.show_scores(document)

    def show_scores(self, document: Document | None) -> None:
        item = self.batch.item_for(document.path) if document is not None else None
        self._shown_status = item.status if item is not None else None
        state = MISSING_MAP_TEXT.get(self._shown_status, "not analysed")
        with_weights = self.workspace.model_files()
        missing = {name: state if name in with_weights else "not analysed (no weights)" for name in titles()}
        self.controls.scores_label.setText(self.panel_grid.show_scores(document, missing))

    def refresh_layers(self, changed: set[str] | None = None) -> None:
        document, mode, settings = self.view.current, self.toolbar.mode(), self.settings
        self.panel_grid.show_layers(
            mode, document, settings.colormap, settings.opacity, self.showing_original, changed
        )
        self.controls.show_marked(document)
        self.controls.show_legend(mode, settings.colormap)

    def set_layout(self, layout: str) -> None:
        self.panel_grid.choose(layout)

    def show_panel(self, key: str) -> None:
        """Keys 1-4: one large panel (input, each model, agreement)."""
        self.panel_grid.choose("one", key)

    def set_mode(self, mode: ViewMode) -> None:
        self.toolbar.mode_combo.setCurrentIndex(list(ViewMode).index(mode))

    def show_region(self, rect, number: int) -> None:
        self.panel_grid.show_region("selected", rect, number)
        self.panel_grid.leader.zoom_to(rect)

    def _arranged(self) -> None:
        grid, settings = self.panel_grid, self.settings
        settings.panel_layout, settings.single_panel, settings.pair_model = (
            grid.layout_name,
            grid.single,
            grid.pair,
        )
        self.refresh_layers()  # layers are drawn only on the panels in sight
        self._show_zoom()

    def _show_zoom(self) -> None:
        leader = self.panel_grid.leader
        self.status.zoom.setText(f"{leader.scale_factor:.0%}" + (" (fit)" if leader.fitted else ""))

    def _restore_layout(self) -> None:
        settings, grid = self.settings, self.panel_grid
        if settings.window_state:
            self.restoreState(QByteArray.fromBase64(settings.window_state.encode("ascii")))
        known = {panel.key for panel in self.panels}
        grid.arrange(
            settings.panel_layout if settings.panel_layout in LAYOUTS else "three",
            settings.single_panel if settings.single_panel in known else "input",
            settings.pair_model if settings.pair_model in titles() else None,
        )

    def show_original(self, on: bool) -> None:
        self.showing_original = on
        self.actions_by_id["original"].setChecked(on)
        self.refresh_layers()

    def set_opacity(self, opacity: float) -> None:
        self._set_setting("opacity", opacity)
        if self.toolbar.mode() is ViewMode.OVERLAY and not self.showing_original:
            self.panel_grid.set_overlay_opacity(self.settings.opacity)

    def show_readout(self, x: int, y: int) -> None:
        document = self.view.current
        if document is None or x < 0:
            self.status.readout.setText("")
            return
        parts = [f"({x}, {y})"] + [
            f"{titles()[name]} {result.probability[y, x]:.3f}"
            for name, result in document.models.items()
            if result.has_map
        ]
        self.status.readout.setText("   ".join(parts))

    def show_error(self, message: str, sticky: bool = False) -> None:
        """A banner over the panels; a `sticky` one stays until what it says is no longer true."""
        self.central.show_banner(message, sticky)
        self.status.showMessage(message, 10000)

    def _thresholds_changed(self, names: set[str]) -> None:
        self.refresh_layers(changed=names)
        if self.view.current is not None:
            self.batch.follow_thresholds(self.view.current)

    def record_verdict(self, verdict: str | None = None, note: str | None = None) -> None:
        if message := self.verdicts.record(self.view.wanted_path, verdict, note):
            self.status.showMessage(message, 4000)

    def focus_note(self) -> None:
        self.controls.show()
        self.controls.verdict.note.setFocus()
        self.controls.verdict.note.selectAll()

    def _verdict_changed(self, path: str) -> None:
        if path == self.view.wanted_path:
            self.controls.verdict.show_verdict(self.verdicts.verdict_for(path))

    def nudge_threshold(self, delta: float) -> None:
        """`]` / `[`: the threshold of the model panel last clicked, or both when they are linked."""
        name = self.panel_grid.active_model
        value = self.thresholds.set(name, self.thresholds.values[name] + delta)
        which = "Both thresholds" if self.thresholds.linked else f"{titles()[name]} threshold"
        self.status.showMessage(f"{which}: {value:.3f}", 4000)

    # --- weights and settings --------------------------------------------------------------------
    def set_model_files(self, name: str, paths: list[Path]) -> None:
        self.workspace.set_model_files(name, paths)
        if self.workspace.model_files():
            self.central.hide_banner(sticky=True)  # "viewing only" is no longer true
            self.batch.start()
        self.update_state()

    def set_device(self, choice: str) -> None:
        self._set_setting("device", choice)
        self.status.probe_device(self.workspace)

    def set_precision(self, choice: str) -> None:
        self._set_setting("precision", choice)
        self.status.probe_device(self.workspace)

    def _set_setting(self, name: str, value, refresh: bool = False) -> None:
        setattr(self.settings, name, value)
        self.workspace.save()
        if refresh:
            self.refresh_layers()

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
            if not self.settings.window_state:  # the batch dock starts narrow: the panels get the room
                width = min(self.triage_dock.preferred_width(), int(self.width() * 0.36))
                self.resizeDocks([self.triage_dock], [width], Qt.Orientation.Horizontal)
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
        self.settings.window_state = bytes(self.saveState().toBase64().data()).decode("ascii")
        self.workspace.save()
        super().closeEvent(event)
