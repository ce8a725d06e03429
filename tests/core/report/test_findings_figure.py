"""The findings figure keeps every mark and every number readable: a number's label never covers a small
mark's line or another mark's number when there is room beside them."""

import cv2
import numpy as np

from dinolizer_gui.core.report.findings import findings_figure
from dinolizer_gui.core.store.findings import CATEGORY_STYLES, Mark
from dinolizer_gui.core.store.findings import rgb as colour_rgb

GREY = 128


def _figure(*boxes: list[list[int]]) -> np.ndarray:
    photo = np.full((200, 300, 3), GREY, np.uint8)
    marks = [Mark.new("rectangle", box, "manipulated", "examiner") for box in boxes]
    return findings_figure(photo, marks, None)


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
