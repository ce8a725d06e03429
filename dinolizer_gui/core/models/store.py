"""Where installed weights live, and which files each model uses by default."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from platformdirs import user_data_dir

APP_NAME = "dinolizer-gui"
WEIGHTS_ENV = "DINOLIZER_GUI_WEIGHTS"
ACTIVE_FILE = "active.json"
DEFAULT_DECLIP_SET = "cocosd"  # general photographs; the Dolos sets are faces


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


def load_manifest() -> list[ManifestEntry]:
    text = resources.files("dinolizer_gui").joinpath("resources/manifest.json").read_text(encoding="utf-8")
    return [ManifestEntry(**entry) for entry in json.loads(text)["checkpoints"]]


def weights_dir(override: str | Path | None = None) -> Path:
    """The weights folder: an explicit setting, else $DINOLIZER_GUI_WEIGHTS, else the user data folder."""
    chosen = override or os.environ.get(WEIGHTS_ENV) or Path(user_data_dir(APP_NAME, appauthor=False)) / "weights"
    return Path(chosen).expanduser()


def active_choices(folder: Path) -> dict[str, str]:
    try:
        return json.loads((folder / ACTIVE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def installed_files(model: str, folder: Path | None = None) -> list[Path]:
    """The installed checkpoint files a model uses by default, or [] when it has none."""
    folder = folder or weights_dir()
    entries = {e.id: e for e in load_manifest()}
    present = {key: folder / e.file for key, e in entries.items() if (folder / e.file).is_file()}
    if model == "dinolizer":
        if "dinolizer-release" in present:
            return [present["dinolizer-release"]]
        heads = sorted(folder.glob("*.head.safetensors"))
        return [present["bfree"], heads[0]] if "bfree" in present and heads else []
    if model == "declip":
        chosen = active_choices(folder).get("declip", DEFAULT_DECLIP_SET)
        preferred = [f"declip-vit-{chosen}"] + [k for k in present if k.startswith("declip-vit-") and "rn50" not in k]
        for key in preferred:
            if key in present:
                return [present[key]]
    return []
