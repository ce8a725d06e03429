"""What travels between the driver and the actors, as plain data: the options and each model's runtime as
their own records, and each run as its record with its map zlib-compressed (a 12 MP float32 map is 48 MB
raw). What comes back is read through the records' `from_record`, so a damaged answer is said, never used."""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING, Any

import numpy as np

from ...engine.analysis import ModelRun, RunRecordError
from ...engine.records import count, field_of, pair, reading

if TYPE_CHECKING:
    from ...engine.device import Runtime

MAX_SENT_PIXELS = 1 << 31  # a map larger than this (8 GB of float32) is not one an actor computed


def packed_run(run: ModelRun) -> dict[str, Any]:
    """A run as plain data, its map compressed."""
    packed: dict[str, Any] = {"run": run.record(), "map": None, "shape": None}
    if run.probability is not None:
        pixels = np.ascontiguousarray(run.probability, np.float32)
        packed["map"], packed["shape"] = zlib.compress(pixels.tobytes(), 1), list(pixels.shape)
    return packed


def unpacked_run(packed: object) -> ModelRun:
    """The run an actor sent; RunRecordError when it is not whole."""
    with reading("run sent by an actor", RunRecordError):
        data, shape = field_of(packed, "map"), field_of(packed, "shape")
        probability = None if data is None else _map(data, shape)
        return ModelRun.from_record(field_of(packed, "run"), probability)


def _map(data: object, shape: object) -> np.ndarray:
    height, width = (count(side) for side in pair(shape))
    if not isinstance(data, bytes) or not 0 < height * width <= MAX_SENT_PIXELS:
        raise ValueError(f"a map of {width} x {height} pixels")
    expected = height * width * 4
    inflater = zlib.decompressobj()
    try:
        pixels = inflater.decompress(data, expected)
    except zlib.error as exc:
        raise ValueError(f"the map cannot be decompressed ({exc})") from None
    if len(pixels) != expected or inflater.unconsumed_tail or not inflater.eof:
        raise ValueError(f"the map does not hold {width} x {height} values")
    return np.frombuffer(pixels, np.float32).reshape(height, width)


def runtimes_record(runtimes: dict[str, Runtime]) -> dict[str, dict[str, Any]]:
    return {name: runtime.to_record() for name, runtime in runtimes.items()}


def runtimes_from(record: dict[str, Any]) -> dict[str, Runtime]:
    from ...engine.device import Runtime  # PyTorch: on the driver, only once a cluster is used

    return {name: Runtime.from_record(runtime) for name, runtime in record.items()}
