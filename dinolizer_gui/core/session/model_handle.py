"""A model known by its checked files; its network is built only when it must run.

When a model is first built from some checkpoints, what the outputs say of it
(variant, thresholds, load notes) is recorded in the results store, keyed by
the checkpoints' SHA-256. A later run whose maps are all stored then reads
that record and the maps, and never loads the weights.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..models.registry import REGISTRY

if TYPE_CHECKING:
    from ..engine.analysis import AnalysisOptions, ModelRun
    from ..engine.device import Runtime
    from ..io.images import LoadedImage
    from ..models.integrity import Verification
    from ..models.model_like import ModelLike
    from ..progress import Progress
    from ..store.results import ResultStore


def description_key(name: str, checks: list[Verification]) -> str:
    text = json.dumps({"model": name, "weights": sorted(check.sha256 for check in checks)})
    return hashlib.sha256(text.encode()).hexdigest()


class ModelHandle:
    """Stands for a Localizer wherever the network is not needed (store keys, summaries, outputs)."""

    def __init__(
        self,
        name: str,
        files: list[Path],
        checks: list[Verification],
        build: Callable[[], ModelLike],
        store: ResultStore | None,
    ):
        """`build` makes the network from the files (the workspace's, which reads each set of files once)."""
        self.name, self.files, self.checks, self.build, self.store = name, files, checks, build, store
        self.card = REGISTRY[name].card
        self._key = description_key(name, checks)
        self._localizer: ModelLike | None = None
        self._description = store.description(self._key) if store is not None else None
        if self._description is None:
            self.load()  # never built from these files: build it now, so that a bad file is found at once

    def load(self) -> ModelLike:
        """The network (read once per session); records what it is for later runs."""
        if self._localizer is None:
            self._localizer = self.build()
            if self._description is None:
                self._description = self._localizer.describe()
                if self.store is not None:
                    self.store.put_description(self._key, self._description)
        return self._localizer

    @property
    def loaded(self) -> bool:
        return self._localizer is not None

    @property
    def checkpoints(self) -> list[dict[str, Any]]:
        """The files the model is made of, as recorded, with their paths and verification of this run."""
        by_hash = {check.sha256: (path, check) for path, check in zip(self.files, self.checks, strict=True)}
        described = self._describe()["checkpoints"]
        return [
            {**c, "path": str(by_hash[c["sha256"]][0]), "verification": by_hash[c["sha256"]][1].as_dict()}
            for c in described
            if c["sha256"] in by_hash
        ]

    def _describe(self) -> dict[str, Any]:
        return self._description if self._description is not None else self.load().describe()

    def describe(self) -> dict[str, Any]:
        return {**self._describe(), "checkpoints": self.checkpoints}

    @property
    def variant(self) -> str:
        return self._describe()["variant"]

    @property
    def load_notes(self) -> list[str]:
        return self._describe()["load_notes"]

    @property
    def pixel_threshold(self) -> float:
        return self._describe()["pixel_threshold"]

    @property
    def score_threshold(self) -> float:
        return self._describe()["score_threshold"]

    @property
    def score_threshold_source(self) -> str:
        return self._describe()["score_threshold_source"]

    def analyze(
        self, image: LoadedImage, options: AnalysisOptions, runtime: Runtime | None = None
    ) -> Generator[Progress, None, ModelRun]:
        return self.load().analyze(image, options, runtime)

    def release_weight_pages(self) -> int:
        return self._localizer.release_weight_pages() if self._localizer is not None else 0
