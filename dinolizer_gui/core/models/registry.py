"""The registry of localizers: what each model is, what it needs, how it is built."""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..device import release_mapped_files
from ..imageio import LoadedImage
from ..inference import AnalysisOptions, ModelRun, Pipeline, Progress, declip_pipeline, dinolizer_pipeline, run_localizer
from .checkpoints import (
    Checkpoint, CheckpointError, Layout, PatchHeadWeights, bfree_backbone_state, declip_weights,
    dinolizer_release_weights, linear_head_tensors, read_checkpoint,
)
from .networks import DINOV2_REG_ARCH, PatchClassifier, build_declip, build_vit

COCOGLIDE_P99_THRESHOLD = 0.5946570634841919
COCOGLIDE_SOURCE = ("99th-percentile threshold calibrated on CocoGlide by an independent adapter of the "
                    "official release (ROC-AUC 0.989 there); not a universal operating point")
UNCALIBRATED = "no calibrated image-level threshold is published for this model; 0.5 is a convention"


@dataclass(frozen=True)
class ModelCard:
    title: str
    paper: str
    architecture: str
    training_data: str
    failure_modes: tuple[str, ...]
    licence: str


@dataclass
class Localizer:
    name: str
    variant: str
    card: ModelCard
    net: torch.nn.Module
    pipeline: Pipeline
    checkpoints: list[dict[str, str]]
    load_notes: list[str] = field(default_factory=list)
    pixel_threshold: float = 0.5
    score_threshold: float = 0.5
    score_threshold_source: str = UNCALIBRATED

    def analyze(self, image: LoadedImage, options: AnalysisOptions) -> Generator[Progress, None, ModelRun]:
        return run_localizer(self.net, self.pipeline, image, options)

    def release_weight_pages(self) -> int:
        """Let the memory-mapped weights leave resident memory until the next run; returns the bytes released."""
        return release_mapped_files(c["path"] for c in self.checkpoints)

    def describe(self) -> dict:
        return {
            "name": self.name, "title": self.card.title, "variant": self.variant, "paper": self.card.paper,
            "architecture": self.card.architecture, "training_data": self.card.training_data,
            "checkpoints": self.checkpoints, "load_notes": self.load_notes,
            "pixel_threshold": self.pixel_threshold, "score_threshold": self.score_threshold,
            "score_threshold_source": self.score_threshold_source, "licence": self.card.licence,
            "known_failure_modes": list(self.card.failure_modes),
        }


@dataclass(frozen=True)
class LocalizerEntry:
    name: str
    card: ModelCard
    needs: str  # what files the user must supply, in words
    build: Callable[[list[Checkpoint]], Localizer]


DINOLIZER_CARD = ModelCard(
    title="DinoLizer",
    paper="Doi, Butora, Itier, Boulanger, Bas. DinoLizer: Learning from the Best for Generative "
          "Inpainting Localization. arXiv 2511.20722 (2025)",
    architecture="DINOv2 ViT-B/14 with 4 registers (B-Free), per-patch linear head; 504 px windows, stride 128",
    training_data="B-Free backbone fine-tuned on generative-inpainting datasets (general photographs)",
    failure_modes=(
        "edits smaller than about 12-20 % of a 504x504 window are often missed",
        "fully regenerated or fully synthetic images are not localised (there is no authentic reference)",
        "the image-level threshold was calibrated on CocoGlide only",
    ),
    licence="GRIP licence: non-profit research use only",
)

DECLIP_CARD = ModelCard(
    title="DeCLIP",
    paper="Smeu, Oneata, Oneata. DeCLIP: Decoding CLIP Representations for Deepfake Localization. WACV 2025",
    architecture="frozen OpenAI CLIP ViT-L/14, features of one block, convolutional decoder",
    training_data="depends on the checkpoint: Dolos sets (pluralistic, lama, repaint-p2-9k, ldm) are faces; "
                  "COCO-SD is general photographs",
    failure_modes=(
        "the whole image is squeezed to 224x224: small edits on large images vanish",
        "out-of-domain generators and content reduce accuracy sharply (IoU 32.6 OOD vs 67.9 in-domain on Dolos)",
        "fully regenerated images are not localised",
    ),
    licence="CC BY-NC-SA 4.0: non-commercial use only",
)


def _single(checkpoints: list[Checkpoint], layout: Layout) -> Checkpoint | None:
    matches = [c for c in checkpoints if c.layout is layout]
    return matches[0] if len(matches) == 1 else None


def _patch_localizer(weights: PatchHeadWeights, vit_path: str, variant: str, files: list[Checkpoint],
                     notes: list[str], **thresholds) -> Localizer:
    vit = build_vit(vit_path, DINOV2_REG_ARCH, weights.vit_state)
    net = PatchClassifier(vit, weights.head_weight, weights.head_bias).eval()
    return Localizer("dinolizer", variant, DINOLIZER_CARD, net, dinolizer_pipeline,
                     [c.describe() for c in files], notes + weights.notes, **thresholds)


def _dinolizer_from_files(files: list[Checkpoint]) -> Localizer:
    if release := _single(files, Layout.DINOLIZER_RELEASE):
        weights = dinolizer_release_weights(release)
        if weights.head_weight.shape[0] != 3:
            raise CheckpointError(release.path, f"cls_head has {weights.head_weight.shape[0]} classes; the release has 3")
        return _patch_localizer(weights, release.path, "official release (3-class head, class 2 = inpainted)",
                                [release], [], score_threshold=COCOGLIDE_P99_THRESHOLD,
                                score_threshold_source=COCOGLIDE_SOURCE)
    backbone, head = _single(files, Layout.BFREE_BACKBONE), _single(files, Layout.LINEAR_HEAD)
    if backbone and head:
        weight, bias = linear_head_tensors(head)
        weights = PatchHeadWeights(bfree_backbone_state(backbone), weight, bias)
        return _patch_localizer(weights, backbone.path, "paper head (B-Free backbone + 1-logit linear head, sigmoid)",
                                [backbone, head], [])
    found = ", ".join(f"{Path(c.path).name} ({c.layout.value})" for c in files) or "none"
    raise CheckpointError(files[0].path if files else "dinolizer",
                          f"DinoLizer needs either the release checkpoint, or a B-Free backbone plus a linear "
                          f"head file; given: {found}")


def _declip_from_files(files: list[Checkpoint]) -> Localizer:
    candidates = [c for c in files if c.layout in (Layout.DECLIP_VIT, Layout.DECLIP_VIT_RN50)]
    if len(candidates) != 1 or len(files) != 1:
        found = ", ".join(f"{Path(c.path).name} ({c.layout.value})" for c in files) or "none"
        raise CheckpointError(files[0].path if files else "declip", f"DeCLIP needs one DeCLIP checkpoint; given: {found}")
    weights = declip_weights(candidates[0])
    net = build_declip(candidates[0].path, weights)
    variant = f"ViT-L/14 layer{weights.feature_layer} {weights.decoder_type}"
    return Localizer("declip", variant, DECLIP_CARD, net, declip_pipeline, [candidates[0].describe()],
                     [f"features of block {weights.feature_layer} (0-based), before ln_post"])


REGISTRY: dict[str, LocalizerEntry] = {
    "dinolizer": LocalizerEntry("dinolizer", DINOLIZER_CARD,
                                "the release checkpoint epoch=36_val_loss=0.2130.ckpt, or a B-Free backbone "
                                "(model_epoch_best.pth) plus a linear head file", _dinolizer_from_files),
    "declip": LocalizerEntry("declip", DECLIP_CARD,
                             "one DeCLIP ViT checkpoint, e.g. ViT_layer20_conv-20_cocosd.pth", _declip_from_files),
}


def load_localizer(name: str, paths: list[Path | str], known_hashes: dict[str, str] | None = None) -> Localizer:
    """Read the files and build the named localizer; raises CheckpointError with a readable reason."""
    if name not in REGISTRY:
        raise KeyError(f"unknown model {name!r}; known: {', '.join(REGISTRY)}")
    known_hashes = known_hashes or {}
    checkpoints = [read_checkpoint(p, known_hashes.get(str(p))) for p in paths]
    return REGISTRY[name].build(checkpoints)
