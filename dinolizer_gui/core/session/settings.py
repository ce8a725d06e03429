"""User settings shared by the GUI and the CLI, stored as JSON in the user config folder."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from platformdirs import user_config_dir, user_log_dir

from ..io.outputs import write_json_atomic
from ..models.weights_folder import APP_NAME
from .thresholds import default_thresholds

CONFIG_ENV = "DINOLIZER_GUI_CONFIG"
LOG_ENV = "DINOLIZER_GUI_LOGS"
MAX_RECENT = 12


@dataclass
class Settings:
    device: str = "auto"
    precision: str = "auto"
    stride: int = 128
    declip_mode: str = "whole"
    colormap: str = "inferno"
    opacity: float = 0.6
    thresholds: dict[str, float] = field(default_factory=default_thresholds)
    link_thresholds: bool = False
    panel_layout: str = "three"  # three panels, two (the input and one model) or one large panel
    single_panel: str = "input"  # the panel of the one-panel layout
    pair_model: str = ""  # the model beside the input in the two-panel layout ("": the first)
    window_state: str = ""  # the docks' places and sizes (Qt's saveState, base64)
    window_geometry: str = ""  # the window's place and size (Qt's saveGeometry, base64; "": first start)
    weights_dir: str = ""
    max_pixels: int = 0  # 0: Pillow's decompression-bomb limit
    recent_files: list[str] = field(default_factory=list)
    export_folder: str = ""  # the last folder reports were exported to
    case_number: str = ""
    analyst: str = ""
    organisation: str = ""
    notes: str = ""

    def add_recent(self, path: str) -> None:
        self.recent_files = [path, *[p for p in self.recent_files if p != path][: MAX_RECENT - 1]]


def default_export_folder(settings: Settings) -> Path:
    """The last export folder, else one in the user's documents: never beside the evidence."""
    from platformdirs import user_documents_dir

    return Path(settings.export_folder or Path(user_documents_dir()) / "DinoLizer reports")


def config_dir() -> Path:
    return Path(os.environ.get(CONFIG_ENV) or user_config_dir(APP_NAME, appauthor=False))


def log_file() -> Path:
    """The app's log (warnings and tracebacks; a windowed bundle has no terminal to print them on)."""
    return Path(os.environ.get(LOG_ENV) or user_log_dir(APP_NAME, appauthor=False)) / "dinolizer-gui.log"


def load_settings(folder: Path | None = None) -> Settings:
    path = (folder or config_dir()) / "settings.json"
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return Settings()
    known = {f.name for f in fields(Settings)}
    settings = Settings(**{k: v for k, v in stored.items() if k in known})
    settings.thresholds = {**default_thresholds(), **settings.thresholds}
    return settings


def save_settings(settings: Settings, folder: Path | None = None) -> None:
    folder = folder or config_dir()
    folder.mkdir(parents=True, exist_ok=True)
    write_json_atomic(folder / "settings.json", asdict(settings), indent=2)
