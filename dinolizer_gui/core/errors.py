"""The base class of errors about a file the app was given, the error about a file it could not write, and the
error about a request that cannot be carried out as given."""

from __future__ import annotations

import errno
import re
from pathlib import Path


class PathError(Exception):
    """A file that cannot be used; the message names the file and the reason."""

    def __init__(self, path: Path | str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


class OutputError(PathError):
    """An output (results, reports, the results store) that could not be written: disk full, no permission."""

    @classmethod
    def of(cls, path: Path | str, exc: OSError) -> OutputError:
        reason = exc.strerror or str(exc) or type(exc).__name__
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            reason += " (the disk is full: free space and run again; finished results are kept)"
        return cls(path, f"cannot be written: {reason}")


class RequestError(ValueError):
    """A request that cannot be carried out as given (an analysis asked of the command line): the message says
    what to change."""


def user_message(exc: BaseException, limit: int = 300) -> str:
    """What an exception says, as one line for a person: the first line of its text (the last line of a
    traceback relayed as text, e.g. by Ray), or its type's name when it says nothing."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip()  # colour codes (Ray's) say nothing to a person
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    line = lines[-1] if "Traceback (most recent call last)" in text else lines[0]
    return line if len(line) <= limit else line[: limit - 1] + "…"
