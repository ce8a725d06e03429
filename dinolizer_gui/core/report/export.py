"""Exporting analyses that are already in memory (the viewer) as a results folder plus reports."""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path

from ..analysis import ImageOutcome, ResultsWriter
from ..jobs import JobProgress
from .document import CaseInfo, write_reports


def export_outcomes(outcomes: list[ImageOutcome], run_info: dict, out_dir: Path, formats: list[str],
                    case: CaseInfo) -> Generator[JobProgress, None, list[Path]]:
    """Write every outcome (masks, overlays, heat maps, results.json), then the reports; returns the reports."""
    writer = ResultsWriter(Path(out_dir), run_info)
    total = len(outcomes) + 1
    for done, outcome in enumerate(outcomes):
        yield JobProgress("writing images", "", done, total)
        writer.add(outcome)
    yield JobProgress("writing reports", "", len(outcomes), total)
    written = write_reports(Path(out_dir), formats, case)
    yield JobProgress("done", "", total, total)
    return written
