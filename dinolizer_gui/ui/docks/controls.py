"""The bottom dock: a threshold per model (linked or not), the legend, the scores and the regions table."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QRectF, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDockWidget,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...core.maps.render import AGREEMENT_COLOURS, ViewMode, colormap_rgb, stability_colour
from ...core.models.registry import map_titles, titles
from ..batch_table import marked_text
from ..controllers.thresholds import ThresholdsController
from ..document import Document
from ..widgets import Legend, ThresholdControl, VerdictBar

REGION_COLUMNS = ["#", "Model", "Area %", "Mean p", "Max p", "Stability", "Box x, y, w, h"]
MAX_REGION_ROWS = 200


class ControlsDock(QDockWidget):
    regionChosen = Signal(QRectF, int)  # a region's box in image pixels, its number
    regionHovered = Signal(object, int)  # the box of the row under the mouse (None: none), its number
    lockToggled = Signal(bool)
    verdictChosen = Signal(str)  # the analyst's verdict on the image on screen
    noteEdited = Signal(str)  # and the note

    def __init__(self, thresholds: ThresholdsController, parent=None):
        super().__init__("Thresholds, scores and regions", parent)
        self.setObjectName("controls-dock")
        self.controller = thresholds
        self.threshold = {
            name: ThresholdControl(name, title, thresholds.of(name)) for name, title in map_titles().items()
        }
        self.link_check = QCheckBox("Link both thresholds")
        self.link_check.setChecked(thresholds.linked)
        self.lock_check = QCheckBox("Lock zoom and pan across panels")
        self.lock_check.setChecked(True)
        self.legend = Legend()
        self.scores_label = QLabel(wordWrap=True, textFormat=Qt.TextFormat.RichText)
        self.scores_label.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.regions = self._regions_table()
        self.verdict = VerdictBar()
        self._lay_out()
        for control in self.threshold.values():
            control.changed.connect(thresholds.move)
        self.link_check.toggled.connect(thresholds.set_linked)
        self.lock_check.toggled.connect(self.lockToggled)
        thresholds.changed.connect(self._follow)
        thresholds.regionsReady.connect(self.show_regions)
        self.verdict.verdictChosen.connect(self.verdictChosen)
        self.verdict.noteEdited.connect(self.noteEdited)

    def _regions_table(self) -> QTableWidget:
        table = QTableWidget(0, len(REGION_COLUMNS))
        table.setHorizontalHeaderLabels(REGION_COLUMNS)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setToolTip("Connected regions of each mask (8-connected), largest first; click to zoom to one")
        table.cellClicked.connect(self.choose_region)
        table.setMouseTracking(True)
        table.cellEntered.connect(lambda row, _: self._hover(row))
        table.viewport().installEventFilter(self)
        table.verticalHeader().setVisible(False)
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        table.horizontalHeader().setStretchLastSection(True)
        table.verticalHeader().setDefaultSectionSize(20)
        return table

    def _lay_out(self) -> None:
        left = QWidget()
        layout = QVBoxLayout(left)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.verdict)
        for control in self.threshold.values():
            layout.addWidget(control)
        row = QHBoxLayout()
        row.addWidget(self.link_check)
        row.addWidget(self.lock_check)
        row.addStretch(1)
        layout.addLayout(row)
        layout.addWidget(self.legend)
        layout.addWidget(self._scrolling(self.scores_label), 1)
        controls = QWidget()
        columns = QHBoxLayout(controls)
        columns.addWidget(left, 3)
        columns.addWidget(self.regions, 2)
        controls.setMaximumHeight(240)
        self.setWidget(controls)

    @staticmethod
    def _scrolling(label: QLabel) -> QScrollArea:
        """Every model's score, meaning and weights stay reachable in a short dock: the text scrolls."""
        area = QScrollArea()
        area.setWidgetResizable(True)
        area.setFrameShape(QFrame.Shape.NoFrame)
        area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        area.setWidget(label)
        area.setMinimumHeight(3 * label.fontMetrics().lineSpacing())
        return area

    def _follow(self, names: set[str]) -> None:
        for name in names:
            self.threshold[name].set_value(self.controller.of(name), notify=False)

    def show_scores(self, text: str) -> None:
        self.scores_label.setText(text)

    def show_verdict(self, verdict, enabled: bool = True) -> None:
        self.verdict.show_verdict(verdict, enabled)

    def focus_note(self) -> None:
        self.show()
        self.verdict.note.setFocus()
        self.verdict.note.selectAll()

    def show_marked(self, document: Document | None) -> None:
        results = document.models if document else {}
        for name, control in self.threshold.items():
            result = results.get(name)
            text = ""
            if result is not None and (threshold := result.threshold) is not None:
                text = f"marked {marked_text(result.marked_area(), threshold)}"
            control.marked.setText(text)

    def show_legend(self, mode: ViewMode, colormap: str, document: Document | None = None) -> None:
        if mode is ViewMode.STABILITY:
            self.legend.set_swatches(stability_swatches(document))
        elif mode is ViewMode.AGREEMENT:
            first, second = map_titles().values()
            colours = AGREEMENT_COLOURS
            self.legend.set_swatches(
                {
                    f"{first} only": colours["first only"],
                    f"{second} only": colours["second only"],
                    "both": colours["both"],
                }
            )
        else:
            self.legend.set_scale(colormap_rgb(colormap), self.controller.owner.all())

    def show_regions(self, document: Document | None, summaries: dict) -> None:
        rows = [
            (name, region)
            for name, summary in summaries.items()
            if document is not None and summary.threshold == document.models[name].threshold
            for region in summary.regions[:MAX_REGION_ROWS]
        ]
        self.regions.setRowCount(len(rows))
        checks = {
            name: result.stability_now() for name, result in (document.models if document else {}).items()
        }
        for row, (name, region) in enumerate(rows):
            check = checks.get(name)
            stability = check.region(region.index) if check is not None else None
            values = (
                str(region.index),
                titles()[name],
                f"{region.area_percent:.2f}",
                f"{region.mean_probability:.3f}",
                f"{region.max_probability:.3f}",
                f"{stability.stability:.2f} — {stability.label}" if stability else "—",
                f"{region.x}, {region.y}, {region.width}, {region.height}",
            )
            for column, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setData(Qt.ItemDataRole.UserRole, (region.x, region.y, region.width, region.height))
                self.regions.setItem(row, column, item)

    def _region_at(self, row: int) -> tuple[QRectF, int] | None:
        item = self.regions.item(row, 0)
        if item is None:
            return None
        x, y, w, h = item.data(Qt.ItemDataRole.UserRole)
        return QRectF(x, y, max(w, 1), max(h, 1)), int(item.text())

    def choose_region(self, row: int, _column: int = 0) -> None:
        if (region := self._region_at(row)) is not None:
            self.regionChosen.emit(*region)

    def _hover(self, row: int) -> None:
        region = self._region_at(row)
        self.regionHovered.emit(*(region or (None, 0)))

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Type.Leave:
            self.regionHovered.emit(None, 0)
        return False


def stability_swatches(document: Document | None) -> dict[str, tuple[int, int, int]]:
    """The colours of the stability view, in analyses: "marked in 1 of 5", "2 of 5", … "all"; models whose
    checks count different analyses (4 for DeCLIP on the whole image) each get their steps."""
    counts = {
        1 + len(result.stability.variants)
        for result in (document.models if document else {}).values()
        if result.stability is not None
    }
    labels: dict[float, str] = {}
    for fraction, marked, total in sorted({(m / t, m, t) for t in counts for m in range(1, t + 1)}):
        labels.setdefault(fraction, "all" if marked == total else f"{marked} of {total}")
    swatches = [(label, stability_colour(fraction)) for fraction, label in labels.items()]
    return {
        (f"marked in {label}" if index == 0 else label): colour
        for index, (label, colour) in enumerate(swatches)
    }
