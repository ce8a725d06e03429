"""Reading the tensors of a TorchScript archive (OpenAI's CLIP `.pt` files) without running TorchScript.

A TorchScript archive is a zip: `data.pkl` pickles the module tree, `data/N`
hold the tensors' bytes, `code/` holds the TorchScript that `torch.jit.load`
would compile and run. This reader unpickles `data.pkl` with an unpickler that
knows only tensor rebuilding, plain containers and the storage types; module
objects (`__torch__.*`) become plain dictionaries; anything else is refused.
Tensors are read from the archive only when used.
"""

from __future__ import annotations

import io
import pickle
import zipfile
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..layouts import CheckpointError

MAX_PICKLE_BYTES = 64 << 20
_STORAGE_TYPES = {
    "FloatStorage": torch.float32,
    "HalfStorage": torch.float16,
    "BFloat16Storage": torch.bfloat16,
    "DoubleStorage": torch.float64,
    "LongStorage": torch.int64,
    "IntStorage": torch.int32,
    "ShortStorage": torch.int16,
    "CharStorage": torch.int8,
    "ByteStorage": torch.uint8,
    "BoolStorage": torch.bool,
}


def is_torchscript(path: Path) -> bool:
    """A zip holding `constants.pkl` and `code/` beside its `data.pkl`: an archive `torch.jit.save` wrote."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return False
    return any(n.endswith("/constants.pkl") for n in names) and any("/code/" in n for n in names)


@dataclass(frozen=True)
class _Storage:
    key: str
    dtype: torch.dtype
    numel: int


@dataclass(frozen=True)
class LazyTensor:
    """A tensor of the archive, read when `load()` is called."""

    archive: Path
    member: str
    dtype: torch.dtype
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]
    storage_numel: int

    def numel(self) -> int:
        count = 1
        for size in self.shape:
            count *= size
        return count

    def load(self) -> torch.Tensor:
        with zipfile.ZipFile(self.archive) as archive:
            data = bytearray(archive.read(self.member))
        flat = torch.frombuffer(data, dtype=self.dtype) if data else torch.empty(0, dtype=self.dtype)
        if flat.numel() != self.storage_numel:
            raise CheckpointError(
                self.archive, f"{self.member} holds {flat.numel()} values, not {self.storage_numel}"
            )
        return torch.as_strided(flat, self.shape, self.stride, self.offset).clone()


class _ScriptObject(dict):
    """A TorchScript module object: its attributes, as a dictionary."""

    def __setstate__(self, state: Any) -> None:
        """Attributes by name; a state a class pickled itself (a tuple) by position."""
        if isinstance(state, dict):
            self.update(state)
        elif isinstance(state, tuple | list):
            self.update({str(index): value for index, value in enumerate(state)})


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, data: bytes, archive: Path, prefix: str, members: dict[str, int]):
        super().__init__(io.BytesIO(data))
        self.archive, self.prefix, self.members = archive, prefix, members

    def find_class(self, module: str, name: str) -> Any:
        if module == "torch._utils" and name in ("_rebuild_tensor_v2", "_rebuild_tensor"):
            return self._rebuild
        if module == "collections" and name == "OrderedDict":
            return OrderedDict
        if module == "torch" and name in _STORAGE_TYPES:
            return _STORAGE_TYPES[name]
        if module == "__torch__" or module.startswith("__torch__."):
            return _ScriptObject
        raise pickle.UnpicklingError(f"refused {module}.{name}: only tensors and plain containers are read")

    def persistent_load(self, pid: Any) -> _Storage:
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unexpected persistent id {str(pid)[:80]}")
        _, dtype, key, _location, numel = pid
        member = f"{self.prefix}data/{key}"
        if not isinstance(dtype, torch.dtype) or member not in self.members or not isinstance(numel, int):
            raise pickle.UnpicklingError(f"storage {str(key)[:40]} is not in the archive")
        if numel * torch.empty(0, dtype=dtype).element_size() != self.members[member]:
            raise pickle.UnpicklingError(f"storage {key} does not match the size of {member}")
        return _Storage(str(key), dtype, numel)

    def _rebuild(
        self, storage: _Storage, offset: int, shape: Any, stride: Any, *_ignored: object
    ) -> LazyTensor:
        shape, stride = tuple(int(s) for s in shape), tuple(int(s) for s in stride)
        extent = offset + sum((size - 1) * step for size, step in zip(shape, stride, strict=True)) + 1
        if not isinstance(storage, _Storage) or offset < 0 or any(s < 0 for s in shape + stride):
            raise pickle.UnpicklingError("malformed tensor")
        if all(shape) and extent > storage.numel:
            raise pickle.UnpicklingError(
                f"a tensor of shape {shape} reaches past its storage of {storage.numel}"
            )
        return LazyTensor(
            self.archive,
            f"{self.prefix}data/{storage.key}",
            storage.dtype,
            offset,
            shape,
            stride,
            storage.numel,
        )


def read_torchscript(path: Path) -> dict[str, LazyTensor]:
    """The archive's tensors by dotted attribute path (`visual.layer3.0.conv1.weight`), none read yet."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = {info.filename: info.file_size for info in archive.infolist()}
            pickles = [name for name in members if name.endswith("/data.pkl") and name.count("/") == 1]
            if len(pickles) != 1 or members[pickles[0]] > MAX_PICKLE_BYTES:
                raise CheckpointError(path, "not a TorchScript archive with one data.pkl")
            data = archive.read(pickles[0])
        prefix = pickles[0].removesuffix("data.pkl")
        tree = _RestrictedUnpickler(data, Path(path), prefix, members).load()
    except (pickle.UnpicklingError, zipfile.BadZipFile, EOFError, ValueError, TypeError) as exc:
        raise CheckpointError(path, f"unreadable TorchScript archive ({exc}); its code was not run") from None
    tensors: dict[str, LazyTensor] = {}
    _flatten(tree, "", tensors, depth=0)
    return tensors


def _flatten(node: Any, name: str, out: dict[str, LazyTensor], depth: int) -> None:
    if depth > 64:
        raise CheckpointError(name, "module tree nested too deeply")
    if isinstance(node, LazyTensor):
        out[name] = node
    elif isinstance(node, dict):
        for key, value in node.items():
            _flatten(value, f"{name}.{key}" if name else str(key), out, depth + 1)
