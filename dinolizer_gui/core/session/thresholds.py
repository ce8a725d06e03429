"""The one owner of a session's pixel thresholds: every mask, marked area, region table, batch summary and
report reads them here, and whoever must follow a change subscribes to its events. Values change in place:
the owner is never replaced, so no subscriber is ever cut off."""

from __future__ import annotations

from ..models.registry import REGISTRY
from .events import Emitter

THRESHOLD_DECIMALS = 3  # the viewer moves thresholds in steps of 0.001 (what its sliders show)


def default_thresholds() -> dict[str, float]:
    """Each map-producing model's pixel threshold as its paper uses it (the registry's)."""
    return {name: spec.pixel_threshold for name, spec in REGISTRY.items() if spec.produces_map}


def clamped(value: float) -> float:
    """A threshold kept within 0 and 1: every value the owner takes goes through here."""
    return min(max(float(value), 0.0), 1.0)


def on_step(value: float) -> float:
    """A threshold as the viewer sets it: kept within 0 and 1 and rounded to its step (0.001)."""
    return round(clamped(value), THRESHOLD_DECIMALS)


class ThresholdsEvents:
    def __init__(self) -> None:
        self.moved: Emitter[frozenset[str]] = Emitter()  # the models whose threshold changed
        self.linked: Emitter[bool] = Emitter()


class Thresholds:
    """Each map-producing model's pixel threshold, linked (one move sets all) or not. Its events are emitted
    only for real changes."""

    def __init__(self, values: dict[str, float] | None = None, linked: bool = False):
        given = values or {}
        self._values = {
            name: clamped(given.get(name, default)) for name, default in default_thresholds().items()
        }
        self._linked = linked
        self.events = ThresholdsEvents()

    def of(self, name: str) -> float:
        return self._values[name]

    def all(self) -> dict[str, float]:
        """A copy: what a run records of the values it used."""
        return dict(self._values)

    @property
    def linked(self) -> bool:
        return self._linked

    def set_linked(self, on: bool) -> None:
        if on != self._linked:
            self._linked = on
            self.events.linked.emit(on)

    def move(self, name: str, value: float) -> float:
        """Move one model's threshold (every model's when linked); returns the value set, kept within 0 and 1
        and rounded to the viewer's step."""
        value = on_step(value)
        self._set(dict.fromkeys(self._values if self._linked else [name], value))
        return value

    def reset(self, value: float | None = None) -> None:
        """Every model's threshold `value` (each model's own when None), unlinked: a run's fixed
        thresholds."""
        defaults = default_thresholds()
        self._set({name: defaults[name] if value is None else clamped(value) for name in self._values})
        self.set_linked(False)

    def _set(self, values: dict[str, float]) -> None:
        changed = frozenset(name for name, value in values.items() if self._values[name] != value)
        self._values.update(values)
        if changed:
            self.events.moved.emit(changed)
