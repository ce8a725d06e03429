"""The Case dock: the open case's evidence list (with hashes, who added each, its state), its audit log
(filterable) and the case's details."""

from __future__ import annotations

from html import escape
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDockWidget,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ...core.io.names import readable
from ...core.session.case_entries import entry_summary
from ..controllers.case import CaseController

EVIDENCE_COLUMNS = ["File", "State", "SHA-256", "Size", "Added (UTC)", "By", "Path as given"]
LOG_COLUMNS = ["Seq", "Time (UTC)", "Who", "What", "Details"]
REFRESH_MS = 400


class CaseDock(QDockWidget):
    def __init__(self, controller: CaseController, parent: QWidget | None = None):
        super().__init__("Case", parent)
        self.setObjectName("case-dock")
        self.controller = controller
        self.details = QLabel(wordWrap=True, textFormat=Qt.TextFormat.RichText)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.evidence = _table(EVIDENCE_COLUMNS)
        self.log = _table(LOG_COLUMNS)
        self.filter = QLineEdit(placeholderText="Filter the log (kind, file, model, examiner…)")
        self.filter.textChanged.connect(self._filter)
        tabs = QTabWidget()
        tabs.addTab(self.details, "Case")
        tabs.addTab(self.evidence, "Evidence")
        log = QWidget()
        layout = QVBoxLayout(log)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.filter)
        layout.addWidget(self.log)
        tabs.addTab(log, "Log")
        self.tabs = tabs
        self.setWidget(tabs)
        # the log is read again at most every REFRESH_MS, and only while the dock is in sight: a batch changes
        # the case with every image, and reading a long log on the GUI thread each time would stall it
        self._refresh = QTimer(self, singleShot=True, interval=REFRESH_MS)
        self._refresh.timeout.connect(self.refresh)
        controller.changed.connect(self._schedule)
        self.visibilityChanged.connect(self._schedule)
        self.refresh()

    def _schedule(self, *_: object) -> None:
        if self.isVisible() and not self._refresh.isActive():
            self._refresh.start()

    def refresh(self) -> None:
        case = self.controller.case
        if case is None:
            self.details.setText("No case open. <i>File › New case…</i> or <i>Open case…</i>")
            self.evidence.setRowCount(0)
            self.log.setRowCount(0)
            return
        chain = case.chain()
        seq, digest = chain.head
        mode = " — <b>read-only</b>" if case.read_only else ""
        said = [*chain.problems, *(f"repaired: {problem}" for problem in chain.repaired), *case.warnings]
        broken = "".join(f"<br><b style='color:#c0392b'>{escape(text)}</b>" for text in dict.fromkeys(said))
        examiners = escape(", ".join(case.info.get("examiners", [])))
        notes = escape(str(case.info.get("notes", "")))
        created, folder = escape(str(case.info.get("created", ""))), escape(str(case.folder))
        self.details.setText(
            f"<b>{escape(case.title)}</b> {escape(case.number)}{mode}<br>Examiners: {examiners}"
            f"<br>Created {created} · folder <code>{folder}</code>"
            f"<br>Log: {seq} entries, last hash <code>{digest[:16]}…</code>{broken}"
            + (f"<br>Notes: {notes}" if notes else "")
        )
        evidence = case.evidence()
        states = self.controller.states
        _fill(
            self.evidence,
            [
                [
                    readable(Path(item.path).name),
                    states[item.path].state if item.path in states else "checking…",
                    item.sha256,
                    f"{item.size:,}",
                    item.added,
                    item.added_by,
                    readable(item.path),
                ]
                for item in evidence
            ],
        )
        _fill(
            self.log,
            [
                [
                    str(e["seq"]),
                    e["time"],
                    e["actor"].get("examiner") or e["actor"].get("user", ""),
                    e["kind"],
                    readable(entry_summary(e["data"], short=True)),
                ]
                for e in reversed(chain.entries)
            ],
        )
        self._filter(self.filter.text())

    def _filter(self, text: str) -> None:
        words = text.lower().split()
        for row in range(self.log.rowCount()):
            line = " ".join(
                _text(self.log.item(row, column)).lower() for column in range(self.log.columnCount())
            )
            self.log.setRowHidden(row, not all(word in line for word in words))


def _table(columns: list[str]) -> QTableWidget:
    table = QTableWidget(0, len(columns))
    table.setHorizontalHeaderLabels(columns)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.verticalHeader().setVisible(False)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    table.verticalHeader().setDefaultSectionSize(20)
    return table


def _fill(table: QTableWidget, rows: list[list[str]]) -> None:
    table.setRowCount(len(rows))
    for row, values in enumerate(rows):
        for column, value in enumerate(values):
            cell = QTableWidgetItem(value)
            cell.setToolTip(value)  # a long path or hash, whole
            table.setItem(row, column, cell)


def _text(item: QTableWidgetItem | None) -> str:
    return item.text() if item is not None else ""
