"""`dinolizer-gui models ...`: the model manager from a terminal."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..core.models import manager
from ..core.models.weights_folder import active_choices, active_declip_set, load_manifest, weights_dir
from ..core.progress import run_to_end
from ..core.report.run_record import now_iso
from .common import EXIT_OK, EXIT_SOME_FAILED, Parser, UsageError, add_weights_dir, say


def add_parser(commands) -> None:
    models = commands.add_parser("models", help="list, download, import, verify or remove model weights")
    add_weights_dir(models)
    actions = models.add_subparsers(dest="action", required=True, parser_class=Parser)
    actions.add_parser("list", help="every known checkpoint and its state")
    get = actions.add_parser("download", help="download, verify and install a checkpoint")
    get.add_argument("name", help="checkpoint id or file name (see `models list`)")
    get.add_argument("--url", help="download from this mirror instead of the manifest's URL")
    get.add_argument("--accept-licence", action="store_true", help="accept the licence without asking")
    imported = actions.add_parser("import", help="install a checkpoint or the B-Free zip from disk")
    imported.add_argument("file", type=Path)
    imported.add_argument(
        "--as", dest="as_entry", metavar="ID", help="which checkpoint it is, when the name does not say"
    )
    actions.add_parser("verify", help="recompute the SHA-256 of every installed file")
    removed = actions.add_parser("remove", help="delete an installed checkpoint")
    removed.add_argument("name")
    activate = actions.add_parser("activate", help="choose which DeCLIP training set and variant are used")
    activate.add_argument("training_set", help="cocosd, pluralistic, lama, repaint-p2-9k or ldm")
    activate.add_argument(
        "--variant",
        choices=("vit", "vit+rn50"),
        help="vit: a ViT file alone; vit+rn50: the fusion decoder with RN50.pt and a CLIP ViT-L/14",
    )


def run(args: argparse.Namespace) -> int:
    folder = weights_dir(args.weights_dir)
    try:
        return ACTIONS[args.action](args, folder)
    except manager.ModelManagerError as exc:
        raise UsageError(str(exc)) from None


def _list(args, folder: Path) -> int:
    _print_states(folder, manager.status(folder))
    return EXIT_OK


def _verify(args, folder: Path) -> int:
    rows = manager.status(folder, check_hashes=True, recompute=True)
    _print_states(folder, rows)
    return EXIT_SOME_FAILED if any(row.state == "corrupt" for row in rows) else EXIT_OK


def _print_states(folder: Path, rows: list[manager.EntryStatus]) -> None:
    active = active_declip_set(folder)
    print(f"weights folder: {folder}")
    for row in rows:
        entry = row.entry
        marks = " (active DeCLIP)" if entry.training_set == active and entry.role == "checkpoint" else ""
        support = "" if entry.supported else f"  [not loadable: {entry.unsupported_reason}]"
        print(f"{row.state:10} {entry.id:28} {entry.file}{marks}  trained on: {entry.domain}{support}")
        if row.detail:
            print(f"{'':10} {row.detail}")


def _download(args, folder: Path) -> int:
    entry = manager.find_entry(args.name)
    if not manager.licence_accepted(folder, entry):
        print(f"{entry.title}\nLicence: {entry.licence}", file=sys.stderr)
        if not args.accept_licence:
            if not sys.stdin.isatty():
                raise UsageError("the licence must be accepted: run in a terminal, or add --accept-licence")
            if input("Accept this licence? [y/N] ").strip().lower() not in ("y", "yes"):
                raise UsageError("licence not accepted; nothing downloaded")
        manager.accept_licence(folder, entry, now_iso())
    report = manager.progress_printer(lambda text: print(text, end="", file=sys.stderr))
    target = run_to_end(manager.download(entry, folder, args.url), report)
    print(f"\ninstalled {target} (SHA-256 {manager.expected_sha256(entry, folder)})", file=sys.stderr)
    return EXIT_OK


def _import(args, folder: Path) -> int:
    target = manager.import_file(args.file, folder, as_entry=args.as_entry)
    row = next(r for r in manager.status(folder) if r.path == target)
    print(f"installed {target} ({row.state}; SHA-256 {row.sha256})", file=sys.stderr)
    if row.detail:
        print(f"warning: {row.detail}", file=sys.stderr)
    return EXIT_OK


def _remove(args, folder: Path) -> int:
    entry = manager.find_entry(args.name)
    print(("removed " if manager.remove(entry, folder) else "not installed: ") + entry.file, file=sys.stderr)
    return EXIT_OK


def _activate(args, folder: Path) -> int:
    manager.set_active_declip(args.training_set, folder, load_manifest(), args.variant)
    variant = active_choices(folder).get("declip_variant", "vit")
    say(f"DeCLIP now uses the {args.training_set} checkpoint ({variant})")
    return EXIT_OK


ACTIONS = {
    "list": _list,
    "verify": _verify,
    "download": _download,
    "import": _import,
    "remove": _remove,
    "activate": _activate,
}
