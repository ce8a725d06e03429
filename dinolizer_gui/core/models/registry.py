"""The one registry of models: what each model is, which files and parameters it depends on.

This module imports no PyTorch: it is read at start-up by the viewer and the
CLI. Each model's adapter (`adapters/<name>.py`) knows how to build it from
checkpoints and run it, and is imported only when the model loads. A new model
is one entry here plus its adapter.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..analysis import AnalysisOptions
from .cards import DECLIP_CARD, DINOLIZER_CARD, ModelCard
from .layouts import Layout

if TYPE_CHECKING:
    from .localizer import Localizer

COCOGLIDE_P99_THRESHOLD = 0.5946570634841919
COCOGLIDE_SOURCE = (
    "99th-percentile threshold calibrated on CocoGlide by an independent adapter of the "
    "official release (ROC-AUC 0.989 there); not a universal operating point"
)
DEFAULT_DECLIP_SET = "cocosd"  # general photographs; the Dolos sets are faces


@dataclass(frozen=True)
class ModelSpec:
    name: str
    card: ModelCard
    needs: str  # the files a user must supply, in words
    layouts: tuple[Layout, ...]  # checkpoint layouts this model is built from
    key_parameters: Callable[[AnalysisOptions], dict[str, Any]]  # the options that change its map
    # the installed files it uses by default: (files present by manifest id, weights folder, active choices)
    pick_installed: Callable[[dict[str, Path], Path, dict[str, str]], list[Path]]
    pixel_threshold: float = 0.5
    partial_layouts: tuple[Layout, ...] = ()  # layouts that make the model only together with other files

    @property
    def title(self) -> str:
        return self.card.title

    def build(self, checkpoints: list) -> Localizer:
        adapter = importlib.import_module(f"{__package__}.adapters.{self.name}")
        return adapter.build(checkpoints)


def _dinolizer_files(present: dict[str, Path], folder: Path, _active: dict[str, str]) -> list[Path]:
    if "dinolizer-release" in present:
        return [present["dinolizer-release"]]
    heads = sorted(folder.glob("*.head.safetensors"))
    return [present["bfree"], heads[0]] if "bfree" in present and heads else []


def _declip_files(present: dict[str, Path], _folder: Path, active: dict[str, str]) -> list[Path]:
    chosen = f"declip-vit-{active.get('declip', DEFAULT_DECLIP_SET)}"
    fallbacks = [key for key in present if key.startswith("declip-vit-") and "rn50" not in key]
    return next(([present[key]] for key in [chosen, *fallbacks] if key in present), [])


def _declip_parameters(options: AnalysisOptions) -> dict[str, Any]:
    sliding = options.declip_mode == "sliding"
    return {"mode": options.declip_mode, "stride": options.declip_stride if sliding else 0}


REGISTRY: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            "dinolizer",
            DINOLIZER_CARD,
            "the release checkpoint epoch=36_val_loss=0.2130.ckpt, or a B-Free backbone "
            "(model_epoch_best.pth) plus a linear head file",
            (Layout.DINOLIZER_RELEASE, Layout.BFREE_BACKBONE, Layout.LINEAR_HEAD),
            lambda options: {"stride": options.stride},
            _dinolizer_files,
            partial_layouts=(Layout.BFREE_BACKBONE, Layout.LINEAR_HEAD),
        ),
        ModelSpec(
            "declip",
            DECLIP_CARD,
            "one DeCLIP ViT checkpoint, e.g. ViT_layer20_conv-20_cocosd.pth",
            (Layout.DECLIP_VIT, Layout.DECLIP_VIT_RN50),
            _declip_parameters,
            _declip_files,
        ),
    )
}


def titles() -> dict[str, str]:
    return {name: spec.title for name, spec in REGISTRY.items()}


def model_for_layout(layout: Layout) -> str:
    return next(name for name, spec in REGISTRY.items() if layout in spec.layouts)


def load_localizer(
    name: str, paths: Sequence[Path | str], known_hashes: dict[str, str] | None = None
) -> Localizer:
    """Read the files and build the named localizer; raises CheckpointError with a readable reason."""
    from .checkpoints import read_checkpoint

    if name not in REGISTRY:
        raise KeyError(f"unknown model {name!r}; known: {', '.join(REGISTRY)}")
    known_hashes = known_hashes or {}
    return REGISTRY[name].build([read_checkpoint(p, known_hashes.get(str(p))) for p in paths])
