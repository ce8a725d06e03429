"""Checking that a file loads as the model part it claims to be, before it is installed."""

from __future__ import annotations

from pathlib import Path

from .checkpoints import Checkpoint, read_checkpoint
from .checkpoints.declip import (
    declip_weights,
    decoder_only_plan,
    openai_vit_depth,
    resnet_layer3_state,
    vit_source_state,
)
from .checkpoints.dinolizer import bfree_backbone_state, dinolizer_release_weights, linear_head_tensors
from .layouts import Layout
from .networks import CLIP_QUICKGELU_ARCH, DINOV2_REG_ARCH, build_declip, build_resnet_clip, build_vit


def validate_file(path: Path | str) -> Layout:
    """Read a checkpoint and build what its layout makes (networks assigned from the file, not copied);
    raises CheckpointError with the reason when any part does not fit."""
    checkpoint = read_checkpoint(path, sha256="-")
    _BUILDERS[checkpoint.layout](checkpoint)
    return checkpoint.layout


def _release(checkpoint: Checkpoint) -> None:
    build_vit(checkpoint.path, DINOV2_REG_ARCH, dinolizer_release_weights(checkpoint).vit_state)


def _backbone(checkpoint: Checkpoint) -> None:
    build_vit(checkpoint.path, DINOV2_REG_ARCH, bfree_backbone_state(checkpoint)[0])


def _declip(checkpoint: Checkpoint) -> None:
    build_declip(checkpoint.path, declip_weights(checkpoint))


def _resnet(checkpoint: Checkpoint) -> None:
    build_resnet_clip(checkpoint.path, *resnet_layer3_state(checkpoint))


def _openai_vit(checkpoint: Checkpoint) -> None:
    state = vit_source_state(checkpoint, openai_vit_depth(checkpoint) - 1)
    build_vit(checkpoint.path, CLIP_QUICKGELU_ARCH, state, final_norm=False)


_BUILDERS = {
    Layout.DINOLIZER_RELEASE: _release,
    Layout.BFREE_BACKBONE: _backbone,
    Layout.LINEAR_HEAD: linear_head_tensors,
    Layout.DECLIP_VIT: _declip,
    Layout.DECLIP_VIT_RN50: decoder_only_plan,  # the decoder alone: its backbones join it at analysis
    Layout.OPENAI_RN50: _resnet,
    Layout.OPENAI_VIT: _openai_vit,
}
