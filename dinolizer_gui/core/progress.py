"""Progress of long jobs, and driving the generators that report it.

Every long job in the core is a generator: it yields progress between two
units of work and returns its result, so a consumer cancels by closing it.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Progress:
    """`done` of `total` units (None when unknown) in `stage`; an empty stage is a model's windows."""

    done: int = 0
    total: int | None = None
    stage: str = ""
    model: str = ""
    preview: np.ndarray | None = field(default=None, compare=False, repr=False)  # the map so far


def run_to_end(generator: Generator[Any, None, R], on_progress: Callable[[Any], None] | None = None) -> R:
    """Drive a progress generator to its end and return its return value."""
    while True:
        try:
            progress = next(generator)
        except StopIteration as stop:
            return stop.value
        if on_progress:
            on_progress(progress)


def relay(generator: Generator[T, None, R], convert: Callable[[T], Any]) -> Generator[Any, None, R]:
    """Yield each event of `generator` converted, return its value; closing the relay closes the generator."""
    try:
        while True:
            try:
                event = next(generator)
            except StopIteration as end:
                return end.value
            yield convert(event)
    finally:
        generator.close()
