"""The one place that knows the checkpoint layouts users download (this package).

Files are read with safetensors or `torch.load(weights_only=True)` only; no
code is ever unpickled. Every layout is recognised by its keys, the
architecture is inferred from tensor shapes within bounds that the
architectures and the file size allow, and anything that does not fit fails
with a message listing the keys concerned, before anything large is allocated.
The modules beside this one extract each layout's weights.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ...io.hashing import sha256_of_file
from ..layouts import CheckpointError, Layout, list_keys

__all__ = ["Checkpoint", "CheckpointError", "Layout", "list_keys", "read_checkpoint", "strip_prefixes"]

_WEIGHTS_ONLY_REFUSAL = (
    "it holds Python objects other than tensors and plain values, which are never loaded "
    "(no code is unpickled)"
)


@dataclass
class Checkpoint:
    path: str
    sha256: str
    layout: Layout
    content: dict[str, Any]  # the loaded file (tensors and plain values only)

    def describe(self) -> dict[str, Any]:
        return {
            "file": Path(self.path).name,
            "path": self.path,
            "sha256": self.sha256,
            "layout": self.layout.value,
        }


def read_checkpoint(path: Path | str, sha256: str | None = None) -> Checkpoint:
    path = Path(path)
    try:
        kind = os.stat(path).st_mode
    except OSError:
        raise CheckpointError(path, "no such checkpoint file") from None
    if not stat.S_ISREG(kind):
        raise CheckpointError(path, "is not a regular file (a folder, pipe or device); only files are read")
    content = _load_tensors(path)
    _check_tensor_sizes(path, content)
    return Checkpoint(str(path), sha256 or sha256_of_file(path), detect_layout(path, content), content)


def _load_tensors(path: Path) -> dict[str, Any]:
    from .torchscript import is_torchscript, read_torchscript

    if is_torchscript(path):
        return {"torchscript": read_torchscript(path)}
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
            path, f"not a readable PyTorch or safetensors weights file ({_reason(exc)})"
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


def _reason(exc: BaseException) -> str:
    """One line of the loader's complaint, without PyTorch's advice to load the file unsafely."""
    text = str(exc).strip()
    if "weights_only" in text or "weights only" in text.lower():
        return _WEIGHTS_ONLY_REFUSAL
    lines = text.splitlines()
    return lines[0][:300] if lines else type(exc).__name__


def _tensors(value: Any, name: str = "") -> Iterator[tuple[str, torch.Tensor]]:
    if isinstance(value, torch.Tensor):
        yield name, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _tensors(item, f"{name}.{key}" if name else str(key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _tensors(item, f"{name}[{index}]")


def _check_tensor_sizes(path: Path, content: dict[str, Any]) -> None:
    """No tensor may describe more data than the file holds (a huge view over a tiny storage would be
    materialised by the first copy)."""
    limit = path.stat().st_size
    for name, tensor in _tensors(content):
        size = tensor.numel() * tensor.element_size()
        if size > limit:
            raise CheckpointError(
                path,
                f"tensor {name} of shape {tuple(tensor.shape)} describes {size:,} bytes, more than the "
                f"file's {limit:,}: refused",
            )


def detect_layout(path: Path | str, content: dict[str, Any]) -> Layout:
    if isinstance(content.get("state_dict"), dict):
        keys = {strip_prefixes(k) for k in content["state_dict"]}
        if "cls_head.weight" in keys:
            return Layout.DINOLIZER_RELEASE
    model = content.get("model")
    if isinstance(model, dict):
        if "decoder_type" in content or any(str(k).startswith("fc.") for k in model):
            if any(str(k).startswith("model.visual.") for k in model):
                return Layout.DECLIP_VIT
            return Layout.DECLIP_VIT_RN50
        if "reg_token" in _plain_vit_keys(model):
            return Layout.BFREE_BACKBONE
    if "reg_token" in _plain_vit_keys(content):
        return Layout.BFREE_BACKBONE
    tensors = content.get("tensors", content.get("torchscript", content))
    if isinstance(tensors, dict) and set(tensors) == {"weight", "bias"}:
        return Layout.LINEAR_HEAD
    if "visual.layer1.0.conv1.weight" in tensors and "visual.conv1.weight" in tensors:
        return Layout.OPENAI_RN50
    if "visual.transformer.resblocks.0.attn.in_proj_weight" in tensors:
        return Layout.OPENAI_VIT
    raise CheckpointError(path, "unknown checkpoint layout; top-level keys: " + list_keys(content))


def _plain_vit_keys(state: dict[str, Any]) -> set[str]:
    return {str(k).removeprefix("module.") for k in state if isinstance(state.get(k), torch.Tensor)}


def strip_prefixes(key: str) -> str:
    for prefix in ("net.", "model.", "module."):
        key = key.removeprefix(prefix)
    return key
