"""`dinolizer-gui analyze`: analyse images and folders headless, saving each image as it finishes. This module
parses the command into an analysis request and tells the user how its run goes (core/session/analysis_run
carries it out)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from .common import (
    EXIT_CANCELLED,
    EXIT_OK,
    EXIT_OUTPUT_FAILED,
    EXIT_SOME_FAILED,
    UsageError,
    trust_anchors_for,
)
from .console import Console
from .options import add_analysis_options, analysis_request

if TYPE_CHECKING:
    from ..core.session.analysis_request import AnalysisRequest
    from ..core.session.cluster import ClusterOptions


def add_parser(commands: argparse._SubParsersAction) -> None:
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
    _add_view_options(analyze)
    _add_report_options(analyze)
    _add_cluster_options(analyze)


def _add_view_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--views",
        metavar="LIST",
        help="also compute the classic instruments' views of each image (comma-separated: ela, noise, ghost, "
        "copymove, or all): 8-bit grey PNGs beside its maps, their parameters and numbers in results.json "
        "and a figure each in the reports",
    )
    parser.add_argument(
        "--view-param",
        action="append",
        default=[],
        metavar="VIEW.NAME=VALUE",
        help="a view's parameter (e.g. ela.quality=75, ghost.block=32; repeatable; see docs/instruments.md)",
    )


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
    parser.add_argument("--analyst", metavar="NAME", help="analyst (default: the saved setting)")
    parser.add_argument("--organisation", metavar="NAME", help="organisation (default: saved)")
    parser.add_argument("--notes", default="", metavar="TEXT", help="free notes for the report's cover")


def run(args: argparse.Namespace) -> int:
    from ..core.session.analysis_run import analyse

    request = _request(args)
    ending = analyse(request, Console(quiet=args.quiet, cluster=request.cluster is not None))
    if ending.cancelled:
        return EXIT_CANCELLED
    if ending.report_failures:
        return EXIT_OUTPUT_FAILED
    return EXIT_SOME_FAILED if ending.failures else EXIT_OK


def _request(args: argparse.Namespace) -> AnalysisRequest:
    from ..core.session.analysis_request import CaseRequest, OutputRequest

    outputs = OutputRequest(args.out, args.replace, args.save_prob, tuple(args.report))
    case = CaseRequest(args.case, args.analyst, args.organisation, args.notes)
    return analysis_request(
        args,
        args.paths,
        outputs=outputs,
        stability=args.stability,
        trust_anchors=trust_anchors_for(args),
        case=case,
        cluster=_cluster_options(args) if args.cluster else None,
        views=_views(args.views, args.view_param),
    )


def _views(listed: str | None, given: list[str]) -> dict[str, dict[str, float]]:
    """The views asked, each with its parameters (checked: a usage error names what is wrong)."""
    from ..core.instruments import INSTRUMENTS

    names = [name.strip() for name in (listed or "").split(",") if name.strip()]
    names = list(INSTRUMENTS) if names == ["all"] else list(dict.fromkeys(names))
    if unknown := [name for name in names if name not in INSTRUMENTS]:
        raise UsageError(f"--views: no view {', '.join(unknown)} (there are {', '.join(INSTRUMENTS)}, all)")
    params: dict[str, dict[str, str]] = {name: {} for name in names}
    for pair in given:
        key, separator, value = pair.partition("=")
        view, dot, name = key.partition(".")
        if not separator or not dot:
            raise UsageError(f"--view-param {pair!r}: give VIEW.NAME=VALUE (e.g. ela.quality=75)")
        if view not in params:
            raise UsageError(
                f"--view-param {pair!r}: {view} is not among --views ({', '.join(names) or 'none'})"
            )
        params[view][name] = value
    try:
        return {name: INSTRUMENTS[name].checked(values) for name, values in params.items()}
    except ValueError as exc:
        raise UsageError(f"--view-param: {exc}") from None


def _cluster_options(args: argparse.Namespace) -> ClusterOptions:
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
