"""Naive re-statements of the official pipelines (model-facts.md), one window at a time.

They share no code with the app's engine, so agreement between the two is
evidence that the engine reproduces the official maps.
"""

import math

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from tests.factories import reference_clip_features

MEAN = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)
CLIP_MEAN = torch.tensor([0.48145466, 0.4578275, 0.40821073]).view(3, 1, 1)
CLIP_STD = torch.tensor([0.26862954, 0.26130258, 0.27577711]).view(3, 1, 1)


def _starts(length, window=504, stride=128):
    starts = list(range(0, length - window + 1, stride))
    return starts if starts[-1] == length - window else [*starts, length - window]


@torch.no_grad()
def dinolizer_map(window_net, rgb: np.ndarray, activation="softmax") -> np.ndarray:
    height, width = rgb.shape[:2]
    image = Image.fromarray(rgb)
    resized = min(height, width) < 504
    if resized:
        scale = 1016 / math.sqrt(width * height)
        new_w, new_h = round(width * scale), round(height * scale)
        if min(new_w, new_h) < 504:
            grow = 504 / min(new_w, new_h)
            new_w, new_h = max(504, round(new_w * grow)), max(504, round(new_h * grow))
        image = image.resize((new_w, new_h), Image.BICUBIC)
    pixels = torch.from_numpy(np.array(image)).permute(2, 0, 1).float() / 255
    h, w = pixels.shape[1:]
    total, count = None, torch.zeros(h, w)
    for top in _starts(h):
        for left in _starts(w):
            window = (pixels[:, top : top + 504, left : left + 504] - MEAN) / STD
            logits = F.interpolate(
                window_net(window[None]), size=(504, 504), mode="bicubic", align_corners=False
            )[0]
            total = torch.zeros(logits.shape[0], h, w) if total is None else total
            total[:, top : top + 504, left : left + 504] += logits
            count[top : top + 504, left : left + 504] += 1
    mean = total / count
    prob = torch.softmax(mean, 0)[2] if activation == "softmax" else torch.sigmoid(mean[0])
    prob = prob.numpy().astype(np.float32)
    if resized:
        prob = np.clip(np.asarray(Image.fromarray(prob, "F").resize((width, height), Image.BICUBIC)), 0, 1)
    return prob


@torch.no_grad()
def declip_map(source, rgb: np.ndarray) -> np.ndarray:
    height, width = rgb.shape[:2]
    small = np.array(Image.fromarray(rgb).resize((224, 224), Image.BILINEAR))
    pixels = ((torch.from_numpy(small).permute(2, 0, 1).float() / 255 - CLIP_MEAN) / CLIP_STD)[None]
    logits = source.decoder(reference_clip_features(source, pixels))
    prob = torch.sigmoid(logits)
    prob = F.interpolate(prob, size=(height, width), mode="bilinear", align_corners=False, antialias=True)
    return prob[0, 0].numpy()


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


@torch.no_grad()
def declip_fusion_map(vit_source, resnet, decoder, rgb: np.ndarray) -> np.ndarray:
    """The official fusion: one 224 px input for both backbones; RN50 layer3 resized bilinear to the ViT's
    token grid; ViT channels first; decoder; sigmoid; bilinear back to the image size."""
    height, width = rgb.shape[:2]
    small = np.array(Image.fromarray(rgb).resize((224, 224), Image.BILINEAR))
    pixels = ((torch.from_numpy(small).permute(2, 0, 1).float() / 255 - CLIP_MEAN) / CLIP_STD)[None]
    vit = reference_clip_features(vit_source, pixels)
    rn = F.interpolate(resnet(pixels), size=vit.shape[-2:], mode="bilinear", align_corners=False)
    prob = torch.sigmoid(decoder(torch.cat([vit, rn], dim=1)))
    prob = F.interpolate(prob, size=(height, width), mode="bilinear", align_corners=False, antialias=True)
    return prob[0, 0].numpy()


@torch.no_grad()
def bfree_logits(vit, rgb: np.ndarray) -> list[float]:
    """B-Free's official five crops, in token space: the patch embedding of the whole image, crops of 36 x 36
    tokens (centre, top-left, bottom-left, bottom-right, top-right); a grid under 36 in a direction is tiled
    and cut to its first 36 x 36 tokens (all five crops the same)."""
    pixels = ((torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1).float() / 255 - MEAN) / STD)[None]
    tokens = vit.patch_embed.proj(pixels)[0]  # (C, rows, cols): pixels past a multiple of 14 dropped
    rows, cols = tokens.shape[1:]
    if rows < 36 or cols < 36:
        tiled = tokens.repeat(1, -(-36 // rows), -(-36 // cols))[:, :36, :36]
        crops = [tiled] * 5
    else:
        origins = [
            ((rows - 36) // 2, (cols - 36) // 2),
            (0, 0),
            (rows - 36, 0),
            (rows - 36, cols - 36),
            (0, cols - 36),
        ]
        crops = [tokens[:, top : top + 36, left : left + 36] for top, left in origins]
    logits = []
    for crop in crops:
        x = crop.flatten(1).T[None] + vit.pos_embed  # patch tokens only get the position embedding
        x = torch.cat([vit.cls_token, vit.reg_token, x], dim=1)
        for block in vit.blocks:
            x = block(x)
        logits.append(float(vit.head(vit.norm(x)[:, 0])[0, 0]))
    return logits
