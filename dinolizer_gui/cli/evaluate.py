"""`dinolizer-gui evaluate`: measure the models on a folder of images with ground-truth masks."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import TYPE_CHECKING

from .common import EXIT_OK, EXIT_OUTPUT_FAILED, EXIT_SOME_FAILED, UsageError, eta_text, say
from .options import add_analysis_options, analysis_request

if TYPE_CHECKING:
    from ..core.session.batch import BatchItem
    from ..core.session.model_handle import ModelHandle
    from ..core.session.workspace import Workspace


def add_parser(commands) -> None:
    evaluate = commands.add_parser("evaluate", help="measure the models against ground-truth masks")
    evaluate.add_argument(
        "images", type=Path, metavar="IMAGES", help="folder of images (searched recursively)"
    )
    evaluate.add_argument(
        "--masks", required=True, type=Path, metavar="MASKS", help="folder of masks, laid out as IMAGES"
    )
    evaluate.add_argument(
        "--out", required=True, type=Path, metavar="DIR", help="folder for evaluation.json, .csv and plots"
    )
    evaluate.add_argument(
        "--invert-masks", action="store_true", help="white means authentic in the masks (e.g. Dolos)"
    )
    add_analysis_options(evaluate)
    evaluate.add_argument(
        "--report",
        action="append",
        default=[],
        choices=("pdf", "html"),
        help="also write DIR/evaluation.FORMAT",
    )


def run(args: argparse.Namespace) -> int:
    from ..core.io.outputs import contains
    from ..core.session.analysis_request import claim_out, load_models, open_workspace
    from ..core.session.batch import make_items

    if not args.images.exists():
        raise UsageError(f"IMAGES {args.images} does not exist")
    if not args.masks.is_dir():
        raise UsageError(f"--masks {args.masks} is not a folder")
    if args.masks.resolve() == args.images.resolve():
        raise UsageError(
            f"--masks {args.masks} is the images folder itself: give the masks their own folder (a masks/ "
            "folder inside IMAGES is never taken for images)"
        )
    request = analysis_request(args, [args.images, args.masks])  # --out may hold neither
    claim = claim_out(args.out, request.inputs, args.replace, say)
    try:
        workspace = open_workspace(request)
        models = load_models(workspace, request.models)
        items = [
            item
            for item in make_items([args.images], args.follow_links)
            if not contains(args.masks, item.path)
        ]
        if not items:
            raise UsageError(f"no images found in {args.images}")
        workspace.use_thresholds(args.threshold)
        return _evaluate(args, workspace, models, items)
    finally:
        claim.release()


def _evaluate(
    args: argparse.Namespace, workspace: Workspace, models: list[ModelHandle], items: list[BatchItem]
) -> int:
    from ..core.evaluation.evaluator import EvaluatedModel
    from ..core.evaluation.ground_truth import READ_AS
    from ..core.models.registry import REGISTRY
    from ..core.progress import run_to_end
    from ..core.session.batch import ItemStatus
    from ..core.session.evaluation_run import Evaluation

    evaluated = [
        EvaluatedModel(
            m.name,
            REGISTRY[m.name].produces_map,
            workspace.thresholds.of(m.name) if REGISTRY[m.name].produces_map else None,
            m.score_threshold,
            m.score_threshold_source,
        )
        for m in models
    ]
    run_info = workspace.run_description(models)
    evaluation = Evaluation(evaluated, args.images, args.masks, args.out, run_info, args.invert_masks)
    evaluation.pair(items)
    for item in items:
        if item.status == ItemStatus.ERROR:
            say(f"{item.path}: error ({item.reason})")
    started, done = time.monotonic(), sum(1 for item in items if item.status.finished)

    def finished(item, outcome) -> None:
        nonlocal done
        entry = evaluation.on_image(item, outcome)  # its evaluation's status: an unreadable mask is an error
        done += 1
        if not args.quiet:
            reason = f" ({entry['error']})" if entry["error"] else ""
            eta = eta_text(started, done, len(items))
            say(f"[{done}/{len(items)}] {item.path}: {entry['status']}{reason}  {eta}".rstrip())
        for warning in entry["warnings"]:
            if not warning.startswith(READ_AS):
                say(f"warning: {item.path}: {warning}")

    runner = workspace.batch_runner(models)
    run_to_end(runner.run(items, on_image=finished, on_model=evaluation.on_model))
    document = evaluation.finish()
    for line in table(document).splitlines():
        say(line)
    failures = sum(1 for entry in document["images"] if entry["status"] == "error")
    say(
        f"{len(items) - failures} of {len(items)} images evaluated; results in {args.out / 'evaluation.json'}"
    )
    if args.report and not _write_reports(args.out, args.report):
        return EXIT_OUTPUT_FAILED
    return EXIT_SOME_FAILED if failures or any(i.status == ItemStatus.ERROR for i in items) else EXIT_OK


def table(document: dict) -> str:
    """The models side by side, as the evaluation report's summary table in fixed-width text."""
    from ..core.report.evaluation_report import summary_rows

    rows = summary_rows(document)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows
    )


def _write_reports(out: Path, formats: list[str]) -> bool:
    from ..core.report.evaluation_report import write_evaluation_reports

    written, failures = write_evaluation_reports(out, formats)
    for path in written:
        say(f"report written: {path}")
    for fmt, reason in failures.items():
        say(f"dinolizer-gui: error: the {fmt.upper()} evaluation report could not be written: {reason}")
    return not failures
