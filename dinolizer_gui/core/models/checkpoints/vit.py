"""A ViT's architecture from the shapes of its weights, within bounds any real checkpoint keeps."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from . import CheckpointError

HEAD_DIM = 64  # DINOv2 and CLIP ViTs all use 64-dimensional attention heads
MAX_BLOCKS = 64  # ViT-L has 24, ViT-g 40
MAX_WIDTH = 4096
MAX_PATCH = 64
MAX_GRID = 256


@dataclass(frozen=True)
class VitConfig:
    embed_dim: int
    depth: int
    num_heads: int
    patch_size: int
    grid: int  # patches per side of the position embedding
    reg_tokens: int
    mlp_ratio: float
    layer_scale: bool
    class_token_in_pos_embed: bool

    @property
    def img_size(self) -> int:
        return self.grid * self.patch_size

    def timm_kwargs(self) -> dict[str, Any]:
        kwargs = dict(
            img_size=self.img_size,
            patch_size=self.patch_size,
            embed_dim=self.embed_dim,
            depth=self.depth,
            num_heads=self.num_heads,
            mlp_ratio=self.mlp_ratio,
            init_values=1e-5 if self.layer_scale else None,
            num_classes=0,
        )
        if self.reg_tokens:
            kwargs["reg_tokens"] = self.reg_tokens
        return kwargs


def block_count(path: Path | str, keys: Iterable[str], pattern: str = r"blocks\.(\d+)\.") -> int:
    """How many blocks the keys hold: indices must run 0, 1, ... without a gap and stay under MAX_BLOCKS."""
    indices = {int(m.group(1)) for k in keys if (m := re.match(pattern, k))}
    if not indices:
        raise CheckpointError(path, "no transformer blocks found")
    if max(indices) >= MAX_BLOCKS or indices != set(range(max(indices) + 1)):
        raise CheckpointError(
            path,
            f"block indices {min(indices)}..{max(indices)} ({len(indices)} present) are not a run of at most "
            f"{MAX_BLOCKS} blocks from 0",
        )
    return len(indices)


def infer_vit_config(path: Path | str, state: dict[str, torch.Tensor]) -> VitConfig:
    try:
        embed_dim = int(state["cls_token"].shape[-1])
        patch_size = int(state["patch_embed.proj.weight"].shape[-1])
        positions = int(state["pos_embed"].shape[-2])
        hidden = int(state["blocks.0.mlp.fc1.weight"].shape[0])
    except (KeyError, IndexError) as exc:
        raise CheckpointError(path, f"cannot infer the ViT architecture: missing {exc.args[0]}") from None
    depth = block_count(path, state)
    with_cls = round(positions**0.5) ** 2 != positions
    grid = round((positions - int(with_cls)) ** 0.5)
    plausible = 0 < embed_dim <= MAX_WIDTH and 0 < patch_size <= MAX_PATCH and 0 < grid <= MAX_GRID
    if not plausible or grid * grid != positions - int(with_cls) or embed_dim % HEAD_DIM:
        raise CheckpointError(
            path,
            f"unexpected ViT shapes: pos_embed {tuple(state['pos_embed'].shape)}, width {embed_dim}, "
            f"patch {patch_size}",
        )
    return VitConfig(
        embed_dim=embed_dim,
        depth=depth,
        num_heads=embed_dim // HEAD_DIM,
        patch_size=patch_size,
        grid=grid,
        reg_tokens=int(state["reg_token"].shape[1]) if "reg_token" in state else 0,
        mlp_ratio=hidden / embed_dim,
        layer_scale="blocks.0.ls1.gamma" in state,
        class_token_in_pos_embed=with_cls,
    )
