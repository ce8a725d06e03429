"""The state an analysis session holds that is not widgets: shared by the viewer, the CLI and the tests.

The settings, the checkpoint files chosen for this session, which weights
files each model uses, the results store, the loaded localizers and the
analysis options they imply.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..engine.analysis import AnalysisOptions
from ..io.images import DEFAULT_MAX_PIXELS
from ..models.integrity import HashCache, Verification, verify_installed, verify_session
from ..models.layouts import CheckpointError
from ..models.registry import REGISTRY, load_localizer
from ..models.weights_folder import installed_files, load_manifest, weights_dir
from ..store.results import ResultStore
from .model_handle import ModelHandle
from .settings import Settings, save_settings
from .thresholds import Thresholds
from .viewer_state import ViewerState

if TYPE_CHECKING:
    from ..engine.device import Runtime
    from ..models.model_like import ModelLike
    from .batch import BatchRunner
    from .case import Case


class LocalizerCache:
    """Loaded localizers keyed by model and the files' contents: weights are read once per session, and a file
    changed on disk is never served from memory."""

    def __init__(self) -> None:
        self._loaded: dict[tuple, ModelLike] = {}

    def get(self, name: str, files: list[Path], checks: list[Verification]) -> ModelLike:
        key = (name, *(f"{Path(f).resolve()}:{check.sha256}" for f, check in zip(files, checks, strict=True)))
        if key not in self._loaded:
            by_path = {str(f): check for f, check in zip(files, checks, strict=True)}
            localizer = load_localizer(name, files, {path: check.sha256 for path, check in by_path.items()})
            for checkpoint in localizer.checkpoints:
                checkpoint["verification"] = by_path[checkpoint["path"]].as_dict()
            self._loaded[key] = localizer
        return self._loaded[key]

    def __len__(self) -> int:
        return len(self._loaded)


@dataclass
class Workspace:
    settings: Settings = field(default_factory=Settings)
    config_folder: Path | None = None  # where the settings are saved; None: the user config folder
    weights_override: Path | None = None  # a weights folder given for this session (CLI --weights-dir)
    store: ResultStore | None = field(default_factory=ResultStore)  # None: neither read nor write stored maps
    options_override: AnalysisOptions | None = None  # options given for this session (CLI flags)
    session_files: dict[str, list[Path]] = field(default_factory=dict)
    localizers: LocalizerCache = field(default_factory=LocalizerCache)
    hashes: HashCache = field(default_factory=HashCache)
    thresholds: Thresholds = field(init=False)  # the one owner of the pixel thresholds
    viewer: ViewerState = field(init=False)  # how the viewer shows the image on screen
    case: Case | None = None  # the case open: its store is used, and what is done is recorded in its log
    keep_thresholds: bool = field(default=True, init=False)  # False: this session's own, never saved

    def __post_init__(self) -> None:
        settings = self.settings
        self.thresholds = Thresholds(settings.thresholds, settings.link_thresholds)
        self.thresholds.events.moved.connect(self._keep_thresholds)
        self.thresholds.events.linked.connect(self._keep_thresholds)
        self.viewer = ViewerState.from_settings(settings)
        events = self.viewer.events
        for event in (events.colormap, events.opacity, events.layout, events.instruments):
            event.connect(self._keep_viewer)

    def _keep_thresholds(self, _change: object) -> None:
        if self.keep_thresholds:
            self.settings.thresholds, self.settings.link_thresholds = (
                self.thresholds.all(),
                self.thresholds.linked,
            )
            self.save()

    def _keep_viewer(self, _change: object) -> None:
        self.viewer.remember(self.settings)
        self.save()

    def use_case(self, case: Case | None, store: ResultStore | None = None) -> None:
        """Work in a case (its own results store), or leave it for `store`."""
        self.case = case
        self.store = case.store if case is not None else store

    def trust_anchors(self) -> str:
        """The PEM certificates of the Content Credentials signers the user trusts (Settings)."""
        from ..io.provenance.credentials import trust_anchors

        return trust_anchors(self.settings.trust_anchors)

    def use_thresholds(self, value: float | None) -> None:
        """This session's thresholds: `value` for every model (each model's own when None), not saved. They
        change in place: whoever follows the owner follows them."""
        self.keep_thresholds = False
        self.thresholds.reset(value)

    def weights_folder(self) -> Path:
        return weights_dir(self.weights_override or self.settings.weights_dir or None)

    def model_files(self, names: Iterable[str] | None = None) -> dict[str, list[Path]]:
        """The files each model uses: those chosen for this session, else the installed ones.

        Models without any are left out.
        """
        folder = self.weights_folder()
        files = {
            name: self.session_files.get(name) or installed_files(name, folder) for name in names or REGISTRY
        }
        return {name: paths for name, paths in files.items() if paths}

    def set_model_files(self, name: str, paths: Iterable[Path | str]) -> None:
        """Use these checkpoint files for a model in this session."""
        self.session_files[name] = [Path(p) for p in paths]

    def use_checkpoints(self, paths: Iterable[Path | str]) -> list[str]:
        """Use checkpoint files for this session: each model takes the files it can be made of.

        A B-Free backbone and a head make the DinoLizer paper model, the backbone alone B-Free. Returns the
        models given files; raises CheckpointError for a file that is not a checkpoint, or for files that make
        no model.
        """
        from ..models.checkpoints import read_checkpoint

        chosen = {Path(path): read_checkpoint(path, sha256="-").layout for path in paths}
        models = [name for name, spec in REGISTRY.items() if spec.pick_chosen(chosen)]
        if not models:
            layouts = ", ".join(f"{path.name} ({layout.value})" for path, layout in chosen.items())
            wanted = "; ".join(f"{spec.title} needs {spec.needs}" for spec in REGISTRY.values())
            raise CheckpointError(
                next(iter(chosen), "checkpoints"), f"no model is made of {layouts}: {wanted}"
            )
        for name in models:
            self.set_model_files(name, REGISTRY[name].pick_chosen(chosen))
        return models

    def verify(self, name: str, paths: list[Path]) -> list[Verification]:
        """Each file's verification state; an installed file changed since installation raises
        CheckpointError (every run calls this: the hash is cached while the file is unchanged)."""
        manifest = load_manifest()
        if paths == self.session_files.get(name):
            return [verify_session(Path(p), manifest, self.hashes) for p in paths]
        return [verify_installed(Path(p), self.weights_folder(), manifest, self.hashes) for p in paths]

    def model(self, name: str, paths: list[Path]) -> ModelHandle:
        """The model made of these files, checked; its network is built only when it must run (a model never
        built from them is built at once, so that a bad file is found now). Raises CheckpointError."""
        files, checks = [Path(p) for p in paths], self.verify(name, paths)
        return ModelHandle(name, files, checks, lambda: self.localizers.get(name, files, checks), self.store)

    def models(self, files: dict[str, list[Path]]) -> list[ModelHandle]:
        return [self.model(name, paths) for name, paths in files.items()]

    def localizer(self, name: str, paths: list[Path]) -> ModelLike:
        """The model built from these files, checked first; raises CheckpointError with a readable reason."""
        return self.localizers.get(name, paths, self.verify(name, paths))

    def options(self) -> AnalysisOptions:
        if self.options_override is not None:
            return self.options_override
        s = self.settings  # the viewer's: windows run coarse to fine, with previews
        return AnalysisOptions(
            device=s.device,
            precision=s.precision,
            stride=s.stride,
            declip_mode=s.declip_mode,
            progressive=True,
        )

    def runtimes(self, names: Iterable[str] | None = None) -> dict[str, Runtime]:
        """Where and in which precision each model (every model by default) computes under these settings."""
        from ..models.localizer import model_runtimes

        return model_runtimes(names or REGISTRY, self.options())

    def max_pixels(self) -> int:
        return self.settings.max_pixels or DEFAULT_MAX_PIXELS

    def batch_runner(self, models: list, stability: bool = False, provenance: bool = False) -> BatchRunner:
        """A runner over this workspace's results store, options, thresholds and image size limit (with
        `stability`, every map is also checked under benign variants of its image; with `provenance`, what
        each file says about itself is read, for the triage table)."""
        from .batch import BatchRunner

        anchors = self.trust_anchors() if provenance else None
        return BatchRunner(
            models, self.options(), self.store, self.thresholds, self.max_pixels(), stability, anchors
        )

    def run_description(self, models: list, runtimes: dict[str, Runtime] | None = None) -> dict:
        """What results.json and the reports say of a run: models, weights, options, thresholds, device,
        precisions."""
        from ..report.run_record import describe_run

        runtimes = runtimes or self.runtimes([m.name for m in models])
        return describe_run(models, self.options(), runtimes, self.thresholds.all(), self.max_pixels())

    def save(self) -> None:
        save_settings(self.settings, self.config_folder)
