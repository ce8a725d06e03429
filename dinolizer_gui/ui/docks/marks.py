"""The Marks dock: the examiner's drawing tools, the category of the next mark with the legend of what each
category looks like, and the list of the marks on the image (number, category, label, area, who, when) —
a row clicked selects its mark and zooms to it; the selected mark's category, label and note edited below."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QComboBox,
    QDockWidget,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ...core.store.findings import CATEGORIES, CATEGORY_STYLES, Mark, pixel_area
from ..controllers.findings import TOOLS, FindingsController
from ..marks import mark_pen

COLUMNS = ["#", "Category", "Label", "Area px", "Who", "When (UTC)"]
TOOL_KEYS = {"rectangle": "R", "ellipse": "E", "polygon": "P", "freehand": "F", "arrow": "W"}
CATEGORY_TITLES = {
    "manipulated": "Manipulated",
    "suspicious": "Suspicious",
    "reference": "Reference / compare with",
    "comment": "Comment",
}


class MarksDock(QDockWidget):
    def __init__(
        self, findings: FindingsController, zoom_to: Callable[[QRectF], None], parent: QWidget | None = None
    ):
        super().__init__("Marks (the examiner's)", parent)
        self.setObjectName("marks-dock")
        self.findings, self.zoom_to = findings, zoom_to
        self.tools = self._tool_buttons()
        self.category = QComboBox()
        for category in CATEGORIES:
            self.category.addItem(CATEGORY_TITLES[category], category)
        self.category.setToolTip("The category of the next mark, and of the mark selected")
        self.table = self._table()
        self.label, self.note = QLineEdit(placeholderText="label"), QLineEdit(placeholderText="note")
        self.delete = QPushButton("Delete")
        self._lay_out()
        self.category.activated.connect(lambda index: findings.set_category(self.category.itemData(index)))
        self.label.editingFinished.connect(lambda: self._edited("label", self.label.text()))
        self.note.editingFinished.connect(lambda: self._edited("note", self.note.text()))
        self.delete.clicked.connect(lambda: findings.delete())
        findings.changed.connect(self.refresh)
        findings.selected.connect(self._selected)
        findings.toolChanged.connect(self._tool_changed)
        self.refresh()

    def _tool_buttons(self) -> QButtonGroup:
        group = QButtonGroup(self)
        for tool in ("", *TOOLS):
            button = QToolButton()
            button.setText(tool.capitalize() or "Select")
            button.setCheckable(True)
            button.setAutoRaise(True)
            key = TOOL_KEYS.get(tool, "Esc")
            what = f"Draw a {tool}" if tool else "Select, move and reshape marks (leave the drawing tool)"
            button.setToolTip(f"{what} ({key})")
            button.setProperty("tool", tool)
            group.addButton(button)
            button.clicked.connect(lambda _=False, tool=tool: self.findings.set_tool(tool))
        group.buttons()[0].setChecked(True)
        return group

    def _table(self) -> QTableWidget:
        table = QTableWidget(0, len(COLUMNS))
        table.setHorizontalHeaderLabels(COLUMNS)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.verticalHeader().setVisible(False)
        table.verticalHeader().setDefaultSectionSize(20)
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        table.horizontalHeader().setStretchLastSection(True)
        table.cellClicked.connect(lambda row, _: self._chosen(row))
        return table

    def _lay_out(self) -> None:
        tools = QHBoxLayout()
        for button in self.tools.buttons():
            tools.addWidget(button)
        tools.addStretch(1)
        tools.addWidget(self.delete)
        editor = QHBoxLayout()  # the selected mark's (and the next mark's) category, label and note
        editor.addWidget(self.category)
        editor.addWidget(self.label, 1)
        editor.addWidget(self.note, 1)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.addLayout(tools)
        layout.addWidget(CategoryLegend())
        layout.addWidget(self.table, 1)
        layout.addLayout(editor)
        self.setWidget(body)

    # --- what the controller says -----------------------------------------------------------------
    def refresh(self) -> None:
        marks, size = self.findings.marks, self.findings.size
        self.table.setRowCount(len(marks))
        for row, (number, mark) in enumerate(enumerate(marks, 1)):
            values = (
                str(number),
                CATEGORY_TITLES[mark.category],
                mark.label,
                f"{pixel_area(mark, size):,}" if mark.shape != "arrow" and size is not None else "—",
                mark.author,
                mark.modified,
            )
            for column, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setData(Qt.ItemDataRole.UserRole, mark.id)
                item.setToolTip(mark.note or value)
                if column == 1:
                    item.setForeground(QColor(CATEGORY_STYLES[mark.category][0]))
                self.table.setItem(row, column, item)
        self._selected(self.findings.selected_id)

    def _selected(self, mark_id: str) -> None:
        mark = self._mark(mark_id)
        for widget in (self.label, self.note, self.delete):
            widget.setEnabled(mark is not None)
        self.label.setText(mark.label if mark else "")
        self.note.setText(mark.note if mark else "")
        if mark is not None:
            self.category.setCurrentIndex(CATEGORIES.index(mark.category))
        row = next((r for r in range(self.table.rowCount()) if self._row_id(r) == mark_id), -1)
        self.table.blockSignals(True)
        if row >= 0:
            self.table.selectRow(row)
        else:
            self.table.clearSelection()
        self.table.blockSignals(False)

    def _tool_changed(self, tool: str) -> None:
        for button in self.tools.buttons():
            if button.property("tool") == tool:
                button.setChecked(True)

    # --- what the examiner does here ---------------------------------------------------------------
    def _chosen(self, row: int) -> None:
        mark = self._mark(self._row_id(row))
        if mark is None:
            return
        self.findings.select(mark.id)
        x, y, width, height = mark.box
        self.zoom_to(QRectF(x, y, max(width, 8.0), max(height, 8.0)))

    def _edited(self, field: str, text: str) -> None:
        mark = self._mark(self.findings.selected_id)
        if mark is not None and getattr(mark, field) != text:
            self.findings.change(mark.id, **{field: text})

    def _mark(self, mark_id: str) -> Mark | None:
        findings = self.findings.findings
        return findings.mark(mark_id) if findings is not None and mark_id else None

    def _row_id(self, row: int) -> str:
        item = self.table.item(row, 0)
        return str(item.data(Qt.ItemDataRole.UserRole)) if item is not None else ""


class CategoryLegend(QWidget):
    """What each category looks like on the panels: the examiner's marks, never a model's colours. The
    entries flow onto a second line when the dock is narrow (never cut off)."""

    ROW = 18

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        policy = QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        self.setToolTip("The examiner's marks, by category (the models' outputs never use these lines)")

    def _widths(self) -> list[int]:
        return [44 + self.fontMetrics().horizontalAdvance(CATEGORY_TITLES[c]) for c in CATEGORIES]

    def _places(self, width: int) -> list[tuple[str, int, int]]:
        """Each category with the top-left of its entry, row after row."""
        places, x, y = [], 4, 0
        for category, needed in zip(CATEGORIES, self._widths(), strict=True):
            if x > 4 and x + needed > width:
                x, y = 4, y + self.ROW
            places.append((category, x, y))
            x += needed + 8
        return places

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self._places(width)[-1][2] + self.ROW

    def sizeHint(self) -> QSize:
        return QSize(sum(self._widths()) + 8 * len(CATEGORIES), self.ROW)

    def minimumSizeHint(self) -> QSize:
        return QSize(max(self._widths()) + 8, self.ROW)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.setFixedHeight(self.heightForWidth(self.width()))

    def paintEvent(self, _event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        for category, x, y in self._places(self.width()):
            middle = y + self.ROW / 2
            pen: QPen = mark_pen(category)
            painter.setPen(pen)
            painter.drawLine(QPointF(x, middle), QPointF(x + 26, middle))
            painter.setPen(self.palette().windowText().color())
            painter.drawText(QPointF(x + 32, middle + 4), CATEGORY_TITLES[category])
        painter.end()
