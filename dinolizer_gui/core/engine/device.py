"""Choice of compute device and precision, with the reason for the choice."""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .analysis import DEVICE_CHOICES, PRECISION_CHOICES, Fidelity
from .records import choice, field_of, reading, text, texts


@dataclass(frozen=True)
class Runtime:
    """Where and in which precision one model computes, and why."""

    device: torch.device
    dtype: torch.dtype  # compute dtype of the network's body (autocast); heads and final maps are float32
    description: str  # the device, e.g. "CUDA: NVIDIA RTX 4070", "Apple GPU (MPS)" or "CPU"
    note: str = ""  # why this device was chosen when it is not what was asked
    precision_reason: str = ""  # why this precision
    warning: str = ""  # a precision asked for that moves this model's output beyond its fidelity bar
    # the model's precision policy (a fallback to the CPU re-reads it)
    fidelity: Fidelity = field(kw_only=True)

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

    @property
    def is_accelerator(self) -> bool:
        return self.device.type in ("cuda", "mps")

    @property
    def precision(self) -> str:
        return str(self.dtype).removeprefix("torch.")

    @property
    def label(self) -> str:
        """The device and precision, as results and the status bar name them."""
        return f"{self.description} ({self.precision})"

    def to_record(self) -> dict[str, Any]:
        """The runtime as plain JSON data: the one serialisation of it (a cluster actor sends it; the results
        store's keys, the case's log and results.json take the fields they name from it)."""
        return {
            "device": self.device.type,
            "precision": self.precision,
            "description": self.description,
            "note": self.note,
            "precision_reason": self.precision_reason,
            "warning": self.warning,
            "fidelity": {
                "title": self.fidelity.title,
                "reduced_precisions": list(self.fidelity.reduced_precisions),
            },
        }

    @classmethod
    def from_record(cls, record: object) -> Runtime:
        """The runtime a record holds; RecordError saying what is missing or wrong."""
        with reading("runtime"):
            fidelity = field_of(record, "fidelity")
            return cls(
                torch.device(choice(field_of(record, "device"), ("cpu", "cuda", "mps"))),
                _DTYPES[choice(field_of(record, "precision"), tuple(_DTYPES))],
                text(field_of(record, "description")),
                text(field_of(record, "note")),
                text(field_of(record, "precision_reason")),
                text(field_of(record, "warning")),
                fidelity=Fidelity(
                    text(field_of(fidelity, "title")), tuple(texts(field_of(fidelity, "reduced_precisions")))
                ),
            )

    def autocast(self) -> torch.autocast:
        if self.dtype == torch.float32:
            return torch.autocast(self.device.type, enabled=False)
        return torch.autocast(self.device.type, dtype=self.dtype)

    def empty_cache(self) -> None:
        if self.is_cuda:
            torch.cuda.empty_cache()
        elif self.device.type == "mps":
            torch.mps.empty_cache()


def full_precision(tensor: torch.Tensor) -> torch.autocast:
    """A context in which a head or a final reduction computes in float32 whatever the body's precision."""
    return torch.autocast(tensor.device.type, enabled=False)


@functools.cache
def cpu_bf16_support() -> str:
    """The instruction set with which this CPU computes bfloat16 natively (AMX-BF16 or AVX512-BF16), or ""."""
    flags = set()
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            flags = set(re.findall(r"\b(amx_bf16|avx512_bf16)\b", Path("/proc/cpuinfo").read_text()))
    else:
        if getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)():
            flags.add("amx_bf16")
        if getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)():
            flags.add("avx512_bf16")
    return next(
        (name for flag, name in (("amx_bf16", "AMX-BF16"), ("avx512_bf16", "AVX512-BF16")) if flag in flags),
        "",
    )


_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def _asked(fidelity: Fidelity, precision: str, extra: str = "") -> tuple[torch.dtype, str, str]:
    """A precision given by the user: used as asked, with a warning when it moves the model beyond its bar."""
    beyond = fidelity.beyond_bar(precision)
    warning = f"{beyond}: this output can differ from the official one" if beyond else ""
    return _DTYPES[precision], f"{precision} as asked{extra}" + (f" — {warning}" if warning else ""), warning


def cpu_runtime(fidelity: Fidelity, precision: str = "auto", note: str = "") -> Runtime:
    """The CPU; under `auto`, bfloat16 only where the CPU computes it natively and it keeps the model's output
    within its fidelity bar, else float32 (the official maps)."""
    cpu = functools.partial(Runtime, torch.device("cpu"), description="CPU", note=note, fidelity=fidelity)
    native = cpu_bf16_support()
    if precision == "auto":
        if not native:
            return cpu(
                dtype=torch.float32,
                precision_reason="float32: this CPU has neither AMX-BF16 nor AVX512-BF16 (bfloat16 would be "
                "emulated, slower)",
            )
        if beyond := fidelity.beyond_bar("bfloat16"):
            return cpu(dtype=torch.float32, precision_reason=f"float32: {beyond}")
        return cpu(
            dtype=torch.bfloat16,
            precision_reason=f"bfloat16: this CPU computes it natively ({native}) and it keeps "
            f"{fidelity.title} within its fidelity bar",
        )
    if precision == "float16":
        return cpu(dtype=torch.float32, precision_reason="float32: float16 is not used on the CPU")
    emulated = "; this CPU emulates it, slower than float32" if precision == "bfloat16" and not native else ""
    dtype, reason, warning = _asked(fidelity, precision, emulated)
    return cpu(dtype=dtype, precision_reason=reason, warning=warning)


def cuda_unavailable_reason() -> str:
    if not torch.backends.cuda.is_built():
        return "this PyTorch build has no CUDA support"
    return "no usable CUDA GPU was found (no NVIDIA GPU, or its driver is missing)"


def mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def resolve_runtime(choice: str, precision: str, fidelity: Fidelity) -> Runtime:
    """Where and how one model computes: `auto` prefers CUDA, then Apple's MPS, then the CPU, with a reason;
    the precision follows the model's fidelity policy (see `cpu_runtime` and `_accelerator`)."""
    if choice not in DEVICE_CHOICES:
        raise ValueError(f"unknown device {choice!r}; choose one of {', '.join(DEVICE_CHOICES)}")
    if precision not in PRECISION_CHOICES:
        raise ValueError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISION_CHOICES)}")
    if choice in ("auto", "cuda") and torch.cuda.is_available():
        name = f"CUDA: {torch.cuda.get_device_name(0)}"
        return _accelerator(torch.device("cuda", 0), name, precision, fidelity)
    if choice in ("auto", "mps") and mps_available():
        return _accelerator(torch.device("mps"), "Apple GPU (MPS)", precision, fidelity)
    if choice == "cpu":
        return cpu_runtime(fidelity, precision)
    why = (
        "Apple's MPS is not available here"
        if choice == "mps"
        else f"CUDA not used: {cuda_unavailable_reason()}"
    )
    return cpu_runtime(fidelity, precision, why)


def _accelerator(target: torch.device, description: str, precision: str, fidelity: Fidelity) -> Runtime:
    """Under `auto`, CUDA computes in float16 (the official DinoLizer pipeline's) a model that keeps its bar
    in it, else in float32; Apple's GPU in float32."""
    gpu = functools.partial(Runtime, target, description=description, fidelity=fidelity)
    if precision != "auto":
        dtype, reason, warning = _asked(fidelity, precision)
        return gpu(dtype=dtype, precision_reason=reason, warning=warning)
    if target.type != "cuda":
        return gpu(dtype=torch.float32, precision_reason="float32 (the official maps) on Apple's GPU")
    if beyond := fidelity.beyond_bar("float16"):
        return gpu(dtype=torch.float32, precision_reason=f"float32: {beyond}")
    reason = (
        f"float16, as the official pipeline runs on GPUs; it keeps {fidelity.title} within its fidelity bar"
    )
    return gpu(dtype=torch.float16, precision_reason=reason)


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
