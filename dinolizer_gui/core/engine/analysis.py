"""What an analysis is given (the options that change a map) and what one model gives back (its run).

Torch-free: the results store, the viewer and the CLI read these without loading a model.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from .records import (
    RecordError,
    choice,
    count,
    field_of,
    finite,
    flag,
    optional_field,
    pair,
    reading,
    text,
    texts,
)
from .scores import image_score

if TYPE_CHECKING:
    from ..io.images import LoadedImage

DINOLIZER_STRIDE = 128
DECLIP_MODES = ("whole", "sliding")
DEFAULT_MAX_WINDOWS = 10_000  # about 3 hours of DinoLizer on a laptop CPU, 4 minutes on a GPU


DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")
PRECISION_CHOICES = ("auto", "float16", "bfloat16", "float32")


FIDELITY_BAR = "a map within mean |diff| 2e-3 and mask IoU 0.98 of the official one, a logit within 1e-3"


@dataclass(frozen=True)
class Fidelity:
    """A model's precision policy: the reduced precisions in which its output stays within FIDELITY_BAR of its
    float32 (official) output. `--precision auto` uses no other."""

    title: str
    reduced_precisions: tuple[str, ...] = ()

    def beyond_bar(self, precision: str) -> str:
        """Why `precision` is not used by default ("" when it keeps the model within its bar)."""
        if precision == "float32" or precision in self.reduced_precisions:
            return ""
        return f"{precision} moves {self.title}'s output beyond its fidelity bar ({FIDELITY_BAR})"


class RuntimeLike(Protocol):
    @property
    def is_cuda(self) -> bool: ...


@dataclass(frozen=True)
class AnalysisOptions:
    device: str = "auto"
    precision: str = "auto"  # auto: per model, the fastest precision that keeps its fidelity bar (Fidelity)
    stride: int = DINOLIZER_STRIDE  # DinoLizer window stride
    batch_size: int = 0  # windows per forward pass; 0 = 50 on CUDA (official), 4 on the CPU
    declip_mode: str = "whole"  # official: the whole image resized to 224 x 224
    declip_stride: int = 112
    max_windows: int = DEFAULT_MAX_WINDOWS  # refuse an image that needs more windows than this
    progressive: bool = False  # windows in coarse-to-fine order, with previews of the map (the viewer)

    def batch_for(self, runtime: RuntimeLike) -> int:
        return self.batch_size or (50 if runtime.is_cuda else 4)

    @property
    def official_geometry(self) -> bool:
        return self.stride == DINOLIZER_STRIDE and self.declip_mode == "whole"

    def to_record(self) -> dict[str, Any]:
        """The options as plain JSON data: the one serialisation of them (the cluster sends it to its actors;
        the case's log and results.json take the fields they name from it)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_record(cls, record: object) -> AnalysisOptions:
        """The options a record holds; RecordError saying what is missing or wrong."""
        with reading("analysis options"):
            return cls(
                device=choice(field_of(record, "device"), DEVICE_CHOICES),
                precision=choice(field_of(record, "precision"), PRECISION_CHOICES),
                stride=count(field_of(record, "stride")),
                batch_size=count(field_of(record, "batch_size")),
                declip_mode=choice(field_of(record, "declip_mode"), DECLIP_MODES),
                declip_stride=count(field_of(record, "declip_stride")),
                max_windows=count(field_of(record, "max_windows")),
                progressive=flag(field_of(record, "progressive")),
            )


# Hedged words for an image-level probability that the whole image is synthetic: (lower bound, words)
INDICATION_BANDS = (
    (0.0, "no indication"),
    (0.5, "weak indication"),
    (0.75, "moderate indication"),
    (0.9, "strong indication"),
    (0.98, "very strong indication"),
)


@dataclass(frozen=True)
class ImageLevel:
    """An image-level detector's answer: the mean of its crop logits (positive = synthetic)."""

    logit: float
    crop_logits: tuple[float, ...]

    @property
    def probability(self) -> float:
        return 1.0 / (1.0 + math.exp(-self.logit)) if self.logit > -700 else 0.0

    @property
    def flagged(self) -> bool:
        return self.logit > 0

    @property
    def indication(self) -> str:
        return next(words for low, words in reversed(INDICATION_BANDS) if self.probability >= low)

    def as_dict(self) -> dict:
        return {
            "logit": self.logit,
            "probability": self.probability,
            "crop_logits": list(self.crop_logits),
            "flagged": self.flagged,
            "indication": self.indication,
            "bands": {words: low for low, words in INDICATION_BANDS},
        }


class RunRecordError(RecordError):
    """A run record (stored, or sent by a cluster actor) that does not hold what a run must."""


@dataclass
class ModelRun:
    probability: np.ndarray | None  # H x W float32 in [0, 1] at the displayed size; None: no map
    windows: int
    working_size: tuple[int, int]  # (width, height) the model analysed
    preprocessing: list[str]
    device: str
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    image_level: ImageLevel | None = None  # an image-level detector's answer (no map)
    computed_at: float = 0.0  # when the map or score was computed (seconds since the epoch); 0: not yet

    @property
    def score(self) -> float:
        """The image-level score: the 99th percentile of the map, or the detector's probability."""
        if self.image_level is not None:
            return self.image_level.probability
        if self.probability is None:
            raise ValueError("a model run holds a map or an image-level answer")
        return image_score(self.probability)

    def record(self) -> dict:
        """The run without its map as plain JSON data: the one serialisation of a run, which the results
        store, the cluster and results.json share."""
        return {
            "windows": self.windows,
            "working_size": list(self.working_size),
            "preprocessing": list(self.preprocessing),
            "device": self.device,
            "notes": list(self.notes),
            "seconds": self.seconds,
            "computed_at": self.computed_at,
            "image_level": self.image_level.as_dict() if self.image_level is not None else None,
        }

    @classmethod
    def from_record(cls, record: object, probability: np.ndarray | None = None) -> ModelRun:
        """The run a record describes (with its map, when it has one); raises RunRecordError saying what is
        missing or wrong, so that a damaged record is never taken for a result."""
        with reading("run record", RunRecordError):
            level = optional_field(record, "image_level", None)
            width, height = pair(field_of(record, "working_size"))
            run = cls(
                probability,
                count(field_of(record, "windows")),
                (count(width), count(height)),
                texts(field_of(record, "preprocessing")),
                text(field_of(record, "device")),
                texts(field_of(record, "notes")),
                finite(optional_field(record, "seconds", 0.0)),  # older records have no timings
                None if level is None else _image_level(level),
                finite(optional_field(record, "computed_at", 0.0)),
            )
        if (run.image_level is None) == (probability is None):
            raise RunRecordError("damaged run record: a run holds either a map or an image-level answer")
        return run


def _image_level(level: object) -> ImageLevel:
    crop_logits = field_of(level, "crop_logits")
    if not isinstance(crop_logits, list):
        raise TypeError(f"{crop_logits!r} is not a list")
    return ImageLevel(finite(field_of(level, "logit")), tuple(finite(v) for v in crop_logits))


@dataclass
class ImageOutcome:
    """One image's end: its pixels and metadata, or why it failed (maps go to the model callbacks)."""

    path: str
    image: LoadedImage | None = None
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error
