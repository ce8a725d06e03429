"""How many of each image's model regions the examiner has still to review, at the current thresholds: the
regions of its maps (read from the results store, one at a time) that carry no decision on their very
pixels — for the triage table's "To review" column."""

from __future__ import annotations

from collections.abc import Generator, Iterable
from dataclasses import dataclass

from ..progress import Progress
from ..store.decisions import region_states, unreviewed_count
from ..store.findings import Findings
from .marked_areas import StoredMap, stored_maps
from .workspace import Workspace


@dataclass(frozen=True)
class ToReview:
    sha256: str
    model: str
    count: int  # regions at the model's threshold now, not confirmed or rejected on their pixels


def review_job(workspace: Workspace, maps: Iterable[StoredMap]) -> Generator[Progress | ToReview, None, None]:
    """Each map's regions to review, against the image's findings in the store (a map not in the store under
    the current settings is left out: its row says nothing rather than a guess)."""
    store = workspace.store
    if store is None:
        return
    findings: dict[str, Findings] = {}
    for event in stored_maps(workspace, maps):
        if isinstance(event, Progress):
            yield event
            continue
        wanted, probability = event
        if wanted.sha256 not in findings:
            findings[wanted.sha256] = store.findings(wanted.sha256)
        states = region_states(
            findings[wanted.sha256], wanted.model, probability, workspace.thresholds.of(wanted.model)
        )
        yield ToReview(wanted.sha256, wanted.model, unreviewed_count(states))
