"""B-Free: an image-level score that the whole image is synthetic (no map), from five token-space crops."""

from __future__ import annotations

import math
from collections.abc import Generator
from typing import Any

import torch

from ...engine.analysis import AnalysisOptions, ImageLevel
from ...engine.device import Runtime
from ...engine.inference import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    PipelineOutcome,
    normalise,
    pixels_on_device,
    require_finite,
)
from ...io.images import LoadedImage
from ...progress import Progress
from ..cards import BFREE_CARD
from ..checkpoints import Checkpoint, CheckpointError
from ..checkpoints.dinolizer import bfree_backbone_state, bfree_image_head
from ..layouts import Layout
from ..localizer import Localizer
from ..networks import DINOV2_REG_ARCH, ImageClassifier, build_vit

CROPS = ("centre", "top-left", "bottom-left", "bottom-right", "top-right")


def build(files: list[Checkpoint]) -> Localizer:
    backbones = [c for c in files if c.layout is Layout.BFREE_BACKBONE]
    if len(backbones) != 1:
        raise CheckpointError(files[0].path if files else "bfree", "B-Free needs its model_epoch_best.pth")
    checkpoint = backbones[0]
    state, notes = bfree_backbone_state(checkpoint)
    weight, bias = bfree_image_head(checkpoint)
    net = ImageClassifier(build_vit(checkpoint.path, DINOV2_REG_ARCH, state), weight, bias).eval()
    variant = "image-level detector (DINOv2 ViT-B/14 reg4, five 504 px token crops, mean logit)"
    return Localizer(
        "bfree",
        variant,
        BFREE_CARD,
        net,
        pipeline,
        [checkpoint.describe()],
        notes,
        score_threshold=0.5,
        score_threshold_source="the paper's rule: synthetic when the mean logit is above 0 (probability 0.5)",
    )


def crop_origins(rows: int, cols: int, size: int) -> list[tuple[int, int]]:
    """Token offsets of the five crops of a grid at least `size` tokens in both directions."""
    bottom, right = rows - size, cols - size
    return [(bottom // 2, right // 2), (0, 0), (bottom, 0), (bottom, right), (0, right)]


def pipeline(
    net: Any, image: LoadedImage, options: AnalysisOptions, runtime: Runtime, notes: list[str]
) -> Generator[Progress, None, PipelineOutcome]:
    size, patch = net.grid[0], net.patch
    rows, cols = image.height // patch, image.width // patch
    if not rows or not cols:
        raise ValueError(f"the image is smaller than one {patch} px patch")
    yield Progress(0, len(CROPS))
    pixels = pixels_on_device(image.rgb, runtime)
    steps = [
        f"the whole image at its own size ({image.width}x{image.height}), not resized, ImageNet normalisation"
    ]
    if rows >= size and cols >= size:
        crops = torch.stack(
            [
                pixels[:, top * patch : (top + size) * patch, left * patch : (left + size) * patch]
                for top, left in crop_origins(rows, cols, size)
            ]
        )
        with runtime.autocast():
            logits = require_finite(net(net.embed(normalise(crops, IMAGENET_MEAN, IMAGENET_STD))).float())
        steps.append(f"five {size}x{size}-token crops ({size * patch} px): " + ", ".join(CROPS))
    else:
        corner = pixels[:, : min(rows, size) * patch, : min(cols, size) * patch]
        with runtime.autocast():
            tokens = net.embed(normalise(corner[None], IMAGENET_MEAN, IMAGENET_STD))
            tiled = tokens.repeat(
                1, 1, math.ceil(size / tokens.shape[-2]), math.ceil(size / tokens.shape[-1])
            )
            logits = require_finite(net(tiled[..., :size, :size]).float()).repeat(len(CROPS))
        steps.append(
            f"the token grid ({rows}x{cols}) is under {size} in a direction: tiled periodically in token "
            f"space and cut to its first {size}x{size} tokens, so the five crops are the same (as the "
            "official code does)"
        )
    yield Progress(len(CROPS), len(CROPS))
    crop_logits = tuple(float(v) for v in logits.cpu())
    answer = ImageLevel(sum(crop_logits) / len(crop_logits), crop_logits)
    return answer, len(CROPS), (cols * patch, rows * patch), steps
