"""A loaded model: its card, its network, its pipeline and the files it was built from."""

from __future__ import annotations

from collections.abc import Generator, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..engine.analysis import AnalysisOptions, ModelRun
from ..engine.device import Runtime, release_mapped_files, resolve_runtime
from ..engine.inference import Pipeline, run_localizer
from ..io.images import LoadedImage
from ..progress import Progress
from .cards import ModelCard
from .registry import REGISTRY


def model_runtime(name: str, options: AnalysisOptions) -> Runtime:
    """Where and in which precision the model computes under these options (its own fidelity policy)."""
    return resolve_runtime(options.device, options.precision, REGISTRY[name].fidelity)


def model_runtimes(names: Iterable[str], options: AnalysisOptions) -> dict[str, Runtime]:
    return {name: model_runtime(name, options) for name in names}


UNCALIBRATED = "no calibrated image-level threshold is published for this model; 0.5 is a convention"


@dataclass
class Localizer:
    name: str
    variant: str
    card: ModelCard
    net: Any  # torch.nn.Module
    pipeline: Pipeline
    checkpoints: list[dict[str, Any]]
    load_notes: list[str] = field(default_factory=list)
    score_threshold: float = 0.5
    score_threshold_source: str = UNCALIBRATED

    @property
    def pixel_threshold(self) -> float:
        """The pixel threshold its paper uses: the registry's, written nowhere else."""
        return REGISTRY[self.name].pixel_threshold

    def analyze(
        self, image: LoadedImage, options: AnalysisOptions, runtime: Runtime | None = None
    ) -> Generator[Progress, None, ModelRun]:
        """Run on the image (on `runtime`, else the device and precision the options resolve to)."""
        return run_localizer(
            self.net, self.pipeline, image, options, runtime or model_runtime(self.name, options)
        )

    def release_weight_pages(self) -> int:
        """Let the memory-mapped weights leave resident memory until the next run; returns the bytes freed."""
        return release_mapped_files(c["path"] for c in self.checkpoints)

    def describe(self) -> dict:
        return {
            "name": self.name,
            "title": self.card.title,
            "variant": self.variant,
            "paper": self.card.paper,
            "architecture": self.card.architecture,
            "training_data": self.card.training_data,
            "checkpoints": self.checkpoints,
            "load_notes": self.load_notes,
            "pixel_threshold": self.pixel_threshold,
            "score_threshold": self.score_threshold,
            "score_threshold_source": self.score_threshold_source,
            "licence": self.card.licence,
            "known_failure_modes": list(self.card.failure_modes),
        }
