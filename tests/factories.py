"""What tests build, in one place: seeded random checkpoints in the official layouts (see
shared/docs/model-facts.md), pictures, files signed with Content Credentials, and a server of checkpoints
on 127.0.0.1.

Each checkpoint factory also returns the source modules it wrote, so that tests can run an independent
reference computation (LoRA applied at run time, an OpenAI-style CLIP forward written by hand, in
tests/reference.py) against what the app's loaders build. The signed files are made with c2pa-python's
builder and a chain made on the spot (dinolizer_gui.core.io.provenance.signing, which the self-test uses
too); copies changed after signing, edits whose ingredient is a signed parent, and EXIF blocks with a
thumbnail are made byte by byte.
"""

from __future__ import annotations

import copy
import math
import struct
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image
from safetensors.torch import save_file
from torch import nn

from dinolizer_gui.core.io.images import LoadedImage
from dinolizer_gui.core.io.provenance.credentials import import_c2pa
from dinolizer_gui.core.io.provenance.signing import AI_MADE, Chain, manifest
from dinolizer_gui.core.models.synthetic import ReleaseSource as DinoLizerSource
from dinolizer_gui.core.models.synthetic import random_dinov2, write_release
from dinolizer_gui.core.models.synthetic import randomise as _randomise

TINY = dict(embed_dim=64, depth=2, lora_rank=4)
FULL = dict(embed_dim=768, depth=12, lora_rank=64)


def make_dinolizer_release(
    path: Path,
    embed_dim: int = 64,
    depth: int = 2,
    lora_rank: int = 4,
    seed: int = 0,
    head_scale: float = 3.0,
) -> DinoLizerSource:
    """A Lightning checkpoint in the DinoLizer release layout (the writer the self-test uses)."""
    return write_release(path, embed_dim, depth, lora_rank, seed, head_scale)


def make_bfree_backbone(path: Path, embed_dim: int = 64, depth: int = 2, seed: int = 1) -> nn.Module:
    """`model_epoch_best.pth`: {'model': plain timm keys} with B-Free's 1-logit image head."""
    vit = random_dinov2(torch.Generator().manual_seed(seed), embed_dim, depth)
    torch.save({"model": {k: v.clone() for k, v in vit.state_dict().items()}, "epoch": 10}, path)
    return vit


def make_linear_head(path: Path, embed_dim: int = 64, seed: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    """The paper head in this project's documented format (safetensors, 1x1 convolution shape)."""
    generator = torch.Generator().manual_seed(seed)
    weight = torch.randn((1, embed_dim, 1, 1), generator=generator) * 3.0
    bias = torch.tensor([0.1])
    save_file(
        {"weight": weight.contiguous(), "bias": bias}, str(path), metadata={"format": "dinolizer-linear-head"}
    )
    return weight.flatten(1), bias


@dataclass
class DeclipSource:
    visual: dict[str, torch.Tensor]  # OpenAI CLIP visual keys without the "model.visual." prefix
    decoder: nn.Sequential
    layer: int
    heads: int


def official_decoder(convs: int, channels: tuple[int, ...]) -> nn.Sequential:
    """The DeCLIP decoder order: per stage N/4 x (conv5, bn, relu), then x2 bilinear; final conv to 1."""
    steps: list[nn.Module] = []
    for stage in range(1, len(channels)):
        for sub in range(convs // 4):
            steps += [
                nn.Conv2d(
                    channels[stage - 1] if sub == 0 else channels[stage], channels[stage], 5, padding=2
                ),
                nn.BatchNorm2d(channels[stage]),
                nn.ReLU(),
            ]
        steps.append(nn.Upsample(scale_factor=2, mode="bilinear"))
    steps.append(nn.Conv2d(channels[-1], 1, 5, padding=2))
    return nn.Sequential(*steps)


def make_declip_vit(
    path: Path | None,
    embed_dim: int = 64,
    depth: int = 3,
    layer: int = 1,
    convs: int = 4,
    channels: tuple[int, ...] = (64, 16, 8, 8, 8),
    seed: int = 3,
    patch: int = 14,
    grid: int = 16,
) -> tuple[dict, DeclipSource]:
    """A DeCLIP ViT checkpoint: the whole OpenAI CLIP model under `model.` and the decoder under `fc.`."""
    generator = torch.Generator().manual_seed(seed)

    def rnd(*shape, scale=0.05, offset=0.0):
        return torch.randn(shape, generator=generator) * scale + offset

    e = embed_dim
    visual = {
        "conv1.weight": rnd(e, 3, patch, patch),
        "class_embedding": rnd(e),
        "positional_embedding": rnd(grid * grid + 1, e),
        "ln_pre.weight": rnd(e, offset=1.0),
        "ln_pre.bias": rnd(e),
        "ln_post.weight": rnd(e, offset=1.0),
        "ln_post.bias": rnd(e),
        "proj": rnd(e, 32),
    }
    for i in range(depth):
        b = f"transformer.resblocks.{i}."
        visual.update(
            {
                b + "attn.in_proj_weight": rnd(3 * e, e),
                b + "attn.in_proj_bias": rnd(3 * e),
                b + "attn.out_proj.weight": rnd(e, e),
                b + "attn.out_proj.bias": rnd(e),
                b + "ln_1.weight": rnd(e, offset=1.0),
                b + "ln_1.bias": rnd(e),
                b + "ln_2.weight": rnd(e, offset=1.0),
                b + "ln_2.bias": rnd(e),
                b + "mlp.c_fc.weight": rnd(4 * e, e),
                b + "mlp.c_fc.bias": rnd(4 * e),
                b + "mlp.c_proj.weight": rnd(e, 4 * e),
                b + "mlp.c_proj.bias": rnd(e),
            }
        )
    decoder = official_decoder(convs, (e, *tuple(channels[1:]))).eval()
    with torch.no_grad():
        for name, param in decoder.named_parameters():
            param.copy_(
                rnd(
                    *param.shape,
                    scale=0.2,
                    offset=1.0 if name.endswith(".weight") and param.dim() == 1 else 0.0,
                )
            )
        for module in decoder:
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.copy_(rnd(module.num_features, scale=0.1))
                module.running_var.copy_(rnd(module.num_features, scale=0.1).abs() + 0.5)
    source = DeclipSource(visual, decoder, layer, embed_dim // 64)
    _centre_final_bias(source, generator, patch * grid)
    model = {f"model.visual.{k}": v for k, v in visual.items()}
    model.update(
        {
            "model.token_embedding.weight": rnd(10, 8),
            "model.positional_embedding": rnd(7, 8),
            "model.ln_final.weight": rnd(8),
            "model.text_projection": rnd(8, 8),
            "model.logit_scale": torch.tensor(4.6),
            "model.transformer.resblocks.0.attn.in_proj_weight": rnd(24, 8),
        }
    )
    model.update({f"fc.{k}": v.clone() for k, v in decoder.state_dict().items()})
    content = {
        "model": model,
        "optimizer": {"state": {}, "param_groups": []},
        "total_steps": 4242,
        "feature_layer": f"layer{layer}",
        "decoder_type": f"conv-{convs}",
    }
    if path is not None:
        torch.save(content, path)
    return content, source


@torch.no_grad()
def _centre_final_bias(source: DeclipSource, generator: torch.Generator, size: int) -> None:
    """Shift the last convolution so random images give maps with both classes."""
    if source.visual["conv1.weight"].shape[0] > 256:
        return  # full-size checks look at shapes only
    pixels = torch.randn((1, 3, size, size), generator=generator)
    logits = source.decoder(reference_clip_features(source, pixels))
    source.decoder[-1].bias -= logits.median()


def reference_clip_features(source: DeclipSource, pixels: torch.Tensor) -> torch.Tensor:
    """An OpenAI-CLIP visual forward written from the paper's description (QuickGELU, LND order)."""
    v = source.visual
    x = torch.nn.functional.conv2d(pixels, v["conv1.weight"], stride=v["conv1.weight"].shape[-1])
    batch, width, gh, gw = x.shape
    x = x.reshape(batch, width, gh * gw).permute(0, 2, 1)
    cls = v["class_embedding"].expand(batch, 1, width)
    x = torch.cat([cls, x], dim=1) + v["positional_embedding"]
    x = torch.nn.functional.layer_norm(x, (width,), v["ln_pre.weight"], v["ln_pre.bias"])
    x = x.permute(1, 0, 2)  # LND
    for i in range(source.layer + 1):
        b = f"transformer.resblocks.{i}."
        h = torch.nn.functional.layer_norm(x, (width,), v[b + "ln_1.weight"], v[b + "ln_1.bias"])
        attn, _ = torch.nn.functional.multi_head_attention_forward(
            h,
            h,
            h,
            width,
            source.heads,
            v[b + "attn.in_proj_weight"],
            v[b + "attn.in_proj_bias"],
            None,
            None,
            False,
            0.0,
            v[b + "attn.out_proj.weight"],
            v[b + "attn.out_proj.bias"],
            training=False,
            need_weights=False,
        )
        x = x + attn
        h = torch.nn.functional.layer_norm(x, (width,), v[b + "ln_2.weight"], v[b + "ln_2.bias"])
        h = torch.nn.functional.linear(h, v[b + "mlp.c_fc.weight"], v[b + "mlp.c_fc.bias"])
        h = h * torch.sigmoid(1.702 * h)
        x = x + torch.nn.functional.linear(h, v[b + "mlp.c_proj.weight"], v[b + "mlp.c_proj.bias"])
    tokens = x[1:]  # drop CLS: (256, B, C)
    return tokens.permute(1, 2, 0).reshape(batch, width, gh, gw)


class LoraQkv(nn.Module):
    """The release's LoRA on qkv, applied at run time (the unmerged reference)."""

    def __init__(self, qkv: nn.Linear, a_q, b_q, a_v, b_v, scale: int):
        super().__init__()
        self.qkv, self.scale = qkv, scale
        self.a_q, self.b_q, self.a_v, self.b_v = a_q, b_q, a_v, b_v

    def forward(self, x):
        out = self.qkv(x)
        width = x.shape[-1]
        out[..., :width] += self.scale * (x @ self.a_q.T @ self.b_q.T)
        out[..., -width:] += self.scale * (x @ self.a_v.T @ self.b_v.T)
        return out


def unmerged_dinolizer(source: DinoLizerSource) -> nn.Module:
    """The release network with LoRA applied at run time; returns (B, 3, 36, 36) logits."""
    import copy

    vit = copy.deepcopy(source.vit)
    scale = 64 // source.rank
    for i, block in enumerate(vit.blocks):
        block.attn.qkv = LoraQkv(
            block.attn.qkv,
            source.lora[(i, "a", "q")],
            source.lora[(i, "b", "q")],
            source.lora[(i, "a", "v")],
            source.lora[(i, "b", "v")],
            scale,
        )

    class Reference(nn.Module):
        def forward(self, pixels):
            tokens = vit.forward_features(pixels)[:, 5:]
            logits = tokens @ source.head_weight.T + source.head_bias
            return logits.permute(0, 2, 1).reshape(pixels.shape[0], 3, 36, 36)

    return Reference().eval()


# --- DeCLIP ViT+RN50 -----------------------------------------------------------------------------------


class OpenAIBottleneck(nn.Module):
    """OpenAI CLIP's ModifiedResNet bottleneck, written from its description: average-pool anti-aliasing
    after the strided 3x3 convolution, average-pool shortcut."""

    def __init__(self, inplanes: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(inplanes, planes, 1, bias=False), nn.BatchNorm2d(planes)
        self.conv2, self.bn2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False), nn.BatchNorm2d(planes)
        self.avgpool = nn.AvgPool2d(stride) if stride > 1 else nn.Identity()
        self.conv3, self.bn3 = nn.Conv2d(planes, planes * 4, 1, bias=False), nn.BatchNorm2d(planes * 4)
        self.downsample = None
        if stride > 1 or inplanes != planes * 4:
            self.downsample = nn.Sequential()
            self.downsample.add_module("-1", nn.AvgPool2d(stride))
            self.downsample.add_module("0", nn.Conv2d(inplanes, planes * 4, 1, bias=False))
            self.downsample.add_module("1", nn.BatchNorm2d(planes * 4))

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.avgpool(torch.relu(self.bn2(self.conv2(out))))
        out = self.bn3(self.conv3(out))
        return torch.relu(out + (self.downsample(x) if self.downsample is not None else x))


class OpenAIResNet(nn.Module):
    """The ModifiedResNet stem and layer1..layer3 (the part DeCLIP reads); `forward` gives layer3's output."""

    def __init__(self, layers=(2, 1, 2), width=16):
        super().__init__()
        self.conv1, self.bn1 = (
            nn.Conv2d(3, width // 2, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(width // 2),
        )
        self.conv2, self.bn2 = (
            nn.Conv2d(width // 2, width // 2, 3, padding=1, bias=False),
            nn.BatchNorm2d(width // 2),
        )
        self.conv3, self.bn3 = nn.Conv2d(width // 2, width, 3, padding=1, bias=False), nn.BatchNorm2d(width)
        self.avgpool = nn.AvgPool2d(2)
        inplanes, stages = width, []
        for index, blocks in enumerate(layers):
            planes = width * 2**index
            stages.append(
                nn.Sequential(
                    *[
                        OpenAIBottleneck(
                            inplanes if b == 0 else planes * 4, planes, 2 if index and b == 0 else 1
                        )
                        for b in range(blocks)
                    ]
                )
            )
            inplanes = planes * 4
        self.layer1, self.layer2, self.layer3 = stages

    def forward(self, x):
        for conv, bn in ((self.conv1, self.bn1), (self.conv2, self.bn2), (self.conv3, self.bn3)):
            x = torch.relu(bn(conv(x)))
        return self.layer3(self.layer2(self.layer1(self.avgpool(x))))


class _Visual(nn.Module):
    def __init__(self, resnet: nn.Module):
        super().__init__()
        self.visual = resnet

    def forward(self, x):
        return self.visual(x)


def make_openai_rn50(path: Path | None, layers=(2, 1, 2), width=16, seed=5, fmt: str = "torchscript"):
    """OpenAI's RN50 file: a TorchScript archive of the CLIP model (fp16 weights under `visual.`), or a
    safetensors copy with the same key names. Returns the float32 reference module."""
    generator = torch.Generator().manual_seed(seed)
    resnet = OpenAIResNet(layers, width).eval()
    _randomise(resnet, generator, scale=0.1)
    with torch.no_grad():
        for module in resnet.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.weight.copy_(1.0 + torch.randn(module.weight.shape, generator=generator) * 0.1)
                module.running_mean.copy_(torch.randn(module.num_features, generator=generator) * 0.1)
                module.running_var.copy_(torch.rand(module.num_features, generator=generator) + 0.5)
        for tensor in resnet.state_dict().values():  # as OpenAI ships them: fp16 values, computed in fp32
            if tensor.is_floating_point():
                tensor.copy_(tensor.half().float())
    if path is not None:
        model = _Visual(copy.deepcopy(resnet))
        if fmt == "torchscript":
            traced = torch.jit.trace(model, torch.zeros(1, 3, 224, 224))
            torch.jit.save(traced.half(), str(path))
        else:
            state = {k: v.half().contiguous() for k, v in model.state_dict().items() if v.is_floating_point()}
            save_file(state, str(path))
    return resnet


def make_declip_fusion(
    path: Path,
    vit_width: int = 64,
    resnet_width: int = 16,
    convs: int = 4,
    channels: tuple[int, ...] = (16, 8, 8, 8),
    seed: int = 6,
) -> nn.Sequential:
    """`ViT_layer20+RN50_layer3_conv-N_*.pth`: the decoder only (`fc.*`), reading ViT + RN50 layer3 channels,
    with the official extra Upsample(size=256) before its final convolution."""
    generator = torch.Generator().manual_seed(seed)
    inputs = vit_width + 16 * resnet_width
    decoder = official_decoder(convs, (inputs, *channels))
    layers = list(decoder)
    decoder = nn.Sequential(*layers[:-1], nn.Upsample(size=(256, 256)), layers[-1]).eval()
    with torch.no_grad():
        for name, param in decoder.named_parameters():
            offset = 1.0 if name.endswith(".weight") and param.dim() == 1 else 0.0
            param.copy_(torch.randn(param.shape, generator=generator) * 0.1 + offset)
        for module in decoder:
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.copy_(torch.randn(module.num_features, generator=generator) * 0.1)
                module.running_var.copy_(torch.rand(module.num_features, generator=generator) + 0.5)
    model = {f"fc.{k}": v.clone() for k, v in decoder.state_dict().items()}
    torch.save(
        {
            "model": model,
            "optimizer": {},
            "total_steps": 7,
            "feature_layer": "layer1",
            "decoder_type": f"conv-{convs}",
        },
        path,
    )
    return decoder


# --- pictures ------------------------------------------------------------------------------------------


def photograph(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A natural-looking picture without repeats: overlapping ellipses of random colours and sizes (a "dead
    leaves" scene, whose statistics are those of photographs), a 1/f texture and a little sensor noise."""
    rng = np.random.default_rng(seed)
    picture = np.full((height, width, 3), 128, np.uint8)
    for _ in range(int(height * width / 160)):
        radius = int(min(height, width) * 0.2 * rng.random() ** 3) + 3
        centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        axes = (radius, int(radius * (0.3 + 0.7 * rng.random())))
        colour = tuple(int(c) for c in rng.integers(30, 226, 3))
        cv2.ellipse(picture, centre, axes, float(rng.random() * 180), 0, 360, colour, -1, cv2.LINE_AA)
    texture = np.zeros((height, width), np.float32)
    for scale in (2, 4, 8, 16, 32, 64):
        coarse = rng.standard_normal((height // scale + 2, width // scale + 2)).astype(np.float32)
        fine = cv2.resize(coarse, (width + 2 * scale, height + 2 * scale), interpolation=cv2.INTER_CUBIC)
        texture += fine[scale : scale + height, scale : scale + width] * math.sqrt(scale)
    texture *= 18 / texture.std()
    noisy = cv2.GaussianBlur(picture, (0, 0), 0.8) + texture[..., None] + rng.normal(0, 2, picture.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def blocky_pixels(width: int, height: int, seed: int = 0) -> np.ndarray:
    """Random colours in 8 x 8 blocks (so that maps have structure), `height` x `width` x RGB."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (height // 8 + 1, width // 8 + 1, 3), dtype=np.uint8)
    return np.ascontiguousarray(np.kron(base, np.ones((8, 8, 1), np.uint8))[:height, :width])


def blocky_image(width: int, height: int, seed: int = 0, name: str = "x.png") -> LoadedImage:
    """`blocky_pixels` as the app holds an image it loaded (no file behind it)."""
    return LoadedImage(name, blocky_pixels(width, height, seed), "0" * 64, 0, "PNG", "RGB")


def blocky_photo(path: Path | str, width: int, height: int, seed: int = 0, **save) -> Path | str:
    """`blocky_pixels` saved at `path` (its folder made), in the format its suffix names."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(blocky_pixels(width, height, seed)).save(path, **save)
    return path


# --- Content Credentials -------------------------------------------------------------------------------

MIME = {".jpg": "image/jpeg", ".png": "image/png", ".webp": "image/webp"}


def source_type(name: str) -> str:
    return f"http://cv.iptc.org/newscodes/digitalsourcetype/{name}"


def change_pixels_after_signing(signed: Path, target: Path) -> Path:
    """A copy of a signed JPEG with one byte of its image data changed (its manifest kept as it was)."""
    data = bytearray(signed.read_bytes())
    end = data.rfind(b"\xff\xd9")
    data[end - 40] ^= 0x10  # inside the last scan's entropy-coded data
    target.write_bytes(bytes(data))
    return target


def sign_manifest(
    source: Path,
    target: Path,
    chain: Chain,
    actions: list[dict] | None = None,
    parent: Path | None = None,
    filler: int = 0,
) -> Path:
    """Sign `source` (JPEG, PNG or WebP, by its suffix) with these actions; with `parent`, a signed file
    opened as its ingredient; with `filler`, an extra assertion of that many bytes (a store larger than one
    JPEG segment holds)."""
    c2pa = import_c2pa()
    signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(b"es256", chain.chain_pem, chain.key_pem, None))
    document = manifest(None)
    created = {"action": "c2pa.created", "digitalSourceType": AI_MADE}
    document["assertions"][0]["data"]["actions"] = actions or [created]
    if filler:
        document["assertions"].append({"label": "org.example.filler", "data": {"filler": "x" * filler}})
    with c2pa.Builder(document) as builder:
        if parent is not None:
            with open(parent, "rb") as ingredient:
                builder.add_ingredient(
                    {"title": parent.name, "relationship": "parentOf", "label": "parent"},
                    MIME[parent.suffix],
                    ingredient,
                )
        with open(source, "rb") as src, open(target, "wb") as dst:
            builder.sign(signer, MIME[source.suffix], src, dst)
    return target


def exif_with_thumbnail(thumbnail: bytes, make: str = "Canon") -> bytes:
    """An EXIF (TIFF, little-endian) block: IFD0 with Make, then IFD1 pointing at `thumbnail` (a JPEG) by
    offset and length counted from the TIFF header, as cameras write it."""
    text = make.encode() + b"\0"
    ifd0 = 8
    make_at = ifd0 + 2 + 12 + 4
    ifd1 = make_at + len(text) + len(text) % 2
    picture = ifd1 + 2 + 3 * 12 + 4
    entries0 = struct.pack("<HHII", 0x010F, 2, len(text), make_at)
    block = b"II*\0" + struct.pack("<I", ifd0) + struct.pack("<H", 1) + entries0 + struct.pack("<I", ifd1)
    block += text + b"\0" * (len(text) % 2)
    entries1 = struct.pack("<HHII", 0x0103, 3, 1, 6)  # Compression: JPEG
    entries1 += struct.pack("<HHII", 0x0201, 4, 1, picture)  # JPEGInterchangeFormat
    entries1 += struct.pack("<HHII", 0x0202, 4, 1, len(thumbnail))  # JPEGInterchangeFormatLength
    block += struct.pack("<H", 3) + entries1 + struct.pack("<I", 0)
    assert len(block) == picture
    return block + thumbnail


# --- a checkpoint server on 127.0.0.1 ------------------------------------------------------------------


class CheckpointServer:
    """Serves files from memory on 127.0.0.1 with HTTP Range support; can cut a response short."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.cut_after: int | None = None
        self.requests: list[str | None] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                body = server.files.get(self.path)
                server.requests.append(self.headers.get("Range"))
                if body is None:
                    self.send_error(404)
                    return
                start = (
                    int(self.headers["Range"].split("=")[1].split("-")[0]) if self.headers.get("Range") else 0
                )
                if start >= len(body):
                    self.send_error(416)
                    return
                self.send_response(206 if start else 200)
                self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                payload = body[start:]
                if server.cut_after is not None:
                    payload, server.cut_after = payload[: server.cut_after], None
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/{name}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
