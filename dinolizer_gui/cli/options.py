"""The options of every command that analyses images (models, weights, device, geometry, store) and what they
make: the analysis options checked, and the core's analysis request."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.engine.analysis import DEFAULT_MAX_WINDOWS, DEVICE_CHOICES, PRECISION_CHOICES
from .common import UsageError, add_weights, add_weights_dir, weights_by_model

if TYPE_CHECKING:
    from ..core.engine.analysis import AnalysisOptions
    from ..core.session.analysis_request import AnalysisRequest


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


def analysis_options(args: argparse.Namespace) -> AnalysisOptions:
    """The options that change a map, checked (a stride wider than the window leaves pixels unanalysed)."""
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


def analysis_request(args: argparse.Namespace, inputs: Sequence[Path | str], **more: Any) -> AnalysisRequest:
    """The request these options make, over `inputs`; `more` gives the command's own parts of it."""
    from ..core.session.analysis_request import AnalysisRequest

    return AnalysisRequest(
        tuple(str(path) for path in inputs),
        analysis_options(args),
        models=tuple(args.models or ()),
        weights=weights_by_model(args.weights),
        weights_folder=args.weights_dir,
        store=args.store,
        use_store=not args.no_cache,
        threshold=args.threshold,
        max_pixels=args.max_pixels,
        follow_links=args.follow_links,
        **more,
    )
