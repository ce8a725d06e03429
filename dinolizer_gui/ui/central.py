"""The window's centre: the welcome page until a model has weights, else the panels under an error banner. It
subscribes itself to what it shows: the image on screen and its failures, the case's problems, the weights."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QScrollArea, QStackedWidget, QVBoxLayout, QWidget

from ..core.session.workspace import Workspace
from .controllers.batch import BatchController
from .controllers.case import CaseController
from .controllers.thresholds import ThresholdsController
from .controllers.view import ViewController
from .panels import PanelGrid
from .widgets import WelcomePage


class Central(QStackedWidget):
    errorShown = Signal(str)  # a banner's message (the status bar says it too)

    def __init__(
        self,
        workspace: Workspace,
        view: ViewController,
        thresholds: ThresholdsController,
        batch: BatchController,
        case: CaseController,
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.workspace, self.view = workspace, view
        self.panel_grid = PanelGrid(workspace.viewer, thresholds, view)
        self.banner = QLabel()
        self.banner.setWordWrap(True)
        self.banner.setVisible(False)
        self.banner.setStyleSheet("background:#7a1f1f;color:white;padding:6px;")
        viewer = QWidget()
        layout = QVBoxLayout(viewer)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.banner)
        layout.addWidget(self.panel_grid, 1)
        self.welcome = WelcomePage(str(workspace.weights_folder()))
        scroller = QScrollArea(widgetResizable=True)  # its text must not make the window taller than 800 px
        scroller.setWidget(self.welcome)
        self.addWidget(scroller)
        self.welcome_page = scroller
        self.addWidget(viewer)
        self.viewer = viewer
        self.sticky = False
        view.loading.connect(lambda _: self.hide_banner())
        view.analysisFailed.connect(self.show_error)
        view.displayed.connect(lambda _: self.show_viewer())
        view.idle.connect(self.show_page)
        case.problem.connect(self.show_error)
        batch.weightsChanged.connect(self._weights_changed)
        self.show_page()

    def show_viewer(self) -> None:
        self.setCurrentWidget(self.viewer)

    def show_welcome(self) -> None:
        self.setCurrentWidget(self.welcome_page)

    def show_page(self) -> None:
        """With nothing on screen or loading: the panels once a model has weights, else the welcome page."""
        if self.view.current is None and self.view.worker is None:
            self.show_viewer() if self.workspace.model_files() else self.show_welcome()

    def _weights_changed(self) -> None:
        self.welcome.set_folder(str(self.workspace.weights_folder()))
        if self.workspace.model_files():
            self.hide_banner(sticky=True)  # "viewing only" is no longer true
        self.show_page()

    def show_error(self, message: str, sticky: bool = False) -> None:
        """A banner over the panels; a `sticky` one (a state of the app, not of one image) stays until what it
        says is no longer true."""
        self.banner.setText(message)
        self.banner.setVisible(True)
        self.sticky = sticky
        self.show_viewer()
        self.errorShown.emit(message)

    def hide_banner(self, sticky: bool = False) -> None:
        """Hide an image's banner; with `sticky`, a state's banner too."""
        if sticky or not self.sticky:
            self.banner.setVisible(False)
            self.sticky = False

    def show_startup_problems(self, store_problem: str, settings_problems: list[str]) -> None:
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
