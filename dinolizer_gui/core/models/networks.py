"""The two localizer networks, built on timm backbones from checkpoint weights."""

from __future__ import annotations

from typing import Any

import timm
import torch
import torch.nn.functional as F
from torch import nn

from ..engine.device import full_precision
from .checkpoints import CheckpointError
from .checkpoints.declip import DeclipWeights, FusionWeights
from .checkpoints.vit import infer_vit_config

DINOV2_REG_ARCH = "vit_base_patch14_reg4_dinov2"
CLIP_QUICKGELU_ARCH = "vit_large_patch14_clip_quickgelu_224"


def _load_strict(path: str, module: nn.Module, state: dict[str, torch.Tensor], what: str) -> None:
    """Load weights into a module built on the meta device; every tensor must match."""
    try:
        result = module.load_state_dict(state, strict=False, assign=True)
    except RuntimeError as exc:  # shape mismatch
        raise CheckpointError(path, f"{what} weights do not fit the architecture: {str(exc)[:500]}") from None
    problems = []
    if result.missing_keys:
        problems.append("missing " + ", ".join(result.missing_keys[:20]))
    if result.unexpected_keys:
        problems.append("unexpected " + ", ".join(result.unexpected_keys[:20]))
    if problems:
        raise CheckpointError(path, f"{what} weights do not fit the architecture: " + "; ".join(problems))


def build_vit(path: str, arch: str, state: dict[str, torch.Tensor], *, final_norm: bool = True) -> nn.Module:
    """A timm ViT of the shape the weights imply (built on the meta device, then assigned)."""
    config = infer_vit_config(path, state)
    with torch.device("meta"):
        vit = timm.create_model(arch, pretrained=False, **config.timm_kwargs())
    if not final_norm:
        vit.norm = nn.Identity()
    _load_strict(path, vit, state, "backbone")
    return vit.eval()


class PatchClassifier(nn.Module):
    """DinoLizer: final-layer patch tokens of a DINOv2 ViT, classified one by one."""

    def __init__(self, vit: Any, head_weight: torch.Tensor, head_bias: torch.Tensor):
        super().__init__()
        self.vit: Any = vit  # a timm VisionTransformer (nn.Module's typing hides its attributes)
        self.head = nn.Linear(head_weight.shape[1], head_weight.shape[0])
        with torch.no_grad():
            self.head.weight.copy_(head_weight)
            self.head.bias.copy_(head_bias)
        self.grid = tuple(vit.patch_embed.grid_size)

    @property
    def window(self) -> int:
        return self.grid[0] * self.vit.patch_embed.patch_size[0]

    @property
    def classes(self) -> int:
        return self.head.out_features

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        """(B, 3, 504, 504) normalised pixels -> (B, classes, 36, 36) patch logits."""
        tokens = self.vit.forward_features(pixels)[:, self.vit.num_prefix_tokens :]
        with full_precision(tokens):
            logits = self.head(tokens.float())
        return logits.transpose(1, 2).reshape(pixels.shape[0], self.classes, *self.grid)


class ImageClassifier(nn.Module):
    """B-Free: a DINOv2 ViT whose final CLS token gives one logit (positive = synthetic), on token crops."""

    def __init__(self, vit: Any, head_weight: torch.Tensor, head_bias: torch.Tensor):
        super().__init__()
        self.vit: Any = vit
        self.head = nn.Linear(head_weight.shape[1], 1)
        with torch.no_grad():
            self.head.weight.copy_(head_weight)
            self.head.bias.copy_(head_bias)
        self.grid = tuple(vit.patch_embed.grid_size)  # the crop, in tokens (36 x 36)
        self.patch = int(vit.patch_embed.patch_size[0])

    def embed(self, pixels: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) normalised pixels -> (B, width, H // 14, W // 14) tokens (extra pixels dropped)."""
        return self.vit.patch_embed.proj(pixels)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, width, 36, 36) token crops -> (B,) logits: position embedding, CLS, registers, blocks, head."""
        x = self.vit.patch_embed.norm(tokens.flatten(2).transpose(1, 2))
        x = self.vit.norm_pre(self.vit.patch_drop(self.vit._pos_embed(x)))
        x = self.vit.norm(self.vit.blocks(x))
        with full_precision(x):
            return self.head(x[:, 0].float())[:, 0]


def build_decoder(plan: list[tuple]) -> nn.Sequential:
    steps: list[nn.Module] = []
    for step in plan:
        if step[0] == "conv":
            _, in_ch, out_ch, kernel = step
            steps.append(nn.Conv2d(in_ch, out_ch, kernel_size=kernel, padding=kernel // 2))
        elif step[0] == "bn":
            steps.append(nn.BatchNorm2d(step[1]))
        elif step[0] == "relu":
            steps.append(nn.ReLU())
        elif step[0] == "resize":
            steps.append(nn.Upsample(size=(256, 256)))  # the fusion decoder's: a no-op at 256 already
        else:
            steps.append(nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False))
    return nn.Sequential(*steps)


class DeclipNet(nn.Module):
    """DeCLIP: tokens of one CLIP ViT block (before ln_post), decoded by convolutions."""

    def __init__(self, clip_vit: nn.Module, feature_layer: int, decoder: nn.Sequential):
        super().__init__()
        self.clip: Any = clip_vit  # a timm VisionTransformer
        self.feature_layer = feature_layer
        self.decoder = decoder

    @property
    def window(self) -> int:
        return self.clip.patch_embed.img_size[0]

    def vit_features(self, pixels: torch.Tensor) -> torch.Tensor:
        """The feature layer's tokens (CLS dropped, before ln_post) as a (B, width, 16, 16) grid."""
        return self.clip.forward_intermediates(
            pixels,
            indices=[self.feature_layer],
            norm=False,
            stop_early=True,
            intermediates_only=True,
            output_fmt="NCHW",
        )[0]

    def decode(self, features: torch.Tensor) -> torch.Tensor:
        """The decoder, its final convolution (the head) in float32 whatever the precision of the rest."""
        hidden = self.decoder[:-1](features)
        with full_precision(hidden):
            return self.decoder[-1](hidden.float())

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        """(B, 3, 224, 224) normalised pixels -> (B, 1, 256, 256) logits."""
        return self.decode(self.vit_features(pixels))


class DeclipFusionNet(DeclipNet):
    """DeCLIP ViT+RN50: the ViT block's tokens and RN50's layer3 (resized to the token grid), ViT first."""

    def __init__(self, clip_vit: nn.Module, resnet: nn.Module, feature_layer: int, decoder: nn.Sequential):
        super().__init__(clip_vit, feature_layer, decoder)
        self.resnet: Any = resnet  # a timm ByobNet ending at OpenAI's layer3

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        vit = self.vit_features(pixels)
        resnet = F.interpolate(
            self.resnet.forward_features(pixels), size=vit.shape[-2:], mode="bilinear", align_corners=False
        )
        return self.decode(torch.cat([vit, resnet], dim=1))


def build_resnet_clip(
    path: str, state: dict[str, torch.Tensor], depths: tuple[int, ...], width: int
) -> nn.Module:
    """OpenAI's ModifiedResNet up to layer3 as a timm ByobNet (three-conv stem, 2x2 average pool, average-pool
    anti-aliasing and shortcuts: timm's `resnet50_clip` design), sized from the weights."""
    from timm.models.byobnet import ByoBlockCfg, ByobNet, ByoModelCfg

    stages = tuple(
        ByoBlockCfg(type="bottle", d=depth, c=width * 4 * 2**index, s=1 if index == 0 else 2, br=0.25)
        for index, depth in enumerate(depths)
    )
    config = ByoModelCfg(
        blocks=stages,
        stem_chs=(width // 2, width // 2, width),
        stem_type="",
        stem_pool="avg2",
        downsample="avg",
        aa_layer="avg",
        head_type="classifier",
    )
    with torch.device("meta"):
        resnet = ByobNet(config, num_classes=0)
    _load_strict(path, resnet, state, "RN50")
    return resnet.eval()


def build_declip_fusion(paths: tuple[str, str, str], weights: FusionWeights) -> DeclipFusionNet:
    """(decoder, RN50, ViT source) files, and their weights."""
    decoder_path, rn50_path, vit_path = paths
    clip = build_vit(vit_path, CLIP_QUICKGELU_ARCH, weights.clip_state, final_norm=False)
    resnet = build_resnet_clip(rn50_path, weights.resnet_state, weights.resnet_depths, weights.resnet_width)
    decoder = build_decoder(weights.decoder_plan)
    _load_strict(decoder_path, decoder, weights.decoder_state, "decoder")
    return DeclipFusionNet(clip, resnet, weights.feature_layer, decoder).eval()


def build_declip(path: str, weights: DeclipWeights) -> DeclipNet:
    clip = build_vit(path, CLIP_QUICKGELU_ARCH, weights.clip_state, final_norm=False)
    decoder = build_decoder(weights.decoder_plan)
    _load_strict(path, decoder, weights.decoder_state, "decoder")
    return DeclipNet(clip, weights.feature_layer, decoder).eval()
