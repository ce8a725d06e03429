"""`dinolizer-gui analyze`: analyse images and folders headless, saving each image as it finishes."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..core.engine.analysis import DEFAULT_MAX_WINDOWS, DEVICE_CHOICES, PRECISION_CHOICES
from .common import (
    EXIT_CANCELLED,
    EXIT_OK,
    EXIT_OUTPUT_FAILED,
    EXIT_SOME_FAILED,
    UsageError,
    add_weights,
    add_weights_dir,
    eta_text,
    say,
    trust_anchors_for,
    weights_by_model,
)


def add_parser(commands) -> None:
    analyze = commands.add_parser("analyze", help="analyse images and folders headless")
    analyze.add_argument(
        "paths", nargs="+", metavar="PATH", help="image files or folders (searched recursively)"
    )
    analyze.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="folder for results.json and images (with a case folder as --case: default CASE/runs/<time>)",
    )
    add_analysis_options(analyze)
    analyze.add_argument("--save-prob", action="store_true", help="also save each probability map as .npy")
    analyze.add_argument(
        "--trust-anchors",
        metavar="DIR",
        help="PEM certificates whose Content Credentials signers you trust (default: the viewer's setting)",
    )
    analyze.add_argument(
        "--stability",
        action="store_true",
        help="also check each map under benign variants (JPEG 90 and 75, a 75%% resize, a window grid "
        "shifted by 64 px): a stability map and a label per region; 3-5 more analyses an image",
    )
    _add_report_options(analyze)
    _add_cluster_options(analyze)


def _add_cluster_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("cluster (needs the [cluster] extra: Ray)")
    group.add_argument(
        "--cluster",
        metavar="ray[://HOST:PORT]",
        help="compute the maps on Ray actors: `ray` joins RAY_ADDRESS's cluster or starts a local one",
    )
    group.add_argument("--actors", type=int, default=0, help="CPU actors (default: one actor per GPU)")
    group.add_argument("--actor-threads", type=int, default=0, help="CPU threads per actor")
    group.add_argument(
        "--ship-images",
        action="store_true",
        help="send each image's bytes to the workers (checked by SHA-256): they need not see the files",
    )
    group.add_argument(
        "--path-map",
        action="append",
        default=[],
        metavar="DRIVER=WORKER",
        help="the workers see files under DRIVER at WORKER (repeatable)",
    )


def _cluster_options(args):
    from ..core.session.cluster import ClusterOptions

    spec = args.cluster
    if spec != "ray" and not spec.startswith("ray://"):
        raise UsageError(f"--cluster {spec!r}: give `ray` or `ray://HOST:PORT`")
    mapping = []
    for pair in args.path_map:
        driver, separator, worker = pair.partition("=")
        if not separator:
            raise UsageError(f"--path-map {pair!r}: give DRIVER=WORKER")
        mapping.append((driver, worker))
    address = "" if spec == "ray" else spec
    return ClusterOptions(address, args.actors, args.actor_threads, args.ship_images, tuple(mapping))


def add_analysis_options(parser: argparse.ArgumentParser) -> None:
    """The options of every command that analyses images: models, device, geometry, store."""
    _add_model_options(parser)
    _add_geometry_options(parser)
    _add_store_options(parser)
    parser.add_argument(
        "--replace",
        action="store_true",
        help="--out may hold an earlier run's outputs: remove them first (only files this app writes)",
    )
    parser.add_argument(
        "--follow-links",
        action="store_true",
        help="follow symbolic links that lead out of a folder given (by default each is listed, unread)",
    )


def _add_model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        action="append",
        dest="models",
        metavar="NAME",
        help="dinolizer, declip or bfree (repeatable; default: every model with weights)",
    )
    add_weights(parser)
    add_weights_dir(parser)
    parser.add_argument(
        "--device",
        choices=DEVICE_CHOICES,
        default="auto",
        help="auto: a CUDA GPU, else Apple's MPS, else the CPU",
    )
    parser.add_argument(
        "--precision",
        choices=PRECISION_CHOICES,
        default="auto",
        help="auto: per model, the fastest precision that keeps its output within its fidelity bar of the "
        "official one (DinoLizer float16 on CUDA, everything else float32); a precision given is used as "
        "asked, with a warning where it moves a model beyond its bar",
    )


def _add_geometry_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--threshold", type=float, metavar="T", help="pixel threshold for every model (default 0.5)"
    )
    parser.add_argument(
        "--stride", type=int, default=128, metavar="N", help="DinoLizer window stride (official 128)"
    )
    parser.add_argument("--batch-size", type=int, default=0, metavar="N", help="windows per forward pass")
    parser.add_argument(
        "--declip-mode",
        choices=("whole", "sliding"),
        default="whole",
        help="whole: official resize to 224; sliding: non-official 224 px windows",
    )
    parser.add_argument("--declip-stride", type=int, default=112, metavar="N")
    parser.add_argument("--max-pixels", type=int, metavar="N", help="decompression-bomb limit in pixels")
    parser.add_argument(
        "--max-windows",
        type=int,
        default=DEFAULT_MAX_WINDOWS,
        metavar="N",
        help=f"refuse an image that needs more windows than this (default {DEFAULT_MAX_WINDOWS:,})",
    )


def _add_store_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store", type=Path, metavar="DIR", help="results store folder (default: user data folder)"
    )
    parser.add_argument("--no-cache", action="store_true", help="neither read nor write the results store")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")


def _add_report_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--report",
        action="append",
        default=[],
        choices=("pdf", "json", "html"),
        help="also write DIR/report.FORMAT (repeatable)",
    )
    parser.add_argument(
        "--case",
        default="",
        metavar="DIR|TEXT",
        help="a case folder (made by `case new`): the images join its evidence, each analysis goes in its "
        "log, the results in it; else the case number printed on the reports",
    )
    parser.add_argument(
        "--analyst", default=None, metavar="NAME", help="analyst (default: the saved setting)"
    )
    parser.add_argument("--organisation", default=None, metavar="NAME", help="organisation (default: saved)")
    parser.add_argument("--notes", default="", metavar="TEXT", help="free notes for the report's cover")


def _options(args):
    from ..core.engine.analysis import AnalysisOptions

    if not 0 < args.stride <= 504 or not 0 < args.declip_stride <= 224 or args.batch_size < 0:
        raise UsageError(
            "--stride must lie in 1..504 and --declip-stride in 1..224 (a stride wider than the window "
            "leaves pixels unanalysed); --batch-size must not be negative"
        )
    if args.threshold is not None and not 0.0 <= args.threshold <= 1.0:
        raise UsageError("--threshold must lie between 0 and 1")
    if args.max_pixels is not None and args.max_pixels < 1:
        raise UsageError("--max-pixels must be a positive number of pixels")
    if args.max_windows < 1:
        raise UsageError("--max-windows must be at least 1")
    return AnalysisOptions(
        device=args.device,
        precision=args.precision,
        stride=args.stride,
        batch_size=args.batch_size,
        declip_mode=args.declip_mode,
        declip_stride=args.declip_stride,
        max_windows=args.max_windows,
    )


def _check_out(args) -> None:
    """--out must be a writable folder that does not hold the evidence, that no other run writes into now,
    and that holds no earlier run's outputs unless --replace (checked before models load). The folder's lock
    is kept on `args` for as long as the command runs."""
    import tempfile

    from ..core.errors import OutputError
    from ..core.io.outputs import (
        OutputFolderBusy,
        claim_output_folder,
        contains,
        make_folder,
        previous_outputs,
        remove_outputs,
    )

    out, inputs = args.out, args.paths

    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file, not a folder")
    if clash := next((path for path in inputs if contains(out, path)), None):
        raise UsageError(f"--out {out} holds the input {clash}: outputs must not be mixed with the evidence")
    try:
        make_folder(out)
        with tempfile.TemporaryFile(dir=out):
            pass
    except (OutputError, OSError) as exc:
        reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or exc
        raise UsageError(f"cannot write in --out {out}: {reason}") from None
    try:
        args.out_lock = claim_output_folder(out)
        earlier = previous_outputs(out)
        if earlier and not args.replace:
            names = ", ".join(entry.name for entry in earlier[:4]) + (", …" if len(earlier) > 4 else "")
            raise UsageError(
                f"--out {out} holds an earlier run's outputs ({names}): give --replace to remove them first, "
                "or another --out (outputs of two runs are never mixed)"
            )
        for kept in remove_outputs(out) if earlier else []:
            say(f"warning: --replace left {kept} in place: this app did not write it")
    except OutputFolderBusy:
        raise UsageError(
            f"another run is writing into --out {out} now: wait for it, or choose another --out"
        ) from None
    except OutputError as exc:
        raise UsageError(f"cannot use --out {out}: {exc.reason}") from None


def workspace_for(args):
    """The session's workspace: options, weights given or installed, results store (none with --no-cache)."""
    from ..core.errors import OutputError
    from ..core.session.settings import Settings
    from ..core.session.workspace import Workspace
    from ..core.store.results import ResultStore

    options = _options(args)
    _check_out(args)
    try:
        store = None if args.no_cache else ResultStore(args.store)
    except OutputError as exc:
        raise UsageError(
            f"cannot use the results store: {exc} (give --store DIR for another one, or --no-cache to run "
            "without one)"
        ) from None
    workspace = Workspace(
        Settings(max_pixels=args.max_pixels or 0),
        weights_override=args.weights_dir,
        store=store,
        options_override=options,
    )
    for name, files in weights_by_model(args.weights).items():
        workspace.set_model_files(name, files)
    return workspace


def load_localizers(workspace, models: list[str] | None) -> list:
    """The localizers to run: those named, else every model with weights; usage errors say what is missing."""
    from ..core.models.layouts import CheckpointError
    from ..core.models.registry import REGISTRY

    for name in models or []:
        if name not in REGISTRY:
            raise UsageError(f"unknown model {name!r}; known: {', '.join(REGISTRY)}")
    folder = workspace.weights_folder()
    names = list(dict.fromkeys(models or workspace.model_files()))
    if not names:
        raise UsageError(
            "no model has weights: give --weights NAME=FILE or install them (`dinolizer-gui models`) "
            f"into {folder}"
        )
    files = workspace.model_files(names)
    for name in names:
        if name not in files:
            raise UsageError(
                f"model {name} has no weights: it needs {REGISTRY[name].needs}; give --weights "
                f"{name}=FILE or install them into {folder}"
            )
    localizers = []
    for name, paths in files.items():
        try:
            localizers.append(workspace.model(name, paths))
        except CheckpointError as exc:
            raise UsageError(f"cannot load {name}: {exc}") from None
    return localizers


def run(args: argparse.Namespace) -> int:
    from ..core.engine.device import release_freed_memory
    from ..core.report.results_folder import ResultsWriter
    from ..core.session.batch import make_items
    from ..core.session.case import record_analyses

    if args.stability and args.cluster:
        raise UsageError("--stability runs on this machine only: not with --cluster (yet)")
    case = _open_case(args)
    workspace = workspace_for(args)
    localizers = load_localizers(workspace, args.models)
    runtimes = workspace.runtimes([loc.name for loc in localizers])
    device = next(iter(runtimes.values()))
    if args.device in ("cuda", "mps") and device.note:
        say(f"warning: --device {args.device}: {device.note}; the models run on the CPU")
    for runtime in runtimes.values():
        if runtime.warning:
            say(f"warning: --precision {args.precision}: {runtime.warning}")
    items = make_items(args.paths, args.follow_links)
    if not items:
        raise UsageError("no images found in the given paths")
    workspace.use_thresholds(args.threshold)
    cluster = _start_cluster(args, localizers, workspace) if args.cluster else None
    if cluster is not None:  # the outputs name the device the actors compute on
        runtimes = cluster.runtimes
    run_info = workspace.run_description(localizers, runtimes)
    positions = {item.path: number for number, item in enumerate(items, 1)}  # a cluster finishes out of order
    anchors = trust_anchors_for(args)
    writer = ResultsWriter(
        args.out, run_info, save_probability=args.save_prob, positions=positions, trust_anchors=anchors
    )

    def record(item, outcome) -> None:
        """An image's entry, and its analyses in the case's log."""
        writer.add(item, outcome)
        if case is not None and outcome is not None and outcome.ok and outcome.image is not None:
            record_analyses(case, item, outcome.image.sha256, localizers, runtimes, workspace.options())

    def finished(item, outcome) -> None:
        record(item, outcome)
        release_freed_memory()
        if not args.quiet:
            say(f"[{positions[item.path]}/{len(items)}] {item.path}: {_item_line(item)}")

    try:
        if cluster is not None:
            if (cancelled := _run_on_cluster(args, items, cluster, writer, record)) is not None:
                return cancelled
        else:
            _run_here(args, workspace, localizers, items, finished, writer)
    finally:
        writer.finish()  # results.json whole, however the run ends (results.jsonl has every image already)
    return _ending(args, items, case)


def _open_case(args):
    """The case folder given as --case (None when --case is a case number, or absent): its evidence gets the
    inputs, its store and its runs folder are used. A --case that names a folder which is not a case, or
    looks like a path, is an error rather than a case number."""
    from ..core.session.case import CASE_FILE, Case

    given = args.case
    looks_like_path = bool(given) and (os.sep in given or "/" in given or Path(given).is_dir())
    if not looks_like_path:
        args.case_number = given
        if args.out is None:
            raise UsageError("--out DIR is required (or --case CASE_DIR, whose runs folder is then used)")
        return None
    if not (Path(given) / CASE_FILE).is_file():
        raise UsageError(
            f"--case {given}: not a case folder (no {CASE_FILE}); make one with `dinolizer-gui case new`"
        )
    if args.no_cache or (args.store is not None):
        raise UsageError("--case keeps its results in the case's own store: drop --store and --no-cache")
    case = Case.open(Path(given), _analyst(args))
    if case.read_only:
        why = "; ".join(case.warnings) or "read-only media?"
        raise UsageError(f"--case {given}: the case cannot be written ({why}): open it in the viewer")
    for warning in case.warnings:
        say(f"warning: case {warning}")
    for state in case.evidence_states():
        if state.state != "intact":
            say(f"warning: case evidence {state.describe()}")
    args.case_number = case.number
    args.store = case.folder / "store"
    args.out = args.out or case.new_run_folder()
    listing = case.add_evidence(args.paths)
    for path, reason in listing.refused:
        say(f"warning: not listed as case evidence: {path}: {reason}")
    say(f"case {case.title}: {len(listing.added)} evidence file(s) added; results in {args.out}")
    return case


def _run_here(args, workspace, localizers, items, finished, writer) -> None:
    from ..core.progress import run_to_end

    runner = workspace.batch_runner(localizers, stability=args.stability)
    # a window counter redrawn in place: in a log file it would be one endless line
    windows = not args.quiet and sys.stderr.isatty()
    stages: set[tuple[int, str, str]] = set()

    def progress(event) -> None:
        stage = (event.index, event.model, event.variant)
        if event.stage == "stability" and not args.quiet and event.variant and stage not in stages:
            stages.add(stage)
            say(f"  {event.model} stability: {event.variant}")
        if windows:
            _print_windows(event)

    run_to_end(runner.run(items, on_image=finished, on_model=writer.add_model), progress)


def _ending(args, items, case) -> int:
    from ..core.session.batch import ItemStatus

    failures = sum(1 for item in items if item.status == ItemStatus.ERROR)
    say(f"{len(items) - failures} of {len(items)} images analysed; results in {args.out / 'results.json'}")
    reported = not args.report or _write_reports(args, case)
    if case is not None:
        case.record_run(args.out)  # every file of the run vouched for by the case's log
    if not reported:
        return EXIT_OUTPUT_FAILED
    return EXIT_SOME_FAILED if failures else EXIT_OK


def _start_cluster(args, localizers, workspace):
    """Ray actors holding the models (a usage error when Ray or the actors cannot be had)."""
    from ..core.session.cluster import ClusterError, ClusterRunner

    options = _cluster_options(args)
    try:
        runner = ClusterRunner(
            localizers,
            workspace.options(),
            workspace.store,
            workspace.thresholds,
            workspace.max_pixels(),
            options,
        )
    except ClusterError as exc:
        raise UsageError(str(exc)) from None
    if not args.quiet:
        device = next(iter(runner.runtimes.values()))
        say(f"cluster: {runner.stats.actors} actor(s) on {device.description}")
    return runner


def _run_on_cluster(args, items, runner, writer, record) -> int | None:
    """The maps are computed by Ray actors; this process reads and writes everything, as a local run does.
    Returns the exit status of a cancelled run (None when it ran to the end)."""
    import time

    started, done = time.monotonic(), 0

    def finished(item, outcome) -> None:
        nonlocal done
        record(item, outcome)
        done += 1
        if not args.quiet:
            rate = done / max(time.monotonic() - started, 1e-6) * 3600
            say(
                f"[{done}/{len(items)}] {item.path}: {_item_line(item)} — {rate:.0f} images/h "
                f"{eta_text(started, done, len(items))}".rstrip()
            )

    try:
        for _ in runner.run(items, on_image=finished, on_model=writer.add_model):
            pass
    except KeyboardInterrupt:
        say(f"cancelled: the {done} images finished are kept; run again to go on from the results store")
        return EXIT_CANCELLED
    finally:
        runner.close()
    if runner.stats.lost and not args.quiet:
        say(
            f"cluster: {len(runner.stats.lost)} actor(s) lost — {'; '.join(runner.stats.lost)} — "
            f"{runner.stats.replaced} replaced; their images went to the other actors"
        )
    return None


def _item_line(item) -> str:
    scores = "  ".join(
        f"{name} {m.score:.3f}{' FLAGGED' if m.flagged else ''}{' (stored)' if m.cached else ''}"
        for name, m in item.models.items()
    )
    detail = f"{str(item.status).upper()}: {item.reason}" if item.reason else str(item.status)
    return f"{detail}  {scores}".rstrip()


def _analyst(args) -> str:
    from ..core.session.settings import load_settings

    return load_settings().analyst if args.analyst is None else args.analyst


def _write_reports(args, case) -> bool:
    """Write each report format asked; one that fails never stops the others (each written is recorded in the
    case's log). True when all were written."""
    from ..core.report.content import CaseInfo, write_reports
    from ..core.session.settings import load_settings

    settings = load_settings()
    organisation = settings.organisation if args.organisation is None else args.organisation
    info = CaseInfo(args.case_number, _analyst(args), organisation, args.notes)
    case_log = case.report_log() if case is not None else None
    written, failures = write_reports(args.out, args.report, info, case_log=case_log)
    for path in written:
        if case is not None:
            case.record_report(path, path.suffix.lstrip("."))
        say(f"report written: {path}")
    for fmt, reason in failures.items():
        say(f"dinolizer-gui: error: the {fmt.upper()} report could not be written: {reason}")
    return not failures


def _print_windows(progress) -> None:
    if progress.stage in ("model", "stability") and progress.windows_total > 1:
        print(
            f"\r  {progress.model}: windows {progress.windows_done}/{progress.windows_total}",
            end="",
            file=sys.stderr,
        )
        if progress.windows_done == progress.windows_total:
            print(file=sys.stderr)
