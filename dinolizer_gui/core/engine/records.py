"""Reading a record back: plain JSON data (stored, sent to a cluster actor, or written in results) is checked
field by field, so that a damaged record is said, never taken for a result."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager


class RecordError(ValueError):
    """A record that does not hold what it must (a missing field, a value of the wrong kind)."""


def field_of(record: object, name: str) -> object:
    if not isinstance(record, dict):
        raise TypeError(f"a record is a JSON object, not {type(record).__name__}")
    return record[name]


def optional_field(record: object, name: str, default: object) -> object:
    """A field that records written by older versions lack."""
    return record.get(name, default) if isinstance(record, dict) else field_of(record, name)


def pair(value: object) -> tuple[object, object]:
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise ValueError(f"{value!r} is not a pair")
    return value[0], value[1]


def count(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{value!r} is not a count")
    return value


def finite(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{value!r} is not a finite number")
    return float(value)


def optional_finite(value: object) -> float | None:
    return None if value is None else finite(value)


def text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{value!r} is not text")
    return value


def texts(values: object) -> list[str]:
    if not isinstance(values, list):
        raise TypeError(f"{values!r} is not a list")
    return [text(value) for value in values]


def flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{value!r} is not true or false")
    return value


def choice(value: object, choices: Sequence[str]) -> str:
    if text(value) not in choices:
        raise ValueError(f"{value!r} is not one of {', '.join(choices)}")
    return str(value)


@contextmanager
def reading(what: str, error: type[RecordError] = RecordError) -> Iterator[None]:
    """Any missing field or wrong value met while reading the block is `error`, naming `what` was read."""
    try:
        yield
    except RecordError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise error(f"damaged {what} ({type(exc).__name__}: {exc})") from None
