"""The dialogs the window opens: files and folders, model cards, shortcuts, export, models, weights."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox, QWidget

from .. import __version__
from ..core.io.images import IMAGE_EXTENSIONS
from ..core.models.layouts import CheckpointError
from ..core.models.registry import REGISTRY, titles
from ..core.session.batch import BatchItem
from ..core.session.settings import default_export_folder, log_file
from ..core.session.workspace import Workspace
from .controllers.batch import BatchController
from .controllers.case import CaseController
from .controllers.view import ViewController
from .widgets import WelcomePage, card_html

CHECKPOINT_FILES = "Checkpoints (*.ckpt *.pth *.pt *.safetensors)"


@dataclass(frozen=True)
class DialogHost:
    """What the dialogs need of the window, given explicitly."""

    parent: QWidget
    workspace: Workspace
    view: ViewController
    batch: BatchController
    selected_items: Callable[[], list[BatchItem]]  # the rows selected in the batch table
    open_paths: Callable[[list[str]], None]
    show_error: Callable[[str], None]
    show_message: Callable[[str], None]  # a passing note in the status bar
    shortcuts: Callable[[], list[tuple[str, str]]]  # (command, keys) of every shortcut
    weights_changed: Callable[[], None]  # models, weights or the weights folder changed
    store_changed: Callable[[], None]  # a new results store is in use
    case: CaseController


class Dialogs:
    def __init__(self, host: DialogHost):
        self.host = host
        self.window = host.parent  # the dialogs' parent widget

    def serve(self, welcome: WelcomePage) -> None:
        """The welcome page's buttons open these dialogs."""
        welcome.choose_folder.clicked.connect(self.choose_weights_folder)
        welcome.manage_models.clicked.connect(self.manage_models)
        welcome.load_checkpoint.clicked.connect(self.load_checkpoint)
        welcome.open_image.clicked.connect(self.open_images)

    def open_images(self) -> None:
        patterns = " ".join(f"*{ext}" for ext in sorted(IMAGE_EXTENSIONS))
        filters = f"Images ({patterns});;All files (*)"
        paths, _ = QFileDialog.getOpenFileNames(self.window, "Open images", self.last_folder(), filters)
        if paths:
            self.host.open_paths(paths)

    def load_ground_truth(self) -> None:
        document = self.host.view.current
        if document is None:
            self.host.show_error("Open an image first: a ground-truth mask belongs to one image.")
            return
        patterns = " ".join(f"*{ext}" for ext in sorted(IMAGE_EXTENSIONS))
        path, _ = QFileDialog.getOpenFileName(
            self.window, "Ground-truth mask (white = manipulated)", "", f"Masks ({patterns})"
        )
        if path:
            self.host.view.load_ground_truth(path)

    def last_folder(self) -> str:
        """The folder of the image opened last, where the next one most likely is."""
        recent = self.host.workspace.settings.recent_files
        return str(Path(recent[0]).parent) if recent else ""

    def open_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self.window, "Open a folder of images", self.last_folder())
        if folder:
            self.host.open_paths([folder])

    def card(self, name: str) -> None:
        current = self.host.view.current
        result = current.models.get(name) if current else None
        describe = result.localizer.describe() if result else None
        text = card_html(REGISTRY[name].card, describe)
        QMessageBox.information(self.window, f"Model card — {titles()[name]}", text)

    def shortcuts(self) -> None:
        rows = "".join(
            f"<tr><td>{text}</td><td><b>{keys}</b></td></tr>" for text, keys in self.host.shortcuts()
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

        settings = self.host.workspace.settings
        dialog = CheckDialog(settings.device, settings.precision, self.window)
        dialog.show()
        return dialog

    def check_stability(self) -> None:
        """Analysis › Check stability: the selected images (or the one on screen), after saying what it will
        compute and for how long (asked first when that is more than a minute)."""
        host = self.host
        selected = [item.path for item in host.selected_items()]
        paths = selected if len(selected) > 1 else [p for p in [host.view.wanted_path] if p]
        if not paths:
            host.show_error("Open an image first: a stability check analyses its variants.")
            return
        plan, seconds = stability_plan(host.workspace, host.view.current)
        many = f"{len(paths)} images" if len(paths) > 1 else "the image on screen"
        text = (
            f"Stability check of {many}: each map analysed again under benign variants (JPEG 90 and 75, a "
            f"75 % resize, a window grid shifted by 64 px), the variants already stored excepted. {plan}"
        )
        if seconds > 60 or len(paths) > 1:
            answer = QMessageBox.question(self.window, "Check stability", f"{text}\n\nStart it now?")
            if answer != QMessageBox.StandardButton.Yes:
                return
        if why := host.batch.check_stability(paths):
            host.show_error(why)
        else:
            host.show_message(text)

    def trust_anchors(self) -> None:
        """The user's own trust anchors: a folder of PEM certificates whose Content Credentials signers are
        trusted besides those on the C2PA trust list shipped with the app."""
        settings = self.host.workspace.settings
        folder = QFileDialog.getExistingDirectory(
            self.window, "Your trust anchors, besides the C2PA list (Cancel: none)", settings.trust_anchors
        )
        settings.trust_anchors = folder
        self.host.workspace.save()
        if folder:
            count = len(list(Path(folder).glob("*.pem")))
            self.host.show_message(f"Content Credentials: the C2PA trust list and {count} of your anchors")
        else:
            self.host.show_message("Content Credentials: the C2PA trust list only, no anchors of yours")

    def new_case(self) -> None:
        """File › New case…: an empty folder, a title and a number; the examiner is the analyst's name."""
        folder = QFileDialog.getExistingDirectory(self.window, "A new, empty folder for the case")
        if not folder:
            return
        title, ok = QInputDialog.getText(self.window, "New case", "Title of the case:")
        if not ok or not title.strip():
            return
        number, _ = QInputDialog.getText(self.window, "New case", "Case number (optional):")
        self._case_step(lambda: self.host.case.new(Path(folder), title.strip(), number.strip()))

    def open_case(self) -> None:
        folder = QFileDialog.getExistingDirectory(self.window, "Open a case folder (it holds case.json)")
        if folder:
            self._case_step(lambda: self.host.case.open(Path(folder)))

    def export_case(self) -> None:
        case = self.host.case.case
        if case is None:
            self.host.show_error("Open a case first: File › Open case…")
            return
        suggested = str(case.folder.parent / f"{case.folder.name}.zip")
        out, _ = QFileDialog.getSaveFileName(self.window, "Export the case package", suggested, "Zip (*.zip)")
        if out:
            self.host.case.export(Path(out))
            self.host.show_message(f"Writing the case package {out}…")

    def _case_step(self, step: Callable[[], str]) -> None:
        from ..core.errors import PathError

        try:
            why = step()
        except PathError as exc:
            why = str(exc)
        if why:
            self.host.show_error(why)

    def export_report(self):
        from .export_dialog import ExportDialog

        workspace = self.host.workspace
        default = str(default_export_folder(workspace.settings))
        if workspace.case is not None:  # a case's reports live in the case
            default = str(workspace.case.folder / "exports")
        dialog = ExportDialog(workspace, self.export_items, self.window, default)
        dialog.exported.connect(lambda _: self.host.case.changed.emit())
        dialog.show()
        return dialog

    def export_items(self, scope: str) -> list[BatchItem]:
        batch = self.host.batch
        if scope == "Current image":
            chosen = [batch.item_for(self.host.view.wanted_path)]
        elif scope == "Selected images":
            chosen = list(self.host.selected_items())
        else:
            chosen = list(batch.items)
        return [item for item in chosen if item is not None and item.status.finished]

    def manage_models(self):
        from .models_dialog import ModelsDialog

        dialog = ModelsDialog(self.host.workspace.weights_folder(), self.window)
        dialog.changed.connect(self.host.weights_changed)
        dialog.show()
        return dialog

    def load_checkpoint(self) -> None:
        title = "Load checkpoints: every file a model needs (e.g. a ViT+RN50 decoder, RN50.pt and a ViT file)"
        paths, _ = QFileDialog.getOpenFileNames(self.window, title, "", CHECKPOINT_FILES)
        if paths:
            try:
                models = self.host.workspace.use_checkpoints(paths)
            except CheckpointError as exc:
                self.host.show_error(str(exc))
            else:
                self.host.show_message("For this session: " + ", ".join(titles()[m] for m in models))
            self.host.weights_changed()

    def new_store(self) -> None:
        """File › Use a new results store…: an empty store in a folder the user chooses, used from now on."""
        from ..core.store.results import open_store

        folder = QFileDialog.getExistingDirectory(self.window, "Folder for a new results store (empty)")
        if not folder:
            return
        store, problem = open_store(Path(folder))
        if store is None:
            self.host.show_error(problem)
            return
        workspace = self.host.workspace
        workspace.store, workspace.settings.store_dir = store, folder
        workspace.save()
        self.host.store_changed()

    def choose_weights_folder(self) -> None:
        workspace = self.host.workspace
        folder = QFileDialog.getExistingDirectory(
            self.window, "Weights folder", str(workspace.weights_folder())
        )
        if folder:
            workspace.settings.weights_dir = folder
            workspace.save()
            self.host.weights_changed()


def stability_plan(workspace: Workspace, document) -> tuple[str, float]:
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
