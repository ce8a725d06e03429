"""DeCLIP's layouts: a ViT file (OpenAI CLIP under `model.`, decoder under `fc.`) and decoder-only files."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import torch

from ..layouts import Layout
from . import Checkpoint, CheckpointError, list_keys
from .torchscript import LazyTensor
from .vit import MAX_BLOCKS, block_count

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


@dataclass
class FusionWeights:
    clip_state: dict[str, torch.Tensor]  # timm ViT keys, blocks up to the feature layer
    resnet_state: dict[str, torch.Tensor]  # timm ByobNet keys: the stem and the first three stages
    resnet_depths: tuple[int, int, int]  # blocks of OpenAI's layer1..layer3
    resnet_width: int
    decoder_state: dict[str, torch.Tensor]
    decoder_plan: list[tuple]
    feature_layer: int
    decoder_type: str


def declip_weights(ckpt: Checkpoint) -> DeclipWeights:
    """A DeCLIP ViT file: the CLIP ViT inside it (blocks up to the feature layer) and its decoder."""
    layer, decoder_type = _header(ckpt)
    decoder, unmatched = {}, []
    for key, tensor in ckpt.content["model"].items():
        key = str(key)
        if key.startswith("fc."):
            decoder[key.removeprefix("fc.")] = tensor
        elif not (key.startswith("model.visual.") or _TEXT_TOWER.match(key.removeprefix("model."))):
            unmatched.append(key)
    if unmatched:
        raise CheckpointError(ckpt.path, "keys not in the DeCLIP layout: " + list_keys(unmatched))
    plan = _conv_decoder_plan(ckpt.path, decoder, decoder_type)
    return DeclipWeights(vit_source_state(ckpt, layer), decoder, plan, layer, decoder_type)


def fusion_weights(decoder: Checkpoint, rn50: Checkpoint, vit_source: Checkpoint) -> FusionWeights:
    """The ViT+RN50 system: the decoder file, OpenAI's RN50 and the CLIP ViT-L/14 (OpenAI's, or the one inside
    any DeCLIP ViT file), checked to fit together."""
    layer, decoder_type = _header(decoder)
    state = {
        str(k).removeprefix("fc."): t for k, t in decoder.content["model"].items() if str(k).startswith("fc.")
    }
    if extra := [str(k) for k in decoder.content["model"] if not str(k).startswith("fc.")]:
        raise CheckpointError(decoder.path, "keys not in the DeCLIP ViT+RN50 layout: " + list_keys(extra))
    clip_state = vit_source_state(vit_source, layer)
    resnet_state, depths, width = resnet_layer3_state(rn50)
    plan = _conv_decoder_plan(decoder.path, state, decoder_type)
    vit_width = clip_state["cls_token"].shape[-1]
    rn_width = 16 * width  # layer3's bottlenecks have 4 x width planes and expand them 4 times
    if plan[0][1] != vit_width + rn_width:
        raise CheckpointError(
            decoder.path,
            f"the decoder reads {plan[0][1]} channels; the CLIP ViT ({vit_width}) and RN50 layer3 "
            f"({rn_width}) give {vit_width + rn_width}",
        )
    return FusionWeights(clip_state, resnet_state, depths, width, state, plan, layer, decoder_type)


def decoder_only_plan(ckpt: Checkpoint) -> list[tuple]:
    """A ViT+RN50 file's decoder, rebuilt and checked on its own (its backbones join it at analysis)."""
    _layer, decoder_type = _header(ckpt)
    return _conv_decoder_plan(
        ckpt.path, {str(k).removeprefix("fc."): t for k, t in ckpt.content["model"].items()}, decoder_type
    )


def openai_vit_depth(ckpt: Checkpoint) -> int:
    """How many transformer blocks an OpenAI CLIP ViT file holds."""
    keys = ckpt.content.get("torchscript") or ckpt.content.get("tensors") or {}
    return block_count(ckpt.path, keys, r"visual\.transformer\.resblocks\.(\d+)\.")


def _openai_tensors(ckpt: Checkpoint, wanted: Callable[[str], bool]) -> dict[str, torch.Tensor]:
    """The tensors of an OpenAI CLIP file (TorchScript archive or safetensors copy) whose keys are `wanted`,
    as float32 (the official code loads them so: fp16 values made float)."""
    tensors = ckpt.content.get("torchscript") or ckpt.content.get("tensors") or {}
    return {
        key: (value.load() if isinstance(value, LazyTensor) else value).float()
        for key, value in tensors.items()
        if wanted(key)
    }


def vit_source_state(ckpt: Checkpoint, layer: int) -> dict[str, torch.Tensor]:
    """The CLIP ViT's blocks up to `layer`, in timm's keys, from a DeCLIP ViT file or OpenAI's ViT-L/14."""
    if ckpt.layout is Layout.DECLIP_VIT:
        visual = {
            "visual." + str(k).removeprefix("model.visual."): t
            for k, t in ckpt.content["model"].items()
            if str(k).startswith("model.visual.")
        }
    elif ckpt.layout is Layout.OPENAI_VIT:
        visual = _openai_tensors(ckpt, lambda key: key.startswith("visual.") and _block_index(key) <= layer)
    else:
        raise CheckpointError(ckpt.path, f"a {ckpt.layout.value} holds no CLIP ViT")
    state = _openai_clip_to_timm(visual, layer)
    if f"blocks.{layer}.attn.qkv.weight" not in state:
        raise CheckpointError(
            ckpt.path, f"feature layer {layer} is beyond the blocks of the CLIP ViT in this file"
        )
    return state


def _block_index(key: str) -> int:
    match = re.match(r"visual\.transformer\.resblocks\.(\d+)\.", key)
    return int(match.group(1)) if match else -1


def resnet_layer3_state(ckpt: Checkpoint) -> tuple[dict[str, torch.Tensor], tuple[int, int, int], int]:
    """OpenAI's ModifiedResNet up to layer3, in timm's ByobNet keys, with its block counts and width."""
    from types import SimpleNamespace

    from timm.models.byobnet import _convert_openai_clip as convert_resnet

    def wanted(key: str) -> bool:
        return key.startswith("visual.") and not key.startswith(("visual.layer4", "visual.attnpool"))

    state = convert_resnet(_openai_tensors(ckpt, wanted), SimpleNamespace(head=None))  # type: ignore[arg-type]
    depths = tuple(block_count(ckpt.path, state, rf"stages\.{stage}\.(\d+)\.") for stage in range(3))
    width = int(state["stem.conv3.conv.weight"].shape[0]) if "stem.conv3.conv.weight" in state else 0
    if not 0 < width <= 512:
        raise CheckpointError(ckpt.path, "not a CLIP ModifiedResNet: its three-convolution stem is missing")
    return state, depths, width  # type: ignore[return-value]


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
    x2 bilinear upsampling, which ends every stage of the official decoder; one
    skipped right after an upsampling is the fusion decoder's resize to 256 x 256
    (a no-op at that size, which it always has).
    """
    plan: list[tuple] = []
    for index in _decoder_indices(path, decoder):
        while (
            len(plan) < index
        ):  # after a batch norm its ReLU; after an upsampling the fusion's resize to 256
            previous = plan[-1][0] if plan else ""
            plan.append({"bn": ("relu",), "up": ("resize",)}.get(previous, ("up",)))
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
