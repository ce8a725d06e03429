"""The window's centre: the welcome page until a model has weights, else the panels under an error banner."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QScrollArea, QStackedWidget, QVBoxLayout, QWidget

from .panels import PanelGrid
from .widgets import WelcomePage


class Central(QStackedWidget):
    def __init__(self, weights_folder: str, parent=None):
        super().__init__(parent)
        self.panel_grid = PanelGrid()
        self.banner = QLabel()
        self.banner.setWordWrap(True)
        self.banner.setVisible(False)
        self.banner.setStyleSheet("background:#7a1f1f;color:white;padding:6px;")
        viewer = QWidget()
        layout = QVBoxLayout(viewer)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.banner)
        layout.addWidget(self.panel_grid, 1)
        self.welcome = WelcomePage(weights_folder)
        scroller = QScrollArea(widgetResizable=True)  # its text must not make the window taller than 800 px
        scroller.setWidget(self.welcome)
        self.addWidget(scroller)
        self.welcome_page = scroller
        self.addWidget(viewer)
        self.viewer = viewer
        self.sticky = False

    def show_weights_folder(self, folder: str) -> None:
        self.welcome.set_folder(folder)

    def show_viewer(self) -> None:
        self.setCurrentWidget(self.viewer)

    def show_welcome(self) -> None:
        self.setCurrentWidget(self.welcome_page)

    def show_banner(self, message: str, sticky: bool = False) -> None:
        """A `sticky` banner (a state of the app, not of one image) outlives moving to another image."""
        self.banner.setText(message)
        self.banner.setVisible(True)
        self.sticky = sticky
        self.show_viewer()

    def hide_banner(self, sticky: bool = False) -> None:
        """Hide an image's banner; with `sticky`, a state's banner too."""
        if sticky or not self.sticky:
            self.banner.setVisible(False)
            self.sticky = False
