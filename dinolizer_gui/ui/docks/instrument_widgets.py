"""The Instruments dock's own widgets: the JPEG ghost's curve per quality, and the form of an instrument's
parameters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import QAbstractSpinBox, QDoubleSpinBox, QFormLayout, QSpinBox, QWidget

from ...core.instruments import INSTRUMENTS
from ...core.instruments.ghosts import QUALITIES

WHOLE_IMAGE_COLOUR, REGION_COLOUR = "#e0e0e0", "#ff9f1a"


class CurvePlot(QWidget):
    """The JPEG ghost's mean difference per quality, each curve divided by its largest value (their shapes
    compared, whatever their texture), with the quality shown and the file's own marked."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.qualities: Sequence[int] = QUALITIES
        self.curves: list[tuple[str, list[float], str]] = []  # (label, values, colour)
        self.shown_quality: int | None = None
        self.file_quality: int | None = None
        self.setMinimumHeight(150)
        self.setToolTip(
            "Mean squared difference between the image and itself saved again at each quality, each curve "
            "divided by its largest value; a region once saved at a lower quality dips there (its ghost)"
        )

    def set_curves(
        self, curves: list[tuple[str, list[float], str]], shown: int | None, file_quality: int | None
    ) -> None:
        self.curves, self.shown_quality, self.file_quality = curves, shown, file_quality
        self.update()

    def paintEvent(self, _event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        text = self.palette().text().color()
        area = QRectF(self.rect()).adjusted(30, 8, -18, -20)
        painter.fillRect(area, QColor("#202020"))
        first, last = self.qualities[0], self.qualities[-1]

        def x_of(quality: float) -> float:
            return area.left() + (quality - first) / (last - first) * area.width()

        painter.setPen(text)
        metrics = painter.fontMetrics()
        for quality in self.qualities[::2]:
            label = str(quality)
            painter.drawText(
                QPointF(x_of(quality) - metrics.horizontalAdvance(label) / 2, area.bottom() + 13), label
            )
        painter.drawText(QPointF(2, area.top() + 10), "1")
        painter.drawText(QPointF(2, area.bottom()), "0")
        marks = (
            (self.shown_quality, "#ffffff", Qt.PenStyle.SolidLine),
            (self.file_quality, "#9ccc65", Qt.PenStyle.DashLine),
        )
        for mark, colour, style in marks:
            if mark is not None:
                painter.setPen(QPen(QColor(colour), 1, style))
                painter.drawLine(QPointF(x_of(mark), area.top()), QPointF(x_of(mark), area.bottom()))
        legend_y = area.top() + 14
        for label, values, colour in self.curves:
            top = max(values) if values else 0.0
            scaled = [value / top if top > 0 else 0.0 for value in values]
            points = [
                QPointF(x_of(quality), area.bottom() - value * area.height())
                for quality, value in zip(self.qualities, scaled, strict=True)
            ]
            painter.setPen(QPen(QColor(colour), 2))
            painter.drawPolyline(QPolygonF(points))
            legend_x = area.right() - metrics.horizontalAdvance(label) - 26  # top right: the curves fall
            painter.drawLine(QPointF(legend_x, legend_y - 4), QPointF(legend_x + 14, legend_y - 4))
            painter.setPen(QColor(WHOLE_IMAGE_COLOUR))
            painter.drawText(QPointF(legend_x + 18, legend_y), label)
            legend_y += metrics.lineSpacing()
        painter.end()


class ParameterForm(QWidget):
    """A spin box per parameter of one instrument, with its range, step, unit and what it does."""

    def __init__(
        self, instrument: str, values: dict[str, Any], on_change: Any, parent: QWidget | None = None
    ):
        super().__init__(parent)
        self.instrument = instrument
        self.boxes: dict[str, QSpinBox | QDoubleSpinBox] = {}
        layout = QFormLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for parameter in INSTRUMENTS[instrument].parameters:
            box: QSpinBox | QDoubleSpinBox
            if parameter.is_integer:
                box = QSpinBox()
                box.setRange(int(parameter.minimum), int(parameter.maximum))
                box.setSingleStep(int(parameter.step))
                box.setValue(int(values[parameter.name]))
            else:
                box = QDoubleSpinBox()
                box.setDecimals(2)
                box.setRange(parameter.minimum, parameter.maximum)
                box.setSingleStep(parameter.step)
                box.setValue(float(values[parameter.name]))
            box.setKeyboardTracking(False)  # computed once the value is typed, not at every digit
            box.setCorrectionMode(QAbstractSpinBox.CorrectionMode.CorrectToNearestValue)
            if parameter.unit:
                box.setSuffix(f" {parameter.unit}")
            box.setToolTip(f"{parameter.help} (default {parameter.default:g})")
            box.valueChanged.connect(lambda _value: on_change(self.values()))
            layout.addRow(parameter.label, box)
            self.boxes[parameter.name] = box

    def values(self) -> dict[str, Any]:
        """The values, each brought onto its parameter's steps (5, 7 for the median filter's odd sizes)."""
        values: dict[str, Any] = {}
        for parameter in INSTRUMENTS[self.instrument].parameters:
            value = self.boxes[parameter.name].value()
            steps = round((value - parameter.minimum) / parameter.step)
            values[parameter.name] = parameter.checked(parameter.minimum + steps * parameter.step)
        return values
