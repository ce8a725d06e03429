"""Provenance of an analysis: when, with which software, on which device, with which parameters and models."""

from __future__ import annotations

import os
import platform
import sys
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from ... import __version__
from ..engine.analysis import AnalysisOptions

if TYPE_CHECKING:
    from ..engine.device import Runtime
    from ..models.model_like import ModelLike

POSTPROCESSING = "none (threshold only); regions are 8-connected components"


def software_versions() -> dict[str, str]:
    import cv2
    import numpy as np
    import timm
    import torch
    from PIL import Image

    return {
        "dinolizer-gui": __version__,
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "timm": timm.__version__,
        "numpy": np.__version__,
        "pillow": Image.__version__,
        "opencv": cv2.__version__,
        "platform": platform.platform(),
    }


def now_iso() -> str:
    """Now, with time zone; SOURCE_DATE_EPOCH (the reproducible-builds convention) fixes it."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        return datetime.fromtimestamp(int(epoch), timezone.utc).isoformat(timespec="seconds")
    return datetime.now().astimezone().isoformat(timespec="seconds")


def iso_time(seconds: float) -> str:
    """A moment (seconds since the epoch) in local time with its time zone; one after SOURCE_DATE_EPOCH is
    clamped to it, as the reproducible-builds convention asks."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and seconds > int(epoch):
        return datetime.fromtimestamp(int(epoch), timezone.utc).isoformat(timespec="seconds")
    return datetime.fromtimestamp(seconds).astimezone().isoformat(timespec="seconds")


def describe_run(
    localizers: list[ModelLike],
    options: AnalysisOptions,
    runtimes: dict[str, Runtime],
    thresholds: dict[str, float],
    max_pixels: int,
) -> dict:
    """Run metadata for results.json and reports: versions, device, each model's precision and why, every
    parameter, the models (the runtimes' and the options' fields as their records name them)."""
    computes = {name: runtime.to_record() for name, runtime in runtimes.items()}
    device, given = next(iter(computes.values())), options.to_record()
    return {
        "created": now_iso(),
        "software": software_versions(),
        "device": {
            "requested": given["device"],
            "used": device["description"],
            "precision": {name: record["precision"] for name, record in computes.items()},
            "precision_reason": {name: record["precision_reason"] for name, record in computes.items()},
            "note": device["note"],
        },
        "parameters": {
            "stride": given["stride"],
            "batch_size": given["batch_size"] or "auto",
            "declip_mode": given["declip_mode"],
            "declip_stride": given["declip_stride"],
            "precision": given["precision"],
            "max_pixels": max_pixels,
            "thresholds": {loc.name: thresholds[loc.name] for loc in localizers if loc.name in thresholds},
            "postprocessing": POSTPROCESSING,
            "official_geometry": options.official_geometry,
        },
        "models": {
            loc.name: {
                **loc.describe(),
                "precision": computes[loc.name]["precision"],
                "precision_reason": computes[loc.name]["precision_reason"],
            }
            for loc in localizers
        },
    }
