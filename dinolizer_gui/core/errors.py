"""The one base class of errors about a file the app was given."""

from __future__ import annotations

from pathlib import Path


class PathError(Exception):
    """A file that cannot be used; the message names the file and the reason."""

    def __init__(self, path: Path | str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason
