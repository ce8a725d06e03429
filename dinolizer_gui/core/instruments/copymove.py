"""Copy-move: areas of the image that reappear elsewhere in it, also turned or resized.

1. Keypoints and descriptors: OpenCV's SIFT on the luminance. An image above
   `megapixels` is analysed reduced to that size (SIFT works on a pyramid that
   starts at twice the image's size: 50 MP would take minutes and gigabytes);
   every position reported is in the displayed image's pixels all the same.
2. Matches within the image: each descriptor's nearest neighbours among all the
   others (the very nearest is itself, left out), kept by the ratio test
   d1 < ratio * d2, generalised as in Amerini et al. (2011, "g2NN"): the
   neighbours before the first ratio d_k / d_k+1 under `ratio` all match, so an
   area copied twice or three times is found each time (an area repeated more
   often is not: nothing sets its copies apart). Neighbours closer than
   `min_distance` pixels to the keypoint (the same structure found again at
   its own place) are left out before the ratio test.
3. Clusters: matches whose two ends lie near the two ends of another match
   (within 5 % of the image's diagonal) are joined; in each group RANSAC fits
   an affine map of one end onto the other (cv2.estimateAffine2D, 3 px, its
   random choices seeded: the same image gives the same clusters), again on
   what it left out; fits of one copy found in two groups are joined. A fit is
   reported only with at least `min_inliers` matches that agree with it (8 by
   default: on photographs without copies, chance matches agreeing on one map
   stay far below it) and a map that neither flattens the area nor changes its
   size by more than 4 times.

Which of two copies is the original cannot be told from the pixels: the
"source" is the one nearer the top of the image (then the left), and the affine
maps its points onto the "target"'s.
"""

from __future__ import annotations

import math
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from ..progress import Progress
from .base import InstrumentResult

MIN_INLIERS = 8  # the default least number of agreeing matches a reported cluster has
MAX_KEYPOINTS = 16_000  # the strongest kept: every pair of them is compared (about a second)
MAX_MATCHES = 4000  # the closest kept for grouping
MAX_FITS_PER_GROUP = 16  # RANSAC runs on one group of matches (a repeated pattern could feed it for long)
LINK_FRACTION = 0.05  # matches join when their ends lie within this fraction of the diagonal
RANSAC_PIXELS = 3.0
RANSAC_SEED = 20090101
MAX_SCALE_CHANGE = 4.0
QUERY_CHUNK = 1024  # descriptors matched at once: a 1024 x keypoints float32 matrix (64 MB at 16 000)
NEIGHBOURS = 5  # the nearest descriptors looked at, the keypoint's own left out: an area found up to 3 times
CONTRAST = 0.02  # SIFT's contrast threshold (0.04 by default): keypoints in fainter texture, as copies need
Point = tuple[float, float]


@dataclass
class Cluster:
    source: tuple[int, int, int, int]  # x, y, width, height in image pixels
    target: tuple[int, int, int, int]
    affine: tuple[tuple[float, float, float], tuple[float, float, float]]  # maps source points onto target
    pairs: list[tuple[Point, Point]] = field(default_factory=list)  # (source point, target point) inliers

    @property
    def matches(self) -> int:
        return len(self.pairs)

    @property
    def rotation_degrees(self) -> float:
        (a, b, _), (c, d, _) = self.affine
        return math.degrees(math.atan2(c - b, a + d))

    @property
    def scale(self) -> float:
        (a, b, _), (c, d, _) = self.affine
        return math.sqrt(abs(a * d - b * c))

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": list(self.source),
            "target": list(self.target),
            "matches": self.matches,
            "affine": [[round(value, 6) for value in row] for row in self.affine],
            "rotation_degrees": round(self.rotation_degrees, 2),
            "scale": round(self.scale, 4),
            "pairs": [[round(v, 1) for v in (*src, *dst)] for src, dst in self.pairs],
        }


@dataclass(kw_only=True)
class CopyMoveResult(InstrumentResult):
    clusters: list[Cluster]
    keypoints: int
    matches: int  # after the ratio test and the minimum distance
    working_scale: float  # the factor the image was reduced by for the keypoints (1: full size)

    def pictures(self) -> tuple[str, ...]:
        return ("png",)

    def picture(self, key: str) -> np.ndarray:
        """Black, with each cluster's two boxes outlined in white and a grey line per matching pair."""
        self._known(key)
        picture = np.zeros((self.height, self.width), np.uint8)
        thickness = max(1, round(max(self.height, self.width) / 500))
        for cluster in self.clusters:
            for src, dst in cluster.pairs:
                start, end = (round(src[0]), round(src[1])), (round(dst[0]), round(dst[1]))
                cv2.line(picture, start, end, 160, thickness, cv2.LINE_AA)
            for x, y, width, height in (cluster.source, cluster.target):
                cv2.rectangle(picture, (x, y), (x + width - 1, y + height - 1), 255, thickness)
        return picture

    def to_record(self, paths: Mapping[str, str]) -> dict[str, Any]:
        return {
            **{name: self.params[name] for name in ("ratio", "min_distance", "min_inliers", "megapixels")},
            "keypoints": self.keypoints,
            "matches": self.matches,
            "working_scale": round(self.working_scale, 6),
            "clusters": [cluster.as_dict() for cluster in self.clusters],
            "png": paths.get("png"),
            "notes": self.notes,
        }


def copy_move(
    rgb: np.ndarray, params: Mapping[str, Any], _source: Any = None
) -> Generator[Progress, None, CopyMoveResult]:
    """`params`: ratio, min_distance (pixels), min_inliers, megapixels (the largest size analysed)."""
    height, width = rgb.shape[:2]
    notes: list[str] = []
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    scale = min(1.0, math.sqrt(float(params["megapixels"]) * 1e6 / (height * width)))
    if scale < 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
        notes.append(
            f"keypoints found on the image reduced to {size[0]} x {size[1]} "
            f"(about {params['megapixels']} MP); positions given in the image's own pixels"
        )
    yield Progress(0, 3, "copy-move: keypoints")
    keypoints, descriptors = cv2.SIFT_create(  # type: ignore[attr-defined]
        nfeatures=MAX_KEYPOINTS, contrastThreshold=CONTRAST
    ).detectAndCompute(grey, None)
    # pixel centres of the reduced image, placed on the image's own: (x + 0.5) / scale - 0.5
    points = (
        np.array([keypoint.pt for keypoint in keypoints], np.float32).reshape(-1, 2) + 0.5
    ) / scale - 0.5
    yield Progress(1, 3, "copy-move: matching")
    pairs = yield from _matched_pairs(
        points, descriptors, float(params["ratio"]), float(params["min_distance"])
    )
    yield Progress(2, 3, "copy-move: clusters")
    link = LINK_FRACTION * math.hypot(height, width)
    clusters = _clusters(points, pairs, link, int(params["min_inliers"]), RANSAC_PIXELS / scale)
    yield Progress(3, 3, "copy-move: clusters")
    return CopyMoveResult(
        name="copymove",
        params=dict(params),
        height=height,
        width=width,
        notes=notes,
        clusters=clusters,
        keypoints=len(keypoints),
        matches=len(pairs),
        working_scale=scale,
    )


def _matched_pairs(
    points: np.ndarray, descriptors: np.ndarray | None, ratio: float, min_distance: float
) -> Generator[Progress, None, np.ndarray]:
    """M x 2 keypoint indices of the matches (one per two places), closest (by their ratio) first, at most
    MAX_MATCHES.

    The nearest neighbours are exact: every pair's squared distance |a|^2 + |b|^2 - 2 a.b comes from one
    matrix product per chunk of descriptors (BLAS: three times OpenCV's brute-force matcher), and the
    candidates' distances are computed again in float64 for the ratio test."""
    count = 0 if descriptors is None else len(descriptors)
    if descriptors is None or count < 3:
        return np.zeros((0, 2), np.int64)
    descriptors = descriptors.astype(np.float32, copy=False)
    norms = np.einsum("ij,ij->i", descriptors, descriptors)
    # SIFT gives a point with several dominant orientations several keypoints: one match per two places
    place = np.unique(np.rint(points).astype(np.int64), axis=0, return_inverse=True)[1].ravel()
    found: dict[tuple[int, int], tuple[float, int, int]] = {}
    for start in range(0, count, QUERY_CHUNK):
        queries = np.arange(start, min(count, start + QUERY_CHUNK))
        neighbours = _nearest(descriptors[queries], descriptors, norms, queries, NEIGHBOURS)
        differences = descriptors[neighbours] - descriptors[queries][:, None, :]
        distances = np.sqrt((differences.astype(np.float64) ** 2).sum(axis=2))
        order = np.argsort(distances, axis=1, kind="stable")
        neighbours = np.take_along_axis(neighbours, order, axis=1)
        distances = np.take_along_axis(distances, order, axis=1)
        for query, row, near in zip(queries.tolist(), neighbours.tolist(), distances.tolist(), strict=True):
            for other, jump in _g2nn(points, query, row, near, ratio, min_distance):
                first, second = sorted((query, other), key=lambda index: (place[index], index))
                key = (int(place[first]), int(place[second]))
                candidate = (jump, first, second)
                found[key] = min(found.get(key, candidate), candidate)
        yield Progress(int(queries[-1]) + 1, count, "copy-move: matching")
    ordered = sorted(found.values())[:MAX_MATCHES]
    return np.array([(first, second) for _, first, second in ordered], np.int64).reshape(-1, 2)


def _g2nn(
    points: np.ndarray, query: int, row: list[int], near: list[float], ratio: float, min_distance: float
) -> list[tuple[int, float]]:
    """The query's matches among its nearest descriptors (nearest first): those before the first ratio
    d_k / d_k+1 under `ratio`, with that ratio; neighbours lying within `min_distance` pixels of the query
    (the same structure found again at its own place) are left out first."""
    apart = [
        (other, distance)
        for other, distance in zip(row, near, strict=True)
        if math.dist(points[query], points[other]) >= min_distance
    ]
    for rank in range(len(apart) - 1):
        jump = apart[rank][1] / max(apart[rank + 1][1], 1e-12)
        if jump < ratio:
            return [(other, jump) for other, _ in apart[: rank + 1]]
    return []


def _nearest(
    queries: np.ndarray, descriptors: np.ndarray, norms: np.ndarray, own: np.ndarray, count: int
) -> np.ndarray:
    """For each query, the `count` descriptors nearest to it other than itself (their indices)."""
    closeness = queries @ descriptors.T  # larger 2 a.b - |b|^2 = smaller |a - b|^2
    closeness *= 2.0
    closeness -= norms[None, :]
    rows = np.arange(len(queries))
    closeness[rows, own] = -np.inf
    chosen = np.empty((len(queries), count), np.int64)
    for rank in range(min(count, descriptors.shape[0] - 1)):
        chosen[:, rank] = closeness.argmax(axis=1)
        closeness[rows, chosen[:, rank]] = -np.inf
    return chosen[:, : min(count, descriptors.shape[0] - 1)]


def _clusters(
    points: np.ndarray, pairs: np.ndarray, link: float, min_inliers: int, tolerance: float
) -> list[Cluster]:
    fits = []
    for members, flipped in _linked_groups(points, pairs, link):
        ends = pairs[members]
        ends = np.where(flipped[:, None], ends[:, ::-1], ends)
        fits += _fits(points[ends[:, 0]], points[ends[:, 1]], min_inliers, tolerance)
    clusters = [_cluster(source, target, affine) for source, target, affine in _merged(fits, tolerance)]
    return sorted(clusters, key=lambda cluster: (-cluster.matches, cluster.source[1], cluster.source[0]))


def _linked_groups(points: np.ndarray, pairs: np.ndarray, link: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """Groups of matches joined end to end (within `link` pixels), each match's direction within its group
    (True: flipped, so that the group's first ends lie together)."""
    first, second = points[pairs[:, 0]], points[pairs[:, 1]]
    count = len(pairs)
    group = np.full(count, -1)
    flipped = np.zeros(count, bool)
    groups: list[tuple[np.ndarray, np.ndarray]] = []
    for seed in range(count):
        if group[seed] >= 0:
            continue
        group[seed], members, queue = len(groups), [seed], [seed]
        while queue:
            current = queue.pop()
            a, b = (second, first) if flipped[current] else (first, second)
            same = _near(first, a[current], link) & _near(second, b[current], link)
            crossed = _near(second, a[current], link) & _near(first, b[current], link)
            for other in np.flatnonzero((same | crossed) & (group < 0)):
                group[other], flipped[other] = len(groups), not same[other]
                members.append(int(other))
                queue.append(int(other))
        groups.append((np.array(members), flipped[members]))
    return groups


def _near(points: np.ndarray, point: np.ndarray, radius: float) -> np.ndarray:
    return ((points - point) ** 2).sum(axis=1) < radius * radius


Fit = tuple[np.ndarray, np.ndarray, np.ndarray]  # source points, target points, the affine between them


def _fits(source: np.ndarray, target: np.ndarray, min_inliers: int, tolerance: float) -> list[Fit]:
    """Affine maps that at least `min_inliers` matches agree with, found one after another (RANSAC)."""
    found: list[Fit] = []
    remaining = np.arange(len(source))
    for _ in range(MAX_FITS_PER_GROUP):
        if len(remaining) < max(min_inliers, 3):
            break
        affine, agree = _ransac(source[remaining], target[remaining], tolerance)
        if affine is None or int(agree.sum()) < min_inliers:
            break
        chosen, remaining = remaining[agree], remaining[~agree]
        if _plausible(affine):
            found.append((source[chosen], target[chosen], affine))
    return found


def _ransac(source: np.ndarray, target: np.ndarray, tolerance: float) -> tuple[np.ndarray | None, np.ndarray]:
    cv2.setRNGSeed(RANSAC_SEED)
    affine, inliers = cv2.estimateAffine2D(
        source, target, method=cv2.RANSAC, ransacReprojThreshold=tolerance, maxIters=4000, confidence=0.999
    )
    if affine is None or inliers is None:
        return None, np.zeros(len(source), bool)
    return affine, inliers.ravel().astype(bool)


def _merged(fits: list[Fit], tolerance: float) -> list[Fit]:
    """Fits of the same copy found apart (its matches joined in two groups) made one: a fit whose matches
    mostly agree with a larger fit's map, either way round, joins it and the map is fitted again."""
    fits = sorted(fits, key=lambda fit: -len(fit[0]))
    joined = True
    while joined:
        joined = False
        for larger, smaller in ((a, b) for a in range(len(fits)) for b in range(a + 1, len(fits))):
            source, target, affine = fits[larger]
            other_source, other_target, _ = fits[smaller]
            for candidate_source, candidate_target in (
                (other_source, other_target),
                (other_target, other_source),
            ):
                if _agreeing(affine, candidate_source, candidate_target, tolerance) >= 0.5:
                    union_source = np.concatenate([source, candidate_source])
                    union_target = np.concatenate([target, candidate_target])
                    refitted, agree = _ransac(union_source, union_target, tolerance)
                    if refitted is not None and _plausible(refitted):
                        fits[larger] = (union_source[agree], union_target[agree], refitted)
                        del fits[smaller]
                        joined = True
                        break
            if joined:
                break
    return fits


def _agreeing(affine: np.ndarray, source: np.ndarray, target: np.ndarray, tolerance: float) -> float:
    """The share of the pairs that the map takes within `tolerance` of their target."""
    mapped = source @ affine[:, :2].T + affine[:, 2]
    return float((np.hypot(*(mapped - target).T) <= tolerance).mean())


def _plausible(affine: np.ndarray) -> bool:
    """Not a degenerate map: both singular values within MAX_SCALE_CHANGE of 1."""
    singular = np.linalg.svd(affine[:, :2], compute_uv=False)
    return bool(singular.min() >= 1 / MAX_SCALE_CHANGE and singular.max() <= MAX_SCALE_CHANGE)


def _cluster(source: np.ndarray, target: np.ndarray, affine: np.ndarray) -> Cluster:
    """The cluster with its source the copy nearer the top (then the left)."""
    if tuple(target.mean(axis=0)[::-1]) < tuple(source.mean(axis=0)[::-1]):
        source, target = target, source
        affine = cv2.invertAffineTransform(affine)
    (a, b, tx), (c, d, ty) = affine.tolist()
    pairs = [
        ((float(s[0]), float(s[1])), (float(t[0]), float(t[1]))) for s, t in zip(source, target, strict=True)
    ]
    return Cluster(_box(source), _box(target), ((a, b, tx), (c, d, ty)), pairs)


def _box(points: np.ndarray) -> tuple[int, int, int, int]:
    left, top = np.floor(points.min(axis=0)).astype(int)
    right, bottom = np.ceil(points.max(axis=0)).astype(int)
    return int(left), int(top), int(right - left + 1), int(bottom - top + 1)
