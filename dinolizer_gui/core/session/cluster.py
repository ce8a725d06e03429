"""Analysing a collection on a Ray cluster: actors hold the loaded models and compute maps; the driver is
the only reader of the results store and the only writer of it, of the PNGs and of results.json, so the
outputs are those of a local run.

Ray is an optional extra (`pip install -e '.[cluster]'`), imported only here and only when asked for.
"""

from __future__ import annotations

import contextlib
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
WAIT_SECONDS = 5.0  # the longest the driver waits for a result before it looks at the cluster's nodes
ROOM_WAIT_SECONDS = 15.0  # how long a lost actor's resources may take to be free for its replacement
HEAD_CHECKS = 3  # the head unreachable at this many looks in a row: the connection is lost


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
            raise ClusterError(f"node {os.uname().nodename}: {path}: {reason}") from None

    def where(self) -> tuple[str, str]:
        """(Ray node id, host name) of this actor."""
        import ray

        return ray.get_runtime_context().get_node_id(), os.uname().nodename

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
    lost: list[str] = field(default_factory=list)  # why each lost actor was lost, and its node
    started_at: float = field(default_factory=time.perf_counter)


class ActorPool:
    """Ray actors holding the loaded models, checked against the driver's weights. Starting them is the
    slow part (each imports torch and timm and loads the models), so one pool can serve several runs."""

    def __init__(self, models, options: AnalysisOptions, cluster: ClusterOptions):
        self.options, self.cluster = options, cluster
        self.ray = import_ray()
        self._connect()
        self.head = self.ray.get_runtime_context().gcs_address  # asked now: later, the head may be gone
        self._actor_class = self.ray.remote(Worker)
        self.files = weights_of(models)
        self._check_room()
        self.actors: list = []
        for _ in range(self._actor_count()):
            self.actors.append(self._new_actor())
        try:
            self.runtimes = self._actors_runtimes()
            where = self.ray.get([a.where.remote() for a in self.actors], timeout=ACTOR_START_SECONDS)
        except ClusterError:
            self.close()
            raise
        self.nodes = dict(zip(self.actors, where, strict=True))  # actor -> (node id, host name)

    def _connect(self) -> None:
        if self.ray.is_initialized():
            return
        address = self.cluster.address or os.environ.get("RAY_ADDRESS") or None
        if address and address != "auto":
            _check_reachable(address)  # Ray itself retries an absent head for many minutes
        try:
            self.ray.init(address=address, log_to_driver=False, include_dashboard=False)
        # Ray raises ConnectionError, ValueError, RuntimeError… for one cause: no cluster to join
        except Exception as exc:
            raise ClusterError(_unreachable(address, exc)) from None

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
            raise ClusterError(f"the cluster's actors could not start: {_cause(exc)}") from None
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

    def lose(self, actor) -> tuple[str, bool]:
        """Take a dead actor (or one on a lost node) out of the pool, and put a new one in its place if the
        cluster has room for it now (a node lost leaves none); returns the host the lost one ran on and
        whether it was replaced."""
        _, host = self.nodes.pop(actor, ("", "an unknown node"))
        self.actors.remove(actor)
        if not self.head_reachable():  # every call below would wait on the head (and Ray ends the process)
            return host, False
        with contextlib.suppress(Exception):  # its node may be gone with it
            self.ray.kill(actor, no_restart=True)
        return host, self._room_for_one() and self._start_replacement()

    def _room_for_one(self) -> bool:
        """Whether the cluster can hold one more actor: a dead actor's resources come back within seconds;
        a lost node's never do, and the pool then goes on smaller. Never asked of a head that is gone."""
        gpus, cpus = self._demand()
        deadline = time.monotonic() + ROOM_WAIT_SECONDS
        while True:
            if not self.head_reachable():
                return False
            room = self.ray.available_resources()
            if room.get("GPU", 0) >= gpus and room.get("CPU", 0) >= cpus:
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.25)

    def _start_replacement(self) -> bool:
        actor = self._new_actor()
        try:
            node = self.ray.get(actor.where.remote(), timeout=ACTOR_START_SECONDS)
        except self.ray.exceptions.RayError:  # could not start (or not in time): the pool shrinks
            with contextlib.suppress(Exception):
                self.ray.kill(actor, no_restart=True)
            return False
        self.actors.append(actor)
        self.nodes[actor] = node
        return True

    def lost_actors(self) -> list:
        """The actors whose node is no longer alive."""
        alive = {node["NodeID"] for node in self.ray.nodes() if node.get("Alive")}
        return [actor for actor in self.actors if self.nodes.get(actor, ("",))[0] not in alive]

    def head_reachable(self) -> bool:
        """Whether the cluster's head still answers."""
        try:
            _check_reachable(self.head)
        except ClusterError:
            return False
        return True

    def close(self) -> None:
        if self.actors and self.head_reachable():  # a lost head takes its actors with it
            for actor in self.actors:
                with contextlib.suppress(Exception):  # a node may be gone
                    self.ray.kill(actor, no_restart=True)
        self.actors = []


def weights_of(models) -> dict[str, list[tuple[str, str]]]:
    """Each model's checkpoint files with their SHA-256, as the actors must find them on their nodes."""
    return {m.name: [(os.path.abspath(c["path"]), c["sha256"]) for c in m.checkpoints] for m in models}


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
        self.head_lost = False
        self.stats = ClusterStats(actors=len(self.pool.actors))

    # --- the batch -------------------------------------------------------------------------------
    def run(
        self, items: list[BatchItem], on_image: ImageDone | None = None, on_model: ModelDone | None = None
    ) -> Generator[BatchProgress, None, None]:
        """Send the images to the actors and finish them as their maps come back. Every wait is bounded:
        an actor whose node is lost has its images sent to another (or recorded as errors when none is
        left), and a head that no longer answers ends the run with the images not finished recorded as
        errors; what finished is kept."""
        self._finished = sum(1 for item in items if item.status.finished)
        self._first_by_hash = {i.sha256: i for i in items if i.sha256 and i.status == ItemStatus.DONE}
        self._waiting = deque(i for i, item in enumerate(items) if item.status == ItemStatus.QUEUED)
        self._in_flight: dict = {}  # object ref -> (task, actor)
        self._ended: deque[_Task] = deque()  # tasks that failed for good, to finish as errors
        self._twins: dict[str, list[int]] = {}  # SHA-256 in flight -> its duplicates, which wait for it
        self._head_misses = 0
        self._no_actor_left = "not analysed: no Ray actor is left"
        try:
            while self._waiting or self._in_flight or self._ended:
                yield from self._dispatch(items, on_image, on_model)
                while self._ended:
                    yield from self._end(self._ended.popleft(), items, on_image, on_model)
                if self._in_flight:
                    yield from self._collect_one(items, on_image, on_model)
        finally:
            for ref in self._in_flight:
                with contextlib.suppress(Exception):  # a lost head cannot be asked
                    self.ray.cancel(ref)  # an actor's running task stops with the actor (close)
            for task, _ in self._in_flight.values():
                task.item.status = ItemStatus.QUEUED  # cancelled: the next run does it

    def _dispatch(self, items, on_image, on_model):
        """Send waiting images while the actors have room; finish at once those needing no actor."""
        while self._waiting and len(self._in_flight) < IN_FLIGHT_PER_ACTOR * len(self.pool.actors):
            index = self._waiting.popleft()
            task = self._task(index, items[index])
            if task is None or not task.models or task.sha256 in self._first_by_hash:
                yield from self._finish(index, items, on_image, on_model)
            elif task.sha256 in self._twins:
                self._twins[task.sha256].append(index)
            else:
                self._twins[task.sha256] = []
                self._submit(task)
        if self._waiting and not self.pool.actors:  # every actor lost: nothing left to run them on
            for index in self._waiting:
                items[index].status, items[index].reason = ItemStatus.ERROR, self._no_actor_left
            while self._waiting:
                yield from self._finish(self._waiting.popleft(), items, on_image, on_model)

    def _collect_one(self, items, on_image, on_model):
        """Wait (at most WAIT_SECONDS) for one result; meanwhile, look at the cluster."""
        try:
            ready, _ = self.ray.wait(list(self._in_flight), num_returns=1, timeout=WAIT_SECONDS)
        except Exception:  # Ray's errors when its head is gone (RpcError, RaySystemError, …)
            ready = []
        if not ready:
            self._look_at_cluster()
            return
        task, actor = self._in_flight.pop(ready[0])
        if self._collect(ready[0], task, actor):
            yield from self._end(task, items, on_image, on_model)

    def _end(self, task: _Task, items, on_image, on_model):
        yield from self._finish(task.index, items, on_image, on_model)
        # done: its duplicates are skipped as in a local run; failed: they are analysed anew
        self._waiting.extendleft(reversed(self._twins.pop(task.sha256, [])))

    def _look_at_cluster(self) -> None:
        """The head must answer, and every actor's node be alive; an actor on a lost node is lost."""
        try:
            lost = self.pool.lost_actors() if self.pool.head_reachable() else None
        except Exception:  # any call to a head that is gone
            lost = None
        if lost is None:
            self._head_misses += 1
            if self._head_misses >= HEAD_CHECKS:
                self._lose_head()
            return
        self._head_misses = 0
        for actor in lost:
            self._lose(actor, "its node was lost")

    def _lose(self, actor, why: str) -> None:
        """An actor died or its node was lost: its images go to another actor, once."""
        host, replaced = self.pool.lose(actor)
        self.stats.replaced += replaced
        self.stats.lost.append(f"{why} ({host}, {time.strftime('%H:%M:%S')})")
        self.stats.actors = len(self.pool.actors)
        self._no_actor_left = f"not analysed: no Ray actor is left ({why}: {host})"
        for ref, (task, owner) in list(self._in_flight.items()):
            if owner is not actor:
                continue
            del self._in_flight[ref]
            if task.attempts <= RETRIES and self.pool.actors:
                self._submit(task)
            else:
                reason = f"its Ray actor was lost ({why}: {host})"
                task.item.status, task.item.reason = ItemStatus.ERROR, reason
                self._ended.append(task)

    def _lose_head(self) -> None:
        """The head no longer answers: every image not finished is an error; what finished is kept."""
        reason = f"not analysed: the connection to the cluster head at {self.pool.head} was lost"
        self.head_lost = True
        for task, _ in self._in_flight.values():
            task.item.status, task.item.reason = ItemStatus.ERROR, reason
            self._ended.append(task)
        self._in_flight.clear()
        self.pool.actors.clear()  # nothing more is sent
        self._no_actor_left = reason

    def _task(self, index: int, item: BatchItem) -> _Task | None:
        """What the actors must compute for the item: the models whose maps are not stored (None: the file
        cannot be read here; the local path reports why)."""
        if item.problem:
            return None  # never read (a folder that could not be, a link out of the folder dropped)
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

    def _submit(self, task: _Task) -> None:
        load: dict = {actor: 0 for actor in self.pool.actors}
        for _, owner in self._in_flight.values():
            load[owner] = load.get(owner, 0) + 1
        actor = min(self.pool.actors, key=load.__getitem__)
        path = self._worker_path(task.item.path)
        data = Path(task.item.path).read_bytes() if self.cluster.ship_images else None
        ref = actor.analyze.remote(path, data, task.sha256, task.models, self.max_pixels)
        task.attempts += 1
        self._in_flight[ref] = (task, actor)
        task.item.status = ItemStatus.RUNNING

    def _worker_path(self, path: str) -> str:
        """Where the workers find the image: its absolute path (a relative one means nothing on another
        node), mapped by --path-map."""
        path = os.path.abspath(path)
        for driver, worker in self.cluster.path_map:
            if path.startswith(driver):
                return worker + path[len(driver) :]
        return path

    def _collect(self, ref, task: _Task, actor) -> bool:
        """Keep an actor's maps for the driver; True when the image can be finished (with or without)."""
        try:
            runs = self.ray.get(ref, timeout=WAIT_SECONDS)  # ready: it returns at once
        except self.ray.exceptions.RayActorError as exc:
            self._in_flight[ref] = (task, actor)  # handed over with the actor's other images
            self._lose(actor, f"it died ({_cause(exc)})")
            return False
        except self.ray.exceptions.RayError as exc:  # the image failed on the worker
            task.item.status, task.item.reason = ItemStatus.ERROR, _cause(exc)
            return True
        for name, packed in runs.items():
            self.computed[(task.sha256, name)] = _unpacked(packed)
        return True

    def _finish(self, index, items, on_image, on_model):
        """The driver's part, exactly as a local run: read the image, stored or computed maps, summaries,
        the store, the files."""
        item = items[index]
        if item.status == ItemStatus.ERROR:
            outcome = ImageOutcome(item.path, error=item.reason)
        else:
            item.status = ItemStatus.RUNNING
            outcome = yield from self._analyse(
                index, item, self._finished, len(items), self._first_by_hash, on_model
            )
        self._finished += 1
        if on_image:
            on_image(item, outcome)
        yield BatchProgress(index, self._finished, len(items), "finished")

    def close(self) -> None:
        if self._owns_pool:
            self.pool.close()


def _cause(exc: BaseException) -> str:
    """What a Ray error says of its cause (the worker's own exception, relayed as text)."""
    return user_message(getattr(exc, "cause", None) or exc)


CONNECT_SECONDS = 10.0


def _check_reachable(address: str) -> None:
    """A connection to the head's port within CONNECT_SECONDS, or ClusterError at once."""
    import socket

    host, _, port = address.removeprefix("ray://").rpartition(":")
    host = host.strip("[]")  # an IPv6 address in brackets
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=CONNECT_SECONDS):
            pass
    except (OSError, ValueError) as exc:
        raise ClusterError(_unreachable(address, exc)) from None


def _unreachable(address: str | None, exc: Exception) -> str:
    """Why no cluster could be joined, in words, with what to do."""
    where = f"the Ray cluster at {address}" if address else "a local Ray"
    text = user_message(exc)
    if (
        address
        and address.startswith("ray://")
        and ("client" in text.lower() or isinstance(exc, ImportError))
    ):
        return f"cannot join {where}: ray:// addresses need Ray's client (pip install 'ray[client]') ({text})"
    return f"cannot join {where}: {text} (is the cluster running, and RAY_ADDRESS or --cluster right?)"
