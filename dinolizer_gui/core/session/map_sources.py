"""Where a batch runner's maps come from: computed here by the models, or computed elsewhere (a cluster's
actors) and handed over. The runner does the rest alike: the store, the summaries, the outputs."""

from __future__ import annotations

from collections.abc import Generator, Iterable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..engine.analysis import AnalysisOptions, ModelRun
    from ..engine.device import Runtime
    from ..io.images import LoadedImage
    from ..models.model_like import ModelLike
    from ..progress import Progress


class MapSource(Protocol):
    def runtimes(self, names: Iterable[str], options: AnalysisOptions) -> dict[str, Runtime]:
        """Where and in which precision each model's maps are computed (part of their results store key)."""
        ...

    def compute(
        self, model: ModelLike, image: LoadedImage, options: AnalysisOptions, runtime: Runtime
    ) -> Generator[Progress, None, ModelRun]:
        """The model's run on the image."""
        ...


class LocalMaps:
    """The models compute in this process."""

    def runtimes(self, names: Iterable[str], options: AnalysisOptions) -> dict[str, Runtime]:
        from ..models.localizer import model_runtimes  # PyTorch: only once a runner runs

        return model_runtimes(names, options)

    def compute(
        self, model: ModelLike, image: LoadedImage, options: AnalysisOptions, runtime: Runtime
    ) -> Generator[Progress, None, ModelRun]:
        return model.analyze(image, options, runtime)
