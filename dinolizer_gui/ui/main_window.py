"""The main window: input | DinoLizer | DeCLIP, locked zoom, live thresholds, worker-thread analysis."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QRectF, Qt, QThreadPool, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QKeySequence, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView, QCheckBox, QComboBox, QDockWidget, QFileDialog, QHBoxLayout, QHeaderView, QLabel,
    QMainWindow, QMessageBox, QProgressBar, QSlider, QSplitter, QStackedWidget, QTableView, QTableWidget,
    QTableWidgetItem, QVBoxLayout, QWidget,
)
from superqt.utils import create_worker

from .. import __version__
from ..core.batch import BatchItem, make_items
from ..core.cache import ResultStore
from ..core.device import resolve_runtime
from ..core.imageio import DEFAULT_MAX_PIXELS, IMAGE_EXTENSIONS
from ..core.inference import AnalysisOptions
from ..core.jobs import JobProgress, LocalizerCache
from ..core.models.registry import REGISTRY
from ..core.models.store import installed_files, weights_dir
from ..core.render import AGREEMENT_COLOURS, COLORMAPS, agreement_layer, colormap_rgb, contour_layer, heat_layer, mask_layer
from ..core.settings import Settings, load_settings, save_settings
from .batch_table import FILTERS, BatchTableModel, TriageFilter
from .document import Document, batch_job, load_document, open_job, stored_job
from .image_view import ViewLink
from .qimages import layer_image, load_icon
from .widgets import Legend, Panel, ThresholdControl, WelcomePage, card_html

MODES = ("Overlay", "Heat map", "Mask", "Contours", "Agreement")
MODEL_TITLES = {"dinolizer": "DinoLizer", "declip": "DeCLIP"}
REGION_DEBOUNCE_MS = 120


class MainWindow(QMainWindow):
    analysisFinished = Signal(str)  # path
    analysisFailed = Signal(str)  # message
    regionsUpdated = Signal()

    def __init__(self, settings: Settings | None = None, config_folder: Path | None = None):
        super().__init__()
        self.config_folder = config_folder
        self.settings = settings or load_settings(config_folder)
        self.cache = LocalizerCache()
        self.session_files: dict[str, list[Path]] = {}
        self.store = ResultStore()
        self.items: list[BatchItem] = []
        self.current: Document | None = None
        self.wanted_path: str | None = None  # the image the user asked to see
        self.batch_worker = None
        self.view_worker = None
        self.pending_view: str | None = None
        self.analyses_started = 0
        self.showing_original = False
        self._batch_started = 0.0
        self._items_at_start = 0
        self.runtime = resolve_runtime(self.settings.device, self.settings.precision)
        self.setWindowTitle(f"DinoLizer GUI {__version__}")
        self.setAcceptDrops(True)
        self.resize(1360, 760)
        self._build_actions()
        self._build_central()
        self._build_docks()
        self._build_status()
        self._region_workers: set = set()
        self._regions_timer = QTimer(self, singleShot=True, interval=REGION_DEBOUNCE_MS)
        self._regions_timer.timeout.connect(self.refresh_regions)
        self._space_filter = _SpaceFilter(self)
        self.update_state()

    # --- construction ----------------------------------------------------------------------------
    def _action(self, text, slot, shortcut=None, tip="", checkable=False, icon=""):
        action = QAction(text, self, checkable=checkable, toolTip=tip or text)
        if icon:
            action.setIcon(load_icon(icon))
        if shortcut:
            action.setShortcuts(shortcut if isinstance(shortcut, list) else [QKeySequence(shortcut)])
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self):
        self.open_action = self._action("&Open…", self.choose_files, QKeySequence.StandardKey.Open, "Open images", icon="open")
        self.folder_action = self._action("Open &folder…", self.choose_folder, "Ctrl+Shift+O", "Open every image in a folder", icon="folder")
        self.run_action = self._action("&Run", self.run_analysis, "F5",
                                       "Analyse the current image again with the current settings and weights", icon="run")
        self.cancel_action = self._action("&Cancel", self.cancel, "Esc",
                                          "Cancel the batch; the image being analysed returns to the queue", icon="cancel")
        self.pause_action = self._action("&Pause", lambda on: self.pause(on), "Ctrl+P",
                                         "Pause the batch after the current batch of windows", checkable=True, icon="pause")
        self.fit_action = self._action("&Fit", lambda: self.panels[0].view.fit(), "Ctrl+0", "Fit the image in the panels", icon="fit")
        self.actual_action = self._action("&100 %", lambda: self.panels[0].view.actual_size(), "Ctrl+1", "One image pixel per screen pixel", icon="actual")
        self.zoom_in_action = self._action("Zoom &in", lambda: self.panels[0].view.zoom(1.25), [QKeySequence.StandardKey.ZoomIn, QKeySequence("Ctrl+=")])
        self.zoom_out_action = self._action("Zoom &out", lambda: self.panels[0].view.zoom(0.8), QKeySequence.StandardKey.ZoomOut)
        self.original_action = self._action("&Original", lambda on: self.show_original(on), "O",
                                            "Show the original in place of the overlays (or hold Space)", checkable=True, icon="original")
        self.next_action = self._action("&Next image", lambda: self.step(1), ["PgDown", "Ctrl+Right"])
        self.previous_action = self._action("&Previous image", lambda: self.step(-1), ["PgUp", "Ctrl+Left"])
        self.next_flagged_action = self._action("Next &flagged", lambda: self.step(1, flagged=True), "Alt+Down")
        self.previous_flagged_action = self._action("Previous f&lagged", lambda: self.step(-1, flagged=True), "Alt+Up")
        self.nudge_actions = [
            self._action(text, lambda _=False, d=delta: self.nudge_thresholds(d), key)
            for text, delta, key in (("Threshold +0.01", 0.01, "]"), ("Threshold -0.01", -0.01, "["),
                                     ("Threshold +0.05", 0.05, "Shift+]"), ("Threshold -0.05", -0.05, "Shift+["))]
        self.models_action = self._action("&Manage models…", self.show_models_dialog, "Ctrl+M",
                                          "Download, import, verify and choose the official weights", icon="models")
        self.load_weights_action = self._action("Load checkpoint &file for this session…", self.choose_checkpoint)
        self.weights_folder_action = self._action("Choose weights &folder…", self.choose_weights_folder)
        self.export_action = self._action("&Export report…", self.show_export_dialog, "Ctrl+E",
                                          "PDF, JSON and HTML reports with full-resolution masks and maps", icon="export")
        self.quit_action = self._action("&Quit", self.close, QKeySequence.StandardKey.Quit)

        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        file_menu.addActions([self.open_action, self.folder_action])
        self.recent_menu = file_menu.addMenu("Open &recent")
        file_menu.addSeparator()
        file_menu.addAction(self.export_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        view_menu = menu.addMenu("&View")
        view_menu.addActions([self.fit_action, self.actual_action, self.zoom_in_action, self.zoom_out_action,
                              self.original_action, self.next_action, self.previous_action,
                              self.next_flagged_action, self.previous_flagged_action])
        analysis_menu = menu.addMenu("&Analysis")
        analysis_menu.addActions([self.run_action, self.pause_action, self.cancel_action])
        analysis_menu.addSeparator()
        analysis_menu.addActions(self.nudge_actions)
        device_menu = analysis_menu.addMenu("&Device")
        group = QActionGroup(self)
        for choice in ("auto", "cpu", "cuda"):
            action = QAction(choice, self, checkable=True, checked=self.settings.device == choice)
            action.triggered.connect(lambda _=False, c=choice: self.set_device(c))
            group.addAction(action)
            device_menu.addAction(action)
        stride_menu = analysis_menu.addMenu("DinoLizer &stride")
        stride_group = QActionGroup(self)
        for stride, label in ((128, "128 (official)"), (256, "256 (faster, not official)"), (504, "504 (fastest, not official)")):
            action = QAction(label, self, checkable=True, checked=self.settings.stride == stride)
            action.triggered.connect(lambda _=False, s=stride: self._set_setting("stride", s))
            stride_group.addAction(action)
            stride_menu.addAction(action)
        models_menu = menu.addMenu("&Models")
        models_menu.addActions([self.models_action, self.load_weights_action, self.weights_folder_action])
        cards = models_menu.addMenu("Model &cards")
        for key, title in MODEL_TITLES.items():
            cards.addAction(title, lambda k=key: self.show_card(k))
        help_menu = menu.addMenu("&Help")
        help_menu.addAction("&Keyboard shortcuts", self.show_shortcuts)
        help_menu.addAction("&About", lambda: QMessageBox.about(self, "About", f"DinoLizer GUI {__version__}"))
        self._fill_recent()

        bar = self.addToolBar("Main")
        bar.setObjectName("main-toolbar")
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        bar.addActions([self.open_action, self.folder_action, self.run_action, self.pause_action, self.cancel_action])
        bar.addSeparator()
        bar.addActions([self.fit_action, self.actual_action, self.original_action])
        bar.addSeparator()
        bar.addActions([self.export_action, self.models_action])
        bar.addSeparator()
        self.mode_combo = QComboBox(toolTip="What the model panels show")
        self.mode_combo.addItems(MODES)
        self.mode_combo.currentIndexChanged.connect(lambda _: self.refresh_layers())
        self.colormap_combo = QComboBox(toolTip="Colour map of the heat map (perceptually uniform by default)")
        self.colormap_combo.addItems(list(COLORMAPS))
        self.colormap_combo.setCurrentText(self.settings.colormap)
        self.colormap_combo.currentTextChanged.connect(lambda name: self._set_setting("colormap", name, refresh=True))
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=100, toolTip="Overlay opacity")
        self.opacity_slider.setValue(round(self.settings.opacity * 100))
        self.opacity_slider.setFixedWidth(110)
        self.opacity_slider.valueChanged.connect(self.set_opacity)
        for label, widget in (("View", self.mode_combo), ("Colours", self.colormap_combo), ("Opacity", self.opacity_slider)):
            bar.addWidget(QLabel(f" {label} "))
            bar.addWidget(widget)

    def _build_central(self):
        self.panels = [Panel("input", "Input")] + [Panel(key, title) for key, title in MODEL_TITLES.items()]
        self.link = ViewLink([p.view for p in self.panels])
        splitter = QSplitter(Qt.Orientation.Horizontal)
        for panel in self.panels:
            splitter.addWidget(panel)
            splitter.setStretchFactor(splitter.count() - 1, 1)
            panel.view.hovered.connect(self.show_readout)
            panel.cardRequested.connect(self.show_card)
        splitter.setSizes([10_000] * len(self.panels))
        self.banner = QLabel(wordWrap=True, visible=False)
        self.banner.setStyleSheet("background:#7a1f1f;color:white;padding:6px;")
        viewer = QWidget()
        layout = QVBoxLayout(viewer)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.banner)
        layout.addWidget(splitter, 1)
        self.welcome = WelcomePage(str(self.weights_folder()))
        self.welcome.choose_folder.clicked.connect(self.choose_weights_folder)
        self.welcome.manage_models.clicked.connect(self.show_models_dialog)
        self.welcome.load_checkpoint.clicked.connect(self.choose_checkpoint)
        self.welcome.open_image.clicked.connect(self.choose_files)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.welcome)
        self.stack.addWidget(viewer)
        self.setCentralWidget(self.stack)

    def _build_docks(self):
        self.batch_model = BatchTableModel(self.items, self)
        self.triage = TriageFilter(self)
        self.triage.setSourceModel(self.batch_model)
        self.table = QTableView()
        self.table.setModel(self.triage)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(44)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Interactive)  # errors are long: full text in the tooltip
        header.resizeSection(1, 90)
        self.table.selectionModel().currentRowChanged.connect(lambda current, _: self._row_selected(current))
        self.table.doubleClicked.connect(lambda index: (self._row_selected(index), self.panels[0].view.fit()))
        self.filter_combo = QComboBox(toolTip="Show only some rows of the queue")
        self.filter_combo.addItems(FILTERS)
        self.filter_combo.currentTextChanged.connect(self.triage.set_mode)
        self.batch_label = QLabel("")
        triage = QWidget()
        layout = QVBoxLayout(triage)
        layout.setContentsMargins(2, 2, 2, 2)
        row = QHBoxLayout()
        row.addWidget(self.filter_combo)
        row.addWidget(self.batch_label, 1)
        layout.addLayout(row)
        layout.addWidget(self.table, 1)
        files_dock = QDockWidget("Batch", self, objectName="batch-dock")
        files_dock.setWidget(triage)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, files_dock)
        self.batch_dock = files_dock

        controls = QWidget()
        columns = QHBoxLayout(controls)
        left = QWidget()
        layout = QVBoxLayout(left)
        layout.setContentsMargins(0, 0, 0, 0)
        self.thresholds = {key: ThresholdControl(key, title, self.settings.thresholds.get(key, 0.5))
                           for key, title in MODEL_TITLES.items()}
        self.link_check = QCheckBox("Link both thresholds", checked=self.settings.link_thresholds)
        self.link_check.toggled.connect(lambda on: self._set_setting("link_thresholds", on))
        for control in self.thresholds.values():
            control.changed.connect(self.set_threshold)
            layout.addWidget(control)
        lock = QCheckBox("Lock zoom and pan across panels", checked=True)
        lock.toggled.connect(lambda on: setattr(self.link, "locked", on))
        row = QHBoxLayout()
        row.addWidget(self.link_check)
        row.addWidget(lock)
        row.addStretch(1)
        layout.addLayout(row)
        self.legend = Legend()
        layout.addWidget(self.legend)
        self.scores_label = QLabel(wordWrap=True, textFormat=Qt.TextFormat.RichText)
        self.scores_label.setAlignment(Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.scores_label, 1)
        self.regions = QTableWidget(0, 6)
        self.regions.setHorizontalHeaderLabels(["Model", "Area %", "Mean p", "Max p", "Box x, y, w, h", "#"])
        self.regions.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.regions.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.regions.setToolTip("Connected regions of each mask (8-connected), largest first; click to zoom to one")
        self.regions.cellClicked.connect(self.zoom_to_region)
        self.regions.verticalHeader().setVisible(False)
        self.regions.horizontalHeader().setStretchLastSection(True)
        self.regions.verticalHeader().setDefaultSectionSize(20)
        columns.addWidget(left, 3)
        columns.addWidget(self.regions, 2)
        controls.setMaximumHeight(240)
        dock = QDockWidget("Thresholds, scores and regions", self, objectName="controls-dock")
        dock.setWidget(controls)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)

    def _build_status(self):
        self.readout = QLabel("")
        self.progress = QProgressBar(maximumWidth=360, visible=False, textVisible=True)
        self.device_label = QLabel()
        self._show_device()
        status = self.statusBar()
        status.addWidget(self.readout, 1)
        status.addPermanentWidget(self.progress)
        status.addPermanentWidget(self.device_label)

    # --- settings --------------------------------------------------------------------------------
    def _set_setting(self, name, value, refresh=False):
        setattr(self.settings, name, value)
        save_settings(self.settings, self.config_folder)
        if refresh:
            self.refresh_layers()

    def set_device(self, choice: str):
        self._set_setting("device", choice)
        self.runtime = resolve_runtime(choice, self.settings.precision)
        self._show_device()

    def _show_device(self):
        note = self.runtime.note
        self.device_label.setText(f"CPU ({note.removeprefix('CUDA not used: ')})" if note else self.runtime.description)
        self.device_label.setToolTip(note or f"Models run on: {self.runtime.description}")

    def set_opacity(self, percent: int):
        self.settings.opacity = percent / 100
        for panel in self.panels[1:]:
            if self.mode_combo.currentText() == "Overlay" and not self.showing_original:
                panel.view.layer.setOpacity(self.settings.opacity)
        save_settings(self.settings, self.config_folder)

    def weights_folder(self) -> Path:
        return weights_dir(self.settings.weights_dir or None)

    def model_files(self) -> dict[str, list[Path]]:
        folder = self.weights_folder()
        files = {name: self.session_files.get(name) or installed_files(name, folder) for name in REGISTRY}
        return {name: paths for name, paths in files.items() if paths}

    def set_model_files(self, name: str, paths: list[Path]) -> None:
        """Use these checkpoint files for a model in this session."""
        self.session_files[name] = [Path(p) for p in paths]
        self.update_state()

    # --- opening ---------------------------------------------------------------------------------
    def choose_files(self):
        patterns = " ".join(f"*{ext}" for ext in sorted(IMAGE_EXTENSIONS))
        paths, _ = QFileDialog.getOpenFileNames(self, "Open images", "", f"Images ({patterns});;All files (*)")
        if paths:
            self.open_paths(paths)

    def choose_folder(self):
        folder = QFileDialog.getExistingDirectory(self, "Open a folder of images")
        if folder:
            self.open_paths([folder])

    def open_paths(self, paths: list[str]) -> None:
        """Queue the images (files and folders) and show the first one opened."""
        known = {item.path for item in self.items}
        found = make_items(paths)
        if not found:
            self.show_error("No images found in what was opened.")
            return
        self.batch_model.add([item for item in found if item.path not in known])
        self._update_batch_label()
        self.select_path(found[0].path)
        if self.model_files():
            self.start_batch()
        else:
            self.show_error("Viewing only: no model has weights yet, so the images stay queued. "
                            "Models › Manage models… (Ctrl+M) gets them.")

    def select_path(self, path: str | None) -> None:
        rows = [i for i, item in enumerate(self.items) if item.path == path]
        if rows:
            index = self.triage.mapFromSource(self.batch_model.index(rows[0], 0))
            if index.isValid():
                self.table.setCurrentIndex(index)
            else:
                self.show_path(path)

    def _row_selected(self, index):
        source = self.triage.mapToSource(index)
        if source.isValid():
            self.show_path(self.items[source.row()].path)

    def show_path(self, path: str) -> None:
        if self.current is not None and self.current.path == path and self.wanted_path == path:
            return
        self.wanted_path = path
        self.settings.add_recent(path)
        save_settings(self.settings, self.config_folder)
        self._fill_recent()
        self.load_view(path)

    def item_for(self, path: str) -> BatchItem | None:
        return next((item for item in self.items if item.path == path), None)

    def load_view(self, path: str) -> None:
        """Show an image: with its stored maps when it is done, else the input alone until the batch gets to it."""
        if self.view_worker is not None:
            self.pending_view = path
            self.view_worker.quit()
            return
        self.hide_error()
        item = self.item_for(path)
        files = self.model_files()
        if item is not None and item.status in ("done", "skipped") and files:
            worker = create_worker(stored_job, item.duplicate_of or path, files, self.cache, self.store,
                                   self.options(), dict(self.settings.thresholds), self.max_pixels(),
                                   _start_thread=False, _ignore_errors=True)
        else:
            worker = create_worker(open_job, path, self.max_pixels(), _start_thread=False, _ignore_errors=True)
        worker.returned.connect(lambda document, p=path: self._on_document(document, p))
        worker.errored.connect(lambda exc, p=path: self._on_error(p, exc))
        worker.finished.connect(self._on_view_finished)
        self.view_worker = worker
        worker.start()

    def _on_view_finished(self):
        self.view_worker = None
        if self.pending_view:
            path, self.pending_view = self.pending_view, None
            self.load_view(path)
        self.update_state()

    def step(self, delta: int, flagged: bool = False):
        rows = self.triage.rowCount()
        if not rows:
            return
        row = self.table.currentIndex().row()
        for _ in range(rows):
            row = (row + delta) % rows
            item = self.items[self.triage.mapToSource(self.triage.index(row, 0)).row()]
            if not flagged or item.flagged:
                self.table.setCurrentIndex(self.triage.index(row, 0))
                return
        self.statusBar().showMessage("No flagged image in the table.", 4000)

    def _fill_recent(self):
        self.recent_menu.clear()
        for path in self.settings.recent_files:
            self.recent_menu.addAction(path, lambda p=path: self.open_paths([p]))
        self.recent_menu.setEnabled(bool(self.settings.recent_files))

    # --- analysis --------------------------------------------------------------------------------
    def options(self) -> AnalysisOptions:
        return AnalysisOptions(device=self.settings.device, precision=self.settings.precision,
                               stride=self.settings.stride, declip_mode=self.settings.declip_mode)

    def max_pixels(self) -> int:
        return self.settings.max_pixels or DEFAULT_MAX_PIXELS

    def run_analysis(self):
        """Analyse the image on screen again (with the current settings; stored results are reused)."""
        item = self.item_for(self.wanted_path) if self.wanted_path else None
        if item is not None and item.status != "running":
            item.status, item.reason, item.models, item.duplicate_of = "queued", "", {}, None
            self.batch_model.refresh_row(self.items.index(item))
            self.start_batch()

    def start_batch(self) -> None:
        files = self.model_files()
        if self.batch_worker is not None or not files:
            if not files:
                self.show_error("No model has weights: Models › Manage models… gets them, or load a checkpoint.")
            return
        if not any(item.status == "queued" for item in self.items):
            return
        self.analyses_started += 1
        worker = create_worker(batch_job, self.items, files, self.cache, self.store, self.options(),
                               dict(self.settings.thresholds), self.max_pixels(),
                               lambda: self.wanted_path, _start_thread=False, _ignore_errors=True)
        worker.yielded.connect(self._on_batch_event)
        worker.errored.connect(lambda exc: self._on_error(self.wanted_path or "", exc))
        worker.aborted.connect(lambda: self.statusBar().showMessage("Batch cancelled", 5000))
        worker.finished.connect(self._on_batch_finished)
        self.batch_worker = worker
        self._batch_started = time.perf_counter()
        self._items_at_start = sum(1 for item in self.items if item.status in ("done", "error", "skipped"))
        self.progress.setRange(0, 0)
        self.progress.setFormat("loading models…")
        self.progress.setVisible(True)
        self.update_state()
        worker.start()

    def pause(self, on: bool):
        if self.batch_worker is None:
            self.pause_action.setChecked(False)
            return
        if on:
            self.batch_worker.pause()
            self.statusBar().showMessage("Batch paused", 4000)
        else:
            self.batch_worker.resume()

    def cancel(self):
        if self.batch_worker is not None:
            if self.batch_worker.is_paused:
                self.batch_worker.resume()
            self.batch_worker.quit()

    def _on_batch_event(self, event):
        if isinstance(event, Document):
            self._on_document(event, event.path)
            return
        if isinstance(event, JobProgress):
            self.progress.setRange(0, 0)
            self.progress.setFormat(f"{event.stage} {MODEL_TITLES.get(event.model, '')}…")
            return
        self.batch_model.refresh_row(event.index)
        if event.stage == "finished":
            self._update_batch_label()
            item = self.items[event.index]
            if item.path == self.wanted_path and item.status == "error":
                self._on_error(item.path, Exception(item.reason))
            elif item.path == self.wanted_path and item.status == "skipped":
                self.load_view(item.path)
        self.progress.setRange(0, max(event.total, 1))
        self.progress.setValue(event.done)
        text = f"images {event.done}/{event.total}"
        if event.stage == "model" and event.windows_total:
            text += f" — {MODEL_TITLES.get(event.model, event.model)} windows {event.windows_done}/{event.windows_total}"
        finished_now = event.done - self._items_at_start
        if finished_now > 0:
            remaining = (time.perf_counter() - self._batch_started) / finished_now * (event.total - event.done)
            text += f" — ETA {int(remaining // 3600)}:{int(remaining % 3600 // 60):02d}:{int(remaining % 60):02d}"
        self.progress.setFormat(text)

    def _on_batch_finished(self):
        for row, item in enumerate(self.items):
            if item.status == "running":  # cancelled mid-image: back in the queue (superqt does not close generators)
                item.status = "queued"
                self.batch_model.refresh_row(row)
        self.batch_worker = None
        self.pause_action.setChecked(False)
        self.progress.setVisible(False)
        self._update_batch_label()
        self.update_state()

    def _update_batch_label(self):
        counts = {status: sum(1 for item in self.items if item.status == status)
                  for status in ("done", "error", "skipped", "queued")}
        flagged = sum(1 for item in self.items if item.flagged and item.status == "done")
        self.batch_label.setText(f"{len(self.items)} image{'' if len(self.items) == 1 else 's'}: {counts['done']} done ({flagged} flagged), "
                                 f"{counts['error']} errors, {counts['skipped']} duplicates, {counts['queued']} queued")

    def _on_document(self, document: Document, path: str):
        if path != self.wanted_path:
            return  # the user has moved on
        if self.current is not None and self.current.path == path and self.current.models and not document.models:
            return
        self.display(document)
        if document.models:
            self.analysisFinished.emit(document.path)

    def _on_error(self, path: str, exc: Exception):
        message = f"{Path(path).name}: {getattr(exc, 'reason', None) or exc}"
        if "out of memory" in str(exc).lower():
            message += " — try the CPU (Analysis › Device) or a larger stride"
        self.show_error(message)
        self.analysisFailed.emit(message)

    def show_error(self, message: str):
        self.banner.setText(message)
        self.banner.setVisible(True)
        self.stack.setCurrentIndex(1)
        self.statusBar().showMessage(message, 10000)

    def hide_error(self):
        self.banner.setVisible(False)

    # --- display ---------------------------------------------------------------------------------
    def display(self, document: Document):
        self.current = document
        self.stack.setCurrentIndex(1)
        for panel in self.panels:
            panel.view.set_base(document.base)
        for key, result in document.models.items():
            self.thresholds[key].set_value(result.threshold, notify=False)
        self.refresh_layers()
        self.refresh_scores()
        self.refresh_regions()
        warnings = "; ".join(document.image.warnings)
        self.setWindowTitle(f"{Path(document.path).name} — DinoLizer GUI {__version__}")
        self.statusBar().showMessage(warnings, 10000)
        self.update_state()

    def refresh_layers(self, changed: set[str] | None = None):
        """Rebuild the model layers; with `changed` (after a threshold move) only those that depend on it."""
        document, mode = self.current, self.mode_combo.currentText()
        results = document.models if document else {}
        threshold_free = mode in ("Overlay", "Heat map")
        if changed is None or not threshold_free:
            agreement = None
            if mode == "Agreement" and len(results) == 2 and not self.showing_original:
                layer = agreement_layer(results["dinolizer"].mask(), results["declip"].mask())
                agreement = QPixmap.fromImage(layer_image(layer))
            for panel in self.panels[1:]:
                if changed is not None and mode != "Agreement" and panel.key not in changed:
                    continue
                self._set_panel_layer(panel, results.get(panel.key), mode, agreement)
        for key, control in self.thresholds.items():
            result = results.get(key)
            control.marked.setText(f"marked {result.marked_area():.2%}" if result else "")
        if mode == "Agreement":
            self.legend.set_swatches({"DinoLizer only": AGREEMENT_COLOURS["first only"],
                                      "DeCLIP only": AGREEMENT_COLOURS["second only"],
                                      "both": AGREEMENT_COLOURS["both"]})
        else:
            self.legend.set_scale(colormap_rgb(self.settings.colormap),
                                  {key: control.value() for key, control in self.thresholds.items()})

    def _set_panel_layer(self, panel, result, mode, agreement):
        view = panel.view
        if result is None or self.showing_original:
            view.set_layer(None)
        elif mode == "Overlay":
            view.set_layer(layer_image(heat_layer(result.levels, self.settings.colormap)), self.settings.opacity)
        elif mode == "Heat map":
            view.set_layer(layer_image(heat_layer(result.levels, self.settings.colormap, opaque=True)))
        elif mode == "Mask":
            layer = mask_layer(result.mask())
            layer.palette[0] = (0, 0, 0, 255)  # the binary mask as exported: white = flagged
            layer.palette[1] = (255, 255, 255, 255)
            view.set_layer(layer_image(layer))
        elif mode == "Contours":
            view.set_layer(layer_image(contour_layer(result.mask())))
        else:
            view.set_layer(agreement, 0.75)

    def refresh_scores(self):
        document = self.current
        lines = []
        for key, panel in zip(MODEL_TITLES, self.panels[1:]):
            result = document.models.get(key) if document else None
            if result is None:
                panel.score.setText("<i>not analysed</i>" if document else "")
                continue
            localizer = result.localizer
            verdict = "<b style='color:#c0392b'>flagged</b>" if result.flagged() else "not flagged"
            panel.score.setText(f"score {result.score:.3f} — {verdict}")
            explanation = (f"{MODEL_TITLES[key]} score = 99th percentile of the inpainting probability map; "
                           f"flagged when ≥ {localizer.score_threshold:.4f} ({localizer.score_threshold_source}).")
            panel.score.setToolTip(explanation)
            lines.append(f"<b>{MODEL_TITLES[key]}</b> {result.score:.3f} ({verdict}): {explanation} "
                         f"<i>Variant: {localizer.variant}; {result.run.device}; "
                         f"{f'{result.run.seconds:.1f} s' if result.run.seconds else 'from the results store'}.</i>")
        self.scores_label.setText("<br>".join(lines))

    def refresh_regions(self):
        """Regions are computed on a worker thread (connected components of a 12 MP mask take ~150 ms)."""
        document = self.current
        if document is None or not document.models:
            self._fill_regions(None, {})
            return
        results = dict(document.models)
        worker = create_worker(lambda: {key: r.regions_summary() for key, r in results.items()},
                               _start_thread=False, _ignore_errors=True)
        worker.returned.connect(lambda summaries, doc=document: self._fill_regions(doc, summaries))
        worker.errored.connect(lambda exc: self.statusBar().showMessage(f"regions: {exc}", 5000))
        self._region_workers.add(worker)
        worker.finished.connect(lambda w=worker: self._region_workers.discard(w))
        worker.start()

    def _fill_regions(self, document, summaries):
        if document is not self.current:
            return  # a result for an image no longer shown
        rows = [(key, region) for key, summary in summaries.items()
                if summary.threshold == document.models[key].threshold for region in summary.regions[:200]]
        self.regions.setRowCount(len(rows))
        for row, (key, region) in enumerate(rows):
            values = (MODEL_TITLES[key], f"{region.area_percent:.2f}", f"{region.mean_probability:.3f}",
                      f"{region.max_probability:.3f}", f"{region.x}, {region.y}, {region.width}, {region.height}",
                      str(region.index))
            for column, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setData(Qt.ItemDataRole.UserRole, (region.x, region.y, region.width, region.height))
                self.regions.setItem(row, column, item)
        self.regionsUpdated.emit()

    def zoom_to_region(self, row: int, _column: int = 0):
        item = self.regions.item(row, 0)
        if item is not None:
            x, y, w, h = item.data(Qt.ItemDataRole.UserRole)
            self.panels[0].view.zoom_to(QRectF(x, y, max(w, 1), max(h, 1)))

    def set_threshold(self, key: str, value: float):
        keys = list(self.thresholds) if self.settings.link_thresholds else [key]
        for name in keys:
            self.thresholds[name].set_value(value, notify=False)
            self.settings.thresholds[name] = value
            if self.current and name in self.current.models:
                self.current.models[name].threshold = value
        self.refresh_layers(changed=set(keys))
        self._regions_timer.start()
        save_settings(self.settings, self.config_folder)

    def nudge_thresholds(self, delta: float):
        for key, control in self.thresholds.items():
            self.set_threshold(key, control.value() + delta)
            if self.settings.link_thresholds:
                break

    def show_original(self, on: bool):
        self.showing_original = on
        self.original_action.setChecked(on)
        self.refresh_layers()

    def show_readout(self, x: int, y: int):
        if self.current is None or x < 0:
            self.readout.setText("")
            return
        parts = [f"({x}, {y})"]
        for key, result in self.current.models.items():
            parts.append(f"{MODEL_TITLES[key]} {result.probability[y, x]:.3f}")
        self.readout.setText("   ".join(parts))

    def show_card(self, key: str):
        result = self.current.models.get(key) if self.current else None
        describe = result.localizer.describe() if result else None
        QMessageBox.information(self, f"Model card — {MODEL_TITLES[key]}", card_html(REGISTRY[key].card, describe))

    def show_shortcuts(self):
        rows = [(a.text().replace("&", ""), a.shortcut().toString()) for a in self.actions() if not a.shortcut().isEmpty()]
        rows.append(("Show the original while held", "Space"))
        QMessageBox.information(self, "Keyboard shortcuts",
                                "<table>" + "".join(f"<tr><td>{t}</td><td><b>{k}</b></td></tr>" for t, k in rows) + "</table>")

    # --- export ----------------------------------------------------------------------------------
    def show_export_dialog(self):
        from .export_dialog import ExportDialog

        default = str(Path(self.current.path).parent / "dinolizer-report") if self.current else ""
        dialog = ExportDialog(self.settings, self.export_job, self, default)
        dialog.exported.connect(lambda _: save_settings(self.settings, self.config_folder))
        dialog.show()
        return dialog

    def export_items(self, scope: str) -> list[BatchItem]:
        if scope == "Current image":
            chosen = [self.item_for(self.wanted_path)] if self.wanted_path else []
        elif scope == "Selected images":
            chosen = [self.items[self.triage.mapToSource(index).row()]
                      for index in self.table.selectionModel().selectedRows()]
        else:
            chosen = self.items
        return [item for item in chosen if item is not None and item.status == "done"]

    def export_job(self, scope: str, folder: Path, formats: list[str], case):
        from ..core.analysis import ImageOutcome, ModelOutcome, describe_run
        from ..core.report.export import export_outcomes

        items = self.export_items(scope)
        if not items:
            raise ValueError("No analysed image in this selection: run the analysis first.")
        files, options = self.model_files(), self.options()
        thresholds = {name: control.value() for name, control in self.thresholds.items()}
        max_pixels = self.max_pixels()

        def outcomes(localizers):  # one image's maps in memory at a time
            for item in items:
                document = load_document(item.path, localizers, self.store, options, thresholds, max_pixels)
                yield item, ImageOutcome(item.path, document.image), {
                    name: ModelOutcome(result.run, result.regions_summary()) for name, result in document.models.items()}

        def job():  # on the export worker
            localizers = [self.cache.get(name, paths) for name, paths in files.items()]
            run_info = describe_run(localizers, options, self.runtime, {l.name: thresholds[l.name] for l in localizers},
                                    max_pixels)
            return (yield from export_outcomes(outcomes(localizers), len(items), run_info, folder, formats, case))

        return job()

    # --- weights ---------------------------------------------------------------------------------
    def choose_checkpoint(self):
        path, _ = QFileDialog.getOpenFileName(self, "Load a checkpoint", "", "Checkpoints (*.ckpt *.pth *.pt *.safetensors)")
        if not path:
            return
        from ..core.models.checkpoints import CheckpointError, Layout, read_checkpoint

        try:
            layout = read_checkpoint(path).layout
        except CheckpointError as exc:
            self.show_error(str(exc))
            return
        model = "declip" if layout in (Layout.DECLIP_VIT, Layout.DECLIP_VIT_RN50) else "dinolizer"
        existing = self.session_files.get(model, []) if layout in (Layout.BFREE_BACKBONE, Layout.LINEAR_HEAD) else []
        self.set_model_files(model, existing + [Path(path)])

    def show_models_dialog(self):
        from .models_dialog import ModelsDialog

        dialog = ModelsDialog(self.weights_folder(), self)
        dialog.changed.connect(self.update_state)
        dialog.show()
        return dialog

    def choose_weights_folder(self):
        folder = QFileDialog.getExistingDirectory(self, "Weights folder", str(self.weights_folder()))
        if folder:
            self._set_setting("weights_dir", folder)
            self.welcome.set_folder(folder)
            self.update_state()

    # --- state -----------------------------------------------------------------------------------
    def update_state(self):
        running = self.batch_worker is not None
        has_models = bool(self.model_files())
        self.run_action.setEnabled(has_models and self.current is not None)
        self.cancel_action.setEnabled(running)
        self.pause_action.setEnabled(running)
        if self.current is None and self.view_worker is None:
            self.stack.setCurrentIndex(0 if not has_models else 1)


    # --- events ----------------------------------------------------------------------------------
    def showEvent(self, event):
        super().showEvent(event)
        if not getattr(self, "_sized", False):  # docks can only be sized once the window is laid out
            self._sized = True
            self.resizeDocks([self.batch_dock], [max(360, self.width() // 3)], Qt.Orientation.Horizontal)

    def dragEnterEvent(self, event):
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event):
        paths = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.open_paths(paths)

    def closeEvent(self, event):
        self.pending_view = None
        self._regions_timer.stop()
        for worker in (self.batch_worker, self.view_worker):
            if worker is not None:
                if worker.is_paused:
                    worker.resume()
                worker.quit()  # stops between two batches of windows
        QThreadPool.globalInstance().waitForDone(30_000)  # no worker may outlive the window it reports to
        save_settings(self.settings, self.config_folder)
        super().closeEvent(event)


class _SpaceFilter(QObject):
    """Holding Space anywhere in the window shows the original in place of the overlays."""

    def __init__(self, window: MainWindow):
        super().__init__(window)
        self.window = window
        from PySide6.QtWidgets import QApplication

        QApplication.instance().installEventFilter(self)

    def eventFilter(self, obj, event):
        if event.type() in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease) and event.key() == Qt.Key.Key_Space \
                and not event.isAutoRepeat() and self.window.isActiveWindow():
            self.window.show_original(event.type() == QEvent.Type.KeyPress)
            return True
        return False
