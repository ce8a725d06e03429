"""The main toolbar: the commands, then how the model panels look (view mode, colour map, opacity), which it
shows and sets in the viewer state."""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtGui import QAction, QResizeEvent
from PySide6.QtWidgets import QComboBox, QLabel, QSlider, QToolBar, QWidget

from ..core.maps.render import COLORMAPS, ViewMode
from ..core.session.events import Binding, rebind
from ..core.session.viewer_state import ViewerState


class MainToolBar(QToolBar):
    def __init__(self, groups: list[list[QAction]], viewer: ViewerState, parent: QWidget | None = None):
        """`groups`: the commands, a separator between two groups."""
        super().__init__("Main", parent)
        self.setObjectName("main-toolbar")
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self._labelled_width = 0
        for group in groups:
            self.addActions(group)
            self.addSeparator()
        self.mode_combo = QComboBox()
        self.mode_combo.setToolTip("What the model panels show")
        for mode in ViewMode:
            self.mode_combo.addItem(mode.label, mode)
        self.colormap_combo = QComboBox()
        self.colormap_combo.setToolTip("Colour map of the heat map (perceptually uniform by default)")
        self.colormap_combo.addItems(list(COLORMAPS))
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setToolTip("Overlay opacity")
        self.opacity_slider.setFixedWidth(110)
        for label, widget in (
            ("View", self.mode_combo),
            ("Colours", self.colormap_combo),
            ("Opacity", self.opacity_slider),
        ):
            self.addWidget(QLabel(f" {label} "))
            self.addWidget(widget)
        self.mode_combo.currentIndexChanged.connect(self._mode_chosen)
        self.colormap_combo.currentTextChanged.connect(self._colormap_chosen)
        self.opacity_slider.valueChanged.connect(self._opacity_chosen)
        self.viewer: ViewerState | None = None
        self.bind(viewer)

    def bind(self, viewer: ViewerState) -> None:
        """Show and set this viewer state from now on: the one before no longer reaches the toolbar."""
        rebind(self._bindings(self.viewer), self._bindings(viewer))
        self.viewer = viewer
        self._show_mode(viewer.mode)
        self._show_colormap(viewer.colormap)
        self._show_opacity(viewer.opacity)

    def _bindings(self, viewer: ViewerState | None) -> list[Binding]:
        if viewer is None:
            return []
        events = viewer.events
        return [
            (events.mode, self._show_mode),
            (events.colormap, self._show_colormap),
            (events.opacity, self._show_opacity),
        ]

    @property
    def state(self) -> ViewerState:
        assert self.viewer is not None  # bound in the constructor
        return self.viewer

    def _show_mode(self, mode: ViewMode) -> None:
        with QSignalBlocker(self.mode_combo):
            self.mode_combo.setCurrentIndex(list(ViewMode).index(mode))

    def _show_colormap(self, colormap: str) -> None:
        with QSignalBlocker(self.colormap_combo):
            self.colormap_combo.setCurrentText(colormap)

    def _show_opacity(self, opacity: float) -> None:
        with QSignalBlocker(self.opacity_slider):
            self.opacity_slider.setValue(round(opacity * 100))

    def _mode_chosen(self, index: int) -> None:
        self.state.mode = ViewMode(self.mode_combo.itemData(index))  # Qt hands the str-based enum back as str

    def _colormap_chosen(self, colormap: str) -> None:
        self.state.colormap = colormap

    def _opacity_chosen(self, percent: int) -> None:
        self.state.opacity = percent / 100

    def resizeEvent(self, event: QResizeEvent) -> None:
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
