"""The File dock: what the image on screen says about itself — the Content Credentials' state as a badge in
words, the signer and whether it is trusted, the actions and ingredients, the declared source, the EXIF
thumbnail beside the image, and a searchable, copyable table of every EXIF and XMP field. Read off the GUI
thread (the batch keeps each file's reading in the results store by SHA-256, for the triage table)."""

from __future__ import annotations

from functools import partial
from html import escape

import numpy as np
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDockWidget,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from superqt.utils import FunctionWorker, create_worker

from ...core.io.provenance import read_with_thumbnail
from ...core.io.provenance.metadata import printable
from ...core.io.provenance.summaries import Provenance, declaration_short
from ...core.session.workspace import Workspace
from ..controllers.view import ViewController
from ..document import Document
from ..qimages import rgb_image

BADGES = {  # the state in words first: never colour alone
    "valid": ("VALID Content Credentials", "#1e8449"),
    "invalid": ("INVALID Content Credentials", "#c0392b"),
    "damaged": ("DAMAGED Content Credentials (present, unreadable)", "#c0392b"),
    "none": ("No Content Credentials", "#616a6b"),
    "remote": ("REMOTE Content Credentials (not fetched)", "#b9770e"),
    "error": ("Content Credentials UNREADABLE", "#b9770e"),
}
PICTURE_SIDE = 150


class FileDock(QDockWidget):
    def __init__(self, workspace: Workspace, view: ViewController, parent: QWidget | None = None):
        super().__init__("File", parent)
        self.setObjectName("file-dock")
        self.workspace, self.view = workspace, view
        self.shown_path: str | None = None
        self._workers: set[FunctionWorker] = set()
        self.badge = QLabel(textFormat=Qt.TextFormat.RichText)
        self.summary = QLabel(wordWrap=True, textFormat=Qt.TextFormat.RichText)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.thumbnail, self.image = QLabel(), QLabel()
        self.search = QLineEdit(placeholderText="Search EXIF and XMP (tag or value)")
        self.search.textChanged.connect(self._filter)
        self.copy = QPushButton("Copy")
        self.copy.setToolTip("Copy the rows shown (tab-separated)")
        self.copy.clicked.connect(self.copy_rows)
        self.fields = QTableWidget(0, 2)
        self.fields.setHorizontalHeaderLabels(["Field", "Value"])
        self.fields.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.fields.verticalHeader().setVisible(False)
        self.fields.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.fields.horizontalHeader().setStretchLastSection(True)
        self._lay_out()
        view.displayed.connect(self.follow)
        self.show_nothing()

    def _lay_out(self) -> None:
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.addWidget(self.badge)
        layout.addWidget(self.summary)
        pictures = QHBoxLayout()
        for label, caption in ((self.image, "Image"), (self.thumbnail, "EXIF thumbnail")):
            column = QVBoxLayout()
            column.addWidget(QLabel(caption))
            column.addWidget(label)
            pictures.addLayout(column)
        pictures.addStretch(1)
        layout.addLayout(pictures)
        search = QHBoxLayout()
        search.addWidget(self.search, 1)
        search.addWidget(self.copy)
        layout.addLayout(search)
        layout.addWidget(self.fields, 1)
        self.setWidget(body)

    def show_nothing(self) -> None:
        self.badge.setText("")
        self.summary.setText("Open an image: what its file says about itself shows here.")
        self.thumbnail.clear()
        self.image.clear()
        self.fields.setRowCount(0)

    def follow(self, document: Document | None) -> None:
        """A new image on screen: read its file off the GUI thread (or take the reading from the store)."""
        if document is None or document.path == self.shown_path:
            return
        self.shown_path = document.path
        self.badge.setText("reading the file…")
        anchors = self.workspace.trust_anchors()
        worker = create_worker(
            read_with_thumbnail, document.path, anchors, _start_thread=False, _ignore_errors=True
        )
        worker.returned.connect(partial(self._show, document))
        worker.errored.connect(lambda exc: self.summary.setText(escape(f"The file could not be read: {exc}")))
        self._workers.add(worker)
        worker.finished.connect(lambda *_: self._workers.discard(worker))
        worker.start()

    def _show(self, document: Document, reading: tuple[Provenance, Image.Image | None]) -> None:
        if document.path != self.shown_path:
            return  # the user moved on
        provenance, thumbnail = reading
        c2pa = provenance["c2pa"]
        words, colour = BADGES.get(c2pa["state"], (c2pa["state"], "#616a6b"))
        self.badge.setText(
            f"<b style='color:white;background:{colour};padding:2px 6px'>&nbsp;{words}&nbsp;</b>"
        )
        self.summary.setText(_summary_html(provenance))
        self.image.setPixmap(_scaled(QPixmap.fromImage(rgb_image(document.image.rgb))))
        if thumbnail is not None:
            self.thumbnail.setPixmap(_scaled(QPixmap.fromImage(rgb_image(_rgb(thumbnail)))))
        else:
            self.thumbnail.setText(
                "none" if not (provenance["thumbnail"] or {}).get("present") else "not decodable"
            )
        rows = [(f"EXIF {tag}", value) for tag, value in provenance["exif"].items()]
        rows += [(f"XMP {key}", printable(value)) for key, value in provenance["xmp"].items()]
        self.fields.setRowCount(len(rows))
        for row, (name, value) in enumerate(rows):
            self.fields.setItem(row, 0, QTableWidgetItem(name))
            self.fields.setItem(row, 1, QTableWidgetItem(value))
        self._filter(self.search.text())

    def _filter(self, text: str) -> None:
        words = text.lower().split()
        for row in range(self.fields.rowCount()):
            line = " ".join(_cell(self.fields, row, column).lower() for column in range(2))
            self.fields.setRowHidden(row, not all(word in line for word in words))

    def copy_rows(self) -> None:
        rows = [
            f"{_cell(self.fields, row, 0)}\t{_cell(self.fields, row, 1)}"
            for row in range(self.fields.rowCount())
            if not self.fields.isRowHidden(row)
        ]
        QGuiApplication.clipboard().setText("\n".join(rows))


def _summary_html(provenance: Provenance) -> str:
    c2pa = provenance["c2pa"]
    lines = [escape(c2pa["message"])]
    if c2pa["validation_codes"]:
        lines.append("Codes: <code>" + escape(", ".join(c2pa["validation_codes"])) + "</code>")
    if c2pa["actions"]:
        steps = " → ".join(
            escape(a["action"] + (f" ({a['digital_source_type']})" if a["digital_source_type"] else ""))
            for a in c2pa["actions"]
        )
        lines.append(f"Actions: {steps}; by {escape(c2pa['claim_generator'] or 'an unnamed generator')}")
    for ingredient in c2pa["ingredients"]:
        lines.append(
            escape(f"Ingredient: {ingredient['title']} ({ingredient['relationship']}), {ingredient['state']}")
        )
    lines += [
        escape(f"Declared source: {declaration_short(item)}") for item in provenance["digital_source_types"]
    ]
    lines += [f"• {escape(sentence)}" for sentence in provenance["indications"][1:]]
    lines += [f"<i>{escape(problem)}</i>" for problem in provenance["problems"]]
    return "<br>".join(lines)


def _scaled(pixmap: QPixmap) -> QPixmap:
    return pixmap.scaled(PICTURE_SIDE, PICTURE_SIDE, Qt.AspectRatioMode.KeepAspectRatio)


def _rgb(picture: Image.Image) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(picture.convert("RGB")))


def _cell(table: QTableWidget, row: int, column: int) -> str:
    item = table.item(row, column)
    return item.text() if item is not None else ""
