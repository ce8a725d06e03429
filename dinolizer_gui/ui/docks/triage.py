"""The batch dock: the triage table with its filter and counts, walked with the keyboard."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QModelIndex, QObject, Qt, Signal, SignalInstance
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDockWidget,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMainWindow,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ...core.session.batch import BatchItem, ItemStatus
from ..batch_table import COLUMNS, FILTERS, THUMBNAIL_HEIGHT, TriageFilter
from ..controllers.batch import BatchController
from ..controllers.view import ViewController

NAME_WIDTH = 150  # at least; the name column takes the room the dock has beyond the triage columns
# the status column widens for an error, up to ERROR_WIDTH: enough to tell errors apart without pushing the
# scores out of sight (the whole error is in the row's tooltip and in the banner when it is shown)
STATUS_WIDTH, ERROR_WIDTH = 70, 170
FIRST_FIGURE_COLUMN = 2  # after the name and the status
ANALYST_COLUMN = next(c for c, column in enumerate(COLUMNS) if column.header == "Analyst")


class TriageDock(QDockWidget):
    chosen = Signal(str)  # the path of the row made current
    activated = Signal(str)  # a row double-clicked

    def __init__(self, batch: BatchController, view: ViewController, parent: QWidget | None = None):
        """Its rows choose the image on screen (the view controller's), and it shows the queue's counts."""
        super().__init__("Batch", parent)
        self.setObjectName("batch-dock")
        self.model = model = batch.table_model
        self.proxy = TriageFilter(model, self)
        self._sorted_column = 0
        self.table = self._table()
        self.filter_combo = QComboBox()
        self.filter_combo.setToolTip("Show only some rows of the queue")
        self.filter_combo.addItems(list(FILTERS))
        self.filter_combo.currentTextChanged.connect(self.proxy.set_mode)
        self.filter_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.filter_combo.setMinimumContentsLength(12)
        self.label = QLabel("", wordWrap=True)  # the counts never widen the dock
        triage = QWidget()
        layout = QVBoxLayout(triage)
        layout.setContentsMargins(2, 2, 2, 2)
        row = QHBoxLayout()
        row.addWidget(self.filter_combo)
        row.addWidget(self.label, 1)
        layout.addLayout(row)
        layout.addWidget(self.table, 1)
        self.setWidget(triage)
        model.dataChanged.connect(self._fit_errors)
        self.chosen.connect(view.show)
        self.activated.connect(view.activate)
        batch.countsChanged.connect(self.show_counts)
        self._window_width = 0

    def follow(self, window: QMainWindow) -> None:
        """Keep the dock's share of the window's width as the window is resized (names get the room)."""
        self._window = window
        window.installEventFilter(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if obj is getattr(self, "_window", None) and event.type() == QEvent.Type.Resize and self.isVisible():
            width = self._window.width()
            if self._window_width and width != self._window_width and not self.isFloating():
                share = self.width() / self._window_width
                self._window.resizeDocks([self], [round(share * width)], Qt.Orientation.Horizontal)
            self._window_width = width
        return False

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_names()

    def _fit_names(self) -> None:
        """The name column takes whatever room the dock has beyond the columns up to the analyst's verdict."""
        header = self.table.horizontalHeader()
        others = sum(header.sectionSize(c) for c in range(1, ANALYST_COLUMN + 1))
        header.resizeSection(0, max(NAME_WIDTH, self.table.viewport().width() - others))

    def _fit_errors(self, top_left: QModelIndex, bottom_right: QModelIndex, *_: object) -> None:
        """An error row says more of its error: the status column widens to it (up to ERROR_WIDTH)."""
        header, metrics = self.table.horizontalHeader(), self.table.fontMetrics()
        widest = header.sectionSize(1)
        for row in range(top_left.row(), bottom_right.row() + 1):
            item = self.model.items[row]
            if item.status == ItemStatus.ERROR:
                text = COLUMNS[1].text(item)
                widest = max(widest, min(ERROR_WIDTH, metrics.horizontalAdvance(text) + 16))
        if widest != header.sectionSize(1):
            header.resizeSection(1, widest)
            self._fit_names()

    def _table(self) -> QTableView:
        table = QTableView()
        table.setModel(self.proxy)
        table.setSortingEnabled(True)
        table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.verticalHeader().setVisible(False)
        table.verticalHeader().setDefaultSectionSize(THUMBNAIL_HEIGHT + 4)
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setMinimumSectionSize(36)
        # long names, errors and verdicts: elided, whole in the tooltip
        for column, width in ((0, NAME_WIDTH), (1, STATUS_WIDTH), (ANALYST_COLUMN, 90)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
            header.resizeSection(column, width)
        table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        table.setWordWrap(False)
        header.sectionClicked.connect(self._sort_figures_highest_first)
        table.selectionModel().currentRowChanged.connect(lambda current, _: self._emit(self.chosen, current))
        table.doubleClicked.connect(lambda index: self._emit(self.activated, index))
        return table

    def show_counts(self, text: str) -> None:
        self.label.setText(text)

    def preferred_width(self) -> int:
        """Wide enough to show every column up to the analyst's verdict without scrolling."""
        header = self.table.horizontalHeader()
        columns = NAME_WIDTH + sum(
            max(header.sectionSize(c), header.sectionSizeHint(c)) for c in range(1, ANALYST_COLUMN + 1)
        )
        scroll_bar = self.table.verticalScrollBar().sizeHint().width()
        return columns + scroll_bar + 2 * self.table.frameWidth() + 12

    def _sort_figures_highest_first(self, column: int) -> None:
        """A score, marked or verdict column clicked anew sorts from the highest; a second click reverses."""
        if column != self._sorted_column and column >= FIRST_FIGURE_COLUMN:
            self.table.sortByColumn(column, Qt.SortOrder.DescendingOrder)
        self._sorted_column = column

    def _item_at(self, proxy_row: int) -> BatchItem:
        return self.model.items[self.proxy.mapToSource(self.proxy.index(proxy_row, 0)).row()]

    def _emit(self, signal: SignalInstance, index: QModelIndex) -> None:
        source = self.proxy.mapToSource(index)
        if source.isValid():
            signal.emit(self.model.items[source.row()].path)

    def select(self, path: str) -> bool:
        """Make the row of `path` current; False when it is not in the table or filtered out."""
        rows = [row for row, item in enumerate(self.model.items) if item.path == path]
        index = self.proxy.mapFromSource(self.model.index(rows[0], 0)) if rows else None
        if index is None or not index.isValid():
            return False
        self.table.setCurrentIndex(index)
        return True

    def step(self, delta: int, flagged: bool = False) -> bool:
        """Move to the next (delta 1) or previous (-1) row, flagged rows only if asked; False if none."""
        rows = self.proxy.rowCount()
        row = self.table.currentIndex().row()
        for _ in range(rows):
            row = (row + delta) % rows
            if not flagged or self._item_at(row).flagged:
                self.table.setCurrentIndex(self.proxy.index(row, 0))
                return True
        return False

    def selected_items(self) -> list[BatchItem]:
        return [
            self.model.items[self.proxy.mapToSource(i).row()]
            for i in self.table.selectionModel().selectedRows()
        ]
