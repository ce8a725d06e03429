"""JSON read strictly, for files a person or a program outside the app may have written: an object holding
a key twice (which of the two would count?), a number that is not finite, and nesting deeper than Python's
stack are refused with ValueError, never taken silently or raised as another error."""

from __future__ import annotations

import json
import math


def loads_strict(text: str | bytes) -> object:
    """The value of a JSON text; ValueError saying why it is not taken."""
    try:
        return json.loads(
            text, object_pairs_hook=unique_keys, parse_float=_finite, parse_constant=_not_a_number
        )
    except RecursionError:
        raise ValueError("nested too deeply") from None


def unique_keys(pairs: list[tuple[str, object]]) -> dict:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        twice = next(key for key in keys if keys.count(key) > 1)
        raise ValueError(f"the key {twice!r} appears twice")
    return dict(pairs)


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:40]} is too large")
    return value


def _not_a_number(text: str) -> float:
    raise ValueError(f"{text} is not a JSON number")
