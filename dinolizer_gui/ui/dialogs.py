"""The dialogs the window opens: files and folders, model cards, shortcuts, export, models, weights."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QFileDialog, QMessageBox

from .. import __version__
from ..core.batch import BatchItem
from ..core.imageio import IMAGE_EXTENSIONS
from ..core.models.layouts import CheckpointError
from ..core.models.registry import REGISTRY, titles
from ..core.settings import default_export_folder, log_file
from .actions import shortcut_rows
from .widgets import card_html

if TYPE_CHECKING:
    from .main_window import MainWindow

CHECKPOINT_FILES = "Checkpoints (*.ckpt *.pth *.pt *.safetensors)"


class Dialogs:
    def __init__(self, window: MainWindow):
        self.window = window

    def open_images(self) -> None:
        patterns = " ".join(f"*{ext}" for ext in sorted(IMAGE_EXTENSIONS))
        filters = f"Images ({patterns});;All files (*)"
        paths, _ = QFileDialog.getOpenFileNames(self.window, "Open images", self.last_folder(), filters)
        if paths:
            self.window.open_paths(paths)

    def load_ground_truth(self) -> None:
        document = self.window.view.current
        if document is None:
            self.window.show_error("Open an image first: a ground-truth mask belongs to one image.")
            return
        patterns = " ".join(f"*{ext}" for ext in sorted(IMAGE_EXTENSIONS))
        path, _ = QFileDialog.getOpenFileName(
            self.window, "Ground-truth mask (white = manipulated)", "", f"Masks ({patterns})"
        )
        if path:
            self.window.view.load_ground_truth(path)

    def last_folder(self) -> str:
        """The folder of the image opened last, where the next one most likely is."""
        recent = self.window.settings.recent_files
        return str(Path(recent[0]).parent) if recent else ""

    def open_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self.window, "Open a folder of images", self.last_folder())
        if folder:
            self.window.open_paths([folder])

    def card(self, name: str) -> None:
        current = self.window.view.current
        result = current.models.get(name) if current else None
        describe = result.localizer.describe() if result else None
        text = card_html(REGISTRY[name].card, describe)
        QMessageBox.information(self.window, f"Model card — {titles()[name]}", text)

    def shortcuts(self) -> None:
        rows = "".join(
            f"<tr><td>{text}</td><td><b>{keys}</b></td></tr>"
            for text, keys in shortcut_rows(self.window.actions_by_id)
        )
        QMessageBox.information(self.window, "Keyboard shortcuts", f"<table>{rows}</table>")

    def about(self) -> None:
        QMessageBox.about(
            self.window,
            "About",
            f"<b>DinoLizer GUI {__version__}</b><p>Localisation of generative-inpainting edits with the "
            f"published DinoLizer, DeCLIP and B-Free models.</p><p>Log file: <code>{log_file()}</code></p>",
        )

    def check_installation(self):
        """Help › Check installation…: the self-test, run on a worker, its report shown."""
        from .check_dialog import CheckDialog

        settings = self.window.settings
        dialog = CheckDialog(settings.device, settings.precision, self.window)
        dialog.show()
        return dialog

    def export_report(self):
        from .export_dialog import ExportDialog

        workspace = self.window.workspace
        default = str(default_export_folder(workspace.settings))
        dialog = ExportDialog(workspace, self.export_items, self.window, default)
        dialog.show()
        return dialog

    def export_items(self, scope: str) -> list[BatchItem]:
        batch = self.window.batch
        if scope == "Current image":
            chosen = [batch.item_for(self.window.view.wanted_path)]
        elif scope == "Selected images":
            chosen = list(self.window.triage_dock.selected_items())
        else:
            chosen = list(batch.items)
        return [item for item in chosen if item is not None and item.status.finished]

    def manage_models(self):
        from .models_dialog import ModelsDialog

        dialog = ModelsDialog(self.window.workspace.weights_folder(), self.window)
        dialog.changed.connect(self.window.update_state)
        dialog.show()
        return dialog

    def load_checkpoint(self) -> None:
        title = "Load checkpoints: every file a model needs (e.g. a ViT+RN50 decoder, RN50.pt and a ViT file)"
        paths, _ = QFileDialog.getOpenFileNames(self.window, title, "", CHECKPOINT_FILES)
        if paths:
            try:
                models = self.window.workspace.use_checkpoints(paths)
            except CheckpointError as exc:
                self.window.show_error(str(exc))
            else:
                self.window.status.showMessage(
                    "For this session: " + ", ".join(titles()[m] for m in models), 8000
                )
            self.window.update_state()

    def choose_weights_folder(self) -> None:
        workspace = self.window.workspace
        folder = QFileDialog.getExistingDirectory(
            self.window, "Weights folder", str(workspace.weights_folder())
        )
        if folder:
            workspace.settings.weights_dir = folder
            workspace.save()
            self.window.central.welcome.set_folder(folder)
            self.window.update_state()
