"""What every command shares: exit codes, usage errors, the parser class, the weights options."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_OK, EXIT_USAGE, EXIT_SOME_FAILED, EXIT_OUTPUT_FAILED = 0, 2, 3, 4
EXIT_CANCELLED = 130  # Ctrl+C, as shells report it


class UsageError(Exception):
    """A mistake in how the command was called: one line on stderr, exit status 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str):  # usage errors exit 2 without a traceback
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def say(text: str, end: str = "\n") -> None:
    """A line on stderr, with control characters escaped (file names may hold terminal escapes)."""
    from ..core.io.names import for_terminal

    print(for_terminal(text), end=end, file=sys.stderr)


def examiner(args: argparse.Namespace) -> str:
    """The examiner a command records: --examiner, else the analyst named in the settings."""
    from ..core.session.settings import load_settings

    return args.examiner if args.examiner is not None else load_settings().analyst


def open_case(folder: Path, examiner: str, writable: bool = False):
    """A case opened for an examiner; UsageError when it must be written and cannot be (a log with a
    break, read-only media)."""
    from ..core.session.case import Case

    case = Case.open(folder, examiner)
    if writable and case.read_only:
        why = "; ".join(case.warnings) or "read-only media?"
        raise UsageError(f"{folder}: the case cannot be written ({why})")
    for warning in case.log.set_aside:
        say(f"warning: {folder}: {warning}")
    return case


def eta_text(started: float, done: int, total: int) -> str:
    """'ETA 3 min 20 s' from the pace so far (`started` from time.monotonic()); empty before the first."""
    import time

    if not done or done >= total:
        return ""
    left = round((time.monotonic() - started) / done * (total - done))
    minutes, seconds = divmod(left, 60)
    return f"ETA {minutes} min {seconds:02d} s" if minutes else f"ETA {seconds} s"


def add_weights_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--weights-dir", type=Path, metavar="DIR", help="folder of installed weights")


def add_weights(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--weights",
        action="append",
        default=[],
        metavar="NAME=FILE",
        help="checkpoint file for a model (repeatable; a model may take several files)",
    )


def weights_by_model(specs: list[str]) -> dict[str, list[Path]]:
    """`--weights NAME=FILE` options as files per model."""
    from ..core.models.registry import REGISTRY

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


def trust_anchors_for(args) -> str:
    """The user's own PEM trust anchors for Content Credentials (added to the C2PA trust list shipped with
    the app): --trust-anchors, else the viewer's setting. A folder named on the command line must be there;
    a saved one that has gone is said, and the run goes on with the C2PA trust list alone."""
    from ..core.io.provenance.trust_list import missing_anchor_folder, trust_anchors
    from ..core.session.settings import load_settings

    if args.trust_anchors:
        if not Path(args.trust_anchors).is_dir():
            raise UsageError(f"--trust-anchors {args.trust_anchors}: no such folder")
        return trust_anchors(args.trust_anchors)
    folder = load_settings().trust_anchors
    if warning := missing_anchor_folder(folder):
        say(f"warning: {warning}")
    return trust_anchors(folder)
