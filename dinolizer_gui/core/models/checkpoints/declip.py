"""DeCLIP's layouts: a ViT file (OpenAI CLIP under `model.`, decoder under `fc.`) and decoder-only files."""

from __future__ import annotations

import re
from dataclasses import dataclass

import torch

from ..layouts import Layout
from . import Checkpoint, CheckpointError, list_keys
from .vit import MAX_BLOCKS

MAX_DECODER_ENTRIES = 256  # the official conv-20 decoder has 66 (67 for the fusion)
MAX_CONVS = 64

_TEXT_TOWER = re.compile(
    r"(transformer\.|token_embedding\.|ln_final\.|text_projection|logit_scale|positional_embedding)"
)


@dataclass
class DeclipWeights:
    clip_state: dict[str, torch.Tensor]  # timm keys, blocks up to the feature layer
    decoder_state: dict[str, torch.Tensor]  # nn.Sequential keys ("0.weight", ...)
    decoder_plan: list[tuple]  # ("conv", in, out, kernel) | ("bn", ch) | ("relu",) | ("up",)
    feature_layer: int
    decoder_type: str


def declip_weights(ckpt: Checkpoint) -> DeclipWeights:
    if ckpt.layout is Layout.DECLIP_VIT_RN50:
        raise CheckpointError(
            ckpt.path,
            "DeCLIP ViT+RN50 files hold only the decoder; they need the OpenAI CLIP "
            "ViT-L/14 and RN50 weights as well, which this version does not load",
        )
    layer, decoder_type = _header(ckpt)
    visual, decoder, unmatched = {}, {}, []
    for key, tensor in ckpt.content["model"].items():
        key = str(key)
        if key.startswith("model.visual."):
            visual["visual." + key.removeprefix("model.visual.")] = tensor
        elif key.startswith("fc."):
            decoder[key.removeprefix("fc.")] = tensor
        elif not (key.startswith("model.") and _TEXT_TOWER.match(key.removeprefix("model."))):
            unmatched.append(key)
    if unmatched:
        raise CheckpointError(ckpt.path, "keys not in the DeCLIP layout: " + list_keys(unmatched))
    clip_state = _openai_clip_to_timm(visual, layer)
    if f"blocks.{layer}.attn.qkv.weight" not in clip_state:
        raise CheckpointError(
            ckpt.path, f"feature layer {layer} is beyond the blocks of the CLIP ViT in this file"
        )
    plan = _conv_decoder_plan(ckpt.path, decoder, decoder_type)
    return DeclipWeights(clip_state, decoder, plan, layer, decoder_type)


def _header(ckpt: Checkpoint) -> tuple[int, str]:
    """The feature layer and decoder type the file names, within what the architecture allows."""
    layer_name = str(ckpt.content.get("feature_layer", ""))
    decoder_type = str(ckpt.content.get("decoder_type", ""))
    match = re.fullmatch(r"layer(\d{1,3})", layer_name)
    if not match or int(match.group(1)) >= MAX_BLOCKS:
        raise CheckpointError(
            ckpt.path, f"feature_layer {layer_name[:40]!r} is not a ViT layer such as 'layer20'"
        )
    convs = re.fullmatch(r"conv-(\d{1,3})", decoder_type)
    if not convs or not 4 <= int(convs.group(1)) <= MAX_CONVS or int(convs.group(1)) % 4:
        raise CheckpointError(
            ckpt.path, f"decoder_type {decoder_type[:40]!r} is not supported (conv-4/12/20 are)"
        )
    return int(match.group(1)), decoder_type


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


def _decoder_indices(path: str, decoder: dict[str, torch.Tensor]) -> list[int]:
    indices: set[int] = set()
    for key in decoder:
        head = key.split(".")[0]
        if not head.isdigit() or int(head) >= MAX_DECODER_ENTRIES:
            raise CheckpointError(
                path, f"decoder entry fc.{key[:60]} is not a layer of a convolutional decoder"
            )
        indices.add(int(head))
    return sorted(indices)


def _conv_decoder_plan(path: str, decoder: dict[str, torch.Tensor], decoder_type: str) -> list[tuple]:
    """Rebuild the nn.Sequential order from which indices hold parameters.

    conv, bn, then relu at the next index; an index skipped after a relu is a
    x2 bilinear upsampling, which ends every stage of the official decoder.
    """
    plan: list[tuple] = []
    for index in _decoder_indices(path, decoder):
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
    if not plan or convs != expected or plan[-1][0] != "conv" or plan[-1][2] != 1:
        ending = f"{plan[-1][2]} channels" if plan and plan[-1][0] == "conv" else "no convolution"
        raise CheckpointError(
            path,
            f"decoder has {convs} convolutions ending in {ending}; {decoder_type} needs {expected} ending "
            "in 1",
        )
    return plan
