"""The Instruments dock: which view the panel last clicked shows, the instrument's parameters (defaults at
hand), how far its computation is, what it found, and what it shows, how to read it and when it misleads;
for JPEG ghosts the quality shown, the file's own estimated quality and the curve of the difference per
quality for the whole image and a region."""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QScrollArea,
    QSlider,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from ...core.instruments import (
    INSTRUMENTS,
    SIGMA,
    TIMES,
    CopyMoveResult,
    ElaResult,
    GhostResult,
    InstrumentResult,
    NoiseResult,
)
from ...core.instruments.ghosts import QUALITIES
from ...core.report.views import degrees_text
from ...core.session.instrument_views import VIEWS
from ...core.session.viewer_state import ViewerState
from ..action_ids import ActionId
from ..instrument_views import InstrumentPanels
from ..panels import PANEL_TITLES
from .instrument_widgets import REGION_COLOUR, WHOLE_IMAGE_COLOUR, CurvePlot, ParameterForm


class InstrumentsDock(QDockWidget):
    """Subscribes itself to the viewer state (views, parameters, the ghost's quality), the instruments' jobs
    (progress, results, the file's facts), the panel last clicked and the regions table's selection."""

    def __init__(self, panels: InstrumentPanels, regions: QTableWidget, parent: QWidget | None = None):
        super().__init__("Instruments", parent)
        self.setObjectName("instruments-dock")
        self.panels, self.jobs, self.regions_table = panels, panels.jobs, regions
        self.viewer: ViewerState = panels.viewer
        self.instrument = "ela"  # the one described and adjusted here
        self.panel_choice, self.view_choice = QComboBox(), QComboBox()
        for key, title in PANEL_TITLES.items():
            self.panel_choice.addItem(title, key)
        self.view_choice.addItem("its own picture", "")  # never None: PySide 6.12 loses a reference to it
        for name, view in VIEWS.items():
            self.view_choice.addItem(f"{view.label}   {view.key}", name)
        self.parameters = QGroupBox()
        self.parameters_layout = QVBoxLayout(self.parameters)
        self.form: ParameterForm | None = None
        self.defaults = QPushButton("Defaults")
        self.status = QLabel(wordWrap=True)
        self.details = QLabel(wordWrap=True, textFormat=Qt.TextFormat.PlainText)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.ghost = self._ghost_box()
        self.guide = QLabel(wordWrap=True, textFormat=Qt.TextFormat.RichText)
        self.guide.setAlignment(Qt.AlignmentFlag.AlignTop)
        self._lay_out()
        self.panel_choice.activated.connect(lambda _: panels.choose_target(self.panel_choice.currentData()))
        self.view_choice.activated.connect(
            lambda _: self._choose_view(self.view_choice.currentData() or None)
        )
        self.defaults.clicked.connect(lambda: self._set_parameters({}))
        self.ghost_slider.valueChanged.connect(self._choose_quality)
        self.region_choice.activated.connect(lambda _: self._show_ghost())
        regions.itemSelectionChanged.connect(self._regions_changed)
        panels.targetChanged.connect(self.sync)
        self.viewer.events.instruments.connect(self.sync)
        self.viewer.events.layout.connect(self.sync)
        self.jobs.changed.connect(self._instrument_changed)
        self.jobs.factsChanged.connect(self.sync)
        panels.view.displayed.connect(self._regions_changed)
        panels.view.loading.connect(self._regions_changed)
        panels.outlinesChanged.connect(self._regions_changed)
        self.sync()

    def _ghost_box(self) -> QGroupBox:
        box = QGroupBox("JPEG ghost")
        self.ghost_slider = QSlider(Qt.Orientation.Horizontal)
        self.ghost_slider.setRange(0, len(QUALITIES) - 1)
        self.ghost_slider.setPageStep(1)
        self.ghost_slider.setToolTip("The quality whose ghost map the panels show (, and . step it)")
        self.ghost_quality = QLabel()
        self.file_quality = QLabel(wordWrap=True)
        self.plot = CurvePlot()
        self.region_choice = QComboBox()
        self._regions: list[np.ndarray | tuple[int, int, int, int] | None] = [None]  # by the choice's index
        self.region_choice.setToolTip("A region whose curve is drawn beside the whole image's")
        layout = QVBoxLayout(box)
        row = QHBoxLayout()
        row.addWidget(self.ghost_quality)
        row.addWidget(self.ghost_slider, 1)
        layout.addLayout(row)
        layout.addWidget(self.file_quality)
        layout.addWidget(self.plot)
        layout.addWidget(self.region_choice)
        return box

    def _lay_out(self) -> None:
        body = QWidget()
        layout = QVBoxLayout(body)
        choose = QFormLayout()
        choose.addRow("Panel", self.panel_choice)
        choose.addRow("shows", self.view_choice)
        layout.addLayout(choose)
        layout.addWidget(self.status)
        layout.addWidget(self.parameters)
        layout.addWidget(self.ghost)
        layout.addWidget(self.details)
        layout.addWidget(self.guide)
        layout.addStretch(1)
        scroller = QScrollArea(widgetResizable=True)
        scroller.setWidget(body)
        self.setWidget(scroller)

    # --- what the user chooses -------------------------------------------------------------------
    def _choose_view(self, view: str | None) -> None:
        views = self.viewer.instruments
        self.viewer.instruments = views.showing(self.panels.target, view)

    def _set_parameters(self, values: dict[str, Any]) -> None:
        self.viewer.instruments = self.viewer.instruments.with_parameters(self.instrument, values)

    def _choose_quality(self, index: int) -> None:
        self.viewer.instruments = self.viewer.instruments.with_ghost_quality(QUALITIES[index])

    # --- what is shown ---------------------------------------------------------------------------
    def sync(self, *_: object) -> None:
        """Every control from the viewer state, the panel last clicked and the jobs (no signal sent back)."""
        views, target = self.viewer.instruments, self.panels.target
        view = views.view_on(target)
        if view is not None:
            self.instrument = view.instrument
        self._select(self.panel_choice, target)
        self._select(self.view_choice, view.name if view is not None else "")
        self._show_form(views.parameters(self.instrument))
        self.ghost_slider.blockSignals(True)
        self.ghost_slider.setValue(QUALITIES.index(views.ghost_quality))
        self.ghost_slider.blockSignals(False)
        self.ghost_quality.setText(f"quality {views.ghost_quality}")
        self.ghost.setVisible(self.instrument == "ghost")
        self._regions_changed()
        self._show_state()
        self._show_guide()

    @staticmethod
    def _select(combo: QComboBox, data: object) -> None:
        combo.blockSignals(True)
        combo.setCurrentIndex(combo.findData(data))
        combo.blockSignals(False)

    def _show_form(self, values: dict[str, Any]) -> None:
        self.parameters.setTitle(f"{INSTRUMENTS[self.instrument].title}: parameters")
        form = self.form
        if form is not None and form.instrument == self.instrument and form.values() == values:
            return
        if form is not None:
            form.deleteLater()
        self.form = ParameterForm(self.instrument, values, self._set_parameters)
        self.parameters_layout.addWidget(self.form)
        self.parameters_layout.addWidget(self.defaults)

    def _instrument_changed(self, instrument: str) -> None:
        if instrument == self.instrument:
            self._show_state()

    def _show_state(self) -> None:
        status = self.jobs.status(self.instrument)
        self.status.setText(f"{INSTRUMENTS[self.instrument].title}: {status}" if status else "")
        result = self.jobs.result(self.instrument)
        self.details.setText(details_text(result) if result is not None else "")
        self._show_ghost()

    def _show_guide(self) -> None:
        guide = INSTRUMENTS[self.instrument].guide
        self.guide.setText(
            f"<p><b>What it shows.</b> {guide.shows}</p><p><b>How to read it.</b> {guide.read}</p>"
            f"<p><b>When it misleads.</b> {guide.misleads}</p>"
        )

    # --- the JPEG ghost's curve ------------------------------------------------------------------
    def _regions_changed(self, *_: object) -> None:
        """The regions the curve may be drawn for: the outlines on the views, the region chosen in the
        regions table (its box)."""
        if self.instrument != "ghost":
            return
        chosen = self.region_choice.currentText()
        self.region_choice.blockSignals(True)
        self.region_choice.clear()
        self._regions = [None, *(outline.mask for outline in self.panels.outlines())]
        self.region_choice.addItems(
            ["whole image only", *(outline.label for outline in self.panels.outlines())]
        )
        if (box := self._table_region()) is not None:
            label, rect = box
            self._regions.append(rect)
            self.region_choice.addItem(label)
        index = self.region_choice.findText(chosen)
        self.region_choice.setCurrentIndex(
            max(index, 0) if box is None or index >= 0 else self.region_choice.count() - 1
        )
        self.region_choice.blockSignals(False)
        self._show_ghost()

    def _table_region(self) -> tuple[str, tuple[int, int, int, int]] | None:
        rows = {index.row() for index in self.regions_table.selectedIndexes()}
        if len(rows) != 1:
            return None
        row = rows.pop()
        number, model = self.regions_table.item(row, 0), self.regions_table.item(row, 1)
        if number is None:
            return None
        x, y, width, height = number.data(Qt.ItemDataRole.UserRole)
        label = f"region #{number.text()} of {model.text() if model else '?'} (its box)"
        return label, (int(x), int(y), max(int(width), 1), max(int(height), 1))

    def _show_ghost(self) -> None:
        result = self.jobs.result("ghost") if self.instrument == "ghost" else None
        facts = self.jobs.source_facts()
        own = facts.jpeg_quality if facts is not None else None
        self.file_quality.setText(file_quality_text(facts.is_jpeg if facts else None, own))
        if not isinstance(result, GhostResult):
            self.plot.set_curves([], self.viewer.instruments.ghost_quality, own)
            return
        curves = [("whole image", result.curve, WHOLE_IMAGE_COLOUR)]
        index = self.region_choice.currentIndex()
        region = self._regions[index] if 0 <= index < len(self._regions) else None
        if region is not None:
            with contextlib.suppress(ValueError):  # an empty region: nothing to draw
                curves.append((self.region_choice.currentText(), result.region_curve(region), REGION_COLOUR))
        self.plot.set_curves(curves, self.viewer.instruments.ghost_quality, own)


def file_quality_text(is_jpeg: bool | None, quality: int | None) -> str:
    """The file's own estimated JPEG quality, beside the ghost (the provenance reader's estimate)."""
    if is_jpeg is None:
        return "The file's own quality: not read yet"
    if not is_jpeg:
        return "The file is not a JPEG: a ghost means it was one before, in the same grid"
    if quality is None:
        return "The file's own quality: unknown (its tables could not be read)"
    return f"The file's own quality: about {quality} (estimated from its quantisation tables)"


def details_text(result: InstrumentResult) -> str:
    """What a result found, in a few lines, with its notes."""
    lines: list[str] = []
    if isinstance(result, ElaResult):
        lines.append(f"Mean error {result.mean_error:.2f} grey levels; saved again as {result.subsampling}.")
    elif isinstance(result, NoiseResult):
        lines.append(f"Noise level: white = {SIGMA} {result.sigma_scale:g} grey levels or more.")
    elif isinstance(result, GhostResult):
        lowest = min(range(len(result.qualities)), key=lambda index: result.curve[index])
        lines.append(f"Whole image closest to itself at quality {result.qualities[lowest]}.")
    elif isinstance(result, CopyMoveResult):
        lines.append(
            f"{result.keypoints} keypoints, {result.matches} matches, {len(result.clusters)} cluster(s)."
        )
        for number, cluster in enumerate(result.clusters, 1):
            x, y, width, height = cluster.source
            tx, ty, twidth, theight = cluster.target
            lines.append(
                f"{number}: {cluster.matches} matches, ({x}, {y}, {width}{TIMES}{height}) → "
                f"({tx}, {ty}, {twidth}{TIMES}{theight}), turned {degrees_text(cluster.rotation_degrees)}°, "
                f"scale {cluster.scale:.2f}"
            )
        if not result.clusters:
            lines.append("No copy found (which does not prove there is none).")
    return "\n".join(lines + [f"Note: {note}." for note in result.notes])


def place_instruments_dock(
    window: QMainWindow, dock: InstrumentsDock, beside: QDockWidget
) -> dict[ActionId, tuple[QDockWidget, str]]:
    """The Instruments dock as a tab beside the batch dock (the batch in front); its toggle and shortcut."""
    window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
    window.tabifyDockWidget(beside, dock)
    beside.raise_()
    return {ActionId.TOGGLE_INSTRUMENTS: (dock, "Ctrl+Shift+I")}
