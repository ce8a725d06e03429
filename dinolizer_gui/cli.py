"""Headless commands: `analyze` (and, with no command, the GUI)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_OK, EXIT_USAGE, EXIT_SOME_FAILED = 0, 2, 3


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # usage errors exit 2 without a traceback
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="dinolizer-gui", description="Localise generative-inpainting edits (DinoLizer, DeCLIP). "
                                                       "With no command, opens the viewer.")
    commands = parser.add_subparsers(dest="command", parser_class=_Parser)
    analyze = commands.add_parser("analyze", help="analyse images and folders headless")
    analyze.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders (searched recursively)")
    analyze.add_argument("--out", required=True, type=Path, metavar="DIR", help="folder for results.json and images")
    analyze.add_argument("--model", action="append", dest="models", metavar="NAME",
                         help="dinolizer or declip (repeatable; default: every model with weights)")
    analyze.add_argument("--weights", action="append", default=[], metavar="NAME=FILE",
                         help="checkpoint file for a model (repeatable; a model may take several files)")
    analyze.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    analyze.add_argument("--precision", choices=("auto", "float16", "bfloat16", "float32"), default="auto",
                         help="CUDA compute precision (default float16, as the official pipeline)")
    analyze.add_argument("--threshold", type=float, metavar="T", help="pixel threshold for every model (default 0.5)")
    analyze.add_argument("--stride", type=int, default=128, metavar="N", help="DinoLizer window stride (official 128)")
    analyze.add_argument("--batch-size", type=int, default=0, metavar="N", help="windows per forward pass")
    analyze.add_argument("--declip-mode", choices=("whole", "sliding"), default="whole",
                         help="whole: official resize to 224; sliding: non-official 224 px windows")
    analyze.add_argument("--declip-stride", type=int, default=112, metavar="N")
    analyze.add_argument("--max-pixels", type=int, metavar="N", help="decompression-bomb limit in pixels")
    analyze.add_argument("--weights-dir", type=Path, metavar="DIR", help="folder of installed weights")
    analyze.add_argument("--save-prob", action="store_true", help="also save each probability map as .npy")
    analyze.add_argument("--store", type=Path, metavar="DIR", help="results store folder (default: user data folder)")
    analyze.add_argument("--no-cache", action="store_true", help="neither read nor write the results store")
    analyze.add_argument("--quiet", action="store_true", help="no progress on stderr")
    analyze.add_argument("--report", action="append", default=[], choices=("pdf", "json", "html"),
                         help="also write DIR/report.FORMAT (repeatable)")
    analyze.add_argument("--case", default="", metavar="TEXT", help="case number for the report")
    analyze.add_argument("--analyst", default=None, metavar="NAME", help="analyst (default: the saved setting)")
    analyze.add_argument("--organisation", default=None, metavar="NAME", help="organisation (default: saved)")
    analyze.add_argument("--notes", default="", metavar="TEXT", help="free notes for the report's cover")

    models = commands.add_parser("models", help="list, download, import, verify or remove model weights")
    models.add_argument("--weights-dir", type=Path, metavar="DIR", help="folder of installed weights")
    actions = models.add_subparsers(dest="action", required=True, parser_class=_Parser)
    actions.add_parser("list", help="every known checkpoint and its state")
    get = actions.add_parser("download", help="download, verify and install a checkpoint")
    get.add_argument("name", help="checkpoint id or file name (see `models list`)")
    get.add_argument("--url", help="download from this mirror instead of the manifest's URL")
    get.add_argument("--accept-licence", action="store_true", help="accept the licence without asking")
    imported = actions.add_parser("import", help="install a checkpoint or the B-Free zip from disk")
    imported.add_argument("file", type=Path)
    imported.add_argument("--as", dest="as_entry", metavar="ID", help="which checkpoint it is, when the name does not say")
    actions.add_parser("verify", help="recompute the SHA-256 of every installed file")
    removed = actions.add_parser("remove", help="delete an installed checkpoint")
    removed.add_argument("name")
    activate = actions.add_parser("activate", help="choose which DeCLIP training set is used")
    activate.add_argument("training_set", help="cocosd, pluralistic, lama, repaint-p2-9k or ldm")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in ("analyze", "models", "-h", "--help"):
        from .ui.app import run_gui  # no command, or image paths: the viewer

        return run_gui(args_paths=argv)
    args = build_parser().parse_args(argv)
    try:
        if args.command == "models":
            from .models_cli import run_models

            return run_models(args)
        return run_analyze(args)
    except UsageError as exc:
        print(f"dinolizer-gui: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _weights_by_model(specs: list[str]) -> dict[str, list[Path]]:
    from .core.models.registry import REGISTRY

    files: dict[str, list[Path]] = {}
    for spec in specs:
        name, sep, file = spec.partition("=")
        if not sep or not file:
            raise UsageError(f"--weights takes NAME=FILE, got {spec!r}")
        if name not in REGISTRY:
            raise UsageError(f"--weights names unknown model {name!r}; known: {', '.join(REGISTRY)}")
        if not Path(file).is_file():
            raise UsageError(f"weights file for {name} not found: {file}")
        files.setdefault(name, []).append(Path(file))
    return files


def _load_localizers(args) -> list:
    from .core.models.checkpoints import CheckpointError
    from .core.models.registry import REGISTRY, load_localizer
    from .core.models.store import installed_files, weights_dir

    given = _weights_by_model(args.weights)
    folder = weights_dir(args.weights_dir)
    for name in args.models or []:
        if name not in REGISTRY:
            raise UsageError(f"unknown model {name!r}; known: {', '.join(REGISTRY)}")
    names = list(dict.fromkeys(args.models or [n for n in REGISTRY if given.get(n) or installed_files(n, folder)]))
    if not names:
        raise UsageError(f"no model has weights: give --weights NAME=FILE or install them "
                         f"(`dinolizer-gui models`) into {folder}")
    localizers = []
    for name in names:
        files = given.get(name) or installed_files(name, folder)
        if not files:
            raise UsageError(f"model {name} has no weights: it needs {REGISTRY[name].needs}; give --weights "
                             f"{name}=FILE or install them into {folder}")
        try:
            localizers.append(load_localizer(name, files))
        except CheckpointError as exc:
            raise UsageError(f"cannot load {name}: {exc}") from None
    return localizers


def _options(args):
    from .core.inference import AnalysisOptions

    if not 0 < args.stride <= 504 or not 0 < args.declip_stride <= 224 or args.batch_size < 0:
        raise UsageError("--stride must lie in 1..504 and --declip-stride in 1..224 (a stride wider than the window "
                         "leaves pixels unanalysed); --batch-size must not be negative")
    if args.threshold is not None and not 0.0 <= args.threshold <= 1.0:
        raise UsageError("--threshold must lie between 0 and 1")
    return AnalysisOptions(device=args.device, precision=args.precision, stride=args.stride,
                           batch_size=args.batch_size, declip_mode=args.declip_mode, declip_stride=args.declip_stride)


def run_analyze(args) -> int:
    from .core.analysis import ResultsWriter, describe_run
    from .core.batch import BatchItem, BatchRunner, scan_inputs
    from .core.cache import ResultStore
    from .core.device import release_freed_memory
    from .core.inference import run_to_end
    from .core.device import resolve_runtime
    from .core.imageio import DEFAULT_MAX_PIXELS

    options = _options(args)
    localizers = _load_localizers(args)
    paths = scan_inputs(args.paths)
    if not paths:
        raise UsageError("no images found in the given paths")
    runtime = resolve_runtime(options.device, options.precision)
    thresholds = {loc.name: args.threshold if args.threshold is not None else loc.pixel_threshold
                  for loc in localizers}
    max_pixels = args.max_pixels or DEFAULT_MAX_PIXELS
    run_info = describe_run(localizers, options, runtime, thresholds, max_pixels)
    writer = ResultsWriter(args.out, run_info, save_probability=args.save_prob)
    store = None if args.no_cache else ResultStore(args.store)
    items = [BatchItem(str(path)) for path in paths]

    def finished(item: BatchItem, outcome) -> None:
        writer.add(item, outcome)
        release_freed_memory()
        if not args.quiet:
            scores = "  ".join(f"{n} {m.score:.3f}{' FLAGGED' if m.flagged else ''}{' (stored)' if m.cached else ''}"
                               for n, m in item.models.items())
            detail = f"{item.status.upper()}: {item.reason}" if item.reason else item.status
            print(f"[{items.index(item) + 1}/{len(items)}] {item.path}: {detail}  {scores}".rstrip(), file=sys.stderr)

    runner = BatchRunner(localizers, options, store, thresholds, max_pixels)
    progress = None if args.quiet else _progress_printer()
    run_to_end(runner.run(items, on_image=finished, on_model=writer.add_model), progress)
    failures = sum(1 for item in items if item.status == "error")
    print(f"{len(items) - failures} of {len(items)} images analysed; results in {args.out / 'results.json'}",
          file=sys.stderr)
    if args.report:
        _write_reports(args)
    return EXIT_SOME_FAILED if failures else EXIT_OK


def _write_reports(args) -> None:
    from .core.report.document import CaseInfo, write_reports
    from .core.settings import load_settings

    settings = load_settings()
    case = CaseInfo(args.case, settings.analyst if args.analyst is None else args.analyst,
                    settings.organisation if args.organisation is None else args.organisation, args.notes)
    for path in write_reports(args.out, args.report, case):
        print(f"report written: {path}", file=sys.stderr)


def _progress_printer():
    def report(progress) -> None:
        if progress.stage == "model" and progress.windows_total > 1:
            print(f"\r  {progress.model}: windows {progress.windows_done}/{progress.windows_total}", end="",
                  file=sys.stderr)
            if progress.windows_done == progress.windows_total:
                print(file=sys.stderr)
    return report
