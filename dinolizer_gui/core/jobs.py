"""An analysis job: load one image, run the chosen localizers, report progress as it goes."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path

from .imageio import DEFAULT_MAX_PIXELS, LoadedImage, load_image
from .inference import AnalysisOptions, ModelRun
from .models.registry import Localizer, load_localizer
from .postprocess import image_score


@dataclass(frozen=True)
class JobProgress:
    stage: str  # "loading image", "loading model", "windows"
    model: str = ""
    done: int = 0
    total: int = 0


@dataclass
class AnalysisResult:
    image: LoadedImage
    runs: dict[str, ModelRun]
    scores: dict[str, float]  # 99th-percentile probability per model


class LocalizerCache:
    """Loaded localizers keyed by model and files, so that weights are read once per session."""

    def __init__(self):
        self._loaded: dict[tuple, Localizer] = {}

    def get(self, name: str, files: list[Path]) -> Localizer:
        key = (name, *(str(Path(f).resolve()) for f in files))
        if key not in self._loaded:
            self._loaded[key] = load_localizer(name, files)
        return self._loaded[key]


def analysis_job(path: Path | str, localizers: list[Localizer], options: AnalysisOptions,
                 max_pixels: int | None = DEFAULT_MAX_PIXELS) -> Generator[JobProgress, None, AnalysisResult]:
    """Raises ImageLoadError for a bad file; closing the generator cancels between batches of windows."""
    yield JobProgress("loading image")
    image = load_image(path, max_pixels)
    runs: dict[str, ModelRun] = {}
    for localizer in localizers:
        generator = localizer.analyze(image, options)
        try:
            while True:
                try:
                    progress = next(generator)
                except StopIteration as finished:
                    runs[localizer.name] = finished.value
                    break
                yield JobProgress(progress.stage, localizer.name, progress.done, progress.total)
        finally:
            generator.close()
    return AnalysisResult(image, runs, {name: image_score(run.probability) for name, run in runs.items()})
