"""The marked area of a map at every threshold the viewer can set, so that every row of the triage table
follows a threshold move, not only the row of the image on screen (the other maps live in the results store,
not in memory)."""

from __future__ import annotations

from collections.abc import Generator, Iterable
from dataclasses import dataclass

import numpy as np

from ..errors import PathError
from ..models.layouts import CheckpointError
from ..progress import Progress
from ..store.results import StoredResultDamaged, result_key
from .jobs import load_models
from .thresholds import THRESHOLD_DECIMALS
from .workspace import Workspace

STEPS = 10**THRESHOLD_DECIMALS
CHUNK = 1 << 20  # pixels counted at a time: a 50 MP map never needs a second full-size array


class MarkedAreas:
    """The fraction of a map's pixels at or above each threshold 0, 0.001, … 1, counted exactly as the mask
    is made (`probability >= threshold`, in the map's own precision); 4 KB whatever the map's size."""

    def __init__(self, probability: np.ndarray):
        thresholds = (np.arange(STEPS + 1) / STEPS).astype(probability.dtype)  # as the comparison sees them
        reached = np.zeros(STEPS + 2, np.int64)  # reached[k]: pixels at or above exactly k thresholds
        flat = probability.ravel()
        not_a_number = 0
        for start in range(0, flat.size, CHUNK):
            chunk = flat[start : start + CHUNK]
            reached += np.bincount(np.searchsorted(thresholds, chunk, side="right"), minlength=STEPS + 2)
            not_a_number += int(np.count_nonzero(np.isnan(chunk)))  # sorted after every threshold, above none
        at_least = reached[::-1].cumsum()[::-1]  # at_least[k]: pixels at or above k thresholds or more
        self._counts = (at_least[1:] - not_a_number).astype(np.uint32)  # [k]: pixels >= the k-th threshold
        self.pixels = flat.size

    def at(self, threshold: float) -> float | None:
        """The marked area at `threshold`; None for a value off the viewer's steps (not counted)."""
        step = round(threshold * STEPS)
        if not 0 <= step <= STEPS or step / STEPS != threshold:
            return None
        return int(self._counts[step]) / self.pixels


@dataclass(frozen=True)
class StoredMap:
    """A row's map to read: the image's SHA-256, the model, and the score the row shows (the map read must be
    the one that score was measured on)."""

    sha256: str
    model: str
    score: float


@dataclass(frozen=True)
class AreasRead:
    map: StoredMap
    areas: MarkedAreas


def stored_areas_job(
    workspace: Workspace, maps: Iterable[StoredMap]
) -> Generator[Progress | AreasRead, None, None]:
    """Each map's marked areas, from the results store under the current settings. A map that is not stored,
    is damaged, or has another score (its image was analysed under other settings) is left out: its row keeps
    the area measured at the threshold it names."""
    for event in stored_maps(workspace, maps):
        yield event if isinstance(event, Progress) else AreasRead(event[0], MarkedAreas(event[1]))


def stored_maps(
    workspace: Workspace, maps: Iterable[StoredMap]
) -> Generator[Progress | tuple[StoredMap, np.ndarray], None, None]:
    """Each map read from the results store under the current settings, one at a time (the models' loading
    reported as it goes); a map that is not stored, is damaged or has another score is left out."""
    store, wanted = workspace.store, list(maps)
    if store is None or not wanted:
        return
    try:
        localizers = yield from load_models(workspace, workspace.model_files({m.model for m in wanted}))
    except (CheckpointError, PathError):
        return  # weights changed or gone: no map can be found under their key
    by_name = {localizer.name: localizer for localizer in localizers}
    options, runtimes = workspace.options(), workspace.runtimes(list(by_name))
    for wanted_map in wanted:
        localizer = by_name.get(wanted_map.model)
        if localizer is None:
            continue
        key = result_key(
            wanted_map.sha256, localizer.name, localizer.checkpoints, options, runtimes[localizer.name]
        )
        try:
            stored = store.get(key)
            if stored is None or stored.map_path is None or round(stored.score, 6) != wanted_map.score:
                continue
            probability = stored.load_run().probability
        except StoredResultDamaged:
            continue
        if probability is not None:
            yield wanted_map, probability
