"""`dinolizer-gui models ...`: the model manager from a terminal."""

from __future__ import annotations

import sys

from .cli import EXIT_OK, EXIT_SOME_FAILED, UsageError
from .core.analysis import now_iso
from .core.inference import run_to_end
from .core.models import manager
from .core.models.store import active_choices, load_manifest, weights_dir


def run_models(args) -> int:
    folder = weights_dir(args.weights_dir)
    try:
        return ACTIONS[args.action](args, folder)
    except manager.ModelManagerError as exc:
        raise UsageError(str(exc)) from None


def _list(args, folder, check_hashes=False) -> int:
    active = active_choices(folder).get("declip", "cocosd")
    print(f"weights folder: {folder}")
    for row in manager.status(folder, check_hashes=check_hashes):
        entry = row.entry
        marks = " (active DeCLIP)" if entry.training_set == active and entry.role == "checkpoint" else ""
        support = "" if entry.supported else f"  [not loadable: {entry.unsupported_reason}]"
        print(f"{row.state:10} {entry.id:28} {entry.file}{marks}  trained on: {entry.domain}{support}")
        if row.detail:
            print(f"{'':10} {row.detail}")
    return EXIT_OK


def _verify(args, folder) -> int:
    rows = manager.status(folder, check_hashes=True)
    _list(args, folder, check_hashes=True)
    return EXIT_SOME_FAILED if any(row.state == "corrupt" for row in rows) else EXIT_OK


def _download(args, folder) -> int:
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


def _import(args, folder) -> int:
    target = manager.import_file(args.file, folder, as_entry=args.as_entry)
    row = next(r for r in manager.status(folder) if r.path == target)
    print(f"installed {target} ({row.state}; SHA-256 {row.sha256})", file=sys.stderr)
    if row.detail:
        print(f"warning: {row.detail}", file=sys.stderr)
    return EXIT_OK


def _remove(args, folder) -> int:
    entry = manager.find_entry(args.name)
    print(("removed " if manager.remove(entry, folder) else "not installed: ") + entry.file, file=sys.stderr)
    return EXIT_OK


def _activate(args, folder) -> int:
    manager.set_active_declip(args.training_set, folder, load_manifest())
    print(f"DeCLIP now uses the {args.training_set} checkpoint", file=sys.stderr)
    return EXIT_OK


ACTIONS = {"list": _list, "verify": _verify, "download": _download, "import": _import, "remove": _remove,
           "activate": _activate}
