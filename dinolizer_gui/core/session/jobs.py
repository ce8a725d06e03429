"""The long jobs the viewer runs on worker threads: each a generator of progress (closing it cancels).

They are Qt-free, so the tests drive them directly.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Generator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from ..engine.analysis import AnalysisOptions, ImageOutcome, ModelRun
from ..errors import PathError
from ..evaluation.ground_truth import GroundTruth, find_mask_beside, read_mask
from ..io.images import LoadedImage, load_image
from ..maps.outcome import ModelOutcome
from ..progress import Progress
from .batch import BatchItem, BatchProgress
from .case import Case, record_analyses
from .image_results import ImageResults, ModelResult, PreviewResult, add_stored_results
from .thresholds import Thresholds
from .workspace import Workspace

if TYPE_CHECKING:
    from ..engine.device import Runtime
    from ..models.model_like import ModelLike


def load_models(
    workspace: Workspace, files: dict[str, list[Path]]
) -> Generator[Progress, None, list[ModelLike]]:
    localizers: list[ModelLike] = []
    for name, paths in files.items():
        yield Progress(stage="loading model", model=name)
        localizers.append(workspace.model(name, paths))
    return localizers


def stored_results(workspace: Workspace, path: str, localizers: list[ModelLike]) -> ImageResults:
    """An image with whatever maps the results store holds for it (no model is run)."""
    results = ImageResults(path, load_image(path, workspace.max_pixels()))
    if workspace.store is not None:
        add_stored_results(
            results,
            localizers,
            workspace.store,
            workspace.options(),
            workspace.thresholds,
            workspace.runtimes([loc.name for loc in localizers]),
        )
    return results


def open_image_job(workspace: Workspace, path: str) -> Generator[Progress, None, ImageResults]:
    """Load an image for viewing only (no model)."""
    yield Progress(stage="loading image")
    return ImageResults(path, load_image(path, workspace.max_pixels()))


def stored_results_job(workspace: Workspace, path: str) -> Generator[Progress, None, ImageResults]:
    localizers = yield from load_models(workspace, workspace.model_files())
    yield Progress(stage="loading image")
    return stored_results(workspace, path, localizers)


def queue_job(
    workspace: Workspace, items: list[BatchItem], wanted: Callable[[], str | None]
) -> Generator[Progress | BatchProgress | ImageResults | PreviewResult, None, None]:
    """Run the queue; yield its progress, and the results of the image on screen (`wanted`) when done."""
    localizers = yield from load_models(workspace, workspace.model_files())
    options, thresholds = workspace.options(), workspace.thresholds
    runner = workspace.batch_runner(localizers, provenance=True)
    ready: list[ImageResults] = []
    shown: dict[
        str, ModelResult
    ] = {}  # the maps of the image on screen; every other map goes to the store only

    def model_finished(item: BatchItem, image: LoadedImage, name: str, model: ModelOutcome) -> None:
        if item.path == wanted():
            localizer = next(loc for loc in localizers if loc.name == name)
            shown[name] = ModelResult.of(localizer, model.run, model.summary.score, thresholds)
            shown[name].stability = model.stability

    def image_finished(item: BatchItem, outcome: ImageOutcome | None) -> None:
        models = dict(shown)
        shown.clear()
        if workspace.case is not None and outcome is not None:
            _record_in_case(workspace.case, item, outcome, localizers, runner.runtimes, options)
        if outcome is None or not outcome.ok or outcome.image is None or item.path != wanted():
            return
        results = ImageResults(item.path, outcome.image, models)
        if workspace.store is not None:  # a model chosen after the image's first model ran
            add_stored_results(results, localizers, workspace.store, options, thresholds, runner.runtimes)
        ready.append(results)

    for progress in runner.run(items, on_image=image_finished, on_model=model_finished):
        if progress.preview is not None and items[progress.index].path == wanted():
            label = runner.runtimes[progress.model].label
            yield _preview(items[progress.index].path, progress, localizers, thresholds, label)
        yield replace(progress, preview=None)  # the map goes to the viewer as a preview only
        while ready:
            yield ready.pop()


def _record_in_case(
    case: Case,
    item: BatchItem,
    outcome: ImageOutcome,
    localizers: list[ModelLike],
    runtimes: dict[str, Runtime],
    options: AnalysisOptions,
) -> None:
    """An image analysed while a case is open joins its evidence (if it is not listed yet), and each model's
    analysis goes in its log; one that could not be read joins the evidence when it can be hashed. A case open
    read-only (read-only media, a log with a break) records nothing: the Case dock says so."""
    if case.read_only:
        return
    if outcome.image is None:
        with contextlib.suppress(OSError, PathError):
            case.add_evidence([item.path])
        return
    case.add_hashed(Path(item.path), outcome.image.sha256, outcome.image.file_size)
    record_analyses(case, item, outcome.image.sha256, localizers, runtimes, options)


def _preview(
    path: str, progress: BatchProgress, localizers: list[ModelLike], thresholds: Thresholds, device: str
) -> PreviewResult:
    localizer = next(loc for loc in localizers if loc.name == progress.model)
    done, total = progress.windows_done, progress.windows_total
    run = ModelRun(progress.preview, done, (0, 0), [f"preview: {done} of {total} windows"], device)
    result = ModelResult.of(localizer, run, run.score, thresholds)
    result.preview = (done, total)
    return PreviewResult(path, localizer.name, result)


def ground_truth_job(
    image_path: str, height: int, width: int, mask_path: str | None = None
) -> Generator[Progress, None, GroundTruth | None]:
    """The ground truth of an image: the mask given, else one found beside it by the pairing rule (None when
    there is none); read at the image's size, its outline drawn. Raises ImageLoadError for a bad mask."""
    found = Path(mask_path) if mask_path else find_mask_beside(Path(image_path))
    if found is None:
        return None
    yield Progress(stage="reading ground truth")
    truth = read_mask(found, height, width)
    truth.outline()
    return truth
