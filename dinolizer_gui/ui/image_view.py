"""A zoomable, pannable image panel with one overlay layer; panels can be locked together."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFocusEvent,
    QImage,
    QMouseEvent,
    QPainter,
    QPen,
    QPixmap,
    QResizeEvent,
    QTransform,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsPixmapItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
    QGraphicsView,
    QWidget,
)

MAX_SCALE = 64.0
ZOOM_STEP = 1.25


class ImageView(QGraphicsView):
    """Image pixels are scene units, so every panel of the same image shares coordinates."""

    hovered = Signal(int, int)  # image x, y under the cursor (-1, -1 outside)
    viewChanged = Signal()
    pressed = Signal()  # clicked, or given the keyboard focus
    doubleClicked = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.base = QGraphicsPixmapItem()
        self.layer = QGraphicsPixmapItem()
        self.layer.setZValue(1)
        self.truth = QGraphicsPixmapItem()  # a ground truth's outline, above the model's layer
        self.truth.setZValue(2)
        for item in (self.base, self.layer, self.truth):
            item.setCacheMode(QGraphicsPixmapItem.CacheMode.DeviceCoordinateCache)  # repaint = blit
            self.scene().addItem(item)
        self.boxes = {kind: RegionBox(colour, self.scene()) for kind, colour in BOX_COLOURS.items()}
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setMouseTracking(True)
        self.setBackgroundBrush(Qt.GlobalColor.darkGray)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        self.fitted = True
        self.notice = ""  # said over the image, in screen space (e.g. that a model has not run)
        self.horizontalScrollBar().valueChanged.connect(self.viewChanged)
        self.verticalScrollBar().valueChanged.connect(self.viewChanged)

    # --- content ---------------------------------------------------------------------------------
    def set_base(self, image: QImage | QPixmap | None) -> None:
        pixmap = image if isinstance(image, QPixmap) else QPixmap.fromImage(image) if image else QPixmap()
        self.base.setPixmap(pixmap)
        self.scene().setSceneRect(QRectF(pixmap.rect()))
        if self.fitted:
            self.fit()

    def set_layer(self, image: QImage | QPixmap | None, opacity: float = 1.0) -> None:
        pixmap = (
            image
            if isinstance(image, QPixmap)
            else QPixmap.fromImage(image)
            if image is not None
            else QPixmap()
        )
        self.layer.setPixmap(pixmap)
        self.layer.setOpacity(opacity)

    def set_truth(self, outline: QPixmap | None) -> None:
        self.truth.setPixmap(outline if outline is not None else QPixmap())

    def set_box(self, kind: str, rect: QRectF | None, number: int = 0) -> None:
        """A numbered region box (`selected` or `hovered`) drawn over the image; None hides it."""
        self.boxes[kind].show_at(rect, number)

    def set_notice(self, text: str) -> None:
        if text != self.notice:
            self.notice = text
            self.viewport().update()

    def drawForeground(self, painter: QPainter, rect: QRectF | QRect) -> None:
        super().drawForeground(painter, rect)
        if not self.notice:
            return
        painter.save()
        painter.resetTransform()
        font = painter.font()
        font.setPointSizeF(font.pointSizeF() * 1.4)
        font.setBold(True)
        painter.setFont(font)
        box = painter.fontMetrics().boundingRect(self.notice).adjusted(-14, -8, 14, 8)
        box.moveCenter(self.viewport().rect().center())
        painter.fillRect(box, QColor(0, 0, 0, 170))
        painter.setPen(QColor("#ff8a80"))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, self.notice)
        painter.restore()

    # --- zoom ------------------------------------------------------------------------------------
    @property
    def scale_factor(self) -> float:
        return self.transform().m11()

    def set_scale(self, scale: float) -> None:
        scale = min(max(scale, 1e-3), MAX_SCALE)
        self.setTransform(QTransform.fromScale(scale, scale))
        self._update_sampling()
        self.viewChanged.emit()

    def zoom(self, factor: float) -> None:
        self.fitted = False
        self.set_scale(self.scale_factor * factor)

    def fit(self) -> None:
        self.fitted = True
        if not self.base.pixmap().isNull():
            self.fitInView(self.base, Qt.AspectRatioMode.KeepAspectRatio)
            self._update_sampling()
            self.viewChanged.emit()

    def actual_size(self) -> None:
        self.fitted = False
        self.set_scale(1.0)

    def zoom_to(self, rect: QRectF, margin: float = 0.25) -> None:
        self.fitted = False
        grown = rect.adjusted(
            -rect.width() * margin, -rect.height() * margin, rect.width() * margin, rect.height() * margin
        )
        self.fitInView(grown, Qt.AspectRatioMode.KeepAspectRatio)
        if self.scale_factor > MAX_SCALE:
            self.set_scale(MAX_SCALE)
        self.centerOn(rect.center())
        self._update_sampling()
        self.viewChanged.emit()

    def _update_sampling(self) -> None:
        """Nearest neighbour when magnified, so single pixels stay square."""
        mode = (
            Qt.TransformationMode.FastTransformation
            if self.scale_factor >= 2
            else Qt.TransformationMode.SmoothTransformation
        )
        self.base.setTransformationMode(mode)
        self.layer.setTransformationMode(mode)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.scale_factor < 2)

    def center(self) -> QPointF:
        return self.mapToScene(self.viewport().rect().center())

    # --- events ----------------------------------------------------------------------------------
    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.zoom(ZOOM_STEP**steps)
        event.accept()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.fitted:
            self.fit()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.pressed.emit()
        super().mousePressEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        self.doubleClicked.emit()
        event.accept()

    def focusInEvent(self, event: QFocusEvent) -> None:
        super().focusInEvent(event)
        self.pressed.emit()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        super().mouseMoveEvent(event)
        point = self.mapToScene(event.position().toPoint())
        x, y = int(point.x()), int(point.y())
        inside = self.base.pixmap().rect().contains(x, y) and point.x() >= 0 and point.y() >= 0
        self.hovered.emit(x if inside else -1, y if inside else -1)

    def leaveEvent(self, event: QEvent) -> None:
        super().leaveEvent(event)
        self.hovered.emit(-1, -1)


BOX_COLOURS = {"selected": "#00e5ff", "hovered": "#ffeb3b"}


class RegionBox:
    """A rectangle in image pixels with its number beside it, both drawn at a constant screen size."""

    def __init__(self, colour: str, scene: QGraphicsScene):
        pen = QPen(QColor(colour), 2)
        pen.setCosmetic(True)  # 2 screen pixels at every zoom
        self.rect = QGraphicsRectItem()
        self.rect.setPen(pen)
        self.label = QGraphicsSimpleTextItem()
        self.label.setBrush(QColor(colour))
        self.label.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        for item in (self.rect, self.label):
            item.setZValue(3)
            item.setVisible(False)
            scene.addItem(item)

    def show_at(self, rect: QRectF | None, number: int) -> None:
        for item in (self.rect, self.label):
            item.setVisible(rect is not None)
        if rect is not None:
            self.rect.setRect(rect)
            self.label.setText(f"#{number}")
            font = self.label.font()
            font.setBold(True)
            font.setPointSize(11)
            self.label.setFont(font)
            self.label.setPos(rect.left(), rect.top())


class ViewLink:
    """Keeps the zoom and the visible centre of several views identical."""

    def __init__(self, views: list[ImageView]):
        self.views = views
        self.locked = True
        self._syncing = False
        for view in views:
            view.viewChanged.connect(lambda view=view: self.follow(view))

    def follow(self, leader: ImageView) -> None:
        if self._syncing or not self.locked or not leader.isVisible():  # a hidden panel's fit is no guide
            return
        self._syncing = True
        try:
            centre, scale = leader.center(), leader.scale_factor
            for view in self.views:
                if view is not leader:
                    view.fitted = leader.fitted
                    view.setTransform(QTransform.fromScale(scale, scale))
                    view._update_sampling()
                    view.centerOn(centre)
        finally:
            self._syncing = False
