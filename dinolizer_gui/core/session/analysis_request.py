"""An analysis request: what a headless analysis is asked to do (inputs, models, weights, options, outputs,
case, cluster), as the command line parses it; and what every request needs before its run: the output
folder claimed, the workspace with its results store, the models loaded. Each refusal is a RequestError
saying what to change, in the command line's words."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..engine.analysis import AnalysisOptions
from ..errors import OutputError, RequestError
from ..io.outputs import (
    EarlierOutputs,
    HoldsEvidence,
    NotAFolder,
    NotWritable,
    OutputClaim,
    OutputFolderBusy,
    claim_outputs,
)
from ..models.layouts import CheckpointError
from ..models.registry import REGISTRY
from ..store.results import ResultStore
from .settings import Settings
from .workspace import Workspace

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from .cluster import ClusterOptions
    from .model_handle import ModelHandle


@dataclass(frozen=True)
class OutputRequest:
    folder: Path | None = None  # None: the case's runs folder (a case folder is given then)
    replace: bool = (
        False  # an earlier run's outputs in the folder are removed first (only files this app wrote)
    )
    save_probability: bool = False  # each map as .npy too
    reports: tuple[str, ...] = ()  # pdf, json, html


@dataclass(frozen=True)
class CaseRequest:
    given: str = ""  # a case folder (made by `case new`), else the case number printed on the reports
    analyst: str | None = None  # None: the saved setting
    organisation: str | None = None  # None: the saved setting
    notes: str = ""  # for the reports' cover

    @property
    def is_folder(self) -> bool:
        """Whether `given` names a case folder: it looks like a path, or is a folder."""
        given = self.given
        return bool(given) and (os.sep in given or "/" in given or Path(given).is_dir())


@dataclass(frozen=True)
class AnalysisRequest:
    inputs: tuple[str, ...]  # image files and folders (searched recursively)
    options: AnalysisOptions = field(default_factory=AnalysisOptions)
    outputs: OutputRequest = field(default_factory=OutputRequest)
    models: tuple[str, ...] = ()  # () : every model with weights
    weights: dict[str, list[Path]] = field(default_factory=dict)  # files given per model
    weights_folder: Path | None = None  # the installed weights' folder (None: the saved one)
    store: Path | None = None  # the results store (None: the user's)
    use_store: bool = True  # False: neither read nor write stored maps
    threshold: float | None = None  # the pixel threshold of every model (None: each model's own)
    max_pixels: int | None = None  # the decompression-bomb limit (None: the default)
    follow_links: bool = False  # symbolic links out of a folder given are followed
    stability: bool = False  # each map checked under benign variants too
    views: dict[str, dict[str, Any]] = field(default_factory=dict)  # instruments' views: name -> parameters
    trust_anchors: str = ""  # PEM certificates of the Content Credentials signers the user trusts
    case: CaseRequest = field(default_factory=CaseRequest)
    cluster: ClusterOptions | None = None  # the maps computed on a Ray cluster's actors


def claim_out(
    folder: Path, evidence: Iterable[Path | str], replace: bool, warn: Callable[[str], None]
) -> OutputClaim:
    """The output folder, held for this run (see `claim_outputs`); keep the claim while the run writes."""
    try:
        claim = claim_outputs(folder, evidence, replace)
    except NotAFolder:
        raise RequestError(f"--out {folder} is a file, not a folder") from None
    except HoldsEvidence as exc:
        raise RequestError(
            f"--out {folder} holds the input {exc.evidence}: outputs must not be mixed with the evidence"
        ) from None
    except NotWritable as exc:
        raise RequestError(f"cannot write in --out {folder}: {exc.reason}") from None
    except EarlierOutputs as exc:
        raise RequestError(
            f"--out {folder} holds an earlier run's outputs ({exc.names}): give --replace to remove them "
            "first, or another --out (outputs of two runs are never mixed)"
        ) from None
    except OutputFolderBusy:
        raise RequestError(
            f"another run is writing into --out {folder} now: wait for it, or choose another --out"
        ) from None
    except OutputError as exc:
        raise RequestError(f"cannot use --out {folder}: {exc.reason}") from None
    for kept in claim.left:
        warn(f"warning: --replace left {kept} in place: this app did not write it")
    return claim


def open_workspace(request: AnalysisRequest, store_folder: Path | None = None) -> Workspace:
    """The session's workspace: the request's options, its weights given or installed, and its results
    store (`store_folder` where given, e.g. a case's; none when the store is not used)."""
    try:
        store = ResultStore(store_folder or request.store) if request.use_store else None
    except OutputError as exc:
        raise RequestError(
            f"cannot use the results store: {exc} (give --store DIR for another one, or --no-cache to run "
            "without one)"
        ) from None
    workspace = Workspace(
        Settings(max_pixels=request.max_pixels or 0),
        weights_override=request.weights_folder,
        store=store,
        options_override=request.options,
    )
    for name, files in request.weights.items():
        workspace.set_model_files(name, files)
    return workspace


def load_models(workspace: Workspace, names: Iterable[str]) -> list[ModelHandle]:
    """The models to run: those named, else every model with weights; a refusal says what is missing."""
    names = list(dict.fromkeys(names))
    for name in names:
        if name not in REGISTRY:
            raise RequestError(f"unknown model {name!r}; known: {', '.join(REGISTRY)}")
    folder = workspace.weights_folder()
    names = names or list(workspace.model_files())
    if not names:
        raise RequestError(
            "no model has weights: give --weights NAME=FILE or install them (`dinolizer-gui models`) "
            f"into {folder}"
        )
    files = workspace.model_files(names)
    for name in names:
        if name not in files:
            raise RequestError(
                f"model {name} has no weights: it needs {REGISTRY[name].needs}; give --weights "
                f"{name}=FILE or install them into {folder}"
            )
    models = []
    for name, paths in files.items():
        try:
            models.append(workspace.model(name, paths))
        except CheckpointError as exc:
            raise RequestError(f"cannot load {name}: {exc}") from None
    return models
