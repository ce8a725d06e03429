"""The examiner's decisions against the models' regions: the state of each region of a map (confirmed,
rejected, unreviewed, changed since decided — a decision belongs to a region's very pixels), the pixels of
the confirmed regions, and the findings as a ground-truth mask (manipulated marks and confirmed regions)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from ..maps.postprocess import Region, binary_mask, find_regions, region_labels
from .findings import Findings, Mark, RegionDecision, rasterise, region_fingerprint, threshold_text


@dataclass(frozen=True)
class RegionState:
    region: Region
    fingerprint: str
    decision: str  # "unreviewed", "confirmed", "rejected", or "changed since decided"
    decided: RegionDecision | None  # the decision it carries, or the one made on its number that changed

    @property
    def text(self) -> str:
        if self.decision == "changed since decided" and self.decided is not None:
            return (
                f"changed since decided ({self.decided.decision} at {threshold_text(self.decided.threshold)})"
            )
        return self.decision


def region_states(
    findings: Findings, model: str, probability: np.ndarray, threshold: float
) -> list[RegionState]:
    """Each region of a model's map at `threshold`, with the examiner's decision on its very pixels; a
    region whose number carries a decision made on pixels no region has any more is "changed since
    decided"."""
    mask = binary_mask(probability, threshold)
    labels, order = region_labels(mask)
    regions = find_regions(probability, mask)
    prints = [
        region_fingerprint(labels, label, (region.x, region.y, region.width, region.height))
        for region, label in zip(regions, order, strict=True)
    ]
    states = []
    for region, fingerprint in zip(regions, prints, strict=True):
        decided = findings.decision(model, fingerprint)
        if decided is not None:
            states.append(RegionState(region, fingerprint, decided.decision, decided))
            continue
        earlier = next(  # a decision on this number whose pixels no region of the map has any more
            (
                d
                for d in findings.decisions
                if d.model == model and d.region == region.index and d.fingerprint not in prints
            ),
            None,
        )
        state = "changed since decided" if earlier is not None else "unreviewed"
        states.append(RegionState(region, fingerprint, state, earlier))
    return states


def region_outlines(
    probability: np.ndarray, threshold: float, regions: Sequence[Region]
) -> list[list[tuple[float, float]]]:
    """The outer outline of each of these regions of the map at `threshold`, in image pixels."""
    mask = binary_mask(probability, threshold)
    labels, order = region_labels(mask)
    outlines = []
    for region in regions:
        x, y, width, height = region.x, region.y, region.width, region.height
        inside = (labels[y : y + height, x : x + width] == order[region.index - 1]).astype(np.uint8)
        contours, _ = cv2.findContours(inside, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        if contours:
            largest = max(contours, key=len)
            outlines.append([(float(px + x), float(py + y)) for px, py in largest[:, 0]])
    return outlines


def unreviewed_count(states: Sequence[RegionState]) -> int:
    return sum(state.decision in ("unreviewed", "changed since decided") for state in states)


def decision_mismatch(decision: RegionDecision, maps: Sequence[np.ndarray]) -> str | None:
    """Why a decision does not describe a region of any of these maps of its model — its fingerprint is not
    the pixels of the region of its number at its threshold —, or None when one map has it (or there is no
    map to check against: an image not analysed here yet)."""
    if not maps:
        return None
    numbers: list[int] = []
    for probability in maps:
        mask = binary_mask(probability, decision.threshold)
        labels, order = region_labels(mask)
        for region, label in zip(find_regions(probability, mask), order, strict=True):
            box = (region.x, region.y, region.width, region.height)
            if region_fingerprint(labels, label, box) == decision.fingerprint:
                if region.index == decision.region:
                    return None
                numbers.append(region.index)
    if numbers:
        number = decision.region
        return f"its fingerprint is the pixels of region {numbers[0]} there, not of region {number}"
    return f"no stored map has a region with its fingerprint's pixels at {decision.threshold:g}"


def decided_pixels(decision: RegionDecision, probability: np.ndarray) -> np.ndarray | None:
    """The pixels of the region a decision was made on, when this map has it at the decision's threshold
    (None: the map has no region with those very pixels)."""
    mask = binary_mask(probability, decision.threshold)
    labels, order = region_labels(mask)
    for region, label in zip(find_regions(probability, mask), order, strict=True):
        box = (region.x, region.y, region.width, region.height)
        if region_fingerprint(labels, label, box) == decision.fingerprint:
            return labels == label
    return None


def confirmed_regions(
    states: Sequence[RegionState], probability: np.ndarray, threshold: float
) -> list[np.ndarray]:
    """The pixels of each region these states show confirmed — the decision carried by the region's very
    pixels on this map at this threshold (a region changed since is not one)."""
    if not any(state.decision == "confirmed" for state in states):
        return []
    labels, order = region_labels(binary_mask(probability, threshold))
    return [labels == order[state.region.index - 1] for state in states if state.decision == "confirmed"]


def findings_mask(
    findings: Findings, size: tuple[int, int], maps: Mapping[str, Sequence[np.ndarray]]
) -> tuple[np.ndarray, list[RegionDecision]]:
    """The examiner's findings as a ground-truth mask — the union of the *manipulated* marks and of the
    confirmed regions, found by their pixels on the given maps of each model — and the confirmed decisions
    none of those maps has the region of (left out of the mask)."""
    width, height = size
    union = np.zeros((height, width), bool)
    for mark in findings.marks:
        if mark.category == "manipulated":
            union |= rasterise(mark, size)
    missing = []
    for decision in findings.decisions:
        if decision.decision != "confirmed":
            continue
        candidates = [p for p in maps.get(decision.model, []) if p.shape == union.shape]
        pixels = next((found for p in candidates if (found := decided_pixels(decision, p)) is not None), None)
        if pixels is None:
            missing.append(decision)
        else:
            union |= pixels
    return union, missing


def mark_from_mask(mask: np.ndarray, category: str, author: str, label: str = "") -> list[Mark]:
    """A mask PNG taken as marks: one polygon per outer contour of its pixels, through their centres (a
    single pixel or a line of them too), so that the mark holds those very pixels again."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    marks = []
    for contour in contours:
        points = [[x + 0.5, y + 0.5] for x, y in contour[:, 0].tolist()]
        points += [points[0]] * (3 - len(points))  # a polygon of a pixel, or of a line, still has 3 points
        marks.append(Mark.new("polygon", points, category, author, label))
    return marks
