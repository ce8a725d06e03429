"""DeCLIP: one CLIP ViT-L/14 block decoded by convolutions; the whole image at 224 px, or windows."""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ...engine.analysis import DECLIP_MODES, AnalysisOptions
from ...engine.device import Runtime
from ...engine.inference import (
    CLIP_MEAN,
    CLIP_STD,
    PipelineOutcome,
    check_window_count,
    normalise,
    pixels_on_device,
    require_finite,
    windowed_probability,
)
from ...engine.tiling import WindowGrid
from ...io.images import LoadedImage
from ...progress import Progress
from ..cards import DECLIP_CARD
from ..checkpoints import Checkpoint, CheckpointError
from ..checkpoints.declip import declip_weights, fusion_weights
from ..layouts import Layout
from ..localizer import Localizer
from ..networks import build_declip, build_declip_fusion


def build(files: list[Checkpoint]) -> Localizer:
    """A DeCLIP ViT file alone, or the ViT+RN50 system: its decoder, OpenAI's RN50 and a CLIP ViT-L/14."""
    by_layout = {layout: [c for c in files if c.layout is layout] for layout in Layout}
    if by_layout[Layout.DECLIP_VIT_RN50]:
        return _fusion(files, by_layout)
    if len(by_layout[Layout.DECLIP_VIT]) == 1 and len(files) == 1:
        return _vit(files[0])
    found = ", ".join(f"{Path(c.path).name} ({c.layout.value})" for c in files) or "none"
    raise CheckpointError(
        files[0].path if files else "declip",
        f"DeCLIP needs one DeCLIP ViT checkpoint, or a ViT+RN50 decoder with its backbones; given: {found}",
    )


def _vit(checkpoint: Checkpoint) -> Localizer:
    weights = declip_weights(checkpoint)
    net = build_declip(checkpoint.path, weights)
    variant = f"ViT-L/14 layer{weights.feature_layer} {weights.decoder_type}"
    notes = [f"features of block {weights.feature_layer} (0-based), before ln_post"]
    return Localizer("declip", variant, DECLIP_CARD, net, pipeline, [checkpoint.describe()], notes)


def _fusion(files: list[Checkpoint], by_layout: dict[Layout, list[Checkpoint]]) -> Localizer:
    decoders, rn50s = by_layout[Layout.DECLIP_VIT_RN50], by_layout[Layout.OPENAI_RN50]
    vits = by_layout[Layout.OPENAI_VIT] + by_layout[Layout.DECLIP_VIT]  # OpenAI's own file first
    if len(decoders) != 1:
        raise CheckpointError(decoders[0].path, "give one DeCLIP ViT+RN50 decoder, not several")
    decoder = decoders[0]
    if not rn50s:
        raise CheckpointError(
            decoder.path,
            "the ViT+RN50 decoder needs OpenAI's CLIP RN50 weights: RN50.pt (`dinolizer-gui models download "
            "openai-rn50`) or a safetensors copy with OpenAI's key names",
        )
    if not vits:
        raise CheckpointError(
            decoder.path,
            "the ViT+RN50 decoder needs the CLIP ViT-L/14: any DeCLIP ViT file (its CLIP is OpenAI's) or "
            "OpenAI's ViT-L-14.pt (`dinolizer-gui models download openai-vit-l14`)",
        )
    rn50, vit = rn50s[0], vits[0]
    weights = fusion_weights(decoder, rn50, vit)
    net = build_declip_fusion((decoder.path, rn50.path, vit.path), weights)
    variant = f"ViT-L/14 layer{weights.feature_layer} + RN50 layer3 {weights.decoder_type} (fusion)"
    notes = [
        f"ViT block {weights.feature_layer} tokens (before ln_post) from {Path(vit.path).name}; RN50 layer3 "
        f"from {Path(rn50.path).name}, resized bilinear to the token grid; concatenated ViT first",
    ]
    checkpoints = [c.describe() for c in (decoder, rn50, vit)]
    return Localizer("declip", variant, DECLIP_CARD, net, pipeline, checkpoints, notes)


def pipeline(
    net: Any, image: LoadedImage, options: AnalysisOptions, runtime: Runtime, notes: list[str]
) -> Generator[Progress, None, PipelineOutcome]:
    if options.declip_mode not in DECLIP_MODES:
        raise ValueError(f"unknown DeCLIP mode {options.declip_mode!r}")
    window = net.window
    if options.declip_mode == "sliding" and min(image.width, image.height) >= window:
        return (yield from _sliding(net, image, options, runtime, notes))
    if options.declip_mode == "sliding":
        notes.append(f"image smaller than one {window} px window: official whole-image mode used")
    yield Progress(0, 1)
    small = Image.fromarray(image.rgb).resize((window, window), Image.Resampling.BILINEAR)
    pixels = normalise(pixels_on_device(np.asarray(small), runtime)[None], CLIP_MEAN, CLIP_STD)
    with runtime.autocast():
        logits = require_finite(net(pixels))
    probability = F.interpolate(
        torch.sigmoid(logits.float()),
        size=(image.height, image.width),
        mode="bilinear",
        align_corners=False,
        antialias=True,
    )[0, 0].clamp_(0, 1)
    yield Progress(1, 1)
    steps = [
        f"whole image resized {image.width}x{image.height} -> {window}x{window} (PIL bilinear, aspect "
        f"ratio not kept); {logits.shape[-1]}x{logits.shape[-2]} map resized back (bilinear)"
    ]
    return probability.cpu().numpy(), 1, (window, window), steps  # float32, no full-size copy


def _sliding(
    net: Any, image: LoadedImage, options: AnalysisOptions, runtime: Runtime, notes: list[str]
) -> Generator[Progress, None, PipelineOutcome]:
    window = net.window
    grid = WindowGrid(image.height, image.width, window, options.declip_stride)
    check_window_count(grid, options, (image.width, image.height))
    steps = [
        f"NON-OFFICIAL sliding windows: {len(grid)} windows of {window} px at native resolution, stride "
        f"{options.declip_stride}; window logits resized bilinear to {window} px and averaged"
    ]

    def window_logits(batch: torch.Tensor) -> torch.Tensor:
        with runtime.autocast():
            logits = net(batch)
        return F.interpolate(
            logits.float(), size=(window, window), mode="bilinear", align_corners=False, antialias=True
        )

    probability = yield from windowed_probability(
        window_logits,
        pixels_on_device(image.rgb, runtime),
        grid,
        1,
        options.batch_for(runtime),
        CLIP_MEAN,
        CLIP_STD,
        notes,
        runtime,
        options.progressive,
    )
    return probability, len(grid), (image.width, image.height), steps
