"""The one place that knows the checkpoint layouts users download.

Files are read with safetensors or `torch.load(weights_only=True)` only; no
code is ever unpickled. Every layout is recognised by its keys, the
architecture is inferred from tensor shapes, and anything that does not fit a
known pattern fails with a message listing the keys that did not match.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..imageio import sha256_of_file
from .layouts import CheckpointError, Layout

LORA_ALPHA = 64  # the DinoLizer release wraps qkv with LoRA r = 64, alpha = 64
LINEAR_HEAD_FORMAT = "dinolizer-linear-head"
_MAX_LISTED_KEYS = 25


@dataclass
class Checkpoint:
    path: str
    sha256: str
    layout: Layout
    content: dict[str, Any]  # the loaded file (tensors and plain values only)

    def describe(self) -> dict[str, str]:
        return {
            "file": Path(self.path).name,
            "path": self.path,
            "sha256": self.sha256,
            "layout": self.layout.value,
        }


def read_checkpoint(path: Path | str, sha256: str | None = None) -> Checkpoint:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(path, "no such checkpoint file")
    content = _load_tensors(path)
    return Checkpoint(str(path), sha256 or sha256_of_file(path), detect_layout(path, content), content)


def _load_tensors(path: Path) -> dict[str, Any]:
    try:
        if path.suffix == ".safetensors":
            from safetensors import safe_open
            from safetensors.torch import load_file

            with safe_open(str(path), framework="pt") as handle:
                metadata = handle.metadata() or {}
            return {"tensors": load_file(str(path)), "metadata": metadata}
        loaded = _torch_load(path)
    except Exception as exc:
        raise CheckpointError(
            path, f"not a readable PyTorch or safetensors weights file ({_first_line(exc)})"
        ) from None
    if not isinstance(loaded, dict):
        raise CheckpointError(path, f"expected a dictionary of weights, found {type(loaded).__name__}")
    return loaded


def _torch_load(path: Path) -> Any:
    """Memory-mapped where the format allows it, so unused entries (text tower, optimizer) stay on disk."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except RuntimeError as exc:
        if "mmap" not in str(exc) and "zip" not in str(exc):
            raise
        return torch.load(path, map_location="cpu", weights_only=True)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


def detect_layout(path: Path | str, content: dict[str, Any]) -> Layout:
    if isinstance(content.get("state_dict"), dict):
        keys = {strip_prefixes(k) for k in content["state_dict"]}
        if "cls_head.weight" in keys:
            return Layout.DINOLIZER_RELEASE
    model = content.get("model")
    if isinstance(model, dict):
        if "decoder_type" in content or any(k.startswith("fc.") for k in model):
            if any(k.startswith("model.visual.") for k in model):
                return Layout.DECLIP_VIT
            return Layout.DECLIP_VIT_RN50
        if "reg_token" in _plain_vit_keys(model):
            return Layout.BFREE_BACKBONE
    if "reg_token" in _plain_vit_keys(content):
        return Layout.BFREE_BACKBONE
    tensors = content.get("tensors", content)
    if isinstance(tensors, dict) and set(tensors) == {"weight", "bias"}:
        return Layout.LINEAR_HEAD
    raise CheckpointError(path, "unknown checkpoint layout; top-level keys: " + _list_keys(content))


def _plain_vit_keys(state: dict[str, Any]) -> set[str]:
    return {k.removeprefix("module.") for k in state if isinstance(state.get(k), torch.Tensor)}


def _list_keys(keys) -> str:
    keys = sorted(keys)
    shown = ", ".join(keys[:_MAX_LISTED_KEYS])
    more = len(keys) - _MAX_LISTED_KEYS
    return shown + (f", ... ({more} more)" if more > 0 else "") if keys else "(none)"


def strip_prefixes(key: str) -> str:
    for prefix in ("net.", "model.", "module."):
        key = key.removeprefix(prefix)
    return key


# --- ViT architecture from tensor shapes ---------------------------------------------------------


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


HEAD_DIM = 64  # DINOv2 and CLIP ViTs all use 64-dimensional attention heads


def infer_vit_config(path: Path | str, state: dict[str, torch.Tensor]) -> VitConfig:
    try:
        embed_dim = int(state["cls_token"].shape[-1])
        patch_size = int(state["patch_embed.proj.weight"].shape[-1])
        positions = int(state["pos_embed"].shape[-2])
        hidden = int(state["blocks.0.mlp.fc1.weight"].shape[0])
    except KeyError as exc:
        raise CheckpointError(path, f"cannot infer the ViT architecture: missing {exc.args[0]}") from None
    depth = 1 + max(int(m.group(1)) for k in state if (m := re.match(r"blocks\.(\d+)\.", k)))
    with_cls = round(positions**0.5) ** 2 != positions
    grid = round((positions - int(with_cls)) ** 0.5)
    if grid * grid != positions - int(with_cls) or embed_dim % HEAD_DIM:
        raise CheckpointError(
            path, f"unexpected ViT shapes: pos_embed {tuple(state['pos_embed'].shape)}, width {embed_dim}"
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


# --- DinoLizer release ---------------------------------------------------------------------------


@dataclass
class PatchHeadWeights:
    """A ViT backbone state (timm keys) plus a per-patch linear classifier."""

    vit_state: dict[str, torch.Tensor]
    head_weight: torch.Tensor  # (classes, width)
    head_bias: torch.Tensor  # (classes,)
    notes: list[str] = field(default_factory=list)


_VIT_GLOBAL = re.compile(
    r"(cls_token|reg_token|pos_embed|norm\.(weight|bias)|patch_embed\.proj\.(weight|bias))$"
)
_BLOCK_PLAIN = re.compile(
    r"blocks\.\d+\.(norm1|norm2|attn\.proj|mlp\.fc1|mlp\.fc2)\.(weight|bias)$|blocks\.\d+\.ls[12]\.gamma$"
)
_LORA = re.compile(r"blocks\.(\d+)\.attn\.qkv\.(qkv\.(weight|bias)|linear_([ab])_([qv])\.weight)$")


def dinolizer_release_weights(ckpt: Checkpoint) -> PatchHeadWeights:
    """Timm-ready weights from the Lightning release, LoRA merged into qkv."""
    vit: dict[str, torch.Tensor] = {}
    lora: dict[tuple[int, str, str], torch.Tensor] = {}
    head: dict[str, torch.Tensor] = {}
    unmatched: list[str] = []
    for raw_key, tensor in ckpt.content["state_dict"].items():
        key = strip_prefixes(raw_key)
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
            unmatched.append(raw_key)
    if unmatched:
        raise CheckpointError(ckpt.path, "keys not in the DinoLizer release layout: " + _list_keys(unmatched))
    notes = _merge_lora(ckpt.path, vit, lora)
    return PatchHeadWeights(vit, head["weight"].flatten(1), head["bias"].flatten(), notes)


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
        rank = int(parts[("a", "q")].shape[0])
        scale = LORA_ALPHA // rank
        width = qkv.shape[1]
        merged = qkv.detach().clone().float()
        merged[:width] += scale * (parts[("b", "q")].float() @ parts[("a", "q")].float())
        merged[-width:] += scale * (parts[("b", "v")].float() @ parts[("a", "v")].float())
        vit[f"blocks.{block}.attn.qkv.weight"] = merged.to(qkv.dtype)
    return [f"LoRA (r={rank}, alpha={LORA_ALPHA}) merged into qkv of {len(blocks)} blocks at load"]


# --- Paper variant: B-Free backbone + linear head ------------------------------------------------


def bfree_backbone_state(ckpt: Checkpoint) -> dict[str, torch.Tensor]:
    state = ckpt.content.get("model", ckpt.content)
    vit, unmatched = {}, []
    for raw_key, tensor in state.items():
        key = raw_key.removeprefix("module.")
        if key.startswith("head."):
            continue  # B-Free's image-level classifier
        if (
            _VIT_GLOBAL.match(key)
            or _BLOCK_PLAIN.match(key)
            or re.match(r"blocks\.\d+\.attn\.qkv\.(weight|bias)$", key)
        ):
            vit[key] = tensor
        else:
            unmatched.append(raw_key)
    if unmatched:
        raise CheckpointError(ckpt.path, "keys not in the B-Free backbone layout: " + _list_keys(unmatched))
    return vit


def linear_head_tensors(ckpt: Checkpoint) -> tuple[torch.Tensor, torch.Tensor]:
    tensors = ckpt.content.get("tensors", ckpt.content)
    weight, bias = tensors["weight"].flatten(1), tensors["bias"].flatten()
    if weight.shape[0] != 1 or bias.shape != (1,):
        raise CheckpointError(
            ckpt.path, f"a linear head must give 1 logit; weight is {tuple(tensors['weight'].shape)}"
        )
    return weight, bias


# --- DeCLIP --------------------------------------------------------------------------------------


@dataclass
class DeclipWeights:
    clip_state: dict[str, torch.Tensor]  # timm keys, blocks up to the feature layer
    decoder_state: dict[str, torch.Tensor]  # nn.Sequential keys ("0.weight", ...)
    decoder_plan: list[tuple]  # ("conv", in, out, kernel) | ("bn", ch) | ("relu",) | ("up",)
    feature_layer: int
    decoder_type: str


_TEXT_TOWER = re.compile(
    r"(transformer\.|token_embedding\.|ln_final\.|text_projection|logit_scale|positional_embedding)"
)


def declip_weights(ckpt: Checkpoint) -> DeclipWeights:
    if ckpt.layout is Layout.DECLIP_VIT_RN50:
        raise CheckpointError(
            ckpt.path,
            "DeCLIP ViT+RN50 files hold only the decoder; they need the OpenAI CLIP "
            "ViT-L/14 and RN50 weights as well, which this version does not load",
        )
    layer_name = str(ckpt.content.get("feature_layer", ""))
    decoder_type = str(ckpt.content.get("decoder_type", ""))
    if not (match := re.fullmatch(r"layer(\d+)", layer_name)):
        raise CheckpointError(ckpt.path, f"feature_layer {layer_name!r} is not a ViT layer such as 'layer20'")
    if not re.fullmatch(r"conv-\d+", decoder_type):
        raise CheckpointError(ckpt.path, f"decoder_type {decoder_type!r} is not supported (conv-4/12/20 are)")
    layer = int(match.group(1))
    visual, decoder, unmatched = {}, {}, []
    for key, tensor in ckpt.content["model"].items():
        if key.startswith("model.visual."):
            visual["visual." + key.removeprefix("model.visual.")] = tensor
        elif key.startswith("fc."):
            decoder[key.removeprefix("fc.")] = tensor
        elif not (key.startswith("model.") and _TEXT_TOWER.match(key.removeprefix("model."))):
            unmatched.append(key)
    if unmatched:
        raise CheckpointError(ckpt.path, "keys not in the DeCLIP layout: " + _list_keys(unmatched))
    clip_state = _openai_clip_to_timm(visual, layer)
    if f"blocks.{layer}.attn.qkv.weight" not in clip_state:
        raise CheckpointError(
            ckpt.path, f"feature layer {layer} is beyond the blocks of the CLIP ViT in this file"
        )
    plan = _conv_decoder_plan(ckpt.path, decoder, decoder_type)
    return DeclipWeights(clip_state, decoder, plan, layer, decoder_type)


def _openai_clip_to_timm(visual: dict[str, torch.Tensor], layer: int) -> dict[str, torch.Tensor]:
    from timm.models.vision_transformer import _convert_openai_clip

    # timm's converter only renames and reshapes the state dict; it never reads the model argument
    converted = _convert_openai_clip(visual, None, prefix="visual.")  # type: ignore[arg-type]
    keep = {}
    for key, tensor in converted.items():
        if key.startswith("head.") or key.startswith("norm."):
            continue  # projection and ln_post: the features are taken before them
        if (m := re.match(r"blocks\.(\d+)\.", key)) and int(m.group(1)) > layer:
            continue  # blocks after the feature layer never run
        keep[key] = tensor
    return keep


def _conv_decoder_plan(path: str, decoder: dict[str, torch.Tensor], decoder_type: str) -> list[tuple]:
    """Rebuild the nn.Sequential order from which indices hold parameters.

    conv, bn, then relu at the next index; an index skipped after a relu is a
    x2 bilinear upsampling, which ends every stage of the official decoder.
    """
    indices = sorted({int(k.split(".")[0]) for k in decoder})
    plan: list[tuple] = []
    for index in indices:
        while len(plan) < index:
            plan.append(("relu",) if plan and plan[-1][0] == "bn" else ("up",))
        if f"{index}.running_mean" in decoder:
            plan.append(("bn", int(decoder[f"{index}.running_mean"].shape[0])))
        elif decoder.get(f"{index}.weight") is not None and decoder[f"{index}.weight"].dim() == 4:
            out_ch, in_ch, kernel, _ = decoder[f"{index}.weight"].shape
            plan.append(("conv", int(in_ch), int(out_ch), int(kernel)))
        else:
            raise CheckpointError(path, f"decoder entry fc.{index} is neither a convolution nor a batch norm")
    convs = sum(1 for step in plan if step[0] == "conv")
    expected = int(decoder_type.split("-")[1]) + 1
    if convs != expected or plan[-1][0] != "conv" or plan[-1][2] != 1:
        raise CheckpointError(
            path,
            f"decoder has {convs} convolutions ending in "
            f"{plan[-1][2] if plan[-1][0] == 'conv' else plan[-1][0]} channels; "
            f"{decoder_type} needs {expected} ending in 1",
        )
    return plan
