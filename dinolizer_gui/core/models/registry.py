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

from ..engine.analysis import AnalysisOptions, Fidelity
from ..engine.tiling import DINOLIZER_WINDOW, WindowGrid, dinolizer_working_size
from .cards import BFREE_CARD, DECLIP_CARD, DINOLIZER_CARD, ModelCard
from .layouts import Layout

if TYPE_CHECKING:
    from .model_like import ModelLike

COCOGLIDE_P99_THRESHOLD = 0.5946570634841919
COCOGLIDE_SOURCE = (
    "99th-percentile threshold calibrated on CocoGlide by an independent adapter of the "
    "official release (ROC-AUC 0.989 there); not a universal operating point"
)
DEFAULT_DECLIP_SET = "cocosd"  # general photographs; the Dolos sets are faces


Chosen = dict[Path, Layout]  # session files and their layouts
Present = dict[str, Path]  # installed files by manifest id


@dataclass(frozen=True)
class ModelSpec:
    name: str
    card: ModelCard
    needs: str  # the files a user must supply, in words
    layouts: tuple[Layout, ...]  # checkpoint layouts this model is built from
    key_parameters: Callable[[AnalysisOptions], dict[str, Any]]  # the options that change its output
    # the installed files it uses by default: (files present by manifest id, weights folder, active choices)
    pick_installed: Callable[[Present, Path, dict[str, str]], list[Path]]
    # of files chosen for a session, those that make this model ([] when they cannot)
    pick_chosen: Callable[[Chosen], list[Path]]
    # the windows it analyses on an image of this width and height (a whole-image model: 1)
    windows: Callable[[int, int, AnalysisOptions], int] = lambda _w, _h, _options: 1
    # the side of the windows it slides over the image (a grid the stability check shifts); None: whole image
    sliding_window: Callable[[AnalysisOptions], int | None] = lambda _options: None
    pixel_threshold: float = 0.5
    produces_map: bool = True  # False: an image-level detector
    # The reduced precisions in which this model's output stays within FIDELITY_BAR of its float32
    # (official) output, measured on seeded random weights whose maps sit on the threshold
    # (tests/core/engine/test_fidelity.py pins each one); `--precision auto` uses no other.
    reduced_precisions: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        return self.card.title

    @property
    def fidelity(self) -> Fidelity:
        return Fidelity(self.title, self.reduced_precisions)

    def build(self, checkpoints: list) -> ModelLike:
        adapter = importlib.import_module(f"{__package__}.adapters.{self.name}")
        return adapter.build(checkpoints)


def _of(chosen: Chosen, *layouts: Layout) -> list[Path]:
    return [path for path, layout in chosen.items() if layout in layouts]


def _dinolizer_installed(present: Present, folder: Path, _active: dict[str, str]) -> list[Path]:
    if "dinolizer-release" in present:
        return [present["dinolizer-release"]]
    heads = sorted(folder.glob("*.head.safetensors"))
    return [present["bfree"], heads[0]] if "bfree" in present and heads else []


def _dinolizer_chosen(chosen: Chosen) -> list[Path]:
    if release := _of(chosen, Layout.DINOLIZER_RELEASE):
        return release[:1]
    backbone, head = _of(chosen, Layout.BFREE_BACKBONE), _of(chosen, Layout.LINEAR_HEAD)
    return [backbone[0], head[0]] if backbone and head else []


def _declip_installed(present: Present, _folder: Path, active: dict[str, str]) -> list[Path]:
    """The active training set's file; for the ViT+RN50 variant, its decoder, RN50 and a CLIP ViT source (the
    ones present: the adapter names any that is missing)."""
    training_set = active.get("declip", DEFAULT_DECLIP_SET)
    vit_files = [key for key in present if key.startswith("declip-vit-") and "rn50" not in key]
    if active.get("declip_variant") == FUSION_VARIANT:
        decoder = f"declip-vit-rn50-{training_set}"
        sources = [
            key for key in ("openai-vit-l14", f"declip-vit-{training_set}", *vit_files) if key in present
        ]
        wanted = [decoder, "openai-rn50", *sources[:1]]
        return [present[key] for key in wanted if key in present] if decoder in present else []
    return next(([present[key]] for key in [f"declip-vit-{training_set}", *vit_files] if key in present), [])


def _declip_chosen(chosen: Chosen) -> list[Path]:
    if decoder := _of(chosen, Layout.DECLIP_VIT_RN50):
        return (
            decoder[:1]
            + _of(chosen, Layout.OPENAI_RN50)[:1]
            + _of(chosen, Layout.OPENAI_VIT, Layout.DECLIP_VIT)[:1]
        )
    return _of(chosen, Layout.DECLIP_VIT)[:1]


def _dinolizer_windows(width: int, height: int, options: AnalysisOptions) -> int:
    working_width, working_height = dinolizer_working_size(width, height)
    return len(WindowGrid(working_height, working_width, DINOLIZER_WINDOW, options.stride))


DECLIP_WINDOW = 224  # CLIP ViT-L/14's input


def _declip_windows(width: int, height: int, options: AnalysisOptions) -> int:
    if options.declip_mode != "sliding" or min(width, height) < DECLIP_WINDOW:
        return 1
    return len(WindowGrid(height, width, DECLIP_WINDOW, options.declip_stride))


def _declip_parameters(options: AnalysisOptions) -> dict[str, Any]:
    sliding = options.declip_mode == "sliding"
    return {"mode": options.declip_mode, "stride": options.declip_stride if sliding else 0}


FUSION_VARIANT = "vit+rn50"
DECLIP_VARIANTS = ("vit", FUSION_VARIANT)

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
            _dinolizer_installed,
            _dinolizer_chosen,
            windows=_dinolizer_windows,
            sliding_window=lambda _options: DINOLIZER_WINDOW,
            # bfloat16 moves the full-size network's map 3.6e-3 on average on a map at the threshold
            reduced_precisions=("float16",),
        ),
        ModelSpec(
            "declip",
            DECLIP_CARD,
            "one DeCLIP ViT checkpoint (e.g. ViT_layer20_conv-20_cocosd.pth), or a ViT+RN50 decoder with "
            "OpenAI's RN50.pt and a CLIP ViT-L/14 (any DeCLIP ViT file, or ViT-L-14.pt)",
            (Layout.DECLIP_VIT, Layout.DECLIP_VIT_RN50, Layout.OPENAI_RN50, Layout.OPENAI_VIT),
            _declip_parameters,
            _declip_installed,
            _declip_chosen,
            windows=_declip_windows,
            sliding_window=lambda options: DECLIP_WINDOW if options.declip_mode == "sliding" else None,
        ),
        ModelSpec(
            "bfree",
            BFREE_CARD,
            "B-Free's model_epoch_best.pth (from BFREE_dino2reg4.zip)",
            (Layout.BFREE_BACKBONE,),
            lambda options: {},
            lambda present, _folder, _active: [present["bfree"]] if "bfree" in present else [],
            lambda chosen: _of(chosen, Layout.BFREE_BACKBONE)[:1],
            produces_map=False,
        ),
    )
}


def map_titles() -> dict[str, str]:
    """The models that give a probability map (the others are image-level detectors), with their titles."""
    return {name: spec.title for name, spec in REGISTRY.items() if spec.produces_map}


def titles() -> dict[str, str]:
    return {name: spec.title for name, spec in REGISTRY.items()}


def load_localizer(
    name: str, paths: Sequence[Path | str], known_hashes: dict[str, str] | None = None
) -> ModelLike:
    """Read the files and build the named localizer; raises CheckpointError with a readable reason."""
    from .checkpoints import read_checkpoint

    if name not in REGISTRY:
        raise KeyError(f"unknown model {name!r}; known: {', '.join(REGISTRY)}")
    known_hashes = known_hashes or {}
    return REGISTRY[name].build([read_checkpoint(p, known_hashes.get(str(p))) for p in paths])
