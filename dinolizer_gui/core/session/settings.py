"""User settings shared by the GUI and the CLI, stored as JSON in the user config folder."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from platformdirs import user_config_dir, user_log_dir

from ..engine.analysis import DECLIP_MODES, DEVICE_CHOICES, PRECISION_CHOICES
from ..io.outputs import write_json_atomic
from ..maps.render import COLORMAPS
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
    store_dir: str = ""  # the results store's folder ("": the default, or $DINOLIZER_GUI_STORE)
    trust_anchors: str = ""  # a folder of PEM certificates whose Content Credentials signers are trusted
    instrument_params: dict[str, dict] = field(default_factory=dict)  # the classic instruments' last used
    problems: list[str] = field(default_factory=list)  # what was wrong in the file read (never saved)

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


def _fraction(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0.0 <= value <= 1.0


# What each setting may hold beyond its type (a value that does not is replaced by the default, and said)
ALLOWED: dict[str, tuple[Callable[[object], bool], str]] = {
    "device": (lambda v: v in DEVICE_CHOICES, f"one of {', '.join(DEVICE_CHOICES)}"),
    "precision": (lambda v: v in PRECISION_CHOICES, f"one of {', '.join(PRECISION_CHOICES)}"),
    "declip_mode": (lambda v: v in DECLIP_MODES, f"one of {', '.join(DECLIP_MODES)}"),
    "colormap": (lambda v: v in COLORMAPS, "a known colour map"),
    "stride": (lambda v: isinstance(v, int) and 1 <= v <= 504, "a whole number from 1 to 504"),
    "opacity": (_fraction, "a number from 0 to 1"),
    "max_pixels": (lambda v: isinstance(v, int) and v >= 0, "a whole number, 0 or more"),
    "thresholds": (
        lambda v: isinstance(v, dict) and all(isinstance(k, str) and _fraction(t) for k, t in v.items()),
        "model names and numbers from 0 to 1",
    ),
    "recent_files": (lambda v: isinstance(v, list) and all(isinstance(p, str) for p in v), "a list of paths"),
    "instrument_params": (
        lambda v: (
            isinstance(v, dict) and all(isinstance(k, str) and isinstance(p, dict) for k, p in v.items())
        ),
        "instruments' names and their parameters",
    ),
}


def _kind_matches(value: object, default: object) -> bool:
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(default, bool)
    if isinstance(default, float):
        return isinstance(value, int | float) and math.isfinite(value)
    return isinstance(value, type(default))


def load_settings(folder: Path | None = None) -> Settings:
    """The saved settings, checked field by field: a field of the wrong kind or out of range falls back to its
    default, and `problems` says which (the file is never a reason not to start)."""
    path = (folder or config_dir()) / "settings.json"
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Settings()
    except (OSError, ValueError) as exc:
        return Settings(problems=[f"{path} could not be read ({exc}); the defaults are used"])
    if not isinstance(stored, dict):
        return Settings(problems=[f"{path} is not a JSON object; the defaults are used"])
    defaults, values, problems = Settings(), {}, []
    for spec in fields(Settings):
        if spec.name not in stored or spec.name == "problems":
            continue
        value, default = stored[spec.name], getattr(defaults, spec.name)
        check, wanted = ALLOWED.get(spec.name, (lambda v: True, f"a {type(default).__name__}"))
        if _kind_matches(value, default) and check(value):
            values[spec.name] = value
        else:
            problems.append(
                f"{path}: {spec.name} was {json.dumps(value)[:60]}, not {wanted}; the default is used"
            )
    settings = Settings(**values, problems=problems)
    settings.thresholds = {**default_thresholds(), **settings.thresholds}
    return settings


def save_settings(settings: Settings, folder: Path | None = None) -> None:
    folder = folder or config_dir()
    folder.mkdir(parents=True, exist_ok=True)
    saved = {key: value for key, value in asdict(settings).items() if key != "problems"}
    write_json_atomic(folder / "settings.json", saved, indent=2)
