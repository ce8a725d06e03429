"""The evaluation's charts as PNG images, drawn with Pillow: line charts (precision-recall, ROC) and
histograms (per-image IoU)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

# Okabe-Ito, colour-blind safe; the first two match the viewer's agreement colours
SERIES_COLOURS = ((230, 159, 0), (0, 114, 178), (0, 158, 115), (213, 94, 0), (204, 121, 167))
SCALE = 2  # drawn at twice the size, then reduced: smooth lines without an antialiasing renderer
WIDTH, HEIGHT = 640, 480
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 70, 20, 40, 60
MAX_POINTS = 4000  # a curve is thinned to about this many points (it may have one per distinct pixel score)


@dataclass(frozen=True)
class Series:
    label: str
    x: np.ndarray
    y: np.ndarray


class _Canvas:
    """A unit square [0, 1] x [0, 1] of data on a framed, labelled chart."""

    def __init__(self, title: str, x_label: str, y_label: str, y_top: float = 1.0):
        self.image = Image.new("RGB", (WIDTH * SCALE, HEIGHT * SCALE), "white")
        self.draw = ImageDraw.Draw(self.image)
        self.font = ImageFont.load_default(size=13 * SCALE)
        self.title_font = ImageFont.load_default(size=15 * SCALE)
        self.y_top = y_top
        self.left, self.top = MARGIN_LEFT * SCALE, MARGIN_TOP * SCALE
        self.right, self.bottom = (WIDTH - MARGIN_RIGHT) * SCALE, (HEIGHT - MARGIN_BOTTOM) * SCALE
        self._frame(title, x_label, y_label)

    def point(self, x: float, y: float) -> tuple[float, float]:
        return (
            self.left + x * (self.right - self.left),
            self.bottom - y / self.y_top * (self.bottom - self.top),
        )

    def _frame(self, title: str, x_label: str, y_label: str) -> None:
        for tick in np.linspace(0, 1, 6):
            x, _ = self.point(tick, 0)
            _, y = self.point(0, tick * self.y_top)
            self.draw.line([(x, self.top), (x, self.bottom)], fill=(232, 232, 232), width=SCALE)
            self.draw.line([(self.left, y), (self.right, y)], fill=(232, 232, 232), width=SCALE)
            self._text((x, self.bottom + 6 * SCALE), f"{tick:.1f}", anchor="ma")
            tick_label = f"{tick * self.y_top:.0f}" if self.y_top > 1 else f"{tick:.1f}"  # counts: whole
            self._text((self.left - 6 * SCALE, y), tick_label, anchor="rm")
        self.draw.rectangle([self.left, self.top, self.right, self.bottom], outline=(60, 60, 60), width=SCALE)
        middle = (self.left + self.right) / 2
        self._text((middle, 12 * SCALE), title, anchor="ma", font=self.title_font)
        self._text((middle, self.bottom + 30 * SCALE), x_label, anchor="ma")
        label = Image.new("RGB", (int(self.font.getlength(y_label)) + 4, 18 * SCALE), "white")
        ImageDraw.Draw(label).text((2, 0), y_label, fill=(30, 30, 30), font=self.font)
        rotated = label.rotate(90, expand=True)
        self.image.paste(rotated, (8 * SCALE, int((self.top + self.bottom - rotated.height) / 2)))

    def _text(
        self,
        at: tuple[float, float],
        text: str,
        anchor: str,
        font: ImageFont.FreeTypeFont | ImageFont.ImageFont | None = None,
    ) -> None:
        self.draw.text(at, text, fill=(30, 30, 30), font=font or self.font, anchor=anchor)

    def legend(self, labels: list[tuple[str, tuple[int, int, int]]], corner: str) -> None:
        line_height = 20 * SCALE
        width = max((self.font.getlength(text) for text, _ in labels), default=0) + 40 * SCALE
        x = self.right - width - 10 * SCALE if corner.endswith("right") else self.left + 10 * SCALE
        y = (
            self.top + 10 * SCALE
            if corner.startswith("top")
            else self.bottom - 10 * SCALE - line_height * len(labels)
        )
        self.draw.rectangle(
            [x, y, x + width, y + line_height * len(labels) + 4 * SCALE],
            fill="white",
            outline=(180, 180, 180),
        )
        for row, (text, colour) in enumerate(labels):
            middle = y + line_height * row + line_height / 2 + 2 * SCALE
            self.draw.line([(x + 6 * SCALE, middle), (x + 26 * SCALE, middle)], fill=colour, width=3 * SCALE)
            self._text((x + 32 * SCALE, middle), text, anchor="lm")

    def png(self) -> Image.Image:
        return self.image.resize((WIDTH, HEIGHT), Image.Resampling.LANCZOS)


def _thin(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if len(x) <= MAX_POINTS:
        return x, y
    keep = np.unique(np.r_[np.linspace(0, len(x) - 1, MAX_POINTS).astype(int), len(x) - 1])
    return x[keep], y[keep]


def line_chart(
    series: list[Series], title: str, x_label: str, y_label: str, legend_corner: str, chance: bool = False
) -> Image.Image:
    """Curves in the unit square (`chance`: the diagonal of a random classifier, dashed)."""
    canvas = _Canvas(title, x_label, y_label)
    if chance:
        for start in np.arange(0, 1, 0.04):
            canvas.draw.line(
                [canvas.point(start, start), canvas.point(start + 0.02, start + 0.02)],
                fill=(150, 150, 150),
                width=SCALE,
            )
    for index, line in enumerate(series):
        x, y = _thin(np.asarray(line.x, float), np.asarray(line.y, float))
        points = [canvas.point(float(a), float(b)) for a, b in zip(x, y, strict=True)]
        canvas.draw.line(
            points, fill=SERIES_COLOURS[index % len(SERIES_COLOURS)], width=2 * SCALE, joint="curve"
        )
    canvas.legend(
        [(s.label, SERIES_COLOURS[i % len(SERIES_COLOURS)]) for i, s in enumerate(series)], legend_corner
    )
    return canvas.png()


def histogram(values: dict[str, list[float]], title: str, x_label: str, bins: int = 20) -> Image.Image:
    """Side-by-side bars per bin of [0, 1], one colour per model; the y axis counts images."""
    edges = np.linspace(0, 1, bins + 1)
    counts = {name: np.histogram(np.clip(v, 0, 1), bins=edges)[0] for name, v in values.items()}
    highest = max((int(c.max()) for c in counts.values() if len(c)), default=1)
    top = 5.0 * np.ceil(max(highest, 1) * 1.1 / 5)  # five whole-number steps
    canvas = _Canvas(title, x_label, "images", y_top=top)
    width = 1 / bins / max(len(counts), 1)
    for index, per_bin in enumerate(counts.values()):
        colour = SERIES_COLOURS[index % len(SERIES_COLOURS)]
        for bin_index, count in enumerate(per_bin):
            if count:
                left = edges[bin_index] + index * width
                canvas.draw.rectangle([canvas.point(left, count), canvas.point(left + width, 0)], fill=colour)
    canvas.legend(
        [(name, SERIES_COLOURS[i % len(SERIES_COLOURS)]) for i, name in enumerate(counts)], "top-left"
    )
    return canvas.png()
