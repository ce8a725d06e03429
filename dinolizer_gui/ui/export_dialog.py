"""Export dialog: case details (remembered), formats, scope, destination; runs on a worker with progress."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)
from superqt.utils import GeneratorWorker, create_worker

from ..core.errors import user_message
from ..core.instruments import INSTRUMENTS
from ..core.io.outputs import is_output_folder, previous_outputs
from ..core.progress import Progress
from ..core.report.content import CaseInfo
from ..core.session.batch import BatchItem
from ..core.session.export import export_job
from ..core.session.workspace import Workspace
from .document import worker_job

SCOPES = ("Current image", "Selected images", "All analysed images")


class ExportDialog(QDialog):
    exported = Signal(list)  # report paths

    def __init__(
        self,
        workspace: Workspace,
        items_for_scope: Callable[[str], list[BatchItem]],
        parent: QWidget | None = None,
        default_folder: str = "",
    ):
        """`items_for_scope(scope)` gives the analysed batch items a scope covers."""
        super().__init__(parent)
        self.setWindowTitle("Export report")
        self.workspace, self.items_for_scope = workspace, items_for_scope
        self.worker: GeneratorWorker | None = None
        settings = self.settings = workspace.settings
        self.case_number = QLineEdit(settings.case_number)
        self.analyst = QLineEdit(settings.analyst)
        self.organisation = QLineEdit(settings.organisation)
        self.notes = QPlainTextEdit(settings.notes)
        self.notes.setFixedHeight(70)
        self.scope = QComboBox()
        self.scope.addItems(SCOPES)
        self.formats = {fmt: QCheckBox(fmt.upper()) for fmt in ("pdf", "json", "html")}
        for fmt in ("pdf", "json"):
            self.formats[fmt].setChecked(True)
        self.with_views = QCheckBox(
            "Add the error level, noise, JPEG ghost and copy-move views (the Instruments dock's parameters)"
        )
        self.folder = QLineEdit(default_folder)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.message = QLabel(wordWrap=True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Close
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Export")
        self.buttons.accepted.connect(self.start)
        self.buttons.rejected.connect(self.close)
        self._lay_out()

    def _lay_out(self) -> None:
        browse = QPushButton("Choose…")
        browse.clicked.connect(self.choose_folder)
        formats = QWidget()
        row = QHBoxLayout(formats)
        row.setContentsMargins(0, 0, 0, 0)
        for box in self.formats.values():
            row.addWidget(box)
        destination = QWidget()
        row = QHBoxLayout(destination)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.folder, 1)
        row.addWidget(browse)
        form = QFormLayout()
        form.addRow("Case number", self.case_number)
        form.addRow("Analyst", self.analyst)
        form.addRow("Organisation", self.organisation)
        form.addRow("Notes", self.notes)
        form.addRow("Images", self.scope)
        form.addRow("Formats", formats)
        form.addRow("Instruments", self.with_views)
        form.addRow("Folder", destination)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(
            QLabel(
                "PNG masks, overlays and heat maps at full resolution and results.json are always "
                "written; evidence files are hashed again and never modified."
            )
        )
        layout.addWidget(self.progress)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export to folder", self.folder.text())
        if folder:
            self.folder.setText(folder)

    def case(self) -> CaseInfo:
        return CaseInfo(
            self.case_number.text().strip(),
            self.analyst.text().strip(),
            self.organisation.text().strip(),
            self.notes.toPlainText().strip(),
        )

    def start(self) -> None:
        formats = [fmt for fmt, box in self.formats.items() if box.isChecked()]
        folder = self.folder.text().strip()
        if not folder or not formats:
            self.message.setText("Choose a folder and at least one format.")
            return
        case = self.case()
        self.settings.case_number, self.settings.analyst = case.case_number, case.analyst
        self.settings.organisation, self.settings.notes = case.organisation, case.notes
        items = self.items_for_scope(self.scope.currentText())
        try:
            job = export_job(
                self.workspace,
                items,
                Path(folder),
                formats,
                case,
                self._replace(Path(folder)),
                views=self._views(),
            )
        except ValueError as exc:
            self.message.setText(str(exc))
            return
        self.settings.export_folder = folder
        worker = self.worker = create_worker(worker_job, job, _start_thread=False, _ignore_errors=True)
        worker.yielded.connect(self._on_progress)
        worker.returned.connect(self._on_done)
        worker.errored.connect(lambda exc: self.message.setText(f"Export failed: {user_message(exc)}"))
        worker.finished.connect(lambda *_: setattr(self, "worker", None))
        self.progress.setVisible(True)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(False)
        worker.start()

    def _views(self) -> dict[str, dict[str, Any]]:
        """Every instrument's view with the parameters the Instruments dock holds, when asked."""
        if not self.with_views.isChecked():
            return {}
        params = self.workspace.viewer.instruments.params
        return {name: dict(params.get(name, {})) for name in INSTRUMENTS}

    def _replace(self, folder: Path) -> bool:
        """Whether to replace an earlier export in the folder (asked only when there is one)."""
        earlier = previous_outputs(folder) if is_output_folder(folder) else []  # else: refused, not asked
        if not earlier:
            return False
        answer = QMessageBox.question(
            self,
            "Replace the earlier export?",
            f"{folder} holds an earlier export ({len(earlier)} results, reports or image folders). Replace "
            "it? Only files this app wrote are removed; two exports are never mixed.",
        )
        return answer == QMessageBox.StandardButton.Yes

    def _on_progress(self, progress: Progress) -> None:
        self.progress.setRange(0, progress.total or 0)  # no total: busy
        self.progress.setValue(progress.done)
        count = f" {progress.done}/{progress.total}" if progress.total else "…"
        self.progress.setFormat(f"{progress.stage} {progress.model}{count}".replace("  ", " "))

    def _on_done(self, outcome: tuple[list, dict[str, str]]) -> None:
        paths, failures = outcome
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(True)
        lines = ["Written: " + ", ".join(str(p) for p in paths)]
        lines += [
            f"<b style='color:#c0392b'>The {fmt.upper()} report failed:</b> {why}"
            for fmt, why in failures.items()
        ]
        self.message.setText("<br>".join(lines))
        self.workspace.save()
        self.exported.emit(paths)
