"""`dinolizer-gui inspect`: what each file says about itself (no model, no PyTorch)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from .common import EXIT_OK, EXIT_SOME_FAILED, UsageError, say, trust_anchors_for


def add_parser(commands) -> None:
    inspect = commands.add_parser(
        "inspect", help="what files say about themselves: Content Credentials, XMP, EXIF, thumbnail, JPEG"
    )
    inspect.add_argument(
        "paths", nargs="+", metavar="PATH", help="image files or folders (searched recursively)"
    )
    inspect.add_argument("--json", action="store_true", help="one JSON document on standard output")
    inspect.add_argument("--follow-links", action="store_true", help="follow links out of a folder given")
    inspect.add_argument(
        "--trust-anchors",
        metavar="DIR",
        help="PEM certificates of signers you trust, besides the C2PA trust list (default: the viewer's)",
    )


def run(args: argparse.Namespace) -> int:
    import hashlib

    from ..core.io.names import for_terminal, path_record
    from ..core.io.provenance import FileNotRead, provenance_from_bytes, read_file
    from ..core.session.batch import scan_inputs

    anchors = trust_anchors_for(args)
    found = scan_inputs(args.paths, args.follow_links)
    if not found:
        raise UsageError("no images found in the given paths")
    images, failed = [], 0
    for entry in found:
        record: dict[str, Any] = {
            **path_record(str(entry.path)),
            "sha256": None,
            "provenance": None,
            "error": for_terminal(entry.problem) if entry.problem else None,
        }
        if not entry.problem:
            try:  # read once, only from a regular file (a pipe named x.jpg is refused, not waited on)
                data = read_file(entry.path)
                record["sha256"] = hashlib.sha256(data).hexdigest()
                record["provenance"] = provenance_from_bytes(data, anchors)[0]
            except FileNotRead as exc:
                record["error"] = f"cannot be read: {for_terminal(str(exc))}"
            except Exception as exc:  # an unreadable file: its reason, and the others go on
                record["error"] = (
                    f"cannot be read: {for_terminal(str(getattr(exc, 'strerror', None) or exc))}"
                )
        unread = record["provenance"] is not None and record["provenance"]["c2pa"]["state"] == "error"
        failed += record["error"] is not None or unread
        images.append(record)
        if not args.json:
            _print(record)
    if args.json:
        json.dump({"images": images}, sys.stdout, indent=2, ensure_ascii=False)
        print()
    return EXIT_SOME_FAILED if failed else EXIT_OK


def _print(record: dict) -> None:
    from ..core.io.provenance.summaries import declaration_short

    say(f"{record['path']}")
    if record["error"]:
        say(f"  ERROR: {record['error']}")
        return
    provenance = record["provenance"]
    say(f"  SHA-256 {record['sha256']}")
    c2pa = provenance["c2pa"]
    say(f"  Content Credentials: {c2pa['state']} — {c2pa['message']}")
    if c2pa["validation_codes"]:
        say(f"  C2PA codes: {', '.join(c2pa['validation_codes'])}")
    for declared in provenance["digital_source_types"]:
        say(f"  Digital source type: {declaration_short(declared)}")
    for tag, value in provenance["dates"].items():
        say(f"  {tag}: {value}")
    if software := provenance["exif"].get("Software"):
        say(f"  Software: {software}")
    if thumbnail := provenance["thumbnail"]:
        verdict = {True: "matches the image", False: "DOES NOT match the image", None: "not compared"}
        say(f"  EXIF thumbnail: {verdict[thumbnail['matches']] if thumbnail['present'] else 'none'}")
    if jpeg := provenance["jpeg"]:
        tables = "standard" if jpeg["standard_tables"] else "non-standard"
        listed = len(jpeg["mpf_images"])
        images = f", {listed} more image(s) its own MPF index declares (see below)" if listed else ""
        say(
            f"  JPEG: quality ~{jpeg['quality']} ({tables} tables), {jpeg['subsampling']}, "
            f"{'progressive' if jpeg['progressive'] else 'baseline'}, {jpeg['trailing_bytes']} trailing bytes"
            f"{images}"
        )
    for line in provenance["indications"]:
        say(f"  - {line}")
    for problem in provenance["problems"]:
        say(f"  ! {problem}")
