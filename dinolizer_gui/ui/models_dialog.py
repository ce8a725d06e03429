"""Models dialog: state of every official checkpoint; download, import, verify, remove, choose."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from superqt.utils import GeneratorWorker, create_worker

from ..core.models import manager
from ..core.models.registry import DECLIP_VARIANTS
from ..core.models.weights_folder import ManifestEntry, active_choices, active_declip_set, load_manifest
from ..core.progress import Progress
from ..core.report.run_record import now_iso

STATE_TIPS = {
    "missing": "not installed",
    "partial": "an interrupted download; Download resumes it",
    "verified": "matches the published hash",
    "recorded": "no hash is published; its SHA-256 was recorded when installed and it is unchanged",
    "unofficial": "imported although it is not the published file",
    "unchecked": "placed in the folder by hand; Verify all computes and compares its hash",
    "corrupt": "changed or damaged since it was installed: remove it and install it again",
}


class ModelsDialog(QDialog):
    changed = Signal()  # installed weights changed

    def __init__(
        self,
        folder: Path,
        parent: QWidget | None = None,
        manifest: list[ManifestEntry] | None = None,
        urls: dict[str, str] | None = None,
    ):
        super().__init__(parent)
        self.setWindowTitle("Models")
        self.resize(980, 460)
        self.folder = folder
        self.manifest = manifest or load_manifest()
        self.urls = urls or {}  # mirror URLs per entry id
        self.worker: GeneratorWorker | None = None
        self.table = self._make_table()
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.message = QLabel(wordWrap=True)
        self.download_button = QPushButton("Download…")
        self.import_button = QPushButton("Import file…")
        self.verify_button = QPushButton("Verify all")
        self.remove_button = QPushButton("Remove")
        self.cancel_button = QPushButton("Cancel download")
        self.cancel_button.setEnabled(False)
        self.declip_choice, self.declip_variant = self._declip_choices(folder)
        self._lay_out(folder)
        self.download_button.clicked.connect(self.download_selected)
        self.import_button.clicked.connect(self.import_chosen)
        self.verify_button.clicked.connect(lambda: self.refresh(check_hashes=True))
        self.remove_button.clicked.connect(self.remove_selected)
        self.cancel_button.clicked.connect(self.cancel)
        self.refresh()

    @staticmethod
    def _make_table() -> QTableWidget:
        table = QTableWidget(0, 6)
        table.setHorizontalHeaderLabels(["State", "Checkpoint", "File", "Needs", "Trained on", "SHA-256"])
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.horizontalHeader().setStretchLastSection(True)
        table.verticalHeader().setVisible(False)
        return table

    def _declip_choices(self, folder: Path) -> tuple[QComboBox, QComboBox]:
        """Which DeCLIP checkpoint the analysis uses, and in which variant."""
        choice = QComboBox()
        choice.setToolTip("Which DeCLIP checkpoint the analysis uses")
        choice.addItems(manager.declip_training_sets(self.manifest))
        choice.setCurrentText(active_declip_set(folder))
        choice.currentTextChanged.connect(lambda _: self.set_active())
        variant = QComboBox()
        variant.setToolTip("The ViT file alone, or the ViT+RN50 decoder with its backbones")
        variant.addItems(DECLIP_VARIANTS)
        variant.setCurrentText(active_choices(folder).get("declip_variant", DECLIP_VARIANTS[0]))
        variant.currentTextChanged.connect(lambda _: self.set_active())
        return choice, variant

    def _lay_out(self, folder: Path) -> None:
        buttons = QHBoxLayout()
        for widget in (
            self.download_button,
            self.import_button,
            self.verify_button,
            self.remove_button,
            self.cancel_button,
        ):
            buttons.addWidget(widget)
        buttons.addStretch(1)
        buttons.addWidget(QLabel("Active DeCLIP:"))
        buttons.addWidget(self.declip_choice)
        buttons.addWidget(self.declip_variant)
        layout = QVBoxLayout(self)
        layout.addWidget(
            QLabel(
                f"Weights folder: <code>{folder}</code>. Nothing is downloaded unless you ask; "
                "each licence is shown and must be accepted first."
            )
        )
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.message)

    def refresh(self, check_hashes: bool = False) -> None:
        rows = manager.status(self.folder, self.manifest, check_hashes=check_hashes, recompute=check_hashes)
        self.table.setRowCount(len(rows))
        for row, status in enumerate(rows):
            entry = status.entry
            needs = manager.unmet_requirements(entry, self.folder, self.manifest)
            values = (status.state, entry.title, entry.file, needs, entry.domain, status.sha256 or "")
            for column, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setData(Qt.ItemDataRole.UserRole, entry.id)
                item.setToolTip(
                    status.detail or STATE_TIPS[status.state]
                    if column == 0
                    else entry.licence
                    if column == 1
                    else value
                )
                if not entry.supported:
                    item.setForeground(Qt.GlobalColor.gray)
                self.table.setItem(row, column, item)
        self.table.resizeColumnsToContents()
        if check_hashes:
            corrupt = [r.entry.file for r in rows if r.state == "corrupt"]
            self.message.setText(
                "Corrupt: " + ", ".join(corrupt) if corrupt else "Every installed file checked."
            )

    def selected_entry(self) -> ManifestEntry | None:
        items = self.table.selectedItems()
        return manager.find_entry(items[0].data(Qt.ItemDataRole.UserRole), self.manifest) if items else None

    def select(self, entry_id: str) -> None:
        for row in range(self.table.rowCount()):
            item = self.table.item(row, 0)
            if item is not None and item.data(Qt.ItemDataRole.UserRole) == entry_id:
                self.table.selectRow(row)

    def ask_licence(self, entry: ManifestEntry) -> bool:
        answer = QMessageBox.question(
            self,
            "Licence",
            f"<b>{entry.title}</b><p>{entry.licence}</p>"
            f"<p>Source: {entry.url}</p><p>Do you accept this licence?</p>",
        )
        return answer == QMessageBox.StandardButton.Yes

    def download_selected(self) -> None:
        entry = self.selected_entry()
        if entry is None or self.worker is not None:
            return
        if not entry.supported:
            self.message.setText(f"{entry.file}: {entry.unsupported_reason}")
            return
        if not manager.licence_accepted(self.folder, entry):
            if not self.ask_licence(entry):
                self.message.setText("Licence not accepted; nothing downloaded.")
                return
            manager.accept_licence(self.folder, entry, now_iso())
        worker = create_worker(
            manager.download,
            entry,
            self.folder,
            self.urls.get(entry.id),
            _start_thread=False,
            _ignore_errors=True,
        )
        worker.yielded.connect(self._on_progress)
        worker.returned.connect(lambda path: self.message.setText(f"Installed {path}"))
        worker.errored.connect(self._download_failed)
        worker.finished.connect(self._on_finished)
        self.worker = worker
        self.progress.setVisible(True)
        self.cancel_button.setEnabled(True)
        self.download_button.setEnabled(False)
        worker.start()

    def _download_failed(self, exc: BaseException) -> None:
        self.message.setText(
            f"{exc}<br>No connection from this machine? Download the file on another one and use "
            "<b>Import file…</b> here."
        )

    def _on_progress(self, progress: Progress) -> None:
        if progress.total:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * progress.done / progress.total))
            self.progress.setFormat(
                f"{progress.stage} {progress.done / 1e6:.1f} / {progress.total / 1e6:.1f} MB"
            )
        else:
            self.progress.setRange(0, 0)
            self.progress.setFormat(f"{progress.stage} {progress.done / 1e6:.1f} MB")

    def _on_finished(self, *_: object) -> None:
        self.worker = None
        self.progress.setVisible(False)
        self.cancel_button.setEnabled(False)
        self.download_button.setEnabled(True)
        self.refresh()
        self.changed.emit()

    def cancel(self) -> None:
        if self.worker is not None:
            self.worker.quit()
            self.message.setText("Download stopped; Download again resumes it.")

    def import_chosen(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Import a checkpoint or the B-Free zip",
            "",
            "Weights (*.ckpt *.pth *.pt *.safetensors *.zip)",
        )
        if path:
            self.import_path(Path(path))

    def import_path(self, path: Path) -> None:
        try:
            try:
                target = manager.import_file(path, self.folder, self.manifest)
            except manager.AmbiguousCheckpoint as unsure:
                entry = self.ask_which(path, unsure.candidates)
                if entry is None:
                    self.message.setText(
                        f"{path.name}: not imported (which checkpoint it is was not chosen)."
                    )
                    return
                target = manager.import_file(path, self.folder, self.manifest, as_entry=entry.id)
        except manager.ModelManagerError as exc:
            self.message.setText(str(exc))
            return
        self.message.setText(f"Installed {target}")
        self.refresh()
        self.changed.emit()

    def ask_which(self, path: Path, candidates: list[ManifestEntry]) -> ManifestEntry | None:
        """Its name does not say which official checkpoint the file is: the analyst says (as --as does)."""
        labels = [f"{entry.title} — {entry.file}" for entry in candidates]
        label, chosen = QInputDialog.getItem(
            self,
            "Which checkpoint is this?",
            f"The name of {path.name} does not say which official checkpoint it is. It will be checked "
            "against the published SHA-256 and marked unofficial if it differs.",
            labels,
            0,
            False,
        )
        return candidates[labels.index(label)] if chosen and label in labels else None

    def remove_selected(self) -> None:
        entry = self.selected_entry()
        if entry is not None and manager.remove(entry, self.folder):
            self.message.setText(f"Removed {entry.file}")
            self.refresh()
            self.changed.emit()

    def set_active(self) -> None:
        training_set, variant = self.declip_choice.currentText(), self.declip_variant.currentText()
        manager.set_active_declip(training_set, self.folder, self.manifest, variant)
        self.changed.emit()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.cancel()
        super().closeEvent(event)
