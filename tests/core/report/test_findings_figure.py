"""The findings figure keeps every mark and every number readable: a number's label never covers a small
mark's line or another mark's number when there is room beside them."""

import cv2
import numpy as np

from dinolizer_gui.core.report.figure_labels import place_labels
from dinolizer_gui.core.report.findings import findings_figure
from dinolizer_gui.core.store.findings import CATEGORY_STYLES, CONFIRMED_COLOUR, Mark
from dinolizer_gui.core.store.findings import rgb as colour_rgb

GREY = 128


def _figure(*boxes: list[list[int]]) -> np.ndarray:
    photo = np.full((200, 300, 3), GREY, np.uint8)
    marks = [Mark.new("rectangle", box, "manipulated", "examiner") for box in boxes]
    return findings_figure(photo, marks, [])


def _label_count(figure: np.ndarray) -> int:
    white = np.all(figure == 255, axis=2).astype(np.uint8)
    return cv2.connectedComponents(white, connectivity=4)[0] - 1


def test_a_small_mark_at_the_image_corner_keeps_its_line_visible_beside_its_number():
    figure = _figure([[10, 10], [20, 20]])
    red = np.array(colour_rgb(CATEGORY_STYLES["manipulated"][0]))
    top_edge = figure[10, 11:20].astype(int)
    assert (np.abs(top_edge - red).max(axis=1) < 60).all()  # the whole top line, not a white label over it
    assert _label_count(figure) == 1


def test_two_marks_at_the_same_place_get_two_separate_numbers():
    figure = _figure([[100, 80], [130, 110]], [[100, 80], [130, 110]], [[101, 81], [129, 109]])
    assert _label_count(figure) == 3


def test_a_mark_on_the_images_right_and_bottom_edges_is_drawn_there():
    figure = _figure([[0, 0], [300, 200]])  # the whole image
    red = np.array(colour_rgb(CATEGORY_STYLES["manipulated"][0]))
    right, bottom = figure[20:180, 299].astype(int), figure[199, 50:250].astype(int)
    assert (np.abs(right - red).max(axis=1) < 60).mean() > 0.9
    assert (np.abs(bottom - red).max(axis=1) < 60).mean() > 0.9


def _apart(a: tuple, b: tuple) -> bool:
    return a[2] < b[0] or b[2] < a[0] or a[3] < b[1] or b[3] < a[1]


def test_numbers_stay_apart_and_off_small_marks_in_a_crowd():
    row = [[[10 + 14 * i, 50], [20 + 14 * i, 60]] for i in range(12)]  # twelve small marks side by side
    boxes = [(x0 - 2, y0 - 2, x1 + 2, y1 + 2) for (x0, y0), (x1, y1) in row]
    labels = place_labels(boxes, [(22, 20)] * 12, (200, 300))
    assert all(_apart(a, b) for i, a in enumerate(labels) for b in labels[i + 1 :])  # no number hides one
    assert all(_apart(label, mark) for label in labels for mark in boxes)  # nor a small mark
    figure = _figure(*row)
    red = np.array(colour_rgb(CATEGORY_STYLES["manipulated"][0]))
    for (x0, y0), (x1, _) in row:
        top_line = figure[y0, x0 + 1 : x1].astype(int)
        assert (np.abs(top_line - red).max(axis=1) < 60).all()  # no label over any mark's line


def test_a_confirmed_region_inside_another_keeps_its_own_outline():
    photo = np.full((200, 300, 3), GREY, np.uint8)
    outer, inner = np.zeros((200, 300), bool), np.zeros((200, 300), bool)
    outer[20:180, 20:280], inner[80:120, 100:150] = True, True
    figure = findings_figure(photo, [], [outer, inner])
    green = np.array(colour_rgb(CONFIRMED_COLOUR))
    assert (np.abs(figure[80, 105:145].astype(int) - green).max(axis=1) < 40).all()
