"""What background jobs share: their progress events and the session's loaded localizers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .models.registry import Localizer, load_localizer


@dataclass(frozen=True)
class JobProgress:
    stage: str  # "loading image", "loading model", "windows"
    model: str = ""
    done: int = 0
    total: int = 0


class LocalizerCache:
    """Loaded localizers keyed by model and files, so that weights are read once per session."""

    def __init__(self):
        self._loaded: dict[tuple, Localizer] = {}

    def get(self, name: str, files: list[Path]) -> Localizer:
        key = (name, *(str(Path(f).resolve()) for f in files))
        if key not in self._loaded:
            self._loaded[key] = load_localizer(name, files)
        return self._loaded[key]
