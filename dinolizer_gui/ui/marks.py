"""The examiner's marks on every panel: each drawn in image pixels (scene units) in its category's colour and
line, numbered, the selected one with handles; the rejected model regions hatched. And the tool that draws,
selects, moves and reshapes them with the mouse on any panel — an event filter on the panels' views, so the
view itself stays a plain zoomable image."""

from __future__ import annotations

import math

from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QKeyEvent, QMouseEvent, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
    QGraphicsView,
)

from ..core.store.findings import CATEGORY_STYLES, Mark
from .controllers.findings import FindingsController
from .image_view import ImageView

PEN_STYLES = {
    "solid": Qt.PenStyle.SolidLine,
    "dash": Qt.PenStyle.DashLine,
    "dot": Qt.PenStyle.DotLine,
    "dashdot": Qt.PenStyle.DashDotLine,
}
MARK_Z, HANDLE_Z, HATCH_Z = 6, 7, 5
HANDLE_PX = 9  # a handle's size on screen, at every zoom
PICK_PX = 6  # how near (screen pixels) a click must be to a mark's line to pick it
MIN_DRAG_PX = 3  # a shorter drag is a click


def mark_path(shape: str, points: list[tuple[float, float]]) -> QPainterPath:
    """The mark's outline in image pixels (an arrow: its shaft and head)."""
    path = QPainterPath()
    if not points:
        return path
    if shape in ("rectangle", "ellipse") and len(points) >= 2:
        (x0, y0), (x1, y1) = points[0], points[-1]
        rect = QRectF(QPointF(x0, y0), QPointF(x1, y1)).normalized()
        if shape == "rectangle":
            path.addRect(rect)
        else:
            path.addEllipse(rect)
        return path
    path.addPolygon(QPolygonF([QPointF(x, y) for x, y in points]))
    if shape in ("polygon", "freehand") and len(points) > 2:
        path.closeSubpath()
    if shape == "arrow" and len(points) == 2:
        (x0, y0), (x1, y1) = points
        angle, size = math.atan2(y0 - y1, x0 - x1), max(6.0, math.hypot(x1 - x0, y1 - y0) * 0.12)
        for turn in (0.45, -0.45):
            path.moveTo(x1, y1)
            path.lineTo(x1 + size * math.cos(angle + turn), y1 + size * math.sin(angle + turn))
    return path


def mark_pen(category: str, selected: bool = False) -> QPen:
    colour, line = CATEGORY_STYLES[category]
    pen = QPen(QColor(colour), 3.5 if selected else 2.0)
    pen.setStyle(PEN_STYLES[line])
    pen.setCosmetic(True)  # the same on screen at every zoom
    return pen


class MarksLayer:
    """The marks of the image on screen, drawn on one view's scene."""

    def __init__(self, scene: QGraphicsScene):
        self.scene = scene
        self.items: dict[str, tuple[QGraphicsPathItem, QGraphicsSimpleTextItem]] = {}
        self.handles: list[QGraphicsRectItem] = []
        self.hatches: list[QGraphicsPathItem] = []

    def show(self, marks: list[Mark], selected: str) -> None:
        for path_item, label in self.items.values():
            self.scene.removeItem(path_item)
            self.scene.removeItem(label)
        self.items = {
            mark.id: self._item(mark, number, mark.id == selected) for number, mark in enumerate(marks, 1)
        }
        self._show_handles(next((m for m in marks if m.id == selected), None))

    def _item(
        self, mark: Mark, number: int, selected: bool
    ) -> tuple[QGraphicsPathItem, QGraphicsSimpleTextItem]:
        item = QGraphicsPathItem(mark_path(mark.shape, list(mark.points)))
        item.setPen(mark_pen(mark.category, selected))
        item.setZValue(MARK_Z)
        item.setData(0, mark.id)
        label = QGraphicsSimpleTextItem(str(number))
        font = label.font()
        font.setBold(True)
        font.setPointSize(11)
        label.setFont(font)
        label.setBrush(QColor(CATEGORY_STYLES[mark.category][0]))
        label.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        x, y = mark.points[0] if mark.shape == "arrow" else mark.box[:2]
        label.setPos(x, y)
        label.setZValue(MARK_Z)
        label.setData(0, mark.id)
        self.scene.addItem(item)
        self.scene.addItem(label)
        return item, label

    def _show_handles(self, mark: Mark | None) -> None:
        for handle in self.handles:
            self.scene.removeItem(handle)
        self.handles = []
        for index, (x, y) in enumerate(_handle_points(mark) if mark is not None else []):
            handle = QGraphicsRectItem(-HANDLE_PX / 2, -HANDLE_PX / 2, HANDLE_PX, HANDLE_PX)
            handle.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
            handle.setPos(x, y)
            handle.setPen(QPen(QColor("black"), 1))
            handle.setBrush(QColor("white"))
            handle.setZValue(HANDLE_Z)
            handle.setData(1, index)
            self.scene.addItem(handle)
            self.handles.append(handle)

    def hatch(self, outlines: list[list[tuple[float, float]]]) -> None:
        """The rejected regions, hatched (their outlines in image pixels)."""
        for item in self.hatches:
            self.scene.removeItem(item)
        self.hatches = []
        for outline in outlines:
            path = QPainterPath()
            path.addPolygon(QPolygonF([QPointF(x, y) for x, y in outline]))
            path.closeSubpath()
            item = QGraphicsPathItem(path)
            pen = QPen(QColor("#9e9e9e"), 1.5)
            pen.setCosmetic(True)
            item.setPen(pen)
            item.setBrush(QBrush(QColor(40, 40, 40, 200), Qt.BrushStyle.BDiagPattern))
            item.setZValue(HATCH_Z)
            self.scene.addItem(item)
            self.hatches.append(item)


def _handle_points(mark: Mark) -> list[tuple[float, float]]:
    """Where a mark is reshaped: its two corners or ends, or its vertices (at most 64 for a freehand line)."""
    points = list(mark.points)
    if mark.shape == "freehand" and len(points) > 64:
        step = math.ceil(len(points) / 64)
        return points[::step]
    return points


class MarkTool(QObject):
    """Mouse and keys on the panels' views: with a tool chosen, drawing; without, picking a mark, dragging
    it, or dragging one of its handles to reshape it. Every finished gesture is one change (one undo)."""

    def __init__(self, findings: FindingsController, views: list[ImageView], parent: QObject | None = None):
        super().__init__(parent)
        self.findings, self.views = findings, views
        self.layers = {id(view): MarksLayer(view.scene()) for view in views}
        self._watched = {id(w): view for view in views for w in (view, view.viewport())}
        self._points: list[tuple[float, float]] = []
        self._preview: dict[int, QGraphicsPathItem] = {}
        self._drag: tuple[ImageView, QPointF, int | None] | None = None  # view, start, handle index
        for view in views:
            view.viewport().installEventFilter(self)
            view.installEventFilter(self)
        findings.changed.connect(self.redraw)
        findings.selected.connect(lambda _: self.redraw())
        findings.toolChanged.connect(self._tool_changed)

    def redraw(self) -> None:
        for view in self.views:
            self.layers[id(view)].show(self.findings.marks, self.findings.selected_id)

    def hatch(self, outlines: list[list[tuple[float, float]]]) -> None:
        for view in self.views:
            self.layers[id(view)].hatch(outlines)

    def _tool_changed(self, tool: str) -> None:
        self._cancel()
        for view in self.views:
            view.setDragMode(QGraphicsView.DragMode.NoDrag if tool else QGraphicsView.DragMode.ScrollHandDrag)
            view.viewport().setCursor(Qt.CursorShape.CrossCursor if tool else Qt.CursorShape.OpenHandCursor)

    # --- events ----------------------------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        view = self._watched.get(id(watched))
        if view is None or self.findings.size is None:
            return False
        kind = event.type()
        if kind == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent) and self._wants(event):
            event.accept()  # the key comes here, not to a window shortcut (Esc would cancel the batch)
            return True
        if kind == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            return self._key(event)
        if not isinstance(event, QMouseEvent) or watched is view:
            return False
        point = self._clamped(view.mapToScene(event.position().toPoint()))
        if kind == QEvent.Type.MouseButtonPress and event.button() == Qt.MouseButton.LeftButton:
            return self._press(view, point)
        if kind == QEvent.Type.MouseMove and event.buttons() & Qt.MouseButton.LeftButton:
            return self._move(view, point)
        if kind == QEvent.Type.MouseButtonRelease and event.button() == Qt.MouseButton.LeftButton:
            return self._release(view, point)
        if kind == QEvent.Type.MouseButtonDblClick and self.findings.tool == "polygon":
            self._finish_polygon()
            return True
        return False

    def _wants(self, event: QKeyEvent) -> bool:
        """The keys the tool takes while drawing: Esc leaves it, Enter closes a polygon, Backspace undoes
        its last point."""
        keys = (Qt.Key.Key_Escape, Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Backspace)
        return bool(self.findings.tool or self._points) and event.key() in keys

    def _key(self, event: QKeyEvent) -> bool:
        key = event.key()
        if key == Qt.Key.Key_Escape and (self.findings.tool or self._points):
            self._cancel()
            self.findings.set_tool("")
            return True
        if self.findings.tool == "polygon" and key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self._finish_polygon()
            return True
        if self.findings.tool == "polygon" and key == Qt.Key.Key_Backspace and self._points:
            self._points.pop()
            self._show_preview()
            return True
        return False

    def _press(self, view: ImageView, point: QPointF) -> bool:
        tool = self.findings.tool
        if tool == "polygon":
            self._points.append((point.x(), point.y()))
            self._show_preview()
            return True
        if tool:
            self._points = [(point.x(), point.y())]
            return True
        handle = self._handle_at(view, point)
        if handle is not None:
            self._drag = (view, point, handle)
            return True
        picked = self._mark_at(view, point)
        self.findings.select(picked)
        if picked:
            self._drag = (view, point, None)
            return True
        return False  # the view pans

    def _move(self, view: ImageView, point: QPointF) -> bool:
        tool = self.findings.tool
        if tool in ("rectangle", "ellipse", "arrow") and self._points:
            self._points = [self._points[0], (point.x(), point.y())]
        elif tool == "freehand" and self._points:
            if _distance(self._points[-1], (point.x(), point.y())) * view.scale_factor >= 2:
                self._points.append((point.x(), point.y()))
        elif self._drag is not None:
            self._show_preview(self._dragged(point))
            return True
        else:
            return False
        self._show_preview()
        return True

    def _release(self, view: ImageView, point: QPointF) -> bool:
        tool = self.findings.tool
        if tool == "polygon":
            return True
        if tool:
            points, self._points = self._points, []
            self._clear_preview()
            if _extent(points) * view.scale_factor >= MIN_DRAG_PX:
                self.findings.add(tool, points)
            return True
        if self._drag is not None:
            drag_view, start, handle = self._drag
            points = self._dragged(point)
            self._drag = None
            self._clear_preview()
            moved = math.hypot(point.x() - start.x(), point.y() - start.y()) * drag_view.scale_factor
            if moved >= MIN_DRAG_PX:
                if handle is None:
                    self.findings.move(
                        self.findings.selected_id, point.x() - start.x(), point.y() - start.y()
                    )
                else:
                    self.findings.change(self.findings.selected_id, points=points)
            return True
        return False

    # --- gestures --------------------------------------------------------------------------------
    def _dragged(self, point: QPointF) -> list[tuple[float, float]]:
        """The selected mark's points as the drag would leave them."""
        assert self._drag is not None
        _, start, handle = self._drag
        mark = self._selected()
        if mark is None:
            return []
        dx, dy = point.x() - start.x(), point.y() - start.y()
        points = list(mark.points)
        if handle is None:
            return [(x + dx, y + dy) for x, y in points]
        index = _point_index(mark, handle)
        x, y = points[index]
        points[index] = (x + dx, y + dy)
        return points

    def _selected(self) -> Mark | None:
        findings = self.findings.findings
        return findings.mark(self.findings.selected_id) if findings is not None else None

    def _finish_polygon(self) -> None:
        points, self._points = self._points, []
        self._clear_preview()
        if len(points) >= 3:
            self.findings.add("polygon", points)

    def _cancel(self) -> None:
        self._points, self._drag = [], None
        self._clear_preview()

    def _show_preview(self, points: list[tuple[float, float]] | None = None) -> None:
        mark = self._selected() if points is not None else None
        shape = mark.shape if mark is not None else self.findings.tool
        category = mark.category if mark is not None else self.findings.category
        path = mark_path(shape, points if points is not None else self._points)
        for view in self.views:
            item = self._preview.get(id(view))
            if item is None:
                item = self._preview[id(view)] = QGraphicsPathItem()
                item.setZValue(HANDLE_Z)
                view.scene().addItem(item)
            item.setPath(path)
            item.setPen(mark_pen(category, selected=True))

    def _clear_preview(self) -> None:
        for view in self.views:
            item = self._preview.pop(id(view), None)
            if item is not None:
                view.scene().removeItem(item)

    def _handle_at(self, view: ImageView, point: QPointF) -> int | None:
        layer = self.layers[id(view)]
        reach = HANDLE_PX / max(view.scale_factor, 1e-6)
        for handle in layer.handles:
            position = handle.pos()
            if abs(position.x() - point.x()) <= reach and abs(position.y() - point.y()) <= reach:
                return int(handle.data(1))
        return None

    def _mark_at(self, view: ImageView, point: QPointF) -> str:
        """The mark whose line passes nearest the click (within a few screen pixels), or whose inside holds
        it; the one drawn last first."""
        reach = PICK_PX / max(view.scale_factor, 1e-6)
        near = QRectF(point.x() - reach, point.y() - reach, 2 * reach, 2 * reach)
        stroke = QPainterPath()
        stroke.addRect(near)
        for mark in reversed(self.findings.marks):
            path = mark_path(mark.shape, list(mark.points))
            if path.intersects(stroke) or (mark.shape != "arrow" and path.contains(point)):
                return mark.id
        return ""

    def _clamped(self, point: QPointF) -> QPointF:
        size = self.findings.size
        assert size is not None
        return QPointF(min(max(point.x(), 0.0), size[0]), min(max(point.y(), 0.0), size[1]))


def _point_index(mark: Mark, handle: int) -> int:
    """The index in the mark's points of a handle (a long freehand line shows every n-th point)."""
    if mark.shape == "freehand" and len(mark.points) > 64:
        return min(handle * math.ceil(len(mark.points) / 64), len(mark.points) - 1)
    return handle


def _distance(a: tuple[float, float], b: tuple[float, float]) -> float:
    return math.hypot(a[0] - b[0], a[1] - b[1])


def _extent(points: list[tuple[float, float]]) -> float:
    if len(points) < 2:
        return 0.0
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return max(max(xs) - min(xs), max(ys) - min(ys))
