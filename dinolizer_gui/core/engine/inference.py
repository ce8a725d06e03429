"""Running a localizer on an image: a generator of progress that returns the map.

Iterate the generator to drive the analysis; every yielded `Progress` falls
between two batches of windows, so a consumer cancels simply by closing the
generator. The generator's return value is a `ModelRun`. The pipelines of the
models themselves live in their adapters (`models/adapters/`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Generator, Sequence

import numpy as np
import torch

from ..errors import user_message
from ..io.images import LoadedImage
from ..progress import Progress
from .accumulators import BandAccumulator, CanvasAccumulator
from .analysis import AnalysisOptions, ImageLevel, ModelRun
from .device import Runtime, cpu_runtime, is_out_of_memory
from .tiling import DINOLIZER_SMALL_IMAGE_AREA_SIDE, WindowGrid, row_bands

PREVIEW_SECONDS = 2.0  # a progressive analysis shows the map so far this often
# above, windows run in grid order with a window-high buffer (bounded memory)
PROGRESSIVE_MAX_PIXELS = 30_000_000
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
CLIP_MEAN, CLIP_STD = (0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)


class AcceleratorOutOfMemory(RuntimeError):
    """The GPU ran out of memory even with one window per batch."""


class NonFiniteOutput(ValueError):
    """The network produced NaN or infinity: there is no map or score to give."""

    def __init__(self) -> None:
        super().__init__(
            "the model produced non-finite values (NaN or infinity) on this image; no map or score"
        )


class TooManyWindows(ValueError):
    pass


def check_window_count(grid: WindowGrid, options: AnalysisOptions, working_size: tuple[int, int]) -> None:
    """Refuse, before any pixel is resized or analysed, an image that needs more windows than allowed."""
    if len(grid) > options.max_windows:
        raise TooManyWindows(
            f"needs {len(grid):,} windows of {grid.window} px at stride {grid.stride} (working size "
            f"{working_size[0]:,} x {working_size[1]:,}), above the limit of {options.max_windows:,} "
            "(--max-windows)"
        )


MAX_UPSCALE = 16  # the pixels analysed may be at most this many times max(the image's, 1016²)


def check_working_size(image_size: tuple[int, int], working_size: tuple[int, int]) -> None:
    """Refuse, before anything is resized, an image that the official resize would blow up: a sliver (1 x 1000
    px) is analysed at 504 x 504,000 px, thousands of windows for a thousand pixels."""
    width, height = image_size
    analysed = working_size[0] * working_size[1]
    allowed = MAX_UPSCALE * max(width * height, DINOLIZER_SMALL_IMAGE_AREA_SIDE**2)
    if analysed > allowed:
        side = DINOLIZER_SMALL_IMAGE_AREA_SIDE
        raise TooManyWindows(
            f"is {width} x {height} px: the official resize would analyse it at {working_size[0]:,} x "
            f"{working_size[1]:,} px, {analysed / max(width * height, 1):,.0f} times its own pixels (more "
            f"than {MAX_UPSCALE} times those of a {side} px square): too thin to analyse"
        )


def require_finite(values: torch.Tensor) -> torch.Tensor:
    if not bool(torch.isfinite(values).all()):
        raise NonFiniteOutput()
    return values


# the map (or an image-level answer), windows, working size, steps
PipelineOutcome = tuple[np.ndarray | ImageLevel, int, tuple[int, int], list[str]]
Pipeline = Callable[
    [torch.nn.Module, LoadedImage, AnalysisOptions, Runtime, list[str]],
    Generator[Progress, None, PipelineOutcome],
]


def run_localizer(
    net: torch.nn.Module,
    pipeline: Pipeline,
    image: LoadedImage,
    options: AnalysisOptions,
    runtime: Runtime,
) -> Generator[Progress, None, ModelRun]:
    """Drive one pipeline on the chosen device, falling back to the CPU if CUDA runs out of memory."""
    notes = [text for text in (runtime.note, runtime.warning) if text]
    started = time.perf_counter()
    try:
        outcome = yield from _on_device(net, pipeline, image, options, runtime, notes)
    except (AcceleratorOutOfMemory, NotImplementedError) as exc:
        if not runtime.is_accelerator:
            raise
        why = (
            "ran out of memory even with one window per batch"
            if isinstance(exc, AcceleratorOutOfMemory)
            else (f"cannot run an operation ({user_message(exc, 200)})")
        )
        runtime = cpu_runtime(
            runtime.fidelity, options.precision, f"{runtime.description} {why}; finished on the CPU"
        )
        notes.append(runtime.note)
        outcome = yield from _on_device(net, pipeline, image, options, runtime, notes)
    answer, windows, working_size, preprocessing = outcome
    seconds = time.perf_counter() - started
    if isinstance(answer, ImageLevel):
        if not all(math.isfinite(logit) for logit in (answer.logit, *answer.crop_logits)):
            raise NonFiniteOutput()
        return ModelRun(None, windows, working_size, preprocessing, runtime.label, notes, seconds, answer)
    if not all(np.isfinite(answer[band]).all() for band in row_bands(*answer.shape)):
        raise NonFiniteOutput()
    return ModelRun(answer, windows, working_size, preprocessing, runtime.label, notes, seconds)


def _on_device(
    net: torch.nn.Module,
    pipeline: Pipeline,
    image: LoadedImage,
    options: AnalysisOptions,
    runtime: Runtime,
    notes: list[str],
) -> Generator[Progress, None, PipelineOutcome]:
    net.to(runtime.device)
    with torch.inference_mode():
        return (yield from pipeline(net, image, options, runtime, notes))


def pixels_on_device(rgb: np.ndarray, runtime: Runtime) -> torch.Tensor:
    """An H x W x 3 uint8 array as a 3 x H x W tensor on the runtime's device (no copy on the CPU)."""
    return torch.from_numpy(np.require(rgb, requirements=["C", "W"])).permute(2, 0, 1).to(runtime.device)


def normalise(batch_u8: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    mean_t = torch.tensor(mean, device=batch_u8.device).view(1, 3, 1, 1)
    std_t = torch.tensor(std, device=batch_u8.device).view(1, 3, 1, 1)
    return (batch_u8.float() / 255.0 - mean_t) / std_t


def windowed_probability(
    window_logits: Callable[[torch.Tensor], torch.Tensor],
    pixels: torch.Tensor,
    grid: WindowGrid,
    channels: int,
    batch_size: int,
    mean: Sequence[float],
    std: Sequence[float],
    notes: list[str],
    runtime: Runtime,
    progressive: bool = False,
    to_image: Callable[[np.ndarray], np.ndarray] = lambda probability: probability,
) -> Generator[Progress, None, np.ndarray]:
    """Run every window of the grid in batches; average the overlapping logits; return the probability map.

    `window_logits` maps normalised (B, 3, w, w) windows to (B, C, w, w) logits.
    Out of memory halves the batch; at one window per batch on a GPU the caller
    falls back to the CPU. `progressive` runs a first pass that covers every
    pixel, then the other windows, and yields previews of the map (through
    `to_image`) every few seconds; the final map is the grid's all the same.
    """
    canvas = progressive and grid.height * grid.width <= PROGRESSIVE_MAX_PIXELS
    finish = lambda band: inpainted_probability(band).float().cpu().numpy()  # noqa: E731
    accumulator: CanvasAccumulator | BandAccumulator
    if canvas:
        accumulator, boxes = CanvasAccumulator(grid, channels, pixels.device, finish), grid.progressive_boxes
    else:
        accumulator, boxes = BandAccumulator(grid, channels, pixels.device, finish), grid.boxes
    size, done, previewed = grid.window, 0, -math.inf
    yield Progress(0, len(boxes))
    while done < len(boxes):
        chunk = boxes[done : done + batch_size]
        windows = torch.stack([pixels[:, top : top + size, left : left + size] for top, left in chunk])
        try:
            logits = require_finite(window_logits(normalise(windows, mean, std)))
        except (RuntimeError, MemoryError) as exc:
            if not is_out_of_memory(exc) and not isinstance(exc, MemoryError):
                raise
            del windows
            runtime.empty_cache()
            if batch_size == 1:
                if runtime.is_accelerator:
                    raise AcceleratorOutOfMemory() from exc
                raise
            batch_size //= 2
            notes.append(f"out of memory: batch reduced to {batch_size} windows")
            continue
        for (top, left), window in zip(chunk, logits, strict=True):
            accumulator.add(top, left, window)
        done += len(chunk)
        preview = None
        if (
            canvas
            and len(grid.first_pass) <= done < len(boxes)
            and time.perf_counter() - previewed >= PREVIEW_SECONDS
        ):
            preview, previewed = to_image(accumulator.result()), time.perf_counter()
        yield Progress(done, len(boxes), preview=preview)
    return accumulator.result()


def inpainted_probability(logits: torch.Tensor) -> torch.Tensor:
    """(C, H, W) logits -> H x W probability: sigmoid for one logit, else softmax class 2 (inpainted)."""
    if logits.shape[0] == 1:
        return torch.sigmoid(logits[0])
    return torch.softmax(logits, dim=0)[2]
