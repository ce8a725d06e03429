"""The triage table: one row per queued image, sortable and filterable."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    QTimer,
)
from PySide6.QtGui import QBrush, QColor, QPixmap

from ..core.io.names import readable
from ..core.models.registry import map_titles, titles
from ..core.session.batch import BatchItem, ItemStatus
from ..core.store.verdicts import NOT_REVIEWED, VERDICTS
from .qimages import rgb_image

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
Index = QModelIndex | QPersistentModelIndex  # what Qt hands a model's methods
REFRESH_MS = 150
THUMBNAIL_HEIGHT = 32
STATUS_COLOURS = {ItemStatus.ERROR: "#c0392b", ItemStatus.RUNNING: "#2471a3", ItemStatus.SKIPPED: "#7f8c8d"}
HEADER_TIP = (
    "Score: 99th percentile of the model's probability map; marked: fraction of pixels at or above "
    "the pixel threshold written after it (the live one for the image on screen); Analyst: your verdict; "
    "Models: flagged when a score reaches its model's image-level threshold"
)


def marked_text(area: float, threshold: float) -> str:
    """The marked area with the threshold it was measured at, as the table and the dock both say it."""
    return f"{area:.2%} at {threshold:.3g}"


@dataclass(frozen=True)
class Column:
    header: str
    text: Callable[[BatchItem], str]
    sort: Callable[[BatchItem], Any]


def _status_text(item: BatchItem) -> str:
    if item.status == ItemStatus.SKIPPED:
        return "duplicate"
    return f"error: {readable(item.reason)}" if item.status == ItemStatus.ERROR else str(item.status)


def _verdict(item: BatchItem) -> str:
    return "FLAGGED" if item.flagged else ("not flagged" if item.models else "")


def _analyst(item: BatchItem) -> str:
    return item.verdict.verdict if item.verdict is not None and item.verdict.reviewed else ""


def _to_review(item: BatchItem) -> str:
    """How many of the image's model regions (at the thresholds now) carry no decision of the examiner's;
    "" until they are counted."""
    maps = [name for name, summary in item.models.items() if summary.marked_area is not None]
    if not maps or any(name not in item.to_review for name in maps):
        return ""
    return str(sum(item.to_review[name] for name in maps))


def _provenance(item: BatchItem) -> str:
    """What the file says about itself, in a few words ("C2PA INVALID, declares AI"); "" when it says nothing
    notable (most files), "…" before it is read."""
    return (
        item.provenance.text
        if item.provenance is not None
        else ("…" if item.status == ItemStatus.QUEUED else "")
    )


def _provenance_rank(item: BatchItem) -> int:
    """Invalid or damaged credentials first, then AI declarations and thumbnails of another picture, then the
    rest."""
    facts = item.provenance
    if facts is None:
        return 0
    return 3 * (facts.c2pa in ("invalid", "damaged")) + 2 * facts.declares_ai + facts.thumbnail_differs


def _model_column(header: str, name: str, figure: str) -> Column:
    """A figure of one model's summary (`score`, `marked_area`); rows without it sort last."""

    def value(item: BatchItem) -> float | None:
        summary = item.models.get(name)
        return None if summary is None else getattr(summary, figure)

    def text(item: BatchItem) -> str:
        number, summary = value(item), item.models.get(name)
        if number is None or summary is None:
            return ""
        if figure == "marked_area" and summary.threshold is not None:
            return marked_text(number, summary.threshold)
        return f"{number:.3f}"

    def sort(item: BatchItem) -> float:
        number = value(item)
        return -1.0 if number is None else number

    return Column(header, text, sort)


# What triage needs first (the localizers' scores, the models' and the analyst's verdicts) fits the dock's
# default width; image-level scores, the marked areas and the size follow.
COLUMNS: list[Column] = [
    Column(
        "Image", lambda i: readable(Path(i.path).name), lambda i: 0
    ),  # sorted by queue (natural) order: see data()
    Column("Status", _status_text, lambda i: _status_text(i).lower()),
    *[_model_column(title, name, "score") for name, title in map_titles().items()],
    Column(
        "Models",
        _verdict,
        lambda i: max((m.score for m in i.models.values()), default=-1.0) + (10.0 if i.flagged else 0.0),
    ),
    Column("Analyst", _analyst, lambda i: VERDICTS.index(i.verdict.verdict) if i.verdict else 0),
    Column("To review", _to_review, lambda i: int(_to_review(i) or -1)),
    Column("File says", _provenance, _provenance_rank),
    *[_model_column(title, name, "score") for name, title in titles().items() if name not in map_titles()],
    *[_model_column(f"{title} marked", name, "marked_area") for name, title in map_titles().items()],
    Column(
        "Size",
        lambda i: f"{i.width} x {i.height}" if i.width else "",
        lambda i: (i.width or 0) * (i.height or 0),
    ),
]


def _analyst_said(verdict: str, item: BatchItem) -> bool:
    return (item.verdict.verdict if item.verdict else NOT_REVIEWED) == verdict


def _flagged_by(name: str, item: BatchItem) -> bool:
    return name in item.models and item.models[name].flagged


FILTERS: dict[str, Callable[[BatchItem], bool]] = {
    "All images": lambda item: True,
    "Flagged": lambda item: item.flagged,
    "Not flagged": lambda item: bool(item.models) and not item.flagged,
    "Errors": lambda item: item.status == ItemStatus.ERROR,
    "C2PA invalid": lambda item: item.provenance is not None and item.provenance.c2pa == "invalid",
    "C2PA damaged": lambda item: item.provenance is not None and item.provenance.c2pa == "damaged",
    "Declares AI": lambda item: item.provenance is not None and item.provenance.declares_ai,
    "Thumbnail differs": lambda item: item.provenance is not None and item.provenance.thumbnail_differs,
    **{f"Analyst: {verdict}": partial(_analyst_said, verdict) for verdict in VERDICTS},
    **{f"Flagged by {title}": partial(_flagged_by, name) for name, title in titles().items()},
}


class BatchTableModel(QAbstractTableModel):
    def __init__(self, items: list[BatchItem], parent: QObject | None = None):
        super().__init__(parent)
        self.items = items
        self._thumbnails: dict[str, QPixmap] = {}
        self._changed_rows: set[int] = set()
        # rows changed within this interval are announced together: each announcement re-sorts the table
        self._announce = QTimer(self, singleShot=True, interval=REFRESH_MS)
        self._announce.timeout.connect(self._announce_changes)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self.items)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section].header
        return HEADER_TIP if role == Qt.ItemDataRole.ToolTipRole else None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        item, column = self.items[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[column].text(item)
        if role == SORT_ROLE:
            return index.row() if column == 0 else COLUMNS[column].sort(item)
        if role == Qt.ItemDataRole.DecorationRole and column == 0:
            return self._thumbnail(item)
        if role == Qt.ItemDataRole.ToolTipRole:
            verdict = item.verdict
            analyst = f"\nAnalyst: {verdict.verdict}. {verdict.note}" if verdict and verdict.reviewed else ""
            return readable(item.reason or item.path) + analyst
        if role == Qt.ItemDataRole.ForegroundRole and column == 1 and item.status in STATUS_COLOURS:
            return QBrush(QColor(STATUS_COLOURS[item.status]))
        return None

    def _thumbnail(self, item: BatchItem) -> QPixmap | None:
        if item.thumbnail is None:
            return None
        if item.path not in self._thumbnails:
            self._thumbnails[item.path] = QPixmap.fromImage(rgb_image(item.thumbnail)).scaledToHeight(
                THUMBNAIL_HEIGHT
            )
        return self._thumbnails[item.path]

    def add(self, items: list[BatchItem]) -> None:
        if items:
            self.beginInsertRows(QModelIndex(), len(self.items), len(self.items) + len(items) - 1)
            self.items.extend(items)
            self.endInsertRows()

    def clear(self) -> None:
        self.beginResetModel()
        self.items.clear()
        self._thumbnails.clear()
        self.endResetModel()

    def refresh_row(self, row: int) -> None:
        self._changed_rows.add(row)
        if not self._announce.isActive():
            self._announce.start()

    def _announce_changes(self) -> None:
        if self._changed_rows:
            top, bottom = min(self._changed_rows), max(self._changed_rows)
            self._changed_rows.clear()
            self.dataChanged.emit(self.index(top, 0), self.index(bottom, len(COLUMNS) - 1))


class TriageFilter(QSortFilterProxyModel):
    def __init__(self, source: BatchTableModel, parent: QObject | None = None):
        super().__init__(parent)
        self.items = source.items  # the rows the filter reads
        self.setSourceModel(source)
        self.mode = next(iter(FILTERS))
        self.setSortRole(SORT_ROLE)

    def set_mode(self, mode: str) -> None:
        if hasattr(self, "endFilterChange"):  # Qt >= 6.10 deprecates invalidateFilter()
            self.beginFilterChange()
            self.mode = mode
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self.mode = mode
            self.invalidateFilter()

    def filterAcceptsRow(self, row: int, parent: Index) -> bool:
        return FILTERS[self.mode](self.items[row])
