"""The base class of errors about a file the app was given, and the error about a file it could not write."""

from __future__ import annotations

import errno
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
