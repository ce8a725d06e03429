"""The examiner's findings in a results folder and its reports: the marks and decisions as results.json
carries them (`annotations`, `region_decisions`), and the findings figure — the image with the marks
drawn and numbered and the confirmed regions outlined, apart from every model's own figure."""

from __future__ import annotations

import itertools

import cv2
import numpy as np

from ..store.decisions import RegionState
from ..store.findings import CATEGORY_STYLES, CONFIRMED_COLOUR, Findings, Mark, outside, pixel_area
from ..store.findings import rgb as colour_rgb
from .figure_labels import Box, place_labels

Colour = tuple[int, int, int]
DASHES = {"solid": (1, 0), "dash": (12, 8), "dot": (3, 6), "dashdot": (12, 5, 3, 5)}


def findings_record(findings: Findings, states: dict[str, list[RegionState]], size: tuple[int, int]) -> dict:
    """`annotations` (each mark numbered as on the figure, with the image's pixels it holds, and whether
    it reaches beyond the image) and `region_decisions` (each decision, and its state on the run's map at
    the run's threshold: `state_now`, `region_now`)."""
    annotations = [
        {
            **mark.to_record(),
            "number": number,
            "area_pixels": pixel_area(mark, size),
            "outside_image": outside(mark, size),
        }
        for number, mark in enumerate(findings.marks, 1)
    ]
    decisions = []
    for decision in findings.decisions:
        on_map = states.get(decision.model, [])
        carried = next(
            (s for s in on_map if s.decided == decision and s.fingerprint == decision.fingerprint), None
        )
        decisions.append(
            {
                **decision.to_record(),
                "state_now": carried.decision if carried else "changed since decided",
                "region_now": carried.region.index if carried else None,
            }
        )
    return {"annotations": annotations, "region_decisions": decisions}


def findings_figure(rgb: np.ndarray, marks: list[Mark], confirmed: list[np.ndarray]) -> np.ndarray:
    """The image with each confirmed region outlined (those whose decision the run's map carries) and the
    marks drawn in their category's colour and line, each numbered."""
    figure = rgb.copy()
    thickness = max(2, round(max(rgb.shape[:2]) / 400))
    for region in confirmed:  # each on its own: a region inside another keeps its outline
        contours, _ = cv2.findContours(region.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(figure, contours, -1, colour_rgb(CONFIRMED_COLOUR), thickness)
    for mark in marks:
        colour, line = CATEGORY_STYLES[mark.category]
        for start, end in _segments(mark):
            _line(figure, start, end, colour_rgb(colour), thickness, DASHES[line])
        if mark.shape == "arrow":
            _arrow_head(figure, mark, colour_rgb(colour), thickness)
    _numbers(figure, marks, thickness)  # after every line: no later line crosses a number
    return figure


def _segments(mark: Mark) -> list[tuple[np.ndarray, np.ndarray]]:
    points = _outline(mark)
    closed = mark.shape != "arrow"
    pairs = list(itertools.pairwise(points))
    return pairs + ([(points[-1], points[0])] if closed and len(points) > 2 else [])


def _outline(mark: Mark) -> list[np.ndarray]:
    if mark.shape == "rectangle":
        (x0, y0), (x1, y1) = mark.points
        corners = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
        return [np.array(p, float) for p in corners]
    if mark.shape == "ellipse":
        x, y, w, h = mark.box
        angles = np.linspace(0, 2 * np.pi, 72, endpoint=False)
        return [np.array((x + w / 2 + w / 2 * np.cos(a), y + h / 2 + h / 2 * np.sin(a))) for a in angles]
    return [np.array(p, float) for p in mark.points]


def _line(
    canvas: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    colour: Colour,
    thickness: int,
    pattern: tuple[int, ...],
) -> None:
    """A line drawn in a dash pattern (lengths in units of the line's thickness, on and off in turn)."""
    height, width = canvas.shape[:2]
    # a line on the image's right or bottom edge (x = width) is drawn on its last pixels, not dropped
    inside, a, b = cv2.clipLine((0, 0, width + 1, height + 1), _pixel(start), _pixel(end))
    if not inside:
        return
    last = np.array((width - 1, height - 1), float)
    start, end = np.minimum(a, last), np.minimum(b, last)  # only the part on the image is dashed
    length = float(np.hypot(*(end - start)))
    if length == 0:
        return
    direction, unit, position, index = (end - start) / length, thickness * 1.5, 0.0, 0
    while position < length:
        step = pattern[index % len(pattern)] * unit
        if index % 2 == 0 and step > 0:
            a, b = start + direction * position, start + direction * min(length, position + step)
            cv2.line(canvas, _pixel(a), _pixel(b), colour, thickness, cv2.LINE_AA)
        position += max(step, 1.0)
        index += 1


def _arrow_head(canvas: np.ndarray, mark: Mark, colour: Colour, thickness: int) -> None:
    tail, head = (np.array(p, float) for p in mark.points)
    length = float(np.hypot(*(head - tail))) or 1.0
    back, size = (tail - head) / length, max(8.0, thickness * 5.0)
    side = np.array((-back[1], back[0]))
    for wing in (back * size + side * size / 2, back * size - side * size / 2):
        cv2.line(canvas, _pixel(head), _pixel(head + wing), colour, thickness, cv2.LINE_AA)


def _numbers(canvas: np.ndarray, marks: list[Mark], thickness: int) -> None:
    """Each mark's number on a white label beside it (see `place_labels`)."""
    scale = thickness * 0.45
    texts = [str(number) for number in range(1, len(marks) + 1)]
    measured = [cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness) for text in texts]
    sizes = [(width + 2 * thickness, height + base + 2 * thickness) for (width, height), base in measured]
    boxes = [_mark_box(mark, thickness) for mark in marks]
    for mark, text, ((_, height), _), (left, top, right, bottom) in zip(
        marks, texts, measured, place_labels(boxes, sizes, canvas.shape[:2]), strict=True
    ):
        colour = colour_rgb(CATEGORY_STYLES[mark.category][0])
        cv2.rectangle(canvas, (left, top), (right, bottom), (255, 255, 255), -1)
        cv2.putText(canvas, text, (left + thickness, top + height + thickness), cv2.FONT_HERSHEY_SIMPLEX,
                    scale, colour, thickness, cv2.LINE_AA)  # fmt: skip


def _mark_box(mark: Mark, thickness: int) -> Box:
    """What a label must not cover: the mark's box grown by its line's width (an arrow: its tail, where its
    number goes)."""
    if mark.shape == "arrow":
        x0, y0 = x1, y1 = _pixel(np.array(mark.points[0], float))
    else:
        x, y, w, h = mark.box
        x0, y0, x1, y1 = round(x), round(y), round(x + w), round(y + h)
    return x0 - thickness, y0 - thickness, x1 + thickness, y1 + thickness


def _pixel(point: np.ndarray) -> tuple[int, int]:
    return round(float(point[0])), round(float(point[1]))
