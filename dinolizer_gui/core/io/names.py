"""File names as text that is always valid, unambiguous JSON, safe on a terminal and not spoofable.

A name on disk is bytes; one that is not valid UTF-8 (`bad\\xff\\xfe.jpg`) has
no exact Unicode text. Outputs give such a name readably (each undecodable byte
as `\\xNN`, each control or invisible formatting character — bidirectional
overrides, zero-width characters — as `\\uNNNN`) and exactly (its bytes in
base64), so a name can neither drive a terminal nor pass for another one
(`\\u202e1000_GMI\\u202c.png` never shows as "IMG_0001.png").
"""

from __future__ import annotations

import base64
import os
from pathlib import Path


def readable(path: Path | str) -> str:
    """The path as valid Unicode text that shows what it is: bytes that are not UTF-8 appear as \\xNN,
    control and invisible formatting characters as \\xNN or \\uNNNN."""
    return _shown(os.fsencode(path).decode("utf-8", "backslashreplace"))


def _shown(text: str) -> str:
    """Every character that does not print as itself escaped: controls, invisible formatting (bidirectional
    overrides, zero-width and tag characters), line and paragraph separators, spaces other than the space,
    private-use and unassigned code points (what `str.isprintable` refuses)."""
    return text if text.isprintable() else "".join(c if c.isprintable() else escape_char(c) for c in text)


def escape_char(char: str) -> str:
    """`\\xNN`, `\\uNNNN` or `\\UNNNNNNNN`: the character's code point, as Python writes it."""
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def is_exact(path: Path | str) -> bool:
    """True when `readable(path)` names exactly this file (valid UTF-8, nothing escaped)."""
    try:
        text = os.fsencode(path).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return text.isprintable()


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
    """Text safe to print: control characters (escape sequences, bells, newlines), invisible formatting
    characters and bad bytes escaped."""
    text = os.fsencode(text).decode("utf-8", "backslashreplace") if not _encodable(text) else text
    return _shown(text)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def with_article(noun: str) -> str:
    """ "a case", "an invalid manifest", "an ISO media box": the article its first letter asks for."""
    return f"{'an' if noun[:1].lower() in ('a', 'e', 'i', 'o', 'u') else 'a'} {noun}"


def counted(number: int, noun: str) -> str:
    """`1 error`, `2 errors`, `2 hash mismatches`."""
    plural = "es" if noun.endswith(("ch", "sh", "s", "x")) else "s"
    return f"{number} {noun}{'' if number == 1 else plural}"
