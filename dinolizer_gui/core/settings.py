"""User settings shared by the GUI and the CLI, stored as JSON in the user config folder."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from platformdirs import user_config_dir

from .models.store import APP_NAME

CONFIG_ENV = "DINOLIZER_GUI_CONFIG"
MAX_RECENT = 12


@dataclass
class Settings:
    device: str = "auto"
    precision: str = "auto"
    stride: int = 128
    declip_mode: str = "whole"
    colormap: str = "inferno"
    opacity: float = 0.6
    thresholds: dict[str, float] = field(default_factory=lambda: {"dinolizer": 0.5, "declip": 0.5})
    link_thresholds: bool = False
    weights_dir: str = ""
    max_pixels: int = 0  # 0: Pillow's decompression-bomb limit
    recent_files: list[str] = field(default_factory=list)
    case_number: str = ""
    analyst: str = ""
    organisation: str = ""
    notes: str = ""

    def add_recent(self, path: str) -> None:
        self.recent_files = [path] + [p for p in self.recent_files if p != path][:MAX_RECENT - 1]


def config_dir() -> Path:
    return Path(os.environ.get(CONFIG_ENV) or user_config_dir(APP_NAME, appauthor=False))


def load_settings(folder: Path | None = None) -> Settings:
    path = (folder or config_dir()) / "settings.json"
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return Settings()
    known = {f.name for f in fields(Settings)}
    settings = Settings(**{k: v for k, v in stored.items() if k in known})
    settings.thresholds = {**Settings().thresholds, **settings.thresholds}
    return settings


def save_settings(settings: Settings, folder: Path | None = None) -> None:
    folder = folder or config_dir()
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / "settings.json.tmp"
    temporary.write_text(json.dumps(asdict(settings), indent=2), encoding="utf-8")
    os.replace(temporary, folder / "settings.json")
