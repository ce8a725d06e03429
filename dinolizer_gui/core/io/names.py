"""File names as text that is always valid, unambiguous JSON and safe on a terminal.

A name on disk is bytes; one that is not valid UTF-8 (`bad\\xff\\xfe.jpg`) has
no exact Unicode text. Outputs give such a name readably (each undecodable byte
as `\\xNN`) and exactly (its bytes in base64); a terminal shows control
characters escaped, so a name cannot drive the terminal.
"""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def readable(path: Path | str) -> str:
    """The path as valid Unicode text: bytes that are not UTF-8 appear as \\xNN."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def is_exact(path: Path | str) -> bool:
    """True when `readable(path)` names exactly this file (the name is valid UTF-8)."""
    try:
        os.fsencode(path).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def path_record(path: Path | str) -> dict[str, str]:
    """`{"path": readable text}`, plus `path_bytes` (base64 of the name on disk) when the text is not
    exact."""
    record = {"path": readable(path)}
    if not is_exact(path):
        record["path_bytes"] = base64.b64encode(os.fsencode(path)).decode("ascii")
    return record


def path_of(record: dict) -> Path:
    """The file a `path_record` names."""
    if record.get("path_bytes"):
        return Path(os.fsdecode(base64.b64decode(record["path_bytes"])))
    return Path(record["path"])


def for_terminal(text: str) -> str:
    """Text safe to print: control characters (escape sequences, bells, newlines) and bad bytes escaped."""
    text = os.fsencode(text).decode("utf-8", "backslashreplace") if not _encodable(text) else text
    return _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def counted(number: int, noun: str) -> str:
    """`1 error`, `2 errors`, `2 hash mismatches`."""
    plural = "es" if noun.endswith(("ch", "sh", "s", "x")) else "s"
    return f"{number} {noun}{'' if number == 1 else plural}"
