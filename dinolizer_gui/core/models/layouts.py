"""The checkpoint layouts users download, by name, and the error about a checkpoint (torch-free).

Recognising and reading the layouts is `checkpoints.py`'s job."""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum

from ..errors import PathError


class Layout(str, Enum):
    DINOLIZER_RELEASE = "DinoLizer release (Lightning checkpoint with LoRA)"
    BFREE_BACKBONE = "B-Free DINOv2 ViT backbone"
    LINEAR_HEAD = "DinoLizer paper linear head (1x1 convolution, 1 logit)"
    DECLIP_VIT = "DeCLIP ViT-L/14 checkpoint"
    DECLIP_VIT_RN50 = "DeCLIP ViT-L/14 + RN50 checkpoint (decoder only)"
    OPENAI_RN50 = "OpenAI CLIP RN50 weights"
    OPENAI_VIT = "OpenAI CLIP ViT weights"


class CheckpointError(PathError):
    """A weights file that cannot be used for the model it was given to."""


MAX_LISTED_KEYS = 25


def list_keys(keys: Iterable[object]) -> str:
    """Keys for a message: sorted, at most 25, with how many more there are."""
    keys = sorted(str(k) for k in keys)
    shown = ", ".join(keys[:MAX_LISTED_KEYS])
    more = len(keys) - MAX_LISTED_KEYS
    return shown + (f", ... ({more} more)" if more > 0 else "") if keys else "(none)"
