"""Choice of compute device and precision, with the reason for the choice."""

from __future__ import annotations

import ctypes
import sys
from dataclasses import dataclass

import torch

DEVICE_CHOICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class Runtime:
    device: torch.device
    dtype: torch.dtype  # compute dtype of the backbone (autocast on CUDA)
    description: str  # e.g. "CUDA: NVIDIA RTX 4070 (float16)" or "CPU"
    note: str = ""  # why this device was chosen when it is not what was asked

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

    def autocast(self):
        if self.is_cuda and self.dtype != torch.float32:
            return torch.autocast("cuda", dtype=self.dtype)
        return torch.autocast("cpu", enabled=False)


def cpu_runtime(note: str = "") -> Runtime:
    return Runtime(torch.device("cpu"), torch.float32, "CPU", note)


def cuda_unavailable_reason() -> str:
    if not torch.backends.cuda.is_built():
        return "this PyTorch build has no CUDA support"
    return "no usable CUDA GPU was found (no NVIDIA GPU, or its driver is missing)"


def resolve_runtime(choice: str = "auto", precision: str = "auto") -> Runtime:
    """Pick the device: `auto` prefers CUDA, falls back to the CPU with a reason."""
    if choice not in DEVICE_CHOICES:
        raise ValueError(f"unknown device {choice!r}; choose one of {', '.join(DEVICE_CHOICES)}")
    if choice == "cpu":
        return cpu_runtime()
    if not torch.cuda.is_available():
        return cpu_runtime(f"CUDA not used: {cuda_unavailable_reason()}")
    dtype = _cuda_dtype(precision)
    name = torch.cuda.get_device_name(0)
    return Runtime(torch.device("cuda", 0), dtype, f"CUDA: {name} ({str(dtype).removeprefix('torch.')})")


def _cuda_dtype(precision: str) -> torch.dtype:
    if precision == "float32":
        return torch.float32
    if precision == "bfloat16":
        return torch.bfloat16
    return torch.float16  # the official DinoLizer pipeline runs its windows in float16


def is_out_of_memory(exc: BaseException) -> bool:
    return isinstance(exc, torch.cuda.OutOfMemoryError) or "out of memory" in str(exc).lower()


def release_freed_memory() -> None:
    """Hand memory freed by large temporaries back to the OS (glibc keeps it otherwise); no-op elsewhere."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):
            pass
