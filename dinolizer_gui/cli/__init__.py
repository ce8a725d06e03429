"""The command line: `analyze` and `models` headless, and with no command (or image paths) the viewer."""

from __future__ import annotations

import difflib
import sys
from pathlib import Path

from ..core.errors import OutputError, RequestError
from ..core.store.results import StoreError
from . import analyze, case, evaluate, findings, inspect, models, self_test
from .common import EXIT_OUTPUT_FAILED, EXIT_USAGE, Parser, UsageError, say

COMMANDS = {
    "analyze": analyze,
    "annotations": findings,  # a module named `annotations` would be shadowed by the __future__ import
    "case": case,
    "evaluate": evaluate,
    "inspect": inspect,
    "models": models,
    "self-test": self_test,
}
HELP_FLAGS = ("-h", "--help")


def build_parser() -> Parser:
    parser = Parser(
        prog="dinolizer-gui",
        description="Localise generative-inpainting edits (DinoLizer, DeCLIP). "
        "With no command, or with image files and folders, opens the viewer.",
    )
    commands = parser.add_subparsers(dest="command", parser_class=Parser)
    for command in COMMANDS.values():
        command.add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or (argv[0] not in COMMANDS and argv[0] not in HELP_FLAGS and Path(argv[0]).exists()):
        from ..ui.app import run_gui  # no command, or image paths: the viewer

        return run_gui(args_paths=argv)
    if argv[0] not in COMMANDS and argv[0] not in HELP_FLAGS:
        return _unknown_command(argv[0])
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command].run(args)
    except (UsageError, RequestError) as exc:
        say(f"dinolizer-gui: error: {exc}")
        return EXIT_USAGE
    except StoreError as exc:
        say(f"dinolizer-gui: error: {exc} — give --store DIR for another results store, or --no-cache")
        return EXIT_OUTPUT_FAILED
    except OutputError as exc:
        say(f"dinolizer-gui: error: {exc} — everything finished before it is kept")
        return EXIT_OUTPUT_FAILED


def _unknown_command(word: str) -> int:
    close = difflib.get_close_matches(word, COMMANDS, n=1, cutoff=0.5)
    hint = f"; did you mean `dinolizer-gui {close[0]}`?" if close else f"; commands: {', '.join(COMMANDS)}"
    say(f"dinolizer-gui: error: {word!r} is neither a command nor an existing file or folder{hint}")
    return EXIT_USAGE
