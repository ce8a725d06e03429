"""The classic instruments' views on the panels: any panel shows one in place of its own picture, with every
model's region outlines over it, so that a model's region and an instrument are compared in one look.

A view is drawn in the panel's own scene, above the model's layer and below the ground truth's outline and
the region boxes: zoom, pan, the boxes and anything drawn above OUTLINE_Z (the examiner's marks) stay as
they are on every view. Its title says which instrument and with what parameters; while it is computed,
the panel is covered and says how far it is (never the panel's own picture under an instrument's title)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import cv2
import numpy as np
from PySide6.QtCore import QObject, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFontMetrics, QImage, QPixmap
from PySide6.QtWidgets import QGraphicsPixmapItem, QGraphicsRectItem

from ..core.instruments import InstrumentResult
from ..core.instruments.ghosts import QUALITIES
from ..core.models.registry import map_titles
from ..core.session.instrument_views import Outline, View, model_outline_colours, region_outlines
from ..core.session.viewer_state import INPUT, ViewerState
from .controllers.instruments import InstrumentsController
from .controllers.thresholds import ThresholdsController
from .controllers.view import ViewController
from .document import Document
from .image_view import ImageView
from .panels import PANEL_TITLES, PanelGrid
from .qimages import layer_image
from .widgets import Panel

PICTURE_Z, OUTLINE_Z = 1.5, 1.6  # above a model's layer (1); below the ground truth (2) and region boxes (3)
COVER_COLOUR = "#303030"
COPY_MOVE_BACKGROUND = 0.35  # the image's luminance beneath the copy-move picture, dimmed to this share

OutlineSource = Callable[[Document], list[Outline]]  # regions of the image on screen to outline on the views


def notes_mark(metrics: QFontMetrics) -> str:
    """What tells a view has notes: ⓘ where the font draws it, else "(i)" (never an empty box)."""
    return "\u24d8" if metrics.inFontUcs4(0x24D8) else "(i)"


class _ViewItems:
    """What a panel shows of a view: a cover while it is computed, the picture, the outlines."""

    def __init__(self, view: ImageView):
        self.cover = QGraphicsRectItem()
        self.cover.setBrush(QColor(COVER_COLOUR))
        self.cover.setPen(Qt.PenStyle.NoPen)
        self.picture = QGraphicsPixmapItem()
        self.outlines = QGraphicsPixmapItem()
        for item, z in ((self.cover, PICTURE_Z), (self.picture, PICTURE_Z), (self.outlines, OUTLINE_Z)):
            item.setZValue(z)
            item.setVisible(False)
            view.scene().addItem(item)
        self.shown: tuple[int, str] | None = None  # (the result's id, its picture) drawn now

    def hide(self) -> None:
        for item in (self.cover, self.picture, self.outlines):
            item.setVisible(False)


class InstrumentPanels(QObject):
    """Draws the views the viewer state puts on the panels in sight, and asks for their results."""

    targetChanged = Signal(str)  # the panel the shortcuts and the Instruments dock act on
    outlinesChanged = Signal()  # a source's regions changed (the examiner's marks): the curve's choices too

    def __init__(
        self,
        grid: PanelGrid,
        jobs: InstrumentsController,
        viewer: ViewerState,
        view: ViewController,
        thresholds: ThresholdsController,
    ):
        super().__init__(grid)
        self.grid, self.jobs, self.viewer, self.view = grid, jobs, viewer, view
        self.items = {panel.key: _ViewItems(panel.view) for panel in grid.panels}
        self.outline_sources: list[OutlineSource] = [model_outlines]
        self._clicked = INPUT
        self._outlines: QPixmap | None = None  # of the image on screen at the thresholds now
        self._pictures: dict[tuple[int, str], QPixmap] = {}  # shared by the panels showing the same picture
        self._drawn = False  # whether a panel shows a view (else nothing is drawn or undone)
        for panel in grid.panels:
            panel.view.pressed.connect(partial(self._pressed, panel.key))
            panel.view.viewChanged.connect(partial(self._follow_sampling, panel))
        for event in (viewer.events.instruments, viewer.events.layout, viewer.events.mode):
            event.connect(self.refresh)
        viewer.events.original.connect(self.refresh)
        jobs.changed.connect(self.refresh)
        view.loading.connect(self._image_changed)
        view.replaced.connect(self._image_changed)
        view.displayed.connect(self._image_changed)  # its maps: other outlines
        thresholds.owner.events.moved.connect(self._image_changed)

    # --- what the user asks ----------------------------------------------------------------------
    @property
    def target(self) -> str:
        """The panel the shortcuts act on: the one last clicked if it is in sight, else the first in sight."""
        shown = self.viewer.shown_panels()
        return self._clicked if self._clicked in shown else shown[0]

    def choose_target(self, key: str) -> None:
        self._clicked = key
        self.targetChanged.emit(key)

    def toggle(self, view: str) -> None:
        """Show a view in the target panel; if it shows it already, the panel's own picture again."""
        views, key = self.viewer.instruments, self.target
        self.viewer.instruments = views.showing(key, None if views.panels.get(key) == view else view)

    def step_ghost(self, steps: int) -> None:
        """The JPEG ghost's quality shown, `steps` of 5 up or down."""
        views = self.viewer.instruments
        index = min(max(QUALITIES.index(views.ghost_quality) + steps, 0), len(QUALITIES) - 1)
        self.viewer.instruments = views.with_ghost_quality(QUALITIES[index])

    def add_outline_source(self, source: OutlineSource) -> None:
        """More regions for the views, after the models' masks: outlined on every view and offered for the
        JPEG ghost's curve (one with `drawn` False only offered: the examiner's marks draw themselves)."""
        self.outline_sources.append(source)
        self._image_changed()

    def outlines_changed(self, *_: object) -> None:
        """A source's regions changed: outlined again, and offered again for the curve."""
        self._image_changed()
        self.outlinesChanged.emit()

    def outlines(self) -> list[Outline]:
        document = self.view.current
        return [item for source in self.outline_sources for item in source(document)] if document else []

    # --- drawing ---------------------------------------------------------------------------------
    def refresh(self, *_: object) -> None:
        """Every panel in sight shows the view the viewer state gives it (or its own picture); the results
        they need are asked for, and nothing else is computed."""
        shown, views = self.viewer.shown_panels(), self.viewer.instruments
        self.jobs.want(views.instruments_on(shown) if self.view.current is not None else [])
        if not views.panels and not self._drawn:
            return
        self._drawn = bool(views.panels)
        in_use: set[tuple[int, str]] = set()
        for panel in self.grid.panels:
            view = views.view_on(panel.key) if panel.key in shown else None
            drawn = self._show(panel, view)
            if drawn is not None:
                in_use.add(drawn)
        self._pictures = {key: pixmap for key, pixmap in self._pictures.items() if key in in_use}

    def _show(self, panel: Panel, view: View | None) -> tuple[int, str] | None:
        items, document = self.items[panel.key], self.view.current
        if view is None or document is None:
            items.hide()
            items.shown = None
            self._title(panel, PANEL_TITLES[panel.key], "")
            self.grid.cover(panel.key, None)
            return None
        result = self.jobs.result(view.instrument)
        notes = "; ".join(result.notes) if result is not None else ""
        self._title(panel, self.viewer.instruments.title(view), notes)
        if self.viewer.original:  # the original in place of every layer: of the views too
            items.hide()
            self.grid.cover(panel.key, "")
            return None
        status = self.jobs.status(view.instrument)
        items.cover.setRect(QRectF(0, 0, document.image.width, document.image.height))
        items.cover.setVisible(result is None)
        self.grid.cover(panel.key, status if result is None else "")
        if result is None:
            items.picture.setVisible(False)
            items.outlines.setVisible(False)
            items.shown = None
            return None
        picture = self.viewer.instruments.picture(view)
        drawn = (id(result), picture)
        if items.shown != drawn:
            items.picture.setPixmap(self._picture(result, picture, document))
            items.shown = drawn
        items.picture.setVisible(True)
        outlines = self._outline_pixmap()
        items.outlines.setPixmap(outlines if outlines is not None else QPixmap())
        items.outlines.setVisible(outlines is not None)
        self._follow_sampling(panel)
        return drawn

    def _picture(self, result: InstrumentResult, key: str, document: Document) -> QPixmap:
        cached = self._pictures.get((id(result), key))
        if cached is None:
            pixels = result.picture(key)
            if result.name == "copymove":  # its boxes and lines over the image, dimmed
                grey = cv2.cvtColor(
                    document.image.rgb, cv2.COLOR_RGB2GRAY
                )  # one byte a pixel, whatever the size
                pixels = np.maximum(pixels, cv2.convertScaleAbs(grey, alpha=COPY_MOVE_BACKGROUND))
            cached = QPixmap.fromImage(grey_image(pixels))
            self._pictures[(id(result), key)] = cached
        return cached

    def _outline_pixmap(self) -> QPixmap | None:
        document = self.view.current
        if self._outlines is None and document is not None:
            layer = region_outlines(self.outlines(), (document.image.height, document.image.width))
            self._outlines = QPixmap.fromImage(layer_image(layer)) if layer is not None else QPixmap()
        return self._outlines if self._outlines is not None and not self._outlines.isNull() else None

    def _title(self, panel: Panel, title: str, notes: str) -> None:
        panel.title_text = title + (f" {notes_mark(panel.title.fontMetrics())}" if notes else "")
        panel.set_active(panel.key == self.grid.active_model)
        if notes:
            panel.title.setToolTip(notes)

    def _follow_sampling(self, panel: Panel) -> None:
        """Nearest neighbour when magnified, as the panel's own picture."""
        items, mode = self.items[panel.key], panel.view.base.transformationMode()
        items.picture.setTransformationMode(mode)
        items.outlines.setTransformationMode(mode)

    def _pressed(self, key: str) -> None:
        if key != self._clicked:
            self.choose_target(key)

    def _image_changed(self, *_: object) -> None:
        self._outlines = None
        self.refresh()


def model_outlines(document: Document) -> list[Outline]:
    """Each model's mask at its threshold, in its colour (orange the first model, blue the second)."""
    colours = model_outline_colours(map_titles())
    return [
        Outline(f"{map_titles()[name]} mask at {result.threshold}", result.mask(), colours[name])
        for name, result in document.models.items()
        if name in colours and result.has_map
    ]


def grey_image(pixels: np.ndarray) -> QImage:
    """An H x W uint8 picture as a QImage that owns its pixels."""
    pixels = np.ascontiguousarray(pixels)
    height, width = pixels.shape
    return QImage(pixels.data, width, height, width, QImage.Format.Format_Grayscale8).copy()
