"""Running a localizer on an image: a generator of progress that returns the map.

Iterate the generator to drive the analysis; every yielded `Progress` falls
between two batches of windows, so a consumer cancels simply by closing the
generator. The generator's return value is a `ModelRun`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from .device import Runtime, cpu_runtime, is_out_of_memory, resolve_runtime
from .imageio import LoadedImage
from .tiling import DINOLIZER_STRIDE, BandAccumulator, WindowGrid, dinolizer_working_size

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
CLIP_MEAN, CLIP_STD = (0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)
DECLIP_MODES = ("whole", "sliding")


@dataclass(frozen=True)
class AnalysisOptions:
    device: str = "auto"
    precision: str = "auto"  # CUDA only: float16 (official), bfloat16 or float32
    stride: int = DINOLIZER_STRIDE  # DinoLizer window stride
    batch_size: int = 0  # windows per forward pass; 0 = 50 on CUDA (official), 4 on the CPU
    declip_mode: str = "whole"  # official: the whole image resized to 224 x 224
    declip_stride: int = 112

    def batch_for(self, runtime: Runtime) -> int:
        return self.batch_size or (50 if runtime.is_cuda else 4)


@dataclass(frozen=True)
class Progress:
    done: int
    total: int
    stage: str = "windows"


@dataclass
class ModelRun:
    probability: np.ndarray  # H x W float32 in [0, 1], at the displayed image size
    windows: int
    working_size: tuple[int, int]  # (width, height) the model analysed
    preprocessing: list[str]
    device: str
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


class CudaOutOfMemory(RuntimeError):
    pass


Pipeline = Callable[[torch.nn.Module, LoadedImage, AnalysisOptions, Runtime, list[str]],
                    Generator[Progress, None, tuple[np.ndarray, int, tuple[int, int], list[str]]]]


def run_localizer(net: torch.nn.Module, pipeline: Pipeline, image: LoadedImage,
                  options: AnalysisOptions, runtime: Runtime | None = None) -> Generator[Progress, None, ModelRun]:
    """Drive one pipeline on the chosen device, falling back to the CPU if CUDA runs out of memory."""
    runtime = runtime or resolve_runtime(options.device, options.precision)
    notes = [runtime.note] if runtime.note else []
    started = time.perf_counter()
    try:
        outcome = yield from _on_device(net, pipeline, image, options, runtime, notes)
    except CudaOutOfMemory:
        runtime = cpu_runtime("CUDA ran out of memory even with one window per batch; finished on the CPU")
        notes.append(runtime.note)
        outcome = yield from _on_device(net, pipeline, image, options, runtime, notes)
    probability, windows, working_size, preprocessing = outcome
    return ModelRun(probability, windows, working_size, preprocessing, runtime.description, notes,
                    time.perf_counter() - started)


def _on_device(net, pipeline, image, options, runtime, notes):
    net.to(runtime.device)
    with torch.inference_mode():
        return (yield from pipeline(net, image, options, runtime, notes))


def run_to_end(generator: Generator,
               on_progress: Callable | None = None):
    """Drive a progress generator to its end and return its return value."""
    while True:
        try:
            progress = next(generator)
        except StopIteration as stop:
            return stop.value
        if on_progress:
            on_progress(progress)


# --- the window engine ---------------------------------------------------------------------------

def _pixels_on_device(rgb: np.ndarray, runtime: Runtime) -> torch.Tensor:
    return torch.from_numpy(np.require(rgb, requirements=['C', 'W'])).permute(2, 0, 1).to(runtime.device)


def _normalise(batch_u8: torch.Tensor, mean, std) -> torch.Tensor:
    mean_t = torch.tensor(mean, device=batch_u8.device).view(1, 3, 1, 1)
    std_t = torch.tensor(std, device=batch_u8.device).view(1, 3, 1, 1)
    return (batch_u8.float() / 255.0 - mean_t) / std_t


def windowed_probability(
    window_logits: Callable[[torch.Tensor], torch.Tensor], pixels: torch.Tensor, grid: WindowGrid,
    channels: int, batch_size: int, mean, std, notes: list[str], on_cuda: bool,
) -> Generator[Progress, None, np.ndarray]:
    """Run every window of the grid in batches; average the overlapping logits; return the probability map.

    `window_logits` maps normalised (B, 3, w, w) windows to (B, C, w, w) logits.
    Out of memory halves the batch; at one window per batch on CUDA the caller
    falls back to the CPU.
    """
    accumulator = BandAccumulator(grid, channels, pixels.device,
                                  lambda band: inpainted_probability(band).float().cpu().numpy())
    boxes, size, done = grid.boxes, grid.window, 0
    yield Progress(0, len(boxes))
    while done < len(boxes):
        chunk = boxes[done:done + batch_size]
        windows = torch.stack([pixels[:, top:top + size, left:left + size] for top, left in chunk])
        try:
            logits = window_logits(_normalise(windows, mean, std))
        except (RuntimeError, MemoryError) as exc:
            if not is_out_of_memory(exc) and not isinstance(exc, MemoryError):
                raise
            del windows
            if on_cuda:
                torch.cuda.empty_cache()
            if batch_size == 1:
                if on_cuda:
                    raise CudaOutOfMemory() from exc
                raise
            batch_size //= 2
            notes.append(f"out of memory: batch reduced to {batch_size} windows")
            continue
        for (top, left), window in zip(chunk, logits):
            accumulator.add(top, left, window)
        done += len(chunk)
        yield Progress(done, len(boxes))
    return accumulator.result()


def inpainted_probability(logits: torch.Tensor) -> torch.Tensor:
    """(C, H, W) logits -> H x W probability: sigmoid for one logit, else softmax class 2 (inpainted)."""
    if logits.shape[0] == 1:
        return torch.sigmoid(logits[0])
    return torch.softmax(logits, dim=0)[2]


# --- DinoLizer -----------------------------------------------------------------------------------

def dinolizer_pipeline(net, image: LoadedImage, options: AnalysisOptions, runtime: Runtime, notes: list[str]):
    window = net.window
    working = dinolizer_working_size(image.width, image.height, window)
    steps = []
    rgb = image.rgb
    if working != (image.width, image.height):
        rgb = np.asarray(Image.fromarray(rgb).resize(working, Image.Resampling.BICUBIC))
        steps.append(f"resized {image.width}x{image.height} -> {working[0]}x{working[1]} (PIL bicubic; "
                     f"a side was under {window} px), map resized back (bicubic, clipped to [0, 1])")
    grid = WindowGrid(working[1], working[0], window, options.stride)
    steps.append(f"{len(grid)} windows of {window} px, stride {options.stride}, last window flush with the edge; "
                 "patch logits upsampled bicubic and averaged where windows overlap")

    def window_logits(batch: torch.Tensor) -> torch.Tensor:
        with runtime.autocast():
            patch_logits = net(batch)
        return F.interpolate(patch_logits.float(), size=(window, window), mode="bicubic", align_corners=False)

    probability = yield from windowed_probability(
        window_logits, _pixels_on_device(rgb, runtime), grid, net.classes, options.batch_for(runtime),
        IMAGENET_MEAN, IMAGENET_STD, notes, runtime.is_cuda)
    if working != (image.width, image.height):
        resized = Image.fromarray(probability, mode="F").resize((image.width, image.height), Image.Resampling.BICUBIC)
        probability = np.clip(np.asarray(resized, dtype=np.float32), 0.0, 1.0)
    return probability, len(grid), working, steps


# --- DeCLIP --------------------------------------------------------------------------------------

def declip_pipeline(net, image: LoadedImage, options: AnalysisOptions, runtime: Runtime, notes: list[str]):
    if options.declip_mode not in DECLIP_MODES:
        raise ValueError(f"unknown DeCLIP mode {options.declip_mode!r}")
    window = net.window
    if options.declip_mode == "sliding" and min(image.width, image.height) >= window:
        return (yield from _declip_sliding(net, image, options, runtime, notes))
    if options.declip_mode == "sliding":
        notes.append(f"image smaller than one {window} px window: official whole-image mode used")
    yield Progress(0, 1)
    small = Image.fromarray(image.rgb).resize((window, window), Image.Resampling.BILINEAR)
    pixels = _normalise(_pixels_on_device(np.asarray(small), runtime)[None], CLIP_MEAN, CLIP_STD)
    with runtime.autocast():
        logits = net(pixels)
    probability = F.interpolate(torch.sigmoid(logits.float()), size=(image.height, image.width), mode="bilinear",
                                align_corners=False, antialias=True)[0, 0].clamp_(0, 1)
    yield Progress(1, 1)
    steps = [f"whole image resized {image.width}x{image.height} -> {window}x{window} (PIL bilinear, aspect "
             f"ratio not kept); {logits.shape[-1]}x{logits.shape[-2]} map resized back (bilinear)"]
    return probability.cpu().numpy(), 1, (window, window), steps  # float32, no full-size copy


def _declip_sliding(net, image, options, runtime, notes):
    window = net.window
    grid = WindowGrid(image.height, image.width, window, options.declip_stride)
    steps = [f"NON-OFFICIAL sliding windows: {len(grid)} windows of {window} px at native resolution, stride "
             f"{options.declip_stride}; window logits resized bilinear to {window} px and averaged"]

    def window_logits(batch: torch.Tensor) -> torch.Tensor:
        with runtime.autocast():
            logits = net(batch)
        return F.interpolate(logits.float(), size=(window, window), mode="bilinear", align_corners=False,
                             antialias=True)

    probability = yield from windowed_probability(
        window_logits, _pixels_on_device(image.rgb, runtime), grid, 1, options.batch_for(runtime),
        CLIP_MEAN, CLIP_STD, notes, runtime.is_cuda)
    return probability, len(grid), (image.width, image.height), steps
