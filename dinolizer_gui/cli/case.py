"""`case`: create a case, verify a case or a package, print its log, export its package."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .common import EXIT_OK, UsageError, examiner, open_case, say

EXIT_BROKEN = 1


def add_parser(commands) -> None:
    case = commands.add_parser("case", help="cases: a folder with evidence, results and a tamper-evident log")
    actions = case.add_subparsers(dest="action", required=True)
    new = actions.add_parser("new", help="create a case in a new (or empty) folder")
    new.add_argument("folder", type=Path, metavar="DIR")
    new.add_argument("--title", required=True)
    new.add_argument("--number", default="")
    new.add_argument("--examiner", default=None, help="your name (default: the analyst saved in the viewer)")
    new.add_argument("--notes", default="")
    add = actions.add_parser("add", help="list images (files or folders) as the case's evidence")
    add.add_argument("folder", type=Path, metavar="DIR")
    add.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    add.add_argument("--copy", action="store_true", help="also copy each into the case (the copy is checked)")
    add.add_argument("--examiner", default=None)
    remove = actions.add_parser("remove", help="take a file off the evidence list (logged, with the reason)")
    remove.add_argument("folder", type=Path, metavar="DIR")
    remove.add_argument("path", metavar="PATH", help="the path as it was given when added")
    remove.add_argument("--reason", required=True)
    remove.add_argument("--examiner", default=None)
    verify = actions.add_parser(
        "verify", help="check a case's log, evidence and reports (exit 0 when intact)"
    )
    verify.add_argument("target", type=Path, metavar="DIR|PACKAGE.zip")
    verify.add_argument(
        "--evidence",
        type=Path,
        metavar="DIR",
        help="check the evidence files in this folder (by name), as well as wherever else they are found",
    )
    verify.add_argument(
        "--expect-head",
        metavar="SEQ:HASH",
        help="a head printed by an earlier verify (or in a report): the log must still hold it",
    )
    log = actions.add_parser("log", help="print a case's audit log")
    log.add_argument("folder", type=Path, metavar="DIR")
    log.add_argument("--json", action="store_true", help="the entries as they are stored, one per line")
    export = actions.add_parser("export", help="write the case's package (zip with MANIFEST.sha256)")
    export.add_argument("folder", type=Path, metavar="DIR")
    export.add_argument("--out", type=Path, required=True, metavar="FILE.zip")
    export.add_argument("--replace", action="store_true", help="replace FILE.zip if it exists")
    export.add_argument("--examiner", default=None)
    repair = actions.add_parser(
        "repair",
        help="record that you saw the log's breaks (after which the case is written again; it never "
        "verifies intact again)",
    )
    repair.add_argument("folder", type=Path, metavar="DIR")
    repair.add_argument("--reason", required=True, help="what happened to the log")
    repair.add_argument("--examiner", default=None)


def run(args: argparse.Namespace) -> int:
    from ..core.errors import OutputError
    from ..core.io.regular import NotRegular
    from ..core.session.case_entries import CaseError

    try:
        return ACTIONS[args.action](args)
    except (CaseError, NotRegular) as exc:
        raise UsageError(str(exc)) from None
    except OutputError as exc:  # a log that refuses more entries, a disk full
        say(f"error: {exc}")
        return EXIT_BROKEN


def _new(args) -> int:
    from ..core.session.case import Case

    case = Case.create(args.folder, args.title, args.number, examiner(args), args.notes)
    say(f"case created: {case.folder} — {case.title}")
    return EXIT_OK


def _writable_case(args):
    return open_case(args.folder, examiner(args), writable=True)


def _add(args) -> int:
    listing = _writable_case(args).add_evidence(args.paths, copies=args.copy, every_file=True)
    for item in listing.added:
        copy = f" (copied to {item.copy})" if item.copy else ""
        say(f"evidence added: {item.path} SHA-256 {item.sha256}{copy}")
    for path, reason in listing.refused:
        say(f"not listed: {path}: {reason}")
    if listing.in_case:
        say(f"{listing.in_case} file(s) inside the case folder itself left out (its copies and outputs)")
    say(
        f"{len(listing.added)} file(s) added (files already listed with the same content are left as they "
        f"are), {len(listing.refused)} not listed"
    )
    return EXIT_BROKEN if listing.refused else EXIT_OK


def _remove(args) -> int:
    if not _writable_case(args).remove_evidence(args.path, args.reason):
        raise UsageError(f"{args.path} is not on the case's evidence list")
    say(f"evidence removed from the list: {args.path} ({args.reason})")
    return EXIT_OK


def _verify(args) -> int:
    from ..core.io.names import for_terminal
    from ..core.session.case_verify import parse_head, verify

    if not args.target.exists() and not args.target.is_symlink():
        raise UsageError(f"{args.target}: no such case folder or package")
    if args.evidence is not None and not args.evidence.is_dir():
        raise UsageError(f"--evidence {args.evidence}: no such folder")
    try:
        anchor = parse_head(args.expect_head) if args.expect_head else None
    except ValueError as exc:
        raise UsageError(f"--expect-head: {exc}") from None
    result = verify(args.target, args.evidence, anchor)
    for line in result.lines():
        print(for_terminal(line))
    return EXIT_OK if result.intact else EXIT_BROKEN


def _log(args) -> int:
    from ..core.io.names import for_terminal
    from ..core.session.case import Case
    from ..core.session.case_entries import entry_summary

    chain = Case.open(args.folder, read_only=True).chain()
    for entry in chain.entries:
        if args.json:
            print(json.dumps(entry, sort_keys=True, ensure_ascii=True))
        else:
            actor = entry["actor"]
            who = f"{actor.get('examiner') or '-'} ({actor.get('user')})"
            line = (
                f"{entry['seq']:>5}  {entry['time']}  {who}  {entry['kind']}  {entry_summary(entry['data'])}"
            )
            print(for_terminal(line))
    if args.json:  # the last line: what the log's checks found, so a saved copy never reads as clean
        state = "broken" if chain.problems else "repaired" if chain.repaired else "intact"
        status = {"log": state, "problems": chain.problems, "repaired": chain.repaired}
        print(json.dumps(status, sort_keys=True, ensure_ascii=True))
    for problem in chain.problems:
        say(f"warning: {problem}")
    for problem in chain.repaired:
        say(f"repaired: {problem}")
    return EXIT_OK if chain.intact else EXIT_BROKEN


def _export(args) -> int:
    from ..core.session.case import Case
    from ..core.session.case_package import export_case

    case = Case.open(args.folder, examiner(args))
    exported = export_case(case, args.out, replace=args.replace)
    for name, reason in exported.left_out:
        say(f"left out: {name}: {reason}")
    for name in exported.outside:
        say(f"outside the case, not packed: {name}")
    where = " (the case is read-only: the export is recorded in the package only)" if case.read_only else ""
    say(f"case package written: {exported.path}, {exported.files} files{where}")
    return EXIT_OK


def _repair(args) -> int:
    from ..core.session.case import Case

    case = Case.open(args.folder, examiner(args))
    entry = case.repair(args.reason)
    for problem in entry["data"]["problems"]:
        say(f"acknowledged: {problem}")
    say(f"repair recorded at seq {entry['seq']}: the case is written again; verify says REPAIRED from now on")
    return EXIT_OK


ACTIONS = {
    "new": _new,
    "add": _add,
    "remove": _remove,
    "verify": _verify,
    "log": _log,
    "export": _export,
    "repair": _repair,
}
