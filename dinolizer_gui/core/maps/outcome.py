"""What one model gives an image once its run is summarised: the run, its summary at the threshold, and its
stability check when one was asked."""

from __future__ import annotations

from dataclasses import dataclass

from ..engine.analysis import ModelRun
from .postprocess import Summary
from .stability import StabilityCheck


@dataclass
class ModelOutcome:
    run: ModelRun
    summary: Summary
    stability: StabilityCheck | None = None  # when a stability check was asked
