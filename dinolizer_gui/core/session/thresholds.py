"""The one owner of a session's pixel thresholds: every mask, marked area, region table, batch summary and
report reads them here, and whoever must follow a change subscribes to it."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ..models.registry import REGISTRY

Listener = Callable[[set[str]], None]  # told the names of the models whose threshold changed


def default_thresholds() -> dict[str, float]:
    """Each map-producing model's pixel threshold as its paper uses it."""
    return {name: spec.pixel_threshold for name, spec in REGISTRY.items() if spec.produces_map}


class Thresholds:
    """Each map-producing model's pixel threshold, linked (one value for all) or not.

    `on_change` is told the new values after every change (the viewer saves them in its settings); the
    command line gives fixed values and keeps nothing."""

    def __init__(
        self,
        values: dict[str, float] | None = None,
        linked: bool = False,
        on_change: Callable[[dict[str, float], bool], None] | None = None,
    ):
        given = values or {}
        self._values = {name: given.get(name, default) for name, default in default_thresholds().items()}
        self._linked = linked
        self._on_change = on_change
        self._listeners: list[Listener] = []

    @classmethod
    def fixed(cls, names: Iterable[str], value: float | None) -> Thresholds:
        """A run's thresholds: `value` for every model given one, else each model's own."""
        maps = default_thresholds()
        return cls({name: value for name in names if name in maps} if value is not None else None)

    def of(self, name: str) -> float:
        return self._values[name]

    def all(self) -> dict[str, float]:
        """A copy: what a run records of the values it used."""
        return dict(self._values)

    @property
    def linked(self) -> bool:
        return self._linked

    def set_linked(self, on: bool) -> None:
        self._linked = on
        self._changed(set())

    def move(self, name: str, value: float) -> float:
        """Move one model's threshold (every model's when linked); returns the value set, kept within 0 and 1
        and rounded to 0.001 (what the sliders show)."""
        value = round(min(max(float(value), 0.0), 1.0), 3)
        names = set(self._values) if self._linked else {name}
        for key in names:
            self._values[key] = value
        self._changed(names)
        return value

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def _changed(self, names: set[str]) -> None:
        if self._on_change is not None:
            self._on_change(self.all(), self._linked)
        for listener in self._listeners:
            listener(names)
