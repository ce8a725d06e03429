"""What the window shows of the image on screen: its panels and layers, scores, regions, verdict, title and
the readout under the cursor. Everything shown belongs to the image the view controller holds."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtWidgets import QMainWindow

from .. import __version__
from ..core.io.names import readable
from ..core.maps.render import ViewMode
from ..core.models.registry import titles
from ..core.session.batch import ItemStatus
from ..core.session.settings import Settings
from ..core.session.workspace import Workspace
from .central import Central
from .controllers.batch import BatchController
from .controllers.verdicts import VerdictController
from .controllers.view import ViewController
from .docks.controls import ControlsDock
from .document import Document
from .status import StatusBar
from .toolbar import MainToolBar

# what a model panel without a map says, by the image's state in the queue
MISSING_MAP_TEXT = {ItemStatus.QUEUED: "queued — not analysed yet", ItemStatus.RUNNING: "analysing…"}


@dataclass
class Screen:
    window: QMainWindow
    workspace: Workspace
    view: ViewController
    batch: BatchController
    verdicts: VerdictController
    central: Central
    controls: ControlsDock
    toolbar: MainToolBar
    status: StatusBar
    showing_original: bool = False
    _shown_status: ItemStatus | None = None  # the queue state the panels' notices describe

    @property
    def settings(self) -> Settings:
        return self.workspace.settings

    def loading(self, path: str) -> None:
        self.central.hide_banner()
        if self.view.current is None:
            self.clear(path)

    def clear(self, path: str) -> None:
        """Nothing of the image shown before stays on screen while `path` loads."""
        self.controls.show_verdict(self.verdicts.verdict_for(path), enabled=False)
        self.central.panel_grid.clear()
        self.show_scores(None)
        self.controls.show_regions(None, {})
        self.controls.show_marked(None)
        self._title(path)

    def show_input(self, document: Document) -> None:
        """A new image on screen (a preview only updates the maps of the one shown)."""
        self.central.panel_grid.show_input(document)

    def display(self, document: Document) -> None:
        self.central.show_viewer()
        self.refresh_layers()
        self.central.panel_grid.show_truth(document.ground_truth)
        self.show_scores(document)
        self._title(document.path)
        self.controls.show_verdict(self.verdicts.verdict_for(document.path))
        self.status.showMessage("; ".join(document.image.warnings), 10000)

    def _title(self, path: str | None) -> None:
        case = self.workspace.case
        parts = [readable(Path(path).name)] if path else []
        parts += [f"Case {case.number or ''} {case.title}".replace("  ", " ")] if case is not None else []
        self.window.setWindowTitle(" — ".join([*parts, f"DinoLizer GUI {__version__}"]))

    def show_case(self) -> None:
        """A case opened or closed (or its log grew): the title names it."""
        self._title(self.view.wanted_path)

    def follow_queue_state(self) -> None:
        """The image on screen went from queued to analysing: its empty panels say so."""
        document = self.view.current
        item = self.batch.item_for(document.path) if document is not None else None
        if item is not None and item.status != self._shown_status:
            self.show_scores(document)

    def show_scores(self, document: Document | None) -> None:
        item = self.batch.item_for(document.path) if document is not None else None
        self._shown_status = item.status if item is not None else None
        state = (
            MISSING_MAP_TEXT.get(self._shown_status, "not analysed") if self._shown_status else "not analysed"
        )
        with_weights = self.workspace.model_files()
        missing = {name: state if name in with_weights else "not analysed (no weights)" for name in titles()}
        self.controls.show_scores(self.central.panel_grid.show_scores(document, missing))

    def refresh_layers(self, changed: set[str] | None = None) -> None:
        document, mode, settings = self.view.current, self.toolbar.mode(), self.settings
        self.central.panel_grid.show_layers(
            mode, document, settings.colormap, settings.opacity, self.showing_original, changed
        )
        self.controls.show_marked(document)
        self.controls.show_legend(mode, settings.colormap, document)

    def show_original(self, on: bool) -> None:
        self.showing_original = on
        self.refresh_layers()

    def set_opacity(self, opacity: float) -> None:
        if self.toolbar.mode() in (ViewMode.OVERLAY, ViewMode.STABILITY) and not self.showing_original:
            self.central.panel_grid.set_overlay_opacity(opacity)

    def show_readout(self, x: int, y: int) -> None:
        document = self.view.current
        if document is None or x < 0:
            self.status.show_readout("")
            return
        parts = [f"({x}, {y})"] + [
            f"{titles()[name]} {result.probability[y, x]:.3f}"
            for name, result in document.models.items()
            if result.has_map
        ]
        self.status.show_readout("   ".join(parts))

    def show_zoom(self) -> None:
        leader = self.central.panel_grid.leader
        self.status.show_zoom(f"{leader.scale_factor:.0%}" + (" (fit)" if leader.fitted else ""))

    def startup_problems(self, store_problem: str, settings_problems: list[str]) -> None:
        """What could not be used at start (the viewer starts all the same): a damaged or read-only results
        store, settings of the wrong kind."""
        if store_problem:
            self.show_error(
                f"{store_problem}. The viewer works without it, keeping no maps between runs; "
                "File › Use a new results store… starts an empty one.",
                sticky=True,
            )
        elif settings_problems:
            self.show_error("; ".join(settings_problems))

    def show_error(self, message: str, sticky: bool = False) -> None:
        """A banner over the panels; a `sticky` one stays until what it says is no longer true."""
        self.central.show_banner(message, sticky)
        self.status.showMessage(message, 10000)
