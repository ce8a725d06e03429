"""Checkpoints in an official layout with seeded random weights: the self-test's (and the tests') stand-in
for weights that cannot be bundled or downloaded. Their maps show that the pipeline works, not a finding."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import timm
import torch
from torch import nn

RELEASE_FILE_NAME = "epoch=36_val_loss=0.2130.ckpt"  # the release's own name, so its layout is known


@dataclass
class ReleaseSource:
    vit: nn.Module  # timm ViT with the frozen qkv (LoRA not merged)
    lora: dict[tuple[int, str, str], torch.Tensor]  # (block, 'a'|'b', 'q'|'v') -> weight
    rank: int
    head_weight: torch.Tensor
    head_bias: torch.Tensor


def randomise(module: nn.Module, generator: torch.Generator, scale: float = 0.05) -> None:
    """Weights far from timm's initialisation (a layer scale of 1e-5 would hide the blocks)."""
    ones = ("norm1.weight", "norm2.weight", "norm.weight", "ls1.gamma", "ls2.gamma", "norm_pre.weight")
    with torch.no_grad():
        for name, param in module.named_parameters():
            noise = torch.randn(param.shape, generator=generator) * scale
            param.copy_(1.0 + noise if name.endswith(ones) else noise)


def random_dinov2(generator: torch.Generator, embed_dim: int, depth: int) -> nn.Module:
    """timm's DINOv2 ViT/14 with registers at 504 px and a 1-logit head, random weights (no hub)."""
    vit = timm.create_model(
        "vit_base_patch14_reg4_dinov2",
        pretrained=False,
        img_size=504,
        num_classes=1,
        embed_dim=embed_dim,
        depth=depth,
        num_heads=embed_dim // 64,
    ).eval()
    randomise(vit, generator)
    return vit


def write_release(
    path: Path,
    embed_dim: int = 64,
    depth: int = 2,
    lora_rank: int = 4,
    seed: int = 0,
    head_scale: float = 3.0,
) -> ReleaseSource:
    """A Lightning checkpoint in the DinoLizer release layout (a ViT-B/14 geometry with fewer, narrower
    blocks), never reaching a hub: the network is built with random weights."""
    generator = torch.Generator().manual_seed(seed)
    vit = random_dinov2(generator, embed_dim, depth)
    state: dict[str, torch.Tensor] = {}
    for key, tensor in vit.state_dict().items():
        if key.startswith("patch_embed."):
            state[f"net.model.{key}"] = tensor.clone()
        elif ".attn.qkv." in key:
            state[f"net.model.lora_vit.{key.replace('.attn.qkv.', '.attn.qkv.qkv.')}"] = tensor.clone()
        else:
            state[f"net.model.lora_vit.{key}"] = tensor.clone()
    lora = {}
    for block in range(depth):
        for qv in "qv":
            lora[(block, "a", qv)] = torch.randn((lora_rank, embed_dim), generator=generator) * 0.05
            lora[(block, "b", qv)] = torch.randn((embed_dim, lora_rank), generator=generator) * 0.05
            for ab in "ab":
                key = f"net.model.lora_vit.blocks.{block}.attn.qkv.linear_{ab}_{qv}.weight"
                state[key] = lora[(block, ab, qv)]
    head_weight = torch.randn((3, embed_dim), generator=generator) * head_scale
    head_bias = torch.tensor([0.2, 0.0, -0.2])
    state["net.model.cls_head.weight"] = head_weight
    state["net.model.cls_head.bias"] = head_bias
    state["net.pos_weight"] = torch.tensor([2.5])
    checkpoint = {
        "epoch": 36,
        "global_step": 12345,
        "pytorch-lightning_version": "2.1.3",
        "state_dict": state,
        "hyper_parameters": {"lr": 1e-4, "r": lora_rank},
    }
    torch.save(checkpoint, path)
    return ReleaseSource(vit, lora, lora_rank, head_weight, head_bias)
