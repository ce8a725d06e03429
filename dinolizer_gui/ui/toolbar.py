"""The main toolbar: the commands, then how the model panels look (view mode, colour map, opacity)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QComboBox, QLabel, QSlider, QToolBar

from ..core.maps.render import COLORMAPS, ViewMode
from ..core.session.settings import Settings
from .actions import TOOLBAR


class MainToolBar(QToolBar):
    modeChanged = Signal()
    colormapChanged = Signal(str)
    opacityChanged = Signal(float)

    def __init__(self, actions: dict[str, QAction], settings: Settings, parent=None):
        super().__init__("Main", parent)
        self.setObjectName("main-toolbar")
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self._labelled_width = 0
        for entry in TOOLBAR:
            if entry == "-":
                self.addSeparator()
            else:
                self.addAction(actions[entry])
        self.addSeparator()
        self.mode_combo = QComboBox()
        self.mode_combo.setToolTip("What the model panels show")
        for mode in ViewMode:
            self.mode_combo.addItem(mode.label, mode)
        self.colormap_combo = QComboBox()
        self.colormap_combo.setToolTip("Colour map of the heat map (perceptually uniform by default)")
        self.colormap_combo.addItems(list(COLORMAPS))
        self.colormap_combo.setCurrentText(settings.colormap)
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setToolTip("Overlay opacity")
        self.opacity_slider.setValue(round(settings.opacity * 100))
        self.opacity_slider.setFixedWidth(110)
        for label, widget in (
            ("View", self.mode_combo),
            ("Colours", self.colormap_combo),
            ("Opacity", self.opacity_slider),
        ):
            self.addWidget(QLabel(f" {label} "))
            self.addWidget(widget)
        self.mode_combo.currentIndexChanged.connect(lambda _: self.modeChanged.emit())
        self.colormap_combo.currentTextChanged.connect(self.colormapChanged)
        self.opacity_slider.valueChanged.connect(lambda percent: self.opacityChanged.emit(percent / 100))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_labels()

    def _fit_labels(self) -> None:
        """Narrower than the labelled buttons need, the buttons show their icons only (the tooltips name
        them), so the view mode, colours and opacity stay in sight instead of behind the » menu."""
        if self.toolButtonStyle() == Qt.ToolButtonStyle.ToolButtonTextBesideIcon:
            self._labelled_width = self.sizeHint().width()
        fits = self.width() >= self._labelled_width
        style = Qt.ToolButtonStyle.ToolButtonTextBesideIcon if fits else Qt.ToolButtonStyle.ToolButtonIconOnly
        if style != self.toolButtonStyle():
            self.setToolButtonStyle(style)

    def set_mode(self, mode: ViewMode) -> None:
        self.mode_combo.setCurrentIndex(list(ViewMode).index(mode))

    def mode(self) -> ViewMode:
        return ViewMode(self.mode_combo.currentData())  # Qt hands the str-based enum back as a str
