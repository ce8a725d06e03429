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

import hashlib
import json
import math
import re
import secrets
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone

import cv2
import numpy as np

SHAPES = ("rectangle", "ellipse", "polygon", "freehand", "arrow")
CATEGORIES = ("manipulated", "suspicious", "reference", "comment")
DECISIONS = ("unreviewed", "confirmed", "rejected")
INTERCHANGE_VERSION = 1
MAX_POINTS = 100_000  # a freehand outline with more vertices than this is not one the viewer draws
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
    def area(self) -> float:
        """Area in square image pixels (0 for an arrow)."""
        _, _, width, height = self.box
        if self.shape == "rectangle":
            return width * height
        if self.shape == "ellipse":
            return math.pi * width * height / 4
        if self.shape == "arrow":
            return 0.0
        xs, ys = np.array([p[0] for p in self.points]), np.array([p[1] for p in self.points])
        return float(abs(np.dot(xs, np.roll(ys, -1)) - np.dot(ys, np.roll(xs, -1))) / 2)

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
    fingerprint: str = ""  # SHA-256 of the region's pixels at the threshold ("": not known)

    def check(self) -> None:
        if self.decision not in DECISIONS:
            raise FindingsError(
                f"decision on {self.model} region {self.region}: unknown decision {self.decision!r} "
                f"(one of {', '.join(DECISIONS)})"
            )
        if not self.model or self.region < 1 or not 0.0 <= self.threshold <= 1.0:
            raise FindingsError(
                f"decision on {self.model!r} region {self.region}: a model, a region number from 1 and a "
                "threshold in [0, 1] are needed"
            )

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
                f"region decision {record.get('model', '?')}/{record.get('region', '?')}: {exc}"
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

    def decision(self, model: str, fingerprint: str, region: int, threshold: float) -> RegionDecision | None:
        """The decision on a region: by its pixels' fingerprint, else (none recorded) by number and
        threshold."""
        for decision in self.decisions:
            if decision.model == model and (
                decision.fingerprint == fingerprint
                if decision.fingerprint
                else (decision.region == region and decision.threshold == threshold)
            ):
                return decision
        return None

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
        return findings


def interchange(findings: list[Findings]) -> dict:
    return {"version": INTERCHANGE_VERSION, "images": [item.to_record() for item in findings]}


def from_interchange(document: object) -> list[Findings]:
    """Every image's findings in an interchange document, all checked before any is returned (FindingsError
    names the first problem: nothing is half-taken)."""
    if not isinstance(document, dict) or document.get("version") != INTERCHANGE_VERSION:
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
    """The mark's inside as a boolean H x W mask (an arrow has none)."""
    width, height = size
    canvas = np.zeros((height, width), np.uint8)
    points = np.array([[round(x), round(y)] for x, y in mark.points], np.int32)
    if mark.shape == "rectangle":
        cv2.rectangle(canvas, tuple(points[0]), tuple(points[1]), 1, thickness=-1)
    elif mark.shape == "ellipse":
        x, y, w, h = mark.box
        centre, axes = (round(x + w / 2), round(y + h / 2)), (round(w / 2), round(h / 2))
        cv2.ellipse(canvas, centre, axes, 0, 0, 360, 1, thickness=-1)
    elif mark.shape in ("polygon", "freehand"):
        cv2.fillPoly(canvas, [points], 1)
    return canvas.astype(bool)


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
        raise ValueError(f"points must be a list of at most {MAX_POINTS:,} [x, y] pairs")
    points = []
    for point in raw:
        if (
            not isinstance(point, list | tuple)
            or len(point) != 2
            or not all(
                isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in point
            )
        ):
            raise ValueError(f"a point is not [x, y] with finite numbers: {point!r}")
        points.append((float(point[0]), float(point[1])))
    return tuple(points)


def _text(record: dict, key: str, required: bool = False) -> str:
    value = record.get(key, "")
    if not isinstance(value, str) or (required and not value):
        raise ValueError(f"{key} must be {'a non-empty' if required else 'a'} string")
    return value
