"""DinoLizer: the release checkpoint or a B-Free backbone plus the paper's linear head; 504 px windows."""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ...engine.analysis import AnalysisOptions
from ...engine.device import Runtime
from ...engine.inference import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    PipelineOutcome,
    check_window_count,
    check_working_size,
    pixels_on_device,
    windowed_probability,
)
from ...engine.tiling import WindowGrid, dinolizer_working_size
from ...io.images import LoadedImage
from ...progress import Progress
from ..cards import DINOLIZER_CARD
from ..checkpoints import Checkpoint, CheckpointError
from ..checkpoints.dinolizer import (
    PatchHeadWeights,
    bfree_backbone_state,
    dinolizer_release_weights,
    linear_head_tensors,
)
from ..layouts import Layout
from ..localizer import Localizer
from ..networks import DINOV2_REG_ARCH, PatchClassifier, build_vit
from ..registry import COCOGLIDE_P99_THRESHOLD, COCOGLIDE_SOURCE


def build(files: list[Checkpoint]) -> Localizer:
    if release := _single(files, Layout.DINOLIZER_RELEASE):
        weights = dinolizer_release_weights(release)
        if weights.head_weight.shape[0] != 3:
            classes = weights.head_weight.shape[0]
            raise CheckpointError(release.path, f"cls_head has {classes} classes; the release has 3")
        return _patch_localizer(
            weights,
            release.path,
            "release checkpoint (3-class head, class 2 = inpainted)",
            [release],
            score_threshold=COCOGLIDE_P99_THRESHOLD,
            score_threshold_source=COCOGLIDE_SOURCE,
        )
    backbone, head = _single(files, Layout.BFREE_BACKBONE), _single(files, Layout.LINEAR_HEAD)
    if backbone and head:
        weight, bias = linear_head_tensors(head)
        vit_state, notes = bfree_backbone_state(backbone)
        weights = PatchHeadWeights(vit_state, weight, bias, notes)
        variant = "paper head (B-Free backbone + 1-logit linear head, sigmoid)"
        return _patch_localizer(weights, backbone.path, variant, [backbone, head])
    found = ", ".join(f"{Path(c.path).name} ({c.layout.value})" for c in files) or "none"
    raise CheckpointError(
        files[0].path if files else "dinolizer",
        "DinoLizer needs either the release checkpoint, or a B-Free backbone plus a linear head file; "
        f"given: {found}",
    )


def _single(checkpoints: list[Checkpoint], layout: Layout) -> Checkpoint | None:
    matches = [c for c in checkpoints if c.layout is layout]
    return matches[0] if len(matches) == 1 else None


def _patch_localizer(
    weights: PatchHeadWeights, vit_path: str, variant: str, files: list[Checkpoint], **thresholds: Any
) -> Localizer:
    vit = build_vit(vit_path, DINOV2_REG_ARCH, weights.vit_state)
    if weights.head_weight.shape[1] != vit.embed_dim:
        raise CheckpointError(
            files[-1].path,
            f"the head reads {weights.head_weight.shape[1]} features; the backbone gives {vit.embed_dim}",
        )
    net = PatchClassifier(vit, weights.head_weight, weights.head_bias).eval()
    checkpoints = [c.describe() for c in files]
    return Localizer(
        "dinolizer", variant, DINOLIZER_CARD, net, pipeline, checkpoints, weights.notes, **thresholds
    )


def pipeline(
    net: Any, image: LoadedImage, options: AnalysisOptions, runtime: Runtime, notes: list[str]
) -> Generator[Progress, None, PipelineOutcome]:
    window = net.window
    working = dinolizer_working_size(image.width, image.height, window)
    check_working_size((image.width, image.height), working)
    grid = WindowGrid(working[1], working[0], window, options.stride)
    check_window_count(grid, options, working)
    steps = []
    rgb = image.rgb
    resized = working != (image.width, image.height)
    if resized:
        rgb = np.asarray(Image.fromarray(rgb).resize(working, Image.Resampling.BICUBIC))
        steps.append(
            f"resized {image.width}x{image.height} -> {working[0]}x{working[1]} (PIL bicubic; "
            f"a side was under {window} px), map resized back (bicubic, clipped to [0, 1])"
        )
    steps.append(
        f"{len(grid)} windows of {window} px, stride {options.stride}, last window flush with the edge; "
        "patch logits upsampled bicubic and averaged where windows overlap"
    )

    def window_logits(batch: torch.Tensor) -> torch.Tensor:
        with runtime.autocast():
            patch_logits = net(batch)
        return F.interpolate(patch_logits.float(), size=(window, window), mode="bicubic", align_corners=False)

    def to_image(probability: np.ndarray) -> np.ndarray:
        """The working map at the image's size (bicubic on the float map, clipped), as the official code."""
        if not resized:
            return probability
        back = Image.fromarray(probability, mode="F").resize(
            (image.width, image.height), Image.Resampling.BICUBIC
        )
        return np.clip(np.asarray(back, dtype=np.float32), 0.0, 1.0)

    probability = yield from windowed_probability(
        window_logits,
        pixels_on_device(rgb, runtime),
        grid,
        net.classes,
        options.batch_for(runtime),
        IMAGENET_MEAN,
        IMAGENET_STD,
        notes,
        runtime,
        options.progressive,
        to_image,
    )
    return to_image(probability), len(grid), working, steps
