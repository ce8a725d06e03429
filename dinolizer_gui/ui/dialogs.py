"""The dialogs the window opens: files and folders, model cards, shortcuts, export, models, weights."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox, QWidget

from .. import __version__
from ..core.io.images import IMAGE_EXTENSIONS
from ..core.models.layouts import CheckpointError
from ..core.models.registry import REGISTRY, titles
from ..core.session.batch import BatchItem
from ..core.session.image_results import ImageResults
from ..core.session.settings import default_export_folder, log_file
from ..core.session.workspace import Workspace
from .central import Central
from .controllers.batch import BatchController
from .controllers.case import CaseController
from .controllers.view import ViewController
from .widgets import card_html

if TYPE_CHECKING:  # imported when first opened: the window starts without them
    from .check_dialog import CheckDialog
    from .export_dialog import ExportDialog
    from .models_dialog import ModelsDialog

CHECKPOINT_FILES = "Checkpoints (*.ckpt *.pth *.pt *.safetensors)"


class Dialogs(QObject):
    """The window's dialogs, given what they use by name; the welcome page's buttons and the panels' Card
    buttons open them."""

    said = Signal(str, int)  # a passing note for the status bar, and for how many milliseconds

    def __init__(
        self,
        parent: QWidget,
        *,
        workspace: Workspace,
        view: ViewController,
        batch: BatchController,
        case: CaseController,
        central: Central,
        selected_items: Callable[[], list[BatchItem]],  # the rows selected in the batch table
        open_paths: Callable[[list[str]], None],
        shortcuts: Callable[[], list[tuple[str, str]]],  # (command, keys) of every shortcut
    ):
        super().__init__(parent)
        self.window = parent  # the dialogs' parent widget
        self.workspace, self.view, self.batch, self.case, self.central = workspace, view, batch, case, central
        self.selected_items, self.open_paths, self.shortcut_rows = selected_items, open_paths, shortcuts
        welcome = central.welcome
        welcome.choose_folder.clicked.connect(self.choose_weights_folder)
        welcome.manage_models.clicked.connect(self.manage_models)
        welcome.load_checkpoint.clicked.connect(self.load_checkpoint)
        welcome.open_image.clicked.connect(self.open_images)
        central.panel_grid.cardRequested.connect(self.card)

    def _say(self, text: str) -> None:
        self.said.emit(text, 8000)

    def open_images(self) -> None:
        patterns = " ".join(f"*{ext}" for ext in sorted(IMAGE_EXTENSIONS))
        filters = f"Images ({patterns});;All files (*)"
        paths, _ = QFileDialog.getOpenFileNames(self.window, "Open images", self.last_folder(), filters)
        if paths:
            self.open_paths(paths)

    def load_ground_truth(self) -> None:
        document = self.view.current
        if document is None:
            self.central.show_error("Open an image first: a ground-truth mask belongs to one image.")
            return
        patterns = " ".join(f"*{ext}" for ext in sorted(IMAGE_EXTENSIONS))
        path, _ = QFileDialog.getOpenFileName(
            self.window, "Ground-truth mask (white = manipulated)", "", f"Masks ({patterns})"
        )
        if path:
            self.view.load_ground_truth(path)

    def last_folder(self) -> str:
        """The folder of the image opened last, where the next one most likely is."""
        recent = self.workspace.settings.recent_files
        return str(Path(recent[0]).parent) if recent else ""

    def open_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self.window, "Open a folder of images", self.last_folder())
        if folder:
            self.open_paths([folder])

    def card(self, name: str) -> None:
        current = self.view.current
        result = current.models.get(name) if current else None
        describe = result.localizer.describe() if result else None
        text = card_html(REGISTRY[name].card, describe)
        QMessageBox.information(self.window, f"Model card — {titles()[name]}", text)

    def shortcuts(self) -> None:
        rows = "".join(
            f"<tr><td>{text}</td><td><b>{keys}</b></td></tr>" for text, keys in self.shortcut_rows()
        )
        QMessageBox.information(self.window, "Keyboard shortcuts", f"<table>{rows}</table>")

    def about(self) -> None:
        QMessageBox.about(
            self.window,
            "About",
            f"<b>DinoLizer GUI {__version__}</b><p>Localisation of generative-inpainting edits with the "
            f"published DinoLizer, DeCLIP and B-Free models.</p><p>Log file: <code>{log_file()}</code></p>",
        )

    def check_installation(self) -> CheckDialog:
        """Help › Check installation…: the self-test, run on a worker, its report shown."""
        from .check_dialog import CheckDialog

        settings = self.workspace.settings
        dialog = CheckDialog(settings.device, settings.precision, self.window)
        dialog.show()
        return dialog

    def check_stability(self) -> None:
        """Analysis › Check stability: the selected images (or the one on screen), after saying what it will
        compute and for how long (asked first when that is more than a minute)."""
        selected = [item.path for item in self.selected_items()]
        paths = selected if len(selected) > 1 else [p for p in [self.view.wanted_path] if p]
        if not paths:
            self.central.show_error("Open an image first: a stability check analyses its variants.")
            return
        plan, seconds = stability_plan(self.workspace, self.view.current)
        many = f"{len(paths)} images" if len(paths) > 1 else "the image on screen"
        text = (
            f"Stability check of {many}: each map analysed again under benign variants (JPEG 90 and 75, a "
            f"75 % resize, a window grid shifted by 64 px), the variants already stored excepted. {plan}"
        )
        if seconds > 60 or len(paths) > 1:
            answer = QMessageBox.question(self.window, "Check stability", f"{text}\n\nStart it now?")
            if answer != QMessageBox.StandardButton.Yes:
                return
        if why := self.batch.check_stability(paths):
            self.central.show_error(why)
        else:
            self._say(text)

    def trust_anchors(self) -> None:
        """The user's own trust anchors: a folder of PEM certificates whose Content Credentials signers are
        trusted besides those on the C2PA trust list shipped with the app."""
        settings = self.workspace.settings
        folder = QFileDialog.getExistingDirectory(
            self.window, "Your trust anchors, besides the C2PA list (Cancel: none)", settings.trust_anchors
        )
        settings.trust_anchors = folder
        self.workspace.save()
        if folder:
            count = len(list(Path(folder).glob("*.pem")))
            self._say(f"Content Credentials: the C2PA trust list and {count} of your anchors")
        else:
            self._say("Content Credentials: the C2PA trust list only, no anchors of yours")

    def new_case(self) -> None:
        """File › New case…: an empty folder, a title and a number; the examiner is the analyst's name."""
        folder = QFileDialog.getExistingDirectory(self.window, "A new, empty folder for the case")
        if not folder:
            return
        title, ok = QInputDialog.getText(self.window, "New case", "Title of the case:")
        if not ok or not title.strip():
            return
        number, _ = QInputDialog.getText(self.window, "New case", "Case number (optional):")
        self._case_step(lambda: self.case.new(Path(folder), title.strip(), number.strip()))

    def open_case(self) -> None:
        folder = QFileDialog.getExistingDirectory(self.window, "Open a case folder (it holds case.json)")
        if folder:
            self._case_step(lambda: self.case.open(Path(folder)))

    def export_case(self) -> None:
        case = self.case.case
        if case is None:
            self.central.show_error("Open a case first: File › Open case…")
            return
        suggested = str(case.folder.parent / f"{case.folder.name}.zip")
        out, _ = QFileDialog.getSaveFileName(self.window, "Export the case package", suggested, "Zip (*.zip)")
        if out:
            self.case.export(Path(out))
            self._say(f"Writing the case package {out}…")

    def _case_step(self, step: Callable[[], str]) -> None:
        from ..core.errors import PathError

        try:
            why = step()
        except PathError as exc:
            why = str(exc)
        if why:
            self.central.show_error(why)

    def export_report(self) -> ExportDialog:
        from .export_dialog import ExportDialog

        workspace = self.workspace
        default = str(default_export_folder(workspace.settings))
        if workspace.case is not None:  # a case's reports live in the case
            default = str(workspace.case.folder / "exports")
        dialog = ExportDialog(workspace, self.export_items, self.window, default)
        dialog.exported.connect(lambda _: self.case.changed.emit())
        dialog.show()
        return dialog

    def export_items(self, scope: str) -> list[BatchItem]:
        batch = self.batch
        if scope == "Current image":
            chosen = [batch.item_for(self.view.wanted_path)]
        elif scope == "Selected images":
            chosen = list(self.selected_items())
        else:
            chosen = list(batch.items)
        return [item for item in chosen if item is not None and item.status.finished]

    def manage_models(self) -> ModelsDialog:
        from .models_dialog import ModelsDialog

        dialog = ModelsDialog(self.workspace.weights_folder(), self.window)
        dialog.changed.connect(self.batch.weights_changed)
        dialog.show()
        return dialog

    def load_checkpoint(self) -> None:
        title = "Load checkpoints: every file a model needs (e.g. a ViT+RN50 decoder, RN50.pt and a ViT file)"
        paths, _ = QFileDialog.getOpenFileNames(self.window, title, "", CHECKPOINT_FILES)
        if paths:
            try:
                models = self.workspace.use_checkpoints(paths)
            except CheckpointError as exc:
                self.central.show_error(str(exc))
            else:
                self._say("For this session: " + ", ".join(titles()[m] for m in models))
            self.batch.weights_changed()

    def new_store(self) -> None:
        """File › Use a new results store…: an empty store in a folder the user chooses, used from now on."""
        from ..core.store.results import open_store

        folder = QFileDialog.getExistingDirectory(self.window, "Folder for a new results store (empty)")
        if not folder:
            return
        store, problem = open_store(Path(folder))
        if store is None:
            self.central.show_error(problem)
            return
        workspace = self.workspace
        workspace.store, workspace.settings.store_dir = store, folder
        workspace.save()
        self.central.hide_banner(sticky=True)  # the store problem is no longer true

    def choose_weights_folder(self) -> None:
        workspace = self.workspace
        folder = QFileDialog.getExistingDirectory(
            self.window, "Weights folder", str(workspace.weights_folder())
        )
        if folder:
            workspace.settings.weights_dir = folder
            workspace.save()
            self.batch.weights_changed()


def stability_plan(workspace: Workspace, document: ImageResults | None) -> tuple[str, float]:
    """What a stability check of the image on screen will compute, in words, and the seconds estimated."""
    from ..core.session.stability import estimated_seconds, plan_text, variants_to_compute

    if document is None or not document.models:
        return "The time it takes is known once the image has been analysed.", 0.0
    options, image = workspace.options(), document.image
    runtimes = workspace.runtimes(list(document.models))
    lines, seconds = [], 0.0
    for name, result in document.models.items():
        if not result.has_map:
            continue
        todo = variants_to_compute(result.localizer, image, options, runtimes[name], workspace.store)
        seconds += estimated_seconds(name, result.run, todo, options, image.width, image.height)
        lines.append(
            f"{titles()[name]}: {plan_text(name, result.run, todo, options, image.width, image.height)}."
        )
    return " ".join(lines), seconds
