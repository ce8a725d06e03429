"""Evented state without Qt: a model says what changed, and whatever shows it subscribes (as napari's evented
models and ndv's do, with no Qt in the core, so that tests and headless code use the same models)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Emitter(Generic[T]):
    """One kind of change: its listeners are called with the new value, in the order they connected.

    Connect bound methods (not lambdas) where a view may later be bound to another model: disconnecting needs
    the same callable."""

    def __init__(self) -> None:
        self._listeners: list[Callable[[T], object]] = []

    def connect(self, listener: Callable[[T], object]) -> None:
        if listener not in self._listeners:
            self._listeners.append(listener)

    def disconnect(self, listener: Callable[[T], object]) -> None:
        with contextlib.suppress(ValueError):
            self._listeners.remove(listener)

    def emit(self, value: T) -> None:
        for listener in list(self._listeners):  # a listener may disconnect while it is told
            listener(value)


Binding = tuple[Emitter[Any], Callable[[Any], object]]  # a listener on one model's emitter


def rebind(old: Iterable[Binding], new: Iterable[Binding]) -> None:
    """A view moves from one model to another: its listeners leave the old one's emitters, join the new's."""
    for emitter, listener in old:
        emitter.disconnect(listener)
    for emitter, listener in new:
        emitter.connect(listener)
