"""Choice of compute device and precision, with the reason for the choice."""

from __future__ import annotations

import ctypes
import functools
import os
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

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


@functools.cache
def _linux_libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
    except OSError:
        return None
    libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    return libc


def release_freed_memory() -> None:
    """Hand memory freed by large temporaries back to the OS (glibc keeps it otherwise); no-op elsewhere."""
    libc = _linux_libc()
    if libc is not None and hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)


_MADV_DONTNEED = 4
_MAPPING_HEADER = re.compile(r"^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$")


def release_mapped_files(paths: Iterable[Path | str]) -> int:
    """Drop this process's resident pages of memory-mapped files (the checkpoints); returns the bytes freed.

    Weights are memory-mapped, so once a model has run they count as this
    process's memory although the kernel can re-read them from the page cache
    at any time, which it does on the next run. A mapping that holds a page
    changed in this process (copy-on-write) is left alone: dropping it would
    silently undo the change. Linux only; elsewhere nothing happens.
    """
    libc = _linux_libc()
    if libc is None:
        return 0
    wanted = {os.path.realpath(p) for p in paths}
    try:
        smaps = Path("/proc/self/smaps").read_text()
    except OSError:
        return 0
    released = 0
    for start, end in _unchanged_file_mappings(smaps, wanted):
        if libc.madvise(start, end - start, _MADV_DONTNEED) == 0:
            released += end - start
    return released


def _unchanged_file_mappings(smaps: str, files: set[str]) -> Iterator[tuple[int, int]]:
    """Address ranges mapping one of `files` with no page of their own (Anonymous: 0 kB)."""
    current = None
    for line in smaps.splitlines():
        header = _MAPPING_HEADER.match(line)
        if header:
            start, end, name = header.groups()
            current = (int(start, 16), int(end, 16)) if name in files else None
        elif current and line.startswith("Anonymous:"):
            if int(line.split()[1]) == 0:
                yield current
            current = None
