"""The batch dock: the triage table with its filter and counts, walked with the keyboard."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDockWidget,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ...core.batch import BatchItem
from ..batch_table import COLUMNS, FILTERS, THUMBNAIL_HEIGHT, BatchTableModel, TriageFilter

NAME_WIDTH = 150
FIRST_FIGURE_COLUMN = 2  # after the name and the status


class TriageDock(QDockWidget):
    chosen = Signal(str)  # the path of the row made current
    activated = Signal(str)  # a row double-clicked

    def __init__(self, model: BatchTableModel, parent=None):
        super().__init__("Batch", parent, objectName="batch-dock")
        self.model = model
        self.proxy = TriageFilter(self)
        self.proxy.setSourceModel(model)
        self._sorted_column = 0
        self.table = self._table()
        self.filter_combo = QComboBox(toolTip="Show only some rows of the queue")
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
        analyst = next(c for c, column in enumerate(COLUMNS) if column.header == "Analyst")
        # long names, errors and verdicts: elided, whole in the tooltip
        for column, width in ((0, NAME_WIDTH), (1, 70), (analyst, 90)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
            header.resizeSection(column, width)
        table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        table.setWordWrap(False)
        header.sectionClicked.connect(self._sort_figures_highest_first)
        table.selectionModel().currentRowChanged.connect(lambda current, _: self._emit(self.chosen, current))
        table.doubleClicked.connect(lambda index: self._emit(self.activated, index))
        return table

    def preferred_width(self) -> int:
        """Wide enough to show every column up to the analyst's verdict without scrolling."""
        header = self.table.horizontalHeader()
        last = next(c for c, column in enumerate(COLUMNS) if column.header == "Analyst")
        columns = sum(max(header.sectionSize(c), header.sectionSizeHint(c)) for c in range(last + 1))
        scroll_bar = self.table.verticalScrollBar().sizeHint().width()
        return columns + scroll_bar + 2 * self.table.frameWidth() + 12

    def _sort_figures_highest_first(self, column: int) -> None:
        """A score, marked or verdict column clicked anew sorts from the highest; a second click reverses."""
        if column != self._sorted_column and column >= FIRST_FIGURE_COLUMN:
            self.table.sortByColumn(column, Qt.SortOrder.DescendingOrder)
        self._sorted_column = column

    def _item_at(self, proxy_row: int) -> BatchItem:
        return self.model.items[self.proxy.mapToSource(self.proxy.index(proxy_row, 0)).row()]

    def _emit(self, signal, index) -> None:
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
