"""Analysing a collection on a Ray cluster: actors hold the loaded models and compute maps; the driver is
the only reader of the results store and the only writer of it, of the PNGs and of results.json, so the
outputs are those of a local run.

Ray is an optional extra (`pip install -e '.[cluster]'`), imported only here and only when asked for.
"""

from __future__ import annotations

import os
import time
import zlib
from collections import deque
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..engine.analysis import AnalysisOptions, ImageOutcome, ModelRun
from ..errors import user_message
from ..io.hashing import sha256_of_file
from ..progress import Progress
from ..store.results import ResultStore, result_key
from .batch import BatchItem, BatchProgress, BatchRunner, ImageDone, ItemStatus, ModelDone

IN_FLIGHT_PER_ACTOR = 2  # one image computing and one waiting: a slow actor holds at most two
RETRIES = 1  # an image whose actor died is tried once more, on a new actor
ACTOR_START_SECONDS = 300  # importing torch and timm and loading the models, on a busy node


class ClusterError(Exception):
    """The cluster cannot be used (Ray missing, no actor could start, a node with other weights)."""


def import_ray():
    try:
        import ray
    except ImportError:
        raise ClusterError(
            "--cluster needs Ray: pip install -e '.[cluster]' (or the pinned `ray` of pyproject.toml)"
        ) from None
    return ray


@dataclass(frozen=True)
class ClusterOptions:
    address: str = ""  # "" joins RAY_ADDRESS or starts a local Ray; else ray://HOST:PORT or HOST:PORT
    actors: int = 0  # 0: one per GPU, else the number of CPU actors
    threads: int = 0  # CPU threads per actor (0: the CPUs of the cluster divided among the actors)
    ship_images: bool = False  # send the bytes from the driver (the workers do not see the same storage)
    path_map: tuple[tuple[str, str], ...] = ()  # (driver prefix, worker prefix): where workers see the files


@dataclass
class _Task:
    item: BatchItem
    index: int
    sha256: str
    models: list[str]
    attempts: int = 0


class Worker:
    """A Ray actor (one per GPU or a few on CPUs): builds the models from its own node's files, checked
    against the driver's SHA-256, and returns compressed maps."""

    def __init__(self, files: dict[str, list[tuple[str, str]]], options: AnalysisOptions, threads: int):
        import torch

        from .settings import Settings
        from .workspace import Workspace

        if threads:
            torch.set_num_threads(threads)
        settings = Settings(device=options.device, precision=options.precision)
        self.workspace = Workspace(settings, store=None, options_override=options)
        self.models = {}
        for name, checked in files.items():
            paths = [Path(path) for path, _ in checked]
            self.workspace.set_model_files(name, paths)
            checks = self.workspace.verify(name, paths)  # hashed once: `model` reuses the cached hashes
            for (path, expected), check in zip(checked, checks, strict=True):
                if check.sha256 != expected:
                    raise ClusterError(
                        f"{os.uname().nodename}: {name} weights {path} differ from the driver's "
                        f"(SHA-256 {check.sha256}, expected {expected}): this node is refused"
                    )
            self.models[name] = self.workspace.model(name, paths)
        self.options = options
        self.runtimes_ = self.workspace.runtimes(self.models)

    def runtimes(self) -> dict[str, dict]:
        """Where and in which precision each model computes on this actor."""
        return {
            name: {
                "device": runtime.device.type,
                "dtype": runtime.precision,
                "description": runtime.description,
                "note": runtime.note,
                "precision_reason": runtime.precision_reason,
                "warning": runtime.warning,
            }
            for name, runtime in self.workspace.runtimes(self.models).items()
        }

    def analyze(self, path: str, data: bytes | None, sha256: str, models: list[str], max_pixels) -> dict:
        try:
            return self._analyze(path, data, sha256, models, max_pixels)
        except Exception as exc:  # sent back as plain text: the driver may not unpickle every exception
            reason = getattr(exc, "reason", None) or exc
            raise ClusterError(f"{os.uname().nodename}: {Path(path).name}: {reason}") from None

    def _analyze(self, path: str, data: bytes | None, sha256: str, models: list[str], max_pixels) -> dict:
        from ..io.images import load_image
        from ..progress import run_to_end

        image = load_image(path, max_pixels, data)  # hashes the bytes, shipped (never written here) or read
        if image.sha256 != sha256:
            raise ClusterError(f"{path}: not the driver's image (SHA-256 {image.sha256}, expected {sha256})")
        runs = {}
        for name in models:
            run = run_to_end(self.models[name].analyze(image, self.options, self.runtimes_[name]))
            runs[name] = _packed(run)
        return runs


def _packed(run: ModelRun) -> dict:
    """A run as plain data, its map zlib-compressed (a 12 MP float32 map is 48 MB raw)."""
    packed: dict[str, Any] = {"run": run.record(), "map": None, "shape": None}
    if run.probability is not None:
        pixels = np.ascontiguousarray(run.probability, np.float32)
        packed["map"], packed["shape"] = zlib.compress(pixels.tobytes(), 1), pixels.shape
    return packed


def _unpacked(packed: dict) -> ModelRun:
    probability = None
    if packed["map"] is not None:
        height, width = packed["shape"]
        data = zlib.decompressobj().decompress(packed["map"], height * width * 4)
        probability = np.frombuffer(data, np.float32).reshape(height, width)
    return ModelRun.from_record(packed["run"], probability)


class _Computed:
    """Stands for a model on the driver: its `analyze` hands over the map an actor computed."""

    def __init__(self, model, results: dict):
        self._model, self._results = model, results

    def __getattr__(self, name):
        return getattr(self._model, name)

    def analyze(self, image, options, runtime=None) -> Generator[Progress, None, ModelRun]:
        run = self._results.pop((image.sha256, self._model.name), None)
        if run is None:  # e.g. a stored map found damaged after the image was dispatched
            raise RuntimeError("no actor computed this map; run again to compute it")
        return run
        yield  # a generator, as a model's analyze is

    def release_weight_pages(self) -> int:
        return 0  # the driver holds no weights


@dataclass
class ClusterStats:
    actors: int = 0
    replaced: int = 0
    started_at: float = field(default_factory=time.perf_counter)


class ActorPool:
    """Ray actors holding the loaded models, checked against the driver's weights. Starting them is the
    slow part (each imports torch and timm and loads the models), so one pool can serve several runs."""

    def __init__(self, models, options: AnalysisOptions, cluster: ClusterOptions):
        self.options, self.cluster = options, cluster
        self.ray = import_ray()
        self._connect()
        self._actor_class = self.ray.remote(Worker)
        self.files = weights_of(models)
        self._check_room()
        self.actors: list = []
        for _ in range(self._actor_count()):
            self.actors.append(self._new_actor())
        try:
            self.runtimes = self._actors_runtimes()
        except ClusterError:
            self.close()
            raise

    def _connect(self) -> None:
        if self.ray.is_initialized():
            return
        address = self.cluster.address or os.environ.get("RAY_ADDRESS") or None
        self.ray.init(address=address, log_to_driver=False, include_dashboard=False)

    def _gpus(self) -> int:
        return int(self.ray.cluster_resources().get("GPU", 0))

    def _actor_count(self) -> int:
        if self.cluster.actors:
            return self.cluster.actors
        return self._gpus() or max(1, int(self.ray.cluster_resources().get("CPU", 1)) // 2)

    def _threads(self) -> int:
        cpus = int(self.ray.cluster_resources().get("CPU", 1))
        return self.cluster.threads or max(1, cpus // max(self._actor_count(), 1))

    def _demand(self) -> tuple[int, int]:
        """What one actor asks of Ray: (GPUs, CPUs); a CPU actor reserves a CPU per torch thread."""
        if self.options.device != "cpu" and self._gpus() > 0 and not self.cluster.actors:
            return 1, 0
        return 0, self._threads()

    def _check_room(self) -> None:
        """Ray would wait for ever for actors that the whole cluster cannot hold: say so at once."""
        count, (gpus, cpus) = self._actor_count(), self._demand()
        kind, each = ("GPU", gpus) if gpus else ("CPU", cpus)
        have = self.ray.cluster_resources().get(kind, 0)
        if count * each > have:
            raise ClusterError(
                f"{count} actor(s) of {each} {kind}(s) each need {count * each} {kind}s; the cluster has "
                f"{have:g}: ask for fewer --actors or --actor-threads"
            )

    def _new_actor(self):
        gpus, cpus = self._demand()
        options = self._actor_class.options(num_gpus=gpus, num_cpus=cpus)
        return options.remote(self.files, self.options, self._threads())

    def _actors_runtimes(self):
        """Each model's runtime as the actors report it (they must all compute alike)."""
        from ..engine.device import Runtime
        from ..models.registry import REGISTRY

        try:
            reports = self.ray.get([a.runtimes.remote() for a in self.actors], timeout=ACTOR_START_SECONDS)
        except self.ray.exceptions.RayActorError as exc:
            raise ClusterError(
                f"the cluster's actors could not start: {user_message(getattr(exc, 'cause', None) or exc)}"
            ) from None
        except self.ray.exceptions.GetTimeoutError:
            raise ClusterError(
                f"the cluster's actors did not start within {ACTOR_START_SECONDS} s: its CPUs or GPUs are "
                "held by other work (`ray status` tells)"
            ) from None
        kinds = {
            tuple((name, r["device"], r["dtype"]) for name, r in sorted(report.items())) for report in reports
        }
        if len(kinds) != 1:
            raise ClusterError(
                f"the actors compute differently ({sorted(kinds)}): their maps would not agree"
            )
        import torch

        return {
            name: Runtime(
                torch.device(first["device"]),
                getattr(torch, first["dtype"]),
                f"{first['description']} on {len(reports)} Ray actor(s)",
                first["note"],
                first["precision_reason"],
                first["warning"],
                fidelity=REGISTRY[name].fidelity,
            )
            for name, first in reports[0].items()
        }

    def replace(self, actor) -> None:
        position = self.actors.index(actor)
        self.ray.kill(actor, no_restart=True)
        self.actors[position] = self._new_actor()

    def close(self) -> None:
        for actor in self.actors:
            self.ray.kill(actor, no_restart=True)
        self.actors = []


def weights_of(models) -> dict[str, list[tuple[str, str]]]:
    """Each model's checkpoint files with their SHA-256, as the actors must find them on their nodes."""
    return {m.name: [(str(c["path"]), c["sha256"]) for c in m.checkpoints] for m in models}


class ClusterRunner(BatchRunner):
    """A BatchRunner whose maps are computed by Ray actors; results are handled as they come, in any order.

    It starts its own ActorPool unless given one (whose actors must hold these models' weights); `close`
    stops the actors it started."""

    def __init__(
        self,
        models,
        options: AnalysisOptions,
        store: ResultStore | None,
        thresholds,
        max_pixels,
        cluster: ClusterOptions,
        pool: ActorPool | None = None,
    ):
        self.computed: dict[tuple[str, str], ModelRun] = {}
        super().__init__(
            [_Computed(m, self.computed) for m in models], options, store, thresholds, max_pixels
        )
        self.models, self.cluster = models, cluster
        self._owns_pool = pool is None
        self.pool = pool or ActorPool(models, options, cluster)
        if self.pool.files != weights_of(models) or self.pool.options != options:
            raise ClusterError("the actors hold other weights or settings than this run's: start a new pool")
        self.ray, self.runtimes = self.pool.ray, self.pool.runtimes
        self.stats = ClusterStats(actors=len(self.pool.actors))

    def _replace(self, actor) -> None:
        self.pool.replace(actor)
        self.stats.replaced += 1

    # --- the batch -------------------------------------------------------------------------------
    def run(
        self, items: list[BatchItem], on_image: ImageDone | None = None, on_model: ModelDone | None = None
    ) -> Generator[BatchProgress, None, None]:
        finished = sum(1 for item in items if item.status.finished)
        first_by_hash = {i.sha256: i for i in items if i.sha256 and i.status == ItemStatus.DONE}
        waiting = deque(i for i, item in enumerate(items) if item.status == ItemStatus.QUEUED)
        in_flight: dict = {}  # object ref -> (task, actor)
        load: dict = {}  # actor -> tasks in flight
        twins: dict[str, list[int]] = {}  # SHA-256 in flight -> its duplicates, which wait for it
        try:
            while waiting or in_flight:
                while waiting and len(in_flight) < IN_FLIGHT_PER_ACTOR * len(self.pool.actors):
                    index = waiting.popleft()
                    task = self._task(index, items[index])
                    if task is None or not task.models or task.sha256 in first_by_hash:
                        yield from self._finish(index, items, finished, first_by_hash, on_image, on_model)
                        finished += 1
                    elif task.sha256 in twins:
                        twins[task.sha256].append(index)
                    else:
                        twins[task.sha256] = []
                        self._submit(task, in_flight, load)
                if not in_flight:
                    continue
                ready, _ = self.ray.wait(list(in_flight), num_returns=1)
                task, actor = in_flight.pop(ready[0])
                load[actor] = load.get(actor, 1) - 1
                if self._collect(ready[0], task, actor, in_flight, load):
                    yield from self._finish(task.index, items, finished, first_by_hash, on_image, on_model)
                    finished += 1
                    # done: its duplicates are skipped as in a local run; failed: they are analysed anew
                    waiting.extendleft(reversed(twins.pop(task.sha256)))
        finally:
            for ref in in_flight:
                self.ray.cancel(ref)  # an actor's running task stops with the actor (close)
            for task, _ in in_flight.values():
                task.item.status = ItemStatus.QUEUED  # cancelled: the next run does it

    def _task(self, index: int, item: BatchItem) -> _Task | None:
        """What the actors must compute for the item: the models whose maps are not stored (None: the file
        cannot be read here; the local path reports why)."""
        try:
            sha256 = sha256_of_file(item.path)
        except OSError:
            return None
        store, options = self.store, self.options
        needed = [
            m.name
            for m in self.models
            if store is None
            or not store.holds(result_key(sha256, m.name, m.checkpoints, options, self.runtimes[m.name]))
        ]
        return _Task(item, index, sha256, needed)

    def _submit(self, task: _Task, in_flight: dict, load: dict) -> None:
        actor = min(self.pool.actors, key=lambda a: load.get(a, 0))
        path = self._worker_path(task.item.path)
        data = Path(task.item.path).read_bytes() if self.cluster.ship_images else None
        ref = actor.analyze.remote(path, data, task.sha256, task.models, self.max_pixels)
        task.attempts += 1
        in_flight[ref] = (task, actor)
        load[actor] = load.get(actor, 0) + 1
        task.item.status = ItemStatus.RUNNING

    def _worker_path(self, path: str) -> str:
        for driver, worker in self.cluster.path_map:
            if path.startswith(driver):
                return worker + path[len(driver) :]
        return path

    def _collect(self, ref, task: _Task, actor, in_flight: dict, load: dict) -> bool:
        """Keep an actor's maps for the driver; True when the image can be finished (with or without)."""
        try:
            runs = self.ray.get(ref)
        except self.ray.exceptions.RayActorError as exc:
            if actor in self.pool.actors:
                self._replace(actor)
            if task.attempts <= RETRIES:
                self._submit(task, in_flight, load)
                return False
            task.item.status, task.item.reason = (
                ItemStatus.ERROR,
                f"its actor died twice: {user_message(getattr(exc, 'cause', None) or exc)}",
            )
            return True
        except self.ray.exceptions.RayError as exc:  # the image failed on the worker
            task.item.status, task.item.reason = (
                ItemStatus.ERROR,
                _cause(exc),
            )
            return True
        for name, packed in runs.items():
            self.computed[(task.sha256, name)] = _unpacked(packed)
        return True

    def _finish(self, index, items, finished, first_by_hash, on_image, on_model):
        """The driver's part, exactly as a local run: read the image, stored or computed maps, summaries,
        the store, the files."""
        item = items[index]
        if item.status == ItemStatus.ERROR:
            outcome = ImageOutcome(item.path, error=item.reason)
        else:
            item.status = ItemStatus.RUNNING
            outcome = yield from self._analyse(index, item, finished, len(items), first_by_hash, on_model)
        if on_image:
            on_image(item, outcome)
        yield BatchProgress(index, finished + 1, len(items), "finished")

    def close(self) -> None:
        if self._owns_pool:
            self.pool.close()


def _cause(exc: BaseException) -> str:
    """What a Ray error says of its cause (the worker's own exception, relayed as text)."""
    return user_message(getattr(exc, "cause", None) or exc)
