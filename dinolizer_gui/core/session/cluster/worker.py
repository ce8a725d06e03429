"""The Ray actor: one per GPU, or a few on CPUs. It builds the models from its own node's files, refusing any
whose SHA-256 is not the driver's, and returns each image's runs with their maps compressed."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...engine.analysis import AnalysisOptions
from ...io.hashing import sha256_of_file
from .connection import ClusterError
from .wire import packed_run, runtimes_record

if TYPE_CHECKING:
    from ...models.model_like import ModelLike

WeightFiles = dict[str, list[tuple[str, str]]]  # each model's checkpoint files: (absolute path, SHA-256)


class Worker:
    def __init__(self, files: WeightFiles, options: dict[str, Any], threads: int):
        import torch

        from ...models.localizer import model_runtimes

        if threads:
            torch.set_num_threads(threads)
        self.options = AnalysisOptions.from_record(options)
        self.models = {name: _checked_model(name, checked) for name, checked in files.items()}
        self._runtimes = model_runtimes(self.models, self.options)

    def runtimes(self) -> dict[str, dict[str, Any]]:
        """Where and in which precision each model computes on this actor."""
        return runtimes_record(self._runtimes)

    def analyze(
        self, path: str, data: bytes | None, sha256: str, models: list[str], max_pixels: int | None
    ) -> dict[str, dict[str, Any]]:
        """Each model's run on the image at `path` (or in the bytes shipped), which must be the driver's."""
        try:
            return self._analyze(path, data, sha256, models, max_pixels)
        except Exception as exc:  # sent back as plain text: the driver may not unpickle every exception
            reason = getattr(exc, "reason", None) or exc
            raise ClusterError(f"node {os.uname().nodename}: {path}: {reason}") from None

    def where(self) -> tuple[str, str]:
        """(Ray node id, host name) of this actor."""
        import ray

        return ray.get_runtime_context().get_node_id(), os.uname().nodename

    def _analyze(
        self, path: str, data: bytes | None, sha256: str, models: list[str], max_pixels: int | None
    ) -> dict[str, dict[str, Any]]:
        from ...io.images import load_image
        from ...progress import run_to_end

        image = load_image(path, max_pixels, data)  # hashes the bytes, shipped (never written here) or read
        if image.sha256 != sha256:
            raise ClusterError(f"{path}: not the driver's image (SHA-256 {image.sha256}, expected {sha256})")
        return {
            name: packed_run(run_to_end(self.models[name].analyze(image, self.options, self._runtimes[name])))
            for name in models
        }


def _checked_model(name: str, checked: list[tuple[str, str]]) -> ModelLike:
    """The model built from this node's files, each the driver's (same SHA-256), else ClusterError."""
    from ...models.registry import load_localizer

    hashes = {}
    for path, expected in checked:
        found = sha256_of_file(path)
        if found != expected:
            raise ClusterError(
                f"{os.uname().nodename}: {name} weights {path} differ from the driver's "
                f"(SHA-256 {found}, expected {expected}): this node is refused"
            )
        hashes[path] = found
    return load_localizer(name, [Path(path) for path, _ in checked], hashes)
