"""Exporting analysed images as a results folder plus reports: one job shared by the viewer and the tests."""

from __future__ import annotations

from collections.abc import Generator, Iterable
from pathlib import Path

from ..analysis import ImageOutcome, ModelOutcome
from ..batch import BatchItem
from ..files import contains
from ..imageio import LoadedImage
from ..jobs import load_models, stored_results
from ..progress import Progress
from ..provenance import describe_run
from ..results_writer import ResultsWriter
from ..workspace import Workspace
from .document import CaseInfo, write_reports


def export_outcomes(
    outcomes: Iterable[tuple[BatchItem, LoadedImage, dict[str, ModelOutcome]]],
    count: int,
    run_info: dict,
    out_dir: Path,
    formats: list[str],
    case: CaseInfo,
) -> Generator[Progress, None, tuple[list[Path], dict[str, str]]]:
    """Write each (batch item, its image, model outcomes by name) as it comes (masks, overlays, heat maps,
    results.json), then the reports."""
    writer = ResultsWriter(Path(out_dir), run_info)
    total = count + 1
    yield Progress(0, total, "writing images")
    for done, (item, image, models) in enumerate(outcomes, 1):
        for name, model in models.items():
            writer.add_model(item, image, name, model)
        writer.add(item, ImageOutcome(item.path, image))
        yield Progress(done, total, "writing images")
    yield Progress(count, total, "writing reports")
    written, failures = write_reports(Path(out_dir), formats, case)
    yield Progress(total, total, "done")
    return written, failures


def export_job(
    workspace: Workspace, items: list[BatchItem], folder: Path, formats: list[str], case: CaseInfo
) -> Generator[Progress, None, tuple[list[Path], dict[str, str]]]:
    """Export finished items with their stored maps at the workspace's current thresholds.

    Raises ValueError at once (not when the job runs) when there is nothing to export.
    """
    if not items:
        raise ValueError("No analysed image in this selection: run the analysis first.")
    if clash := next((item.path for item in items if contains(folder, item.path)), None):
        raise ValueError(f"The folder {folder} holds the evidence ({clash}): choose one outside it.")
    return _export(workspace, items, folder, formats, case)


def _export(
    workspace: Workspace, items: list[BatchItem], folder: Path, formats: list[str], case: CaseInfo
) -> Generator[Progress, None, tuple[list[Path], dict[str, str]]]:
    options, thresholds, max_pixels = workspace.options(), workspace.thresholds(), workspace.max_pixels()
    localizers = yield from load_models(workspace, workspace.model_files())
    run_info = describe_run(
        localizers,
        options,
        workspace.runtime(),
        {loc.name: thresholds[loc.name] for loc in localizers},
        max_pixels,
    )

    def outcomes():  # one image's maps in memory at a time
        for item in items:
            results = stored_results(workspace, item.path, localizers)
            models = {name: ModelOutcome(r.run, r.regions_summary()) for name, r in results.models.items()}
            yield item, results.image, models

    return (yield from export_outcomes(outcomes(), len(items), run_info, folder, formats, case))
