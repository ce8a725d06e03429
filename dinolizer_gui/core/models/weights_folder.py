"""The weights folder: where installed weights live, the manifest of official files, the choices made."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from platformdirs import user_data_dir

from ..io.outputs import read_json
from .registry import DEFAULT_DECLIP_SET, REGISTRY

APP_NAME = "dinolizer-gui"
WEIGHTS_ENV = "DINOLIZER_GUI_WEIGHTS"
ACTIVE_FILE = "active.json"


@dataclass(frozen=True)
class ManifestEntry:
    id: str
    model: str
    role: str
    title: str
    file: str
    url: str
    domain: str
    licence: str
    supported: bool
    size: int | None = None
    sha256: str | None = None
    md5: str | None = None
    training_set: str | None = None
    archive: str | None = None
    archive_member: str | None = None
    unsupported_reason: str | None = None
    requires: tuple[tuple[str, ...], ...] = ()  # each group: ids of which one must be installed too


def load_manifest() -> list[ManifestEntry]:
    text = resources.files("dinolizer_gui").joinpath("resources/manifest.json").read_text(encoding="utf-8")
    entries = json.loads(text)["checkpoints"]
    return [
        ManifestEntry(**{**e, "requires": tuple(tuple(g) for g in e.get("requires", ()))}) for e in entries
    ]


def weights_dir(override: str | Path | None = None) -> Path:
    """The weights folder: an explicit setting, else $DINOLIZER_GUI_WEIGHTS, else the user data folder."""
    chosen = (
        override or os.environ.get(WEIGHTS_ENV) or Path(user_data_dir(APP_NAME, appauthor=False)) / "weights"
    )
    return Path(chosen).expanduser()


def active_choices(folder: Path) -> dict[str, str]:
    return read_json(folder / ACTIVE_FILE)


def active_declip_set(folder: Path) -> str:
    """The DeCLIP training set analyses use (chosen with `models activate`)."""
    return active_choices(folder).get("declip", DEFAULT_DECLIP_SET)


def installed_files(model: str, folder: Path | None = None) -> list[Path]:
    """The installed checkpoint files a model uses by default, or [] when it has none."""
    folder = folder or weights_dir()
    present = {e.id: folder / e.file for e in load_manifest() if (folder / e.file).is_file()}
    return REGISTRY[model].pick_installed(present, folder, active_choices(folder))
