"""`annotations`: the examiner's findings (marks and region decisions) exported, imported, and written as a
ground-truth mask."""

from __future__ import annotations

import argparse
from pathlib import Path

from .common import EXIT_OK, EXIT_SOME_FAILED, UsageError, examiner, open_case, say


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "annotations", help="the examiner's marks and region decisions: export, import, findings mask"
    )
    actions = parser.add_subparsers(dest="action", required=True)
    export = actions.add_parser("export", help="write the findings kept for images (files or folders)")
    export.add_argument("paths", nargs="+", type=Path, metavar="IMAGE|FOLDER")
    export.add_argument("--out", type=Path, required=True, metavar="FILE.json")
    take = actions.add_parser("import", help="take a findings file into the results store (all or nothing)")
    take.add_argument("file", type=Path, metavar="FILE.json")
    mask = actions.add_parser(
        "mask", help="write the union of manipulated marks and confirmed regions as a PNG mask"
    )
    mask.add_argument("image", type=Path, metavar="IMAGE")
    mask.add_argument("--out", type=Path, required=True, metavar="MASK.png")
    for action in (export, mask):
        action.add_argument(
            "--replace", action="store_true", help="replace the file at --out (never an evidence file)"
        )
    for action in (export, take, mask):
        place = action.add_mutually_exclusive_group()
        place.add_argument("--store", type=Path, metavar="DIR", help="results store folder (default: yours)")
        place.add_argument("--case", type=Path, metavar="DIR", help="a case: its store, changes in its log")
        action.add_argument("--examiner", default=None, help="your name, for a case's log")


def run(args: argparse.Namespace) -> int:
    from ..core.errors import PathError
    from ..core.store.findings import FindingsError

    try:
        return ACTIONS[args.action](args)
    except FindingsError as exc:
        raise UsageError(f"{getattr(args, 'file', '')}: {exc}: nothing was imported") from None
    except PathError as exc:  # an output not written, an image not read, a case not opened
        raise UsageError(str(exc)) from None


def _place(args, writable: bool = False):
    """(results store, case or None) the command works on; a case that must be written and cannot be is a
    usage error (nothing is taken into its store unrecorded)."""
    from ..core.session.settings import load_settings
    from ..core.store.results import ResultStore

    if args.case is not None:
        case = open_case(args.case, examiner(args), writable)
        return case.store, case
    settings = load_settings()
    return ResultStore(args.store or (Path(settings.store_dir) if settings.store_dir else None)), None


def _export(args) -> int:
    from ..core.io.outputs import write_json_atomic
    from ..core.session.findings import export_findings, protected_for

    store, case = _place(args)
    done = export_findings(store, args.paths)
    for path, reason in done.problems:
        say(f"not read: {path}: {reason}")
    protected_for(case, done.inputs, done.digests).check(args.out, args.replace)
    write_json_atomic(args.out, done.document, indent=2, ensure_ascii=False)
    marks = sum(len(image["marks"]) for image in done.document["images"])
    say(f"{len(done.document['images'])} image(s) with findings, {marks} mark(s) written to {args.out}")
    return EXIT_SOME_FAILED if done.problems else EXIT_OK


def _import(args) -> int:
    from ..core.session.findings import import_findings, read_interchange
    from ..core.store.findings import FindingsError

    try:
        document = read_interchange(args.file)
    except FindingsError as exc:
        raise UsageError(f"{args.file}: {exc}: nothing was imported") from None
    store, case = _place(args, writable=True)
    taken = import_findings(store, document, case)
    for findings in taken:
        say(f"{findings.sha256[:12]}… {findings.path}: {len(findings.marks)} mark(s), "
            f"{len(findings.decisions)} decision(s)")  # fmt: skip
    say(f"{len(taken)} image(s) imported into {store.folder}")
    return EXIT_OK


def _mask(args) -> int:
    from ..core.io.images import load_image
    from ..core.session.findings import protected_for, write_mask
    from ..core.store.decisions import findings_mask

    store, case = _place(args)
    image = load_image(args.image)
    findings = store.findings(image.sha256)
    models = {decision.model for decision in findings.decisions if decision.decision == "confirmed"}
    maps = {model: store.maps_of(image.sha256, model) for model in models}
    mask, missing = findings_mask(findings, (image.width, image.height), maps)
    write_mask(args.out, mask, args.replace, protected_for(case, [args.image], {image.sha256}))
    for decision in missing:
        say(
            f"warning: confirmed {decision.model} region {decision.region} (at {decision.threshold}): no map "
            "in the store has that region's pixels: left out of the mask"
        )
    say(f"findings mask written: {args.out} ({int(mask.sum()):,} pixels)")
    return EXIT_SOME_FAILED if missing else EXIT_OK


ACTIONS = {"export": _export, "import": _import, "mask": _mask}
