"""The examiner's findings on an image: marks drawn on it and a decision on each model region — kept apart
from every model output, in the results store by the image's SHA-256 (as verdicts are), so they survive a
restart, a re-analysis, a rename and a threshold change.

Marks are in image pixels, origin the top-left corner of the image as displayed (EXIF-oriented);
rectangles and ellipses are given by two opposite corners of their box, arrows by tail and head, polygons
and freehand outlines by their vertices. A decision belongs to a region's pixels: it records the map it
was made at and a fingerprint of the region's pixels at that
threshold, so a region that changes shape (another threshold, other weights) is "changed since decided"
rather than silently carrying the decision.

The interchange document (`annotations export` / `import`, the reports' JSON) is:

    {"version": 1, "images": [{"sha256", "path", "marks": [{"id", "shape", "points", "category", "label",
     "note", "author", "created", "modified"}], "region_decisions": [{"model", "region", "threshold",
     "decision", "note", "author", "time", "fingerprint"}]}]}
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import re
import secrets
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone

import numpy as np

from .polygon import centres_inside

SHAPES = ("rectangle", "ellipse", "polygon", "freehand", "arrow")
CATEGORIES = ("manipulated", "suspicious", "reference", "comment")
DECISIONS = ("unreviewed", "confirmed", "rejected")
INTERCHANGE_VERSION = 1
MAX_POINTS = 100_000  # a freehand outline with more vertices than this is not one the viewer draws
MAX_COORDINATE = 1_000_000  # no image the app opens is wider or taller than this, in pixels
MAX_REGION = 2**31 - 1
HEX64 = re.compile(r"[0-9a-f]{64}")
TWO_POINTS = ("rectangle", "ellipse", "arrow")
Points = Sequence[Sequence[float]]  # [[x, y], ...] in image pixels
# how the examiner's marks look wherever they are drawn (the viewer, the reports): a colour and a line per
# category, apart from every model's colours, so a mark is never taken for a model's output
CATEGORY_STYLES = {
    "manipulated": ("#e6194b", "solid"),
    "suspicious": ("#f58231", "dash"),
    "reference": ("#4363d8", "dot"),
    "comment": ("#808080", "dashdot"),
}
CONFIRMED_COLOUR = "#3cb44b"  # a region the examiner confirmed, outlined on the findings figure


def rgb(colour: str) -> tuple[int, int, int]:
    """`#rrggbb` as red, green and blue."""
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


class FindingsError(ValueError):
    """A mark, a decision or an interchange document that cannot be taken as it is; the reason says why."""


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Mark:
    id: str
    shape: str
    points: tuple[tuple[float, float], ...]
    category: str
    label: str = ""
    note: str = ""
    author: str = ""
    created: str = ""
    modified: str = ""

    @classmethod
    def new(
        cls, shape: str, points: Points, category: str, author: str, label: str = "", note: str = ""
    ) -> Mark:
        now = utc_now()
        mark = cls(secrets.token_hex(8), shape, _points(points), category, label, note, author, now, now)
        mark.check()
        return mark

    def check(self, size: tuple[int, int] | None = None) -> None:
        """FindingsError unless the mark is well formed (and inside an image of `size` = (width, height))."""
        if self.shape not in SHAPES:
            raise FindingsError(f"mark {self.id}: unknown shape {self.shape!r} (one of {', '.join(SHAPES)})")
        if self.category not in CATEGORIES:
            raise FindingsError(
                f"mark {self.id}: unknown category {self.category!r} (one of {', '.join(CATEGORIES)})"
            )
        for key in ("id", "label", "note", "author", "created", "modified"):
            _check_text(key, getattr(self, key))
        needed = 2 if self.shape in TWO_POINTS else 3
        if len(self.points) < needed or (self.shape in TWO_POINTS and len(self.points) != 2):
            raise FindingsError(
                f"mark {self.id}: a {self.shape} needs {needed} points, not {len(self.points)}"
            )
        if size is not None:
            width, height = size
            outside = [p for p in self.points if not (0 <= p[0] <= width and 0 <= p[1] <= height)]
            if outside:
                raise FindingsError(
                    f"mark {self.id}: point {list(outside[0])} is outside the image ({width} x {height})"
                )

    @property
    def box(self) -> tuple[float, float, float, float]:
        """(x, y, width, height) of the points' bounding box."""
        xs, ys = [p[0] for p in self.points], [p[1] for p in self.points]
        return min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)

    @property
    def geometry_sha256(self) -> str:
        """SHA-256 of the shape and its points as canonical JSON: what an audit entry says it was."""
        text = json.dumps(
            {"shape": self.shape, "points": [list(p) for p in self.points]}, separators=(",", ":")
        )
        return hashlib.sha256(text.encode()).hexdigest()

    def moved(self, dx: float, dy: float) -> Mark:
        return replace(self, points=tuple((x + dx, y + dy) for x, y in self.points), modified=utc_now())

    def changed(self, **fields: object) -> Mark:
        if "points" in fields:
            fields["points"] = _points(fields["points"])
        mark = replace(self, **fields, modified=utc_now())  # type: ignore[arg-type]
        mark.check()
        return mark

    def to_record(self) -> dict:
        record = asdict(self)
        record["points"] = [list(point) for point in self.points]
        return record

    @classmethod
    def from_record(cls, record: object) -> Mark:
        if not isinstance(record, dict):
            raise FindingsError("a mark is not an object")
        try:
            mark = cls(
                id=_text(record, "id", required=True),
                shape=_text(record, "shape", required=True),
                points=_points(record.get("points")),
                category=_text(record, "category", required=True),
                **{key: _text(record, key) for key in ("label", "note", "author", "created", "modified")},
            )
        except (TypeError, ValueError) as exc:
            raise FindingsError(f"mark {record.get('id', '?')!r}: {exc}") from None
        mark.check()
        return mark


@dataclass(frozen=True)
class RegionDecision:
    model: str
    region: int  # its number in the regions table when it was decided
    threshold: float
    decision: str
    note: str = ""
    author: str = ""
    time: str = ""
    fingerprint: str = ""  # SHA-256 of the region's pixels at the threshold

    def check(self) -> None:
        if self.decision not in DECISIONS:
            raise FindingsError(
                f"decision on {self.model} region {self.region}: unknown decision {self.decision!r} "
                f"(one of {', '.join(DECISIONS)})"
            )
        if not self.model or not 1 <= self.region <= MAX_REGION or not 0.0 <= self.threshold <= 1.0:
            raise FindingsError(
                f"decision on {self.model!r} region {_shown(self.region)}: a model, a region number from 1 "
                "and a threshold in [0, 1] are needed"
            )
        if not HEX64.fullmatch(self.fingerprint):
            raise FindingsError(
                f"decision on {self.model} region {self.region}: no fingerprint of the region's pixels "
                "(64 hex digits): a decision belongs to the pixels it was made on"
            )
        for key in ("model", "note", "author", "time"):
            _check_text(key, getattr(self, key))

    def to_record(self) -> dict:
        return asdict(self)

    @classmethod
    def from_record(cls, record: object) -> RegionDecision:
        if not isinstance(record, dict):
            raise FindingsError("a region decision is not an object")
        try:
            region, threshold = record.get("region"), record.get("threshold")
            if (
                type(region) is not int
                or isinstance(threshold, bool)
                or not isinstance(threshold, int | float)
            ):
                raise ValueError("region must be an integer and threshold a number")
            decision = cls(
                model=_text(record, "model", required=True),
                region=region,
                threshold=float(threshold),
                decision=_text(record, "decision", required=True),
                **{k: _text(record, k) for k in ("note", "author", "time", "fingerprint")},
            )
        except (TypeError, ValueError) as exc:
            raise FindingsError(
                f"region decision {_shown(record.get('model', '?'))}/{_shown(record.get('region', '?'))}: "
                f"{exc}"
            ) from None
        decision.check()
        return decision


@dataclass
class Findings:
    """One image's marks and region decisions."""

    sha256: str
    path: str = ""
    marks: list[Mark] = field(default_factory=list)
    decisions: list[RegionDecision] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.marks and not self.decisions

    def mark(self, mark_id: str) -> Mark | None:
        return next((mark for mark in self.marks if mark.id == mark_id), None)

    def decision(self, model: str, fingerprint: str) -> RegionDecision | None:
        """The decision on a region of a model's map, found by its pixels' fingerprint."""
        return next((d for d in self.decisions if d.model == model and d.fingerprint == fingerprint), None)

    def to_record(self) -> dict:
        return {
            "sha256": self.sha256,
            "path": self.path,
            "marks": [mark.to_record() for mark in self.marks],
            "region_decisions": [decision.to_record() for decision in self.decisions],
        }

    @classmethod
    def from_record(cls, record: object) -> Findings:
        if not isinstance(record, dict):
            raise FindingsError("an image entry is not an object")
        sha256 = record.get("sha256")
        if not isinstance(sha256, str) or not HEX64.fullmatch(sha256):
            raise FindingsError(f"an image entry's sha256 is not 64 lower-case hex digits: {sha256!r}")
        marks, decisions = record.get("marks", []), record.get("region_decisions", [])
        if not isinstance(marks, list) or not isinstance(decisions, list):
            raise FindingsError(f"image {sha256[:12]}…: marks and region_decisions must be lists")
        findings = cls(
            sha256,
            _text(record, "path"),
            [Mark.from_record(mark) for mark in marks],
            [RegionDecision.from_record(decision) for decision in decisions],
        )
        ids = [mark.id for mark in findings.marks]
        if len(set(ids)) != len(ids):
            raise FindingsError(f"image {sha256[:12]}…: a mark id appears twice")
        regions = [(decision.model, decision.fingerprint) for decision in findings.decisions]
        if len(set(regions)) != len(regions):
            raise FindingsError(f"image {sha256[:12]}…: two decisions on the same region")
        return findings


def interchange(findings: list[Findings]) -> dict:
    return {"version": INTERCHANGE_VERSION, "images": [item.to_record() for item in findings]}


def from_interchange(document: object) -> list[Findings]:
    """Every image's findings in an interchange document, all checked before any is returned (FindingsError
    names the first problem: nothing is half-taken)."""
    if not isinstance(document, dict):
        raise FindingsError(f"not a findings document of version {INTERCHANGE_VERSION}")
    version = document.get("version")
    if type(version) is not int or version != INTERCHANGE_VERSION:
        raise FindingsError(f"not a findings document of version {INTERCHANGE_VERSION}")
    images = document.get("images")
    if not isinstance(images, list):
        raise FindingsError("the document has no list of images")
    taken = [Findings.from_record(image) for image in images]
    shas = [item.sha256 for item in taken]
    if len(set(shas)) != len(shas):
        raise FindingsError("an image (sha256) appears twice in the document")
    return taken


def rasterise(mark: Mark, size: tuple[int, int]) -> np.ndarray:
    """The mark's inside as a boolean H x W mask: the pixels whose centres it holds (an arrow has none;
    a part outside the image is left out). The findings mask, the figure and `area_pixels` all count
    these very pixels."""
    width, height = size
    canvas = np.zeros((height, width), bool)
    left, top, inside = _inside(mark.shape, mark.points, size)
    canvas[top : top + inside.shape[0], left : left + inside.shape[1]] = inside
    return canvas


def threshold_text(value: float) -> str:
    """A threshold as it is set (thresholds move by 0.001): "0.505", "0.5" — never rounded to another."""
    return f"{value:.3f}".rstrip("0").rstrip(".")


def pixel_area(mark: Mark, size: tuple[int, int]) -> int:
    """How many of the image's pixels the mark holds (0 for an arrow)."""
    return int(_inside(mark.shape, mark.points, size)[2].sum())


def outside(mark: Mark, size: tuple[int, int]) -> bool:
    """True when a point of the mark lies beyond the image (a mark taken in for an image not seen yet)."""
    width, height = size
    return any(x > width or y > height for x, y in mark.points)


@functools.lru_cache(maxsize=1024)
def _inside(
    shape: str, points: tuple[tuple[float, float], ...], size: tuple[int, int]
) -> tuple[int, int, np.ndarray]:
    """(left, top, mask) of the pixels inside the shape within its box on the image."""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    left, top = max(0, math.floor(min(xs))), max(0, math.floor(min(ys)))
    right, bottom = min(size[0], math.ceil(max(xs)) + 1), min(size[1], math.ceil(max(ys)) + 1)
    if shape == "arrow" or right <= left or bottom <= top:
        return 0, 0, np.zeros((0, 0), bool)
    centres_x, centres_y = np.arange(left, right) + 0.5, (np.arange(top, bottom) + 0.5)[:, None]
    if shape == "rectangle":
        inside = (
            (min(xs) <= centres_x) & (centres_x <= max(xs)) & (min(ys) <= centres_y) & (centres_y <= max(ys))
        )
    elif shape == "ellipse":
        radius_x, radius_y = (max(xs) - min(xs)) / 2, (max(ys) - min(ys)) / 2
        if radius_x == 0 or radius_y == 0:
            return 0, 0, np.zeros((0, 0), bool)
        dx = (centres_x - min(xs) - radius_x) / radius_x
        dy = (centres_y - min(ys) - radius_y) / radius_y
        inside = dx * dx + dy * dy <= 1
    else:
        inside = centres_inside(np.array(points, float), left, top, right, bottom)
    inside = np.broadcast_to(inside, (bottom - top, right - left))
    inside.setflags(write=False)
    return left, top, inside


def region_fingerprint(labels: np.ndarray, label: int, box: tuple[int, int, int, int]) -> str:
    """SHA-256 of one region's pixels: its bounding box (x, y, width, height) and its packed pixel mask
    within it."""
    x, y, width, height = box
    inside = labels[y : y + height, x : x + width] == label
    digest = hashlib.sha256(f"{x},{y},{width},{height};".encode())
    digest.update(np.packbits(inside).tobytes())
    return digest.hexdigest()


def _points(raw: object) -> tuple[tuple[float, float], ...]:
    if not isinstance(raw, list | tuple) or len(raw) > MAX_POINTS:
        raise FindingsError(f"points must be a list of at most {MAX_POINTS:,} [x, y] pairs")
    points = []
    for point in raw:
        if not isinstance(point, list | tuple) or len(point) != 2 or not all(map(_coordinate, point)):
            raise FindingsError(
                f"a point is not [x, y] with numbers from 0 to {MAX_COORDINATE:,} (image pixels): "
                f"{_shown(point)}"
            )
        points.append((float(point[0]), float(point[1])))
    return tuple(points)


def _coordinate(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= MAX_COORDINATE


def _text(record: dict, key: str, required: bool = False) -> str:
    value = record.get(key, "")
    if not isinstance(value, str) or (required and not value):
        raise FindingsError(f"{key} must be {'a non-empty' if required else 'a'} string")
    _check_text(key, value)
    return value


def _check_text(key: str, value: str) -> None:
    """FindingsError for text that is not Unicode a file can hold (a lone surrogate from a JSON escape)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise FindingsError(f"{key} is not valid Unicode text (a lone surrogate)") from None


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:79] + "…"
