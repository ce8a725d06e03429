"""The bottom dock: a threshold per model (linked or not), the legend, the scores and the regions table."""

from __future__ import annotations

from functools import partial

from PySide6.QtCore import QEvent, QObject, QPoint, QRectF, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDockWidget,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...core.maps.postprocess import Summary
from ...core.maps.render import AGREEMENT_COLOURS, ViewMode, colormap_rgb, stability_colour
from ...core.models.registry import map_titles, titles
from ...core.session.events import Binding, rebind
from ...core.session.viewer_state import ViewerState
from ...core.store.decisions import RegionState
from ..batch_table import marked_text
from ..controllers.thresholds import ThresholdsController
from ..controllers.verdicts import VerdictController
from ..controllers.view import ViewController
from ..document import Document
from ..panels import PanelGrid
from ..scores import scores_text
from ..widgets import Legend, ThresholdControl, VerdictBar

REGION_COLUMNS = ["#", "Model", "Decision", "Area %", "Mean p", "Max p", "Stability", "Box x, y, w, h"]
DECISION_COLUMN = 2
MODEL_ROLE = Qt.ItemDataRole.UserRole + 1
MAX_REGION_ROWS = 200


class ControlsDock(QDockWidget):
    """Subscribes itself to what it shows: the thresholds' owner (values, link), the viewer state (the
    legend follows the mode and colour map; the zoom lock), the image on screen, its regions and verdict."""

    decisionAsked = Signal(str, int, str)  # model, region number, "confirmed" / "rejected" / "unreviewed"
    noteAsked = Signal(str, int)  # model, region number: the examiner writes a note on the decision

    def __init__(
        self,
        thresholds: ThresholdsController,
        viewer: ViewerState,
        view: ViewController,
        verdicts: VerdictController,
        panels: PanelGrid,
        parent: QWidget | None = None,
    ):
        super().__init__("Thresholds, scores and regions", parent)
        self.setObjectName("controls-dock")
        self.owner, self.view, self.verdicts, self.panels = thresholds.owner, view, verdicts, panels
        self.threshold = {
            name: ThresholdControl(name, title, self.owner.of(name)) for name, title in map_titles().items()
        }
        self.link_check = QCheckBox("Link both thresholds")
        self.link_check.setChecked(self.owner.linked)
        self.lock_check = QCheckBox("Lock zoom and pan across panels")
        self.legend = Legend()
        self.scores_label = QLabel(wordWrap=True, textFormat=Qt.TextFormat.RichText)
        self.scores_label.setAlignment(Qt.AlignmentFlag.AlignTop)
        self._states: dict[str, list[RegionState]] = {}
        self.regions = self._regions_table()
        self.verdict = VerdictBar()
        self._lay_out()
        for control in self.threshold.values():
            control.changed.connect(self.owner.move)
        self.link_check.toggled.connect(self.owner.set_linked)
        self.owner.events.moved.connect(self._thresholds_moved)
        self.owner.events.linked.connect(self._show_link)
        self.lock_check.toggled.connect(self._lock)
        thresholds.regionsReady.connect(self._regions_ready)
        view.loading.connect(self._loading)
        view.displayed.connect(self._displayed)
        verdicts.changed.connect(self._verdict_changed)
        self.verdict.verdictChosen.connect(lambda verdict: verdicts.record_shown(verdict=verdict))
        self.verdict.noteEdited.connect(lambda note: verdicts.record_shown(note=note))
        self.viewer: ViewerState | None = None
        self.bind(viewer)

    def bind(self, viewer: ViewerState) -> None:
        """Follow this viewer state from now on: the one before no longer reaches the dock."""
        rebind(self._bindings(self.viewer), self._bindings(viewer))
        self.viewer = viewer
        self._show_lock(viewer.zoom_locked)
        self._show_legend()

    def _bindings(self, viewer: ViewerState | None) -> list[Binding]:
        if viewer is None:
            return []
        events = viewer.events
        return [
            (events.mode, self._show_legend),
            (events.colormap, self._show_legend),
            (events.zoom_locked, self._show_lock),
        ]

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
        table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        table.customContextMenuRequested.connect(self._decision_menu)
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

    @property
    def state(self) -> ViewerState:
        assert self.viewer is not None  # bound in the constructor
        return self.viewer

    # --- what the owners say ---------------------------------------------------------------------
    def _thresholds_moved(self, names: frozenset[str]) -> None:
        for name in names:
            self.threshold[name].set_value(self.owner.of(name), notify=False)
        self.show_marked(self.view.current)
        self._show_legend()

    def _show_link(self, linked: bool) -> None:
        self.link_check.setChecked(linked)

    def _show_lock(self, locked: bool) -> None:
        self.lock_check.setChecked(locked)

    def _lock(self, locked: bool) -> None:
        self.state.zoom_locked = locked

    def _loading(self, path: str) -> None:
        """Nothing of the image shown before stays on screen while another loads."""
        if self.view.current is None:
            self.verdict.show_verdict(self.verdicts.verdict_for(path), enabled=False)
            self.scores_label.setText("")
            self.show_regions(None, {})
            self.show_marked(None)

    def _displayed(self, document: Document) -> None:
        self.show_marked(document)
        self._show_legend()
        self.scores_label.setText(scores_text(document))
        self.verdict.show_verdict(self.verdicts.verdict_for(document.path))

    def _regions_ready(self, document: Document | None, summaries: dict[str, Summary]) -> None:
        self.show_regions(document, summaries)
        self.scores_label.setText(scores_text(document))  # with the scores against a ground truth

    def _verdict_changed(self, path: str) -> None:
        if path == self.view.wanted_path:
            self.verdict.show_verdict(self.verdicts.verdict_for(path))

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

    def _show_legend(self, *_: object) -> None:
        mode = self.state.mode
        if mode is ViewMode.STABILITY:
            self.legend.set_swatches(stability_swatches(self.view.current))
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
            self.legend.set_scale(colormap_rgb(self.state.colormap), self.owner.all())

    def show_regions(self, document: Document | None, summaries: dict[str, Summary]) -> None:
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
                "…",
                f"{region.area_percent:.2f}",
                f"{region.mean_probability:.3f}",
                f"{region.max_probability:.3f}",
                f"{stability.stability:.2f} — {stability.label}" if stability else "—",
                f"{region.x}, {region.y}, {region.width}, {region.height}",
            )
            for column, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setData(Qt.ItemDataRole.UserRole, (region.x, region.y, region.width, region.height))
                item.setData(MODEL_ROLE, name)
                self.regions.setItem(row, column, item)
        self.show_decisions(self._states)

    def show_decisions(self, states: dict[str, list[RegionState]]) -> None:
        """The examiner's decision on each region's pixels (right-click a row to decide)."""
        self._states = states
        for row in range(self.regions.rowCount()):
            item, cell = self.regions.item(row, 0), self.regions.item(row, DECISION_COLUMN)
            if item is None or cell is None:
                continue
            name, number = item.data(MODEL_ROLE), int(item.text())
            state = next((s for s in states.get(name, []) if s.region.index == number), None)
            cell.setText(state.text if state is not None else "…")
            note = state.decided.note if state is not None and state.decided is not None else ""
            cell.setToolTip(note or "Right-click: confirm, reject, or back to unreviewed; a note")

    def _decision_menu(self, position: QPoint) -> None:
        item = self.regions.itemAt(position)
        first = self.regions.item(item.row(), 0) if item is not None else None
        if first is None:
            return
        name, number = first.data(MODEL_ROLE), int(first.text())
        menu = QMenu(self.regions)
        choices = (
            ("confirmed", "&Confirm"),
            ("rejected", "&Reject (the model's mistake)"),
            ("unreviewed", "Back to &unreviewed"),
        )
        for decision, text in choices:
            menu.addAction(text, partial(self.decisionAsked.emit, name, number, decision))
        menu.addAction("&Note on the decision…", partial(self.noteAsked.emit, name, number))
        menu.exec(self.regions.viewport().mapToGlobal(position))

    def _region_at(self, row: int) -> tuple[QRectF, int] | None:
        item = self.regions.item(row, 0)
        if item is None:
            return None
        x, y, w, h = item.data(Qt.ItemDataRole.UserRole)
        return QRectF(x, y, max(w, 1), max(h, 1)), int(item.text())

    def choose_region(self, row: int, _column: int = 0) -> None:
        """A region's row clicked: the panels zoom to it."""
        if (region := self._region_at(row)) is not None:
            self.panels.zoom_to_region(*region)

    def _hover(self, row: int) -> None:
        rect, number = self._region_at(row) or (None, 0)
        self.panels.show_region("hovered", rect, number)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Leave:
            self.panels.show_region("hovered", None)
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
