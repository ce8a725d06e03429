"""Where the numbers of the findings figure go: beside each mark, covering no other number and no small
mark when the image has such a place, else where they cover least — so every number stays readable and no
small mark disappears under a label."""

from __future__ import annotations

from collections.abc import Iterator

Box = tuple[int, int, int, int]  # left, top, right, bottom (inclusive), in image pixels
GAP = 2  # pixels between a label and what it stands beside
STEPS = 8  # places tried along each side of a mark, one label apart, beyond the four beside its corner


def place_labels(marks: list[Box], sizes: list[tuple[int, int]], image: tuple[int, int]) -> list[Box]:
    """A label box (of `sizes[i]` = width, height) for each mark box, in order, on an image of `image` =
    (height, width): the first place, nearest first, that covers no earlier label, no small mark and not
    its own mark; else the one covering least of them."""
    small = [box for box, size in zip(marks, sizes, strict=True) if _area(box) <= 16 * _area((0, 0, *size))]
    placed: list[Box] = []
    for mark, size in zip(marks, sizes, strict=True):
        blocked = [*placed, *small, mark]
        placed.append(min(_places(mark, size, image), key=lambda box: _covered(box, blocked)))
    return placed


def _places(mark: Box, size: tuple[int, int], image: tuple[int, int]) -> Iterator[Box]:
    """Above the mark's top-left corner, below its bottom-left, right of its top-right, left of its
    top-left; then the same moved along the mark's side, a label at a time, both ways — kept on the image."""
    (x0, y0, x1, y1), (width, height) = mark, size
    sides = [((x0, y0 - height - GAP), (1, 0)), ((x0, y1 + GAP), (1, 0)),
             ((x1 + GAP, y0), (0, 1)), ((x0 - width - GAP, y0), (0, 1))]  # fmt: skip
    for step in range(STEPS + 1):
        for (x, y), (along_x, along_y) in sides:
            for sign in (1, -1) if step else (1,):
                left = x + sign * step * along_x * (width + GAP)
                top = y + sign * step * along_y * (height + GAP)
                left = min(max(0, left), max(0, image[1] - width - 1))
                top = min(max(0, top), max(0, image[0] - height - 1))
                yield left, top, left + width, top + height


def _covered(box: Box, others: list[Box]) -> int:
    """How many pixels of the others the box covers or touches (a pixel's margin kept)."""
    return sum(_area(overlap) for other in others if (overlap := _overlap(box, other)) is not None)


def _overlap(a: Box, b: Box) -> Box | None:
    left, top = max(a[0], b[0] - 1), max(a[1], b[1] - 1)
    right, bottom = min(a[2], b[2] + 1), min(a[3], b[3] + 1)
    return (left, top, right, bottom) if left <= right and top <= bottom else None


def _area(box: Box) -> int:
    return (box[2] - box[0] + 1) * (box[3] - box[1] + 1)
