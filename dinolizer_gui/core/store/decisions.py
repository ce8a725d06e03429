"""The examiner's decisions against the models' regions: the state of each region of a map (confirmed,
rejected, unreviewed, changed since decided — a decision belongs to a region's very pixels), the pixels of
the confirmed regions, and the findings as a ground-truth mask (manipulated marks and confirmed regions)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from ..maps.postprocess import Region, binary_mask, find_regions, region_labels
from .findings import Findings, Mark, RegionDecision, rasterise, region_fingerprint


@dataclass(frozen=True)
class RegionState:
    region: Region
    fingerprint: str
    decision: str  # "unreviewed", "confirmed", "rejected", or "changed since decided"
    decided: RegionDecision | None  # the decision it carries, or the one made on its number that changed

    @property
    def text(self) -> str:
        if self.decision == "changed since decided" and self.decided is not None:
            return f"changed since decided ({self.decided.decision} at {self.decided.threshold:.2f})"
        return self.decision


def region_states(
    findings: Findings, model: str, probability: np.ndarray, threshold: float
) -> list[RegionState]:
    """Each region of a model's map at `threshold`, with the examiner's decision on its very pixels; a
    region whose number carries a decision made on other pixels is "changed since decided"."""
    mask = binary_mask(probability, threshold)
    labels, order = region_labels(mask)
    states = []
    for region, label in zip(find_regions(probability, mask), order, strict=True):
        fingerprint = region_fingerprint(labels, label, (region.x, region.y, region.width, region.height))
        decided = findings.decision(model, fingerprint, region.index, threshold)
        if decided is not None:
            states.append(RegionState(region, fingerprint, decided.decision, decided))
            continue
        earlier = next((d for d in findings.decisions if d.model == model and d.region == region.index), None)
        state = "changed since decided" if earlier is not None else "unreviewed"
        states.append(RegionState(region, fingerprint, state, earlier))
    return states


def unreviewed_count(states: Sequence[RegionState]) -> int:
    return sum(state.decision in ("unreviewed", "changed since decided") for state in states)


def confirmed_mask(findings: Findings, model: str, probability: np.ndarray) -> np.ndarray:
    """The pixels of the regions confirmed on this model's map, each at the threshold it was decided at."""
    union = np.zeros(probability.shape, bool)
    for decision in findings.decisions:
        if decision.model != model or decision.decision != "confirmed":
            continue
        mask = binary_mask(probability, decision.threshold)
        labels, order = region_labels(mask)
        for region, label in zip(find_regions(probability, mask), order, strict=True):
            box = (region.x, region.y, region.width, region.height)
            if region_fingerprint(labels, label, box) == decision.fingerprint:
                union |= labels == label
    return union


def findings_mask(findings: Findings, size: tuple[int, int], maps: dict[str, np.ndarray]) -> np.ndarray:
    """The examiner's findings as a ground-truth mask: the union of the *manipulated* marks and of the regions
    confirmed on the given models' maps (by model name)."""
    width, height = size
    union = np.zeros((height, width), bool)
    for mark in findings.marks:
        if mark.category == "manipulated":
            union |= rasterise(mark, size)
    for model, probability in maps.items():
        if probability.shape == union.shape:
            union |= confirmed_mask(findings, model, probability)
    return union


def mark_from_mask(mask: np.ndarray, category: str, author: str, label: str = "") -> list[Mark]:
    """A mask PNG taken as marks: one polygon per outer contour of its pixels."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    return [
        Mark.new("polygon", [[float(x), float(y)] for x, y in contour[:, 0]], category, author, label)
        for contour in contours
        if len(contour) >= 3
    ]
