"""DinoLizer's layouts: the Lightning release (LoRA merged at load), a B-Free backbone, the paper's head."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import torch

from . import Checkpoint, CheckpointError, list_keys, strip_prefixes

LORA_ALPHA = 64  # the DinoLizer release wraps qkv with LoRA r = 64, alpha = 64
LINEAR_HEAD_FORMAT = "dinolizer-linear-head"

_VIT_GLOBAL = re.compile(
    r"(cls_token|reg_token|pos_embed|norm\.(weight|bias)|patch_embed\.proj\.(weight|bias))$"
)
_BLOCK_PLAIN = re.compile(
    r"blocks\.\d+\.(norm1|norm2|attn\.proj|mlp\.fc1|mlp\.fc2)\.(weight|bias)$|blocks\.\d+\.ls[12]\.gamma$"
)
_BLOCK_QKV = re.compile(r"blocks\.\d+\.attn\.qkv\.(weight|bias)$")
_LORA = re.compile(r"blocks\.(\d+)\.attn\.qkv\.(qkv\.(weight|bias)|linear_([ab])_([qv])\.weight)$")


@dataclass
class PatchHeadWeights:
    """A ViT backbone state (timm keys) plus a per-patch linear classifier."""

    vit_state: dict[str, torch.Tensor]
    head_weight: torch.Tensor  # (classes, width)
    head_bias: torch.Tensor  # (classes,)
    notes: list[str] = field(default_factory=list)


def ignored_note(keys: list[str], state: dict) -> list[str]:
    """The load note listing entries a layout holds but the map does not need (they are not used)."""
    if not keys:
        return []
    empty = sum(1 for k in keys if isinstance(state[k], torch.Tensor) and state[k].numel() == 0)
    detail = f"; {empty} of them hold no values" if empty else ""
    return [f"{len(keys)} entries not needed for the map were ignored{detail}: {list_keys(keys)}"]


def dinolizer_release_weights(ckpt: Checkpoint) -> PatchHeadWeights:
    """Timm-ready weights from the Lightning release, LoRA merged into qkv; unneeded entries ignored."""
    state = ckpt.content["state_dict"]
    vit: dict[str, torch.Tensor] = {}
    lora: dict[tuple[int, str, str], torch.Tensor] = {}
    head: dict[str, torch.Tensor] = {}
    ignored: list[str] = []
    for raw_key, tensor in state.items():
        key = strip_prefixes(str(raw_key))
        inner = key.removeprefix("lora_vit.")
        if key == "pos_weight" or key.endswith(".pos_weight") or inner.startswith("head."):
            continue  # loss buffer; B-Free's image-level classifier (unused for maps)
        if key in ("cls_head.weight", "cls_head.bias"):
            head[key.split(".")[1]] = tensor
        elif _VIT_GLOBAL.match(inner) or _BLOCK_PLAIN.match(inner):
            vit[inner] = tensor
        elif match := _LORA.match(inner):
            block, which = int(match.group(1)), match.group(2)
            if which.startswith("qkv."):
                vit[f"blocks.{block}.attn.qkv.{match.group(3)}"] = tensor
            else:
                lora[(block, match.group(4), match.group(5))] = tensor
        else:
            ignored.append(raw_key)
    weight, bias = _head(ckpt.path, head)
    notes = _merge_lora(ckpt.path, vit, lora) + ignored_note(ignored, state)
    return PatchHeadWeights(vit, weight, bias, notes)


def _head(path: str, head: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    if set(head) != {"weight", "bias"}:
        raise CheckpointError(path, "cls_head needs both a weight and a bias")
    weight, bias = head["weight"].flatten(1), head["bias"].flatten()
    if weight.ndim != 2 or bias.shape != (weight.shape[0],):
        raise CheckpointError(
            path, f"cls_head shapes {tuple(head['weight'].shape)} / {tuple(head['bias'].shape)}"
        )
    return weight, bias


def _merge_lora(
    path: str, vit: dict[str, torch.Tensor], lora: dict[tuple[int, str, str], torch.Tensor]
) -> list[str]:
    """W_q += s * B_q A_q and W_v += s * B_v A_v, with s = alpha // r (the release's scaling)."""
    if not lora:
        return ["no LoRA weights found: backbone used as stored"]
    blocks = sorted({block for block, _, _ in lora})
    rank = None
    for block in blocks:
        qkv = vit.get(f"blocks.{block}.attn.qkv.weight")
        parts = {(ab, qv): lora[(block, ab, qv)] for ab in "ab" for qv in "qv" if (block, ab, qv) in lora}
        if qkv is None or len(parts) < 4:
            missing = [f"linear_{ab}_{qv}" for ab in "ab" for qv in "qv" if (ab, qv) not in parts]
            raise CheckpointError(
                path, f"incomplete LoRA in block {block}: missing {', '.join(missing) or 'qkv.qkv'}"
            )
        rank = _lora_rank(path, block, qkv, parts)
        scale = LORA_ALPHA // rank
        width = qkv.shape[1]
        merged = qkv.detach().clone().float()
        merged[:width] += scale * (parts[("b", "q")].float() @ parts[("a", "q")].float())
        merged[-width:] += scale * (parts[("b", "v")].float() @ parts[("a", "v")].float())
        vit[f"blocks.{block}.attn.qkv.weight"] = merged.to(qkv.dtype)
    return [f"LoRA (r={rank}, alpha={LORA_ALPHA}) merged into qkv of {len(blocks)} blocks at load"]


def _lora_rank(path: str, block: int, qkv: torch.Tensor, parts: dict[tuple[str, str], torch.Tensor]) -> int:
    """The rank r of a block's LoRA, checked before anything is multiplied: A is r x width, B width x r."""
    width = int(qkv.shape[-1])
    rank = int(parts[("a", "q")].shape[0]) if parts[("a", "q")].ndim == 2 else 0
    shapes_fit = qkv.shape == (3 * width, width) and all(
        tuple(parts[(ab, qv)].shape) == ((rank, width) if ab == "a" else (width, rank))
        for ab in "ab"
        for qv in "qv"
    )
    if not 1 <= rank <= min(width, LORA_ALPHA) or not shapes_fit:
        shapes = ", ".join(f"{ab}_{qv} {tuple(t.shape)}" for (ab, qv), t in parts.items())
        raise CheckpointError(
            path,
            f"LoRA of block {block} does not fit qkv {tuple(qkv.shape)}: {shapes} (rank must lie in "
            f"1..{LORA_ALPHA})",
        )
    return rank


def bfree_backbone_state(ckpt: Checkpoint) -> tuple[dict[str, torch.Tensor], list[str]]:
    """The plain timm ViT of `model_epoch_best.pth` (its image-level head left out) and the load notes."""
    state = ckpt.content.get("model", ckpt.content)
    vit, ignored = {}, []
    for raw_key, tensor in state.items():
        key = str(raw_key).removeprefix("module.")
        if key.startswith("head."):
            continue  # B-Free's image-level classifier
        if _VIT_GLOBAL.match(key) or _BLOCK_PLAIN.match(key) or _BLOCK_QKV.match(key):
            vit[key] = tensor
        else:
            ignored.append(raw_key)
    return vit, ignored_note(ignored, state)


def bfree_image_head(ckpt: Checkpoint) -> tuple[torch.Tensor, torch.Tensor]:
    """B-Free's image-level classifier: one logit from the final CLS token (positive = synthetic)."""
    state = ckpt.content.get("model", ckpt.content)
    weight = state.get("head.weight", state.get("module.head.weight"))
    bias = state.get("head.bias", state.get("module.head.bias"))
    if not isinstance(weight, torch.Tensor) or not isinstance(bias, torch.Tensor):
        raise CheckpointError(ckpt.path, "this B-Free file has no image-level head (head.weight, head.bias)")
    weight, bias = weight.flatten(1), bias.flatten()
    if weight.shape[0] != 1 or bias.shape != (1,):
        raise CheckpointError(
            ckpt.path, f"B-Free's head must give 1 logit; its weight is {tuple(weight.shape)}"
        )
    return weight, bias


def linear_head_tensors(ckpt: Checkpoint) -> tuple[torch.Tensor, torch.Tensor]:
    tensors = ckpt.content.get("tensors", ckpt.content)
    weight, bias = tensors["weight"].flatten(1), tensors["bias"].flatten()
    if weight.shape[0] != 1 or bias.shape != (1,):
        raise CheckpointError(
            ckpt.path, f"a linear head must give 1 logit; weight is {tuple(tensors['weight'].shape)}"
        )
    return weight, bias
