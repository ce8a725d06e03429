"""Exporting analysed images as a results folder plus reports: one job shared by the viewer and the tests."""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..engine.analysis import ImageOutcome
from ..errors import OutputError
from ..io.outputs import EarlierOutputs, HoldsEvidence, check_output_folder, claim_outputs
from ..maps.outcome import ModelOutcome
from ..progress import Progress
from ..report.content import CaseInfo, write_reports
from ..report.results_folder import ResultsWriter
from ..store.findings import Findings
from .batch import BatchItem, ItemStatus
from .case import Case
from .jobs import load_models, stored_results
from .workspace import Workspace


def export_outcomes(
    outcomes: Iterable[tuple[BatchItem, ImageOutcome | None, dict[str, ModelOutcome]]],
    count: int,
    run_info: dict,
    out_dir: Path,
    formats: list[str],
    case: CaseInfo,
    in_case: Case | None = None,
    trust_anchors: str = "",
    findings_of: Callable[[str], Findings] | None = None,
    views: Mapping[str, Mapping[str, Any]] | None = None,
) -> Generator[Progress, None, tuple[list[Path], dict[str, str]]]:
    """Write each (batch item, its outcome, model outcomes by name) as it comes (masks, overlays, heat maps,
    results.json, the examiner's findings from `findings_of`), then the reports. A duplicate's outcome is
    None: it points at its first copy. Made in a case (`in_case`), the reports carry its log and are recorded
    in it."""
    writer = ResultsWriter(
        Path(out_dir), run_info, trust_anchors=trust_anchors, findings_of=findings_of, views=views
    )
    total = count + 1
    yield Progress(0, total, "writing images")
    for done, (item, outcome, models) in enumerate(outcomes, 1):
        if outcome is not None and outcome.image is not None:
            for name, model in models.items():
                writer.add_model(item, outcome.image, name, model)
        writer.add(item, outcome)
        yield Progress(done, total, "writing images")
    writer.finish()
    yield Progress(count, total, "writing reports")
    case_log = in_case.report_log() if in_case is not None else None
    written, failures = write_reports(Path(out_dir), formats, case, case_log=case_log)
    if in_case is not None:
        for path in written:
            in_case.record_report(path, path.suffix.lstrip("."))
        in_case.record_run(Path(out_dir))
    yield Progress(total, total, "done")
    return written, failures


class EarlierExport(ValueError):
    """The folder holds the outputs of an earlier run or export: they are replaced only when asked."""

    def __init__(self, earlier: EarlierOutputs):
        super().__init__(f"The folder {earlier.path} holds an earlier export ({earlier.names}).")
        self.folder, self.outputs = Path(earlier.path), earlier.outputs


def export_job(
    workspace: Workspace,
    items: list[BatchItem],
    folder: Path,
    formats: list[str],
    case: CaseInfo,
    replace_earlier: bool = False,
    *,
    views: Mapping[str, Mapping[str, Any]] | None = None,
) -> Generator[Progress, None, tuple[list[Path], dict[str, str]]]:
    """Export finished items (analysed, failed or duplicates) with their stored maps at the workspace's
    current thresholds, and the classic instruments' `views` asked (name -> parameters). The outputs of an
    earlier export in the folder are removed first when `replace_earlier`, else refused: two exports are
    never mixed.

    Raises ValueError at once (not when the job runs) when there is nothing to export or the folder cannot
    take it, and EarlierExport when the folder holds an earlier export.
    """
    if not any(item.status == ItemStatus.DONE for item in items):
        raise ValueError("No analysed image in this selection: run the analysis first.")
    evidence = [item.path for item in items]
    try:
        check_output_folder(folder, evidence, replace_earlier)
    except HoldsEvidence as exc:
        raise ValueError(
            f"The folder {folder} holds the evidence ({exc.evidence}): choose one outside it."
        ) from None
    except EarlierOutputs as exc:
        raise EarlierExport(exc) from None
    except OutputError as exc:
        raise ValueError(f"The folder {folder} cannot take the export: {exc.reason}.") from None
    finished = [item for item in items if item.status.finished]
    return _export(workspace, finished, folder, formats, case, evidence, views or {})


def _export(
    workspace: Workspace,
    items: list[BatchItem],
    folder: Path,
    formats: list[str],
    case: CaseInfo,
    evidence: list[str],
    views: Mapping[str, Mapping[str, Any]],
) -> Generator[Progress, None, tuple[list[Path], dict[str, str]]]:
    claim = claim_outputs(folder, evidence, replace=True)  # another export or run into it fails at once
    try:
        return (yield from _export_claimed(workspace, items, folder, formats, case, views))
    finally:
        claim.release()


def _export_claimed(
    workspace: Workspace,
    items: list[BatchItem],
    folder: Path,
    formats: list[str],
    case: CaseInfo,
    views: Mapping[str, Mapping[str, Any]],
) -> Generator[Progress, None, tuple[list[Path], dict[str, str]]]:
    localizers = yield from load_models(workspace, workspace.model_files())
    run_info = workspace.run_description(localizers)

    def outcomes() -> Iterator[tuple[BatchItem, ImageOutcome | None, dict[str, ModelOutcome]]]:
        """One image's maps in memory at a time."""
        written: set[str] = set()
        for item in items:
            if item.status == ItemStatus.ERROR:
                yield item, ImageOutcome(item.path, error=item.reason), {}
                continue
            if item.status == ItemStatus.SKIPPED and item.duplicate_of in written:
                yield item, None, {}
                continue
            results = stored_results(workspace, item.path, localizers)  # a duplicate alone: its own copy
            models = {
                name: ModelOutcome(r.run, r.regions_summary(), r.stability)
                for name, r in results.models.items()
            }
            written.add(item.path)
            yield replace(item, duplicate_of=None), ImageOutcome(item.path, results.image), models

    return (
        yield from export_outcomes(
            outcomes(),
            len(items),
            run_info,
            folder,
            formats,
            case,
            workspace.case,
            workspace.trust_anchors(),
            workspace.store.findings if workspace.store is not None else None,
            views,
        )
    )
