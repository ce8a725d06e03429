"""Running a stability check: each benign variant of an image analysed by the same model, options and weights,
its map kept in the results store (keyed by the image's SHA-256, model, options and variant) so that a second
check computes nothing."""

from __future__ import annotations

import time
from collections.abc import Generator
from dataclasses import replace
from typing import TYPE_CHECKING

from ..engine.analysis import AnalysisOptions, ModelRun
from ..io.images import LoadedImage
from ..maps.stability import (
    StabilityCheck,
    make_variant,
    not_run,
    on_original_grid,
    variant_names,
    variant_size,
)
from ..models.registry import REGISTRY
from ..progress import Progress, relay
from ..store.results import ResultStore, StoredResultDamaged, result_key

if TYPE_CHECKING:
    from ..engine.device import Runtime
    from ..models.model_like import ModelLike


def planned_variants(model: str, options: AnalysisOptions, width: int, height: int) -> list[str]:
    """The variants a check of this model runs on an image of this size, cheapest first ([] for a model
    without a map)."""
    spec = REGISTRY[model]
    return variant_names(spec.sliding_window(options), width, height) if spec.produces_map else []


def variants_to_compute(
    localizer: ModelLike,
    image: LoadedImage,
    options: AnalysisOptions,
    runtime: Runtime,
    store: ResultStore | None,
) -> list[str]:
    """The variants of a check whose maps the store does not hold yet, cheapest first."""
    names = planned_variants(localizer.name, options, image.width, image.height)
    if store is None:
        return names
    return [name for name in names if not store.holds(_key(localizer, image, options, runtime, name))]


def estimated_seconds(
    model: str, original: ModelRun, names: list[str], options: AnalysisOptions, width: int, height: int
) -> float:
    """How long analysing these variants will take, from the time per window the analysis of the image
    itself took."""
    spec = REGISTRY[model]
    per_window = original.seconds / max(original.windows, 1)
    sizes = (variant_size(name, width, height) for name in names)
    return per_window * sum(spec.windows(w, h, options) for w, h in sizes)


def duration_text(seconds: float) -> str:
    """A duration in words an estimate can honestly give."""
    if seconds < 60:
        return f"{max(1, round(seconds))} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 120 else f"{minutes / 60:.1f} h"


def plan_text(
    model: str, original: ModelRun, names: list[str], options: AnalysisOptions, width: int, height: int
) -> str:
    """What a check is about to compute, and for how long."""
    left_out = "".join(f"; {why}" for why in not_run(REGISTRY[model].sliding_window(options), width, height))
    if not names:
        return f"every variant is in the results store: nothing to compute{left_out}"
    seconds = estimated_seconds(model, original, names, options, width, height)
    estimate = f"about {duration_text(seconds)}" if seconds > 0 else "time unknown"
    return f"{len(names)} variant(s) to analyse ({', '.join(names)}): {estimate}{left_out}"


def stored_check(
    localizer: ModelLike,
    image: LoadedImage,
    original: ModelRun,
    options: AnalysisOptions,
    runtime: Runtime,
    store: ResultStore,
) -> StabilityCheck | None:
    """The check, when the store holds every variant's map (None otherwise: nothing is computed)."""
    if original.probability is None:
        return None
    names = planned_variants(localizer.name, options, image.width, image.height)
    maps = []
    for name in names:
        try:
            stored = store.load(_key(localizer, image, options, runtime, name))
        except StoredResultDamaged:
            return None
        if stored is None or (probability := stored[0].probability) is None:
            return None
        maps.append(on_original_grid(name, probability, image.width, image.height))
    return StabilityCheck(original.probability, maps) if maps else None


def check_stability(
    localizer: ModelLike,
    image: LoadedImage,
    original: ModelRun,
    options: AnalysisOptions,
    runtime: Runtime,
    store: ResultStore | None,
) -> Generator[Progress, None, StabilityCheck]:
    """Analyse each variant (or take its map from the store) and gather the maps on the image's grid.

    Progress names the variant running ("stability: resize75, 1 of 4"); closing the generator cancels
    between two batches of windows, keeping the variants already stored.
    """
    if original.probability is None:
        raise ValueError(f"{localizer.name} gives no map: a stability check compares maps")
    names = planned_variants(localizer.name, options, image.width, image.height)
    todo = variants_to_compute(localizer, image, options, runtime, store)
    plan = plan_text(localizer.name, original, todo, options, image.width, image.height)
    yield Progress(0, None, f"stability: {plan}", localizer.name)
    maps = []
    for number, name in enumerate(names, 1):
        stage = f"stability: {name}, {number} of {len(names)}"

        def named(progress: Progress, stage: str = stage) -> Progress:
            return replace(progress, stage=stage, model=localizer.name)

        run = yield from relay(_variant_run(localizer, image, name, options, runtime, store), named)
        assert run.probability is not None
        maps.append(on_original_grid(name, run.probability, image.width, image.height))
    return StabilityCheck(original.probability, maps)


def _variant_run(
    localizer: ModelLike,
    image: LoadedImage,
    name: str,
    options: AnalysisOptions,
    runtime: Runtime,
    store: ResultStore | None,
) -> Generator[Progress, None, ModelRun]:
    key = _key(localizer, image, options, runtime, name)
    if store is not None:
        try:
            if (stored := store.load(key)) is not None:
                yield Progress(1, 1)
                return stored[0]
        except StoredResultDamaged:
            pass  # dropped: computed again below
    variant = replace(image, rgb=make_variant(image.rgb, name), warnings=[])
    run = yield from localizer.analyze(variant, options, runtime)
    run.computed_at = time.time()
    if store is not None:
        store.put(key, image.sha256, localizer.name, run, run.score)
    return run


def _key(
    localizer: ModelLike, image: LoadedImage, options: AnalysisOptions, runtime: Runtime, name: str
) -> str:
    return result_key(image.sha256, localizer.name, localizer.checkpoints, options, runtime, variant=name)
