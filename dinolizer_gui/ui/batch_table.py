"""The triage table: one row per queued image, sortable and filterable."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QBrush, QColor, QPixmap

from ..core.batch import BatchItem
from .qimages import rgb_image

MODEL_TITLES = {"dinolizer": "DinoLizer", "declip": "DeCLIP"}
COLUMNS = ("Image", "Status", "Size", "DinoLizer", "DinoLizer marked", "DeCLIP", "DeCLIP marked", "Verdict")
FILTERS = ("All images", "Flagged", "Not flagged", "Errors", "Flagged by DinoLizer", "Flagged by DeCLIP")
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
STATUS_COLOURS = {"error": "#c0392b", "running": "#2471a3", "skipped": "#7f8c8d"}


class BatchTableModel(QAbstractTableModel):
    def __init__(self, items: list[BatchItem], parent=None):
        super().__init__(parent)
        self.items = items
        self._thumbnails: dict[str, QPixmap] = {}

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.items)

    def columnCount(self, parent=QModelIndex()) -> int:
        return len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        if role == Qt.ItemDataRole.ToolTipRole and orientation == Qt.Orientation.Horizontal:
            return ("Score: 99th percentile of the model's probability map; marked: fraction of pixels at or above "
                    "the pixel threshold used when the image was analysed; verdict: flagged when a score reaches "
                    "its model's image-level threshold")
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        item, column = self.items[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(item, column)
        if role == SORT_ROLE:
            return index.row() if column == 0 else self._sort_value(item, column)  # column 0: queue (natural) order
        if role == Qt.ItemDataRole.DecorationRole and column == 0:
            return self._thumbnail(item)
        if role == Qt.ItemDataRole.ToolTipRole:
            return item.reason or item.path
        if role == Qt.ItemDataRole.ForegroundRole and column == 1 and item.status in STATUS_COLOURS:
            return QBrush(QColor(STATUS_COLOURS[item.status]))
        return None

    def _text(self, item: BatchItem, column: int) -> str:
        model = {3: "dinolizer", 4: "dinolizer", 5: "declip", 6: "declip"}.get(column)
        summary = item.models.get(model) if model else None
        if column == 0:
            return Path(item.path).name
        if column == 1:
            if item.status == "skipped":
                return "duplicate"
            return f"error: {item.reason}" if item.status == "error" else item.status
        if column == 2:
            return f"{item.width} x {item.height}" if item.width else ""
        if column in (3, 5):
            return f"{summary.score:.3f}" if summary else ""
        if column in (4, 6):
            return f"{summary.marked_area:.1%}" if summary else ""
        return "FLAGGED" if item.flagged else ("not flagged" if item.models else "")

    def _sort_value(self, item: BatchItem, column: int):
        model = {3: "dinolizer", 4: "dinolizer", 5: "declip", 6: "declip"}.get(column)
        summary = item.models.get(model) if model else None
        if column in (3, 5):
            return summary.score if summary else -1.0
        if column in (4, 6):
            return summary.marked_area if summary else -1.0
        if column == 2:
            return (item.width or 0) * (item.height or 0)
        if column == 7:
            return max((m.score for m in item.models.values()), default=-1.0) + (10.0 if item.flagged else 0.0)
        return self._text(item, column).lower()

    def _thumbnail(self, item: BatchItem) -> QPixmap | None:
        if item.thumbnail is None:
            return None
        if item.path not in self._thumbnails:
            self._thumbnails[item.path] = QPixmap.fromImage(rgb_image(item.thumbnail)).scaledToHeight(40)
        return self._thumbnails[item.path]

    def add(self, items: list[BatchItem]) -> None:
        if items:
            self.beginInsertRows(QModelIndex(), len(self.items), len(self.items) + len(items) - 1)
            self.items.extend(items)
            self.endInsertRows()

    def refresh_row(self, row: int) -> None:
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))


class TriageFilter(QSortFilterProxyModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.mode = FILTERS[0]
        self.setSortRole(SORT_ROLE)

    def set_mode(self, mode: str) -> None:
        if hasattr(self, "endFilterChange"):  # Qt >= 6.10 deprecates invalidateFilter()
            self.beginFilterChange()
            self.mode = mode
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self.mode = mode
            self.invalidateFilter()

    def filterAcceptsRow(self, row: int, parent) -> bool:
        item = self.sourceModel().items[row]
        if self.mode == "Flagged":
            return item.flagged
        if self.mode == "Not flagged":
            return bool(item.models) and not item.flagged
        if self.mode == "Errors":
            return item.status == "error"
        if self.mode.startswith("Flagged by "):
            key = {title: name for name, title in MODEL_TITLES.items()}[self.mode.removeprefix("Flagged by ")]
            return key in item.models and item.models[key].flagged
        return True
