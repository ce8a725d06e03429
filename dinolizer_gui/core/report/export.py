"""Exporting analyses that are already in memory (the viewer) as a results folder plus reports."""

from __future__ import annotations

from collections.abc import Generator, Iterable
from pathlib import Path

from ..analysis import ResultsWriter
from ..jobs import JobProgress
from .document import CaseInfo, write_reports


def export_outcomes(outcomes: Iterable[tuple], count: int, run_info: dict, out_dir: Path, formats: list[str],
                    case: CaseInfo) -> Generator[JobProgress, None, list[Path]]:
    """Write each (batch item, image outcome, model outcomes by name) as it comes (masks, overlays, heat maps,
    results.json), then the reports."""
    writer = ResultsWriter(Path(out_dir), run_info)
    total = count + 1
    yield JobProgress("writing images", "", 0, total)
    for done, (item, outcome, models) in enumerate(outcomes, 1):
        for name, model in models.items():
            writer.add_model(item, outcome.image, name, model)
        writer.add(item, outcome)
        yield JobProgress("writing images", "", done, total)
    yield JobProgress("writing reports", "", count, total)
    written = write_reports(Path(out_dir), formats, case)
    yield JobProgress("done", "", total, total)
    return written
