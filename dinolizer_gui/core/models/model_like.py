"""A model as analyses, stores and outputs see it (the registry builds models as this, never naming the
Localizer class that the adapters build)."""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..engine.analysis import AnalysisOptions, ModelRun
    from ..engine.device import Runtime
    from ..io.images import LoadedImage
    from ..progress import Progress
    from .cards import ModelCard


class ModelLike(Protocol):
    """What analyses, stores and outputs use of a model: a Localizer, or a ModelHandle that builds one when
    it must run."""

    name: str
    card: ModelCard

    @property
    def variant(self) -> str: ...

    @property
    def checkpoints(self) -> list[dict[str, Any]]: ...

    @property
    def load_notes(self) -> list[str]: ...

    @property
    def pixel_threshold(self) -> float: ...

    @property
    def score_threshold(self) -> float: ...

    @property
    def score_threshold_source(self) -> str: ...

    def describe(self) -> dict: ...

    def analyze(
        self, image: LoadedImage, options: AnalysisOptions, runtime: Runtime | None = None
    ) -> Generator[Progress, None, ModelRun]: ...

    def release_weight_pages(self) -> int: ...
