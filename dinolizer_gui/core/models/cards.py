"""Model cards: what each model is, what it was trained on and where it is known to fail."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelCard:
    title: str
    paper: str
    architecture: str
    training_data: str
    failure_modes: tuple[str, ...]
    licence: str


DINOLIZER_CARD = ModelCard(
    title="DinoLizer",
    paper="Doi, Butora, Itier, Boulanger, Bas. DinoLizer: Learning from the Best for Generative "
    "Inpainting Localization. arXiv 2511.20722 (2025)",
    architecture="DINOv2 ViT-B/14 with 4 registers (B-Free), per-patch linear head; "
    "504 px windows, stride 128",
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
    architecture="frozen OpenAI CLIP ViT-L/14, features of one block, convolutional decoder; the ViT+RN50 "
    "variant (the paper's best, Dolos IoU 73.8 in-domain / 34.7 out-of-domain) also reads CLIP RN50's "
    "layer3, resized to the token grid and concatenated after the ViT features",
    training_data="depends on the checkpoint: Dolos sets (pluralistic, lama, repaint-p2-9k, ldm) are faces; "
    "COCO-SD is general photographs",
    failure_modes=(
        "the whole image is squeezed to 224x224: small edits on large images vanish",
        "out-of-domain generators and content reduce accuracy sharply (Dolos IoU 32.6 OOD vs 67.9 in-domain)",
        "fully regenerated images are not localised",
    ),
    licence="CC BY-NC-SA 4.0: non-commercial use only (OpenAI's CLIP weights: MIT)",
)


BFREE_CARD = ModelCard(
    title="B-Free",
    paper="Guillaro, Zingarini, Cozzolino, Verdoliva. A Bias-Free Training Paradigm for More General "
    "AI-generated Image Detection. CVPR 2025",
    architecture="DINOv2 ViT-B/14 with 4 registers, one logit from the CLS token; five 504 px crops of the "
    "whole image in token space, mean logit. Image-level only: it does not localise",
    training_data="B-Free's training data: real images and their content-aligned, self-conditioned generated "
    "versions, for detecting fully generated or regenerated images",
    failure_modes=(
        "it scores the whole image; it says nothing about where an edit is",
        "known false positives on heavily processed real photographs (compression, filters, resampling)",
        "images smaller than 504 px in a direction are scored on their top-left 504 x 504 px, tiled",
    ),
    licence="GRIP licence: non-profit research use only",
)
