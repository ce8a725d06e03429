"""Scheduling a collection on the actors: images sent while the actors have room (two each), results taken as
they come, in any order, and each image finished on the driver by a BatchRunner whose maps are the actors'.
Every wait is bounded: an actor whose node is lost has its images sent to another (once), and a head that no
longer answers ends the run with the images not finished recorded as errors; what finished is kept."""

from __future__ import annotations

import contextlib
import os
import time
from collections import deque
from collections.abc import Generator, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ...engine.analysis import AnalysisOptions, ModelRun, RunRecordError
from ...io.regular import NotRegular, sha256_regular
from ...store.results import ResultStore, result_key
from ..batch import BatchItem, BatchPass, BatchProgress, BatchRunner, ImageDone, ItemStatus, ModelDone
from ..thresholds import Thresholds
from .connection import ClusterError, ClusterOptions, cause
from .pool import Actor, ActorPool, weights_of
from .wire import unpacked_run

if TYPE_CHECKING:
    from ...engine.device import Runtime
    from ...io.images import LoadedImage
    from ...models.model_like import ModelLike
    from ...progress import Progress

IN_FLIGHT_PER_ACTOR = 2  # one image computing and one waiting: a slow actor holds at most two
RETRIES = 1  # an image whose actor died is tried once more, on a new actor
WAIT_SECONDS = 5.0  # the longest the driver waits for a result before it looks at the cluster's nodes
HEAD_CHECKS = 3  # the head unreachable at this many looks in a row: the connection is lost


class RemoteMaps:
    """The maps the actors computed, handed over as the driver's BatchRunner finishes each image."""

    def __init__(self, runtimes: dict[str, Runtime]):
        self._runtimes = runtimes
        self.computed: dict[tuple[str, str], ModelRun] = {}  # (SHA-256, model) -> its run

    def runtimes(self, names: Iterable[str], options: AnalysisOptions) -> dict[str, Runtime]:
        return {name: self._runtimes[name] for name in names}

    def compute(
        self, model: ModelLike, image: LoadedImage, options: AnalysisOptions, runtime: Runtime
    ) -> Generator[Progress, None, ModelRun]:
        yield from ()
        run = self.computed.pop((image.sha256, model.name), None)
        if run is None:  # e.g. a stored map found damaged after the image was dispatched
            raise RuntimeError("no actor computed this map; run again to compute it")
        return run


@dataclass
class ClusterStats:
    actors: int = 0
    replaced: int = 0
    lost: list[str] = field(default_factory=list)  # why each lost actor was lost, and its node
    started_at: float = field(default_factory=time.perf_counter)


@dataclass
class _Task:
    item: BatchItem
    index: int
    sha256: str
    models: list[str]
    attempts: int = 0


class ClusterRunner:
    """Runs a collection as a BatchRunner does, its maps computed by Ray actors. It starts its own ActorPool
    unless given one (whose actors must hold these models' weights); `close` stops the actors it started."""

    def __init__(
        self,
        models: Sequence[ModelLike],
        options: AnalysisOptions,
        store: ResultStore | None,
        thresholds: Thresholds,
        max_pixels: int | None,
        cluster: ClusterOptions,
        pool: ActorPool | None = None,
    ):
        self._owns_pool = pool is None
        self.pool = pool or ActorPool(models, options, cluster)
        if self.pool.files != weights_of(models) or self.pool.options != options:
            raise ClusterError("the actors hold other weights or settings than this run's: start a new pool")
        self.models, self.cluster, self.ray, self.runtimes = (
            models,
            cluster,
            self.pool.ray,
            self.pool.runtimes,
        )
        self.maps = RemoteMaps(self.runtimes)
        self.batch = BatchRunner(models, options, store, thresholds, max_pixels, maps=self.maps)
        self.head_lost = False
        self.stats = ClusterStats(actors=len(self.pool.actors))

    def run(
        self, items: list[BatchItem], on_image: ImageDone | None = None, on_model: ModelDone | None = None
    ) -> Generator[BatchProgress, None, None]:
        """Send the images to the actors and finish them as their maps come back; closed, the images in
        flight go back to the queue (the next run does them)."""
        self._pass = BatchPass.over(items)
        self._waiting = deque(i for i, item in enumerate(items) if item.status == ItemStatus.QUEUED)
        self._in_flight: dict[object, tuple[_Task, Actor]] = {}  # object ref -> (task, actor)
        self._ended: deque[_Task] = deque()  # tasks that failed for good, to finish as errors
        self._twins: dict[str, list[int]] = {}  # SHA-256 in flight -> its duplicates, which wait for it
        self._head_misses = 0
        self._no_actor_left = "not analysed: no Ray actor is left"
        try:
            while self._waiting or self._in_flight or self._ended:
                yield from self._dispatch(on_image, on_model)
                while self._ended:
                    yield from self._end(self._ended.popleft(), on_image, on_model)
                if self._in_flight:
                    yield from self._collect_one(on_image, on_model)
        finally:
            for ref in self._in_flight:
                with contextlib.suppress(Exception):  # a lost head cannot be asked
                    self.ray.cancel(ref)  # an actor's running task stops with the actor (close)
            for task, _ in self._in_flight.values():
                task.item.status = ItemStatus.QUEUED

    def _dispatch(
        self, on_image: ImageDone | None, on_model: ModelDone | None
    ) -> Generator[BatchProgress, None, None]:
        """Send waiting images while the actors have room; finish at once those needing no actor."""
        items = self._pass.items
        while self._waiting and len(self._in_flight) < IN_FLIGHT_PER_ACTOR * len(self.pool.actors):
            index = self._waiting.popleft()
            task = self._task(index, items[index])
            if task is None or not task.models or task.sha256 in self._pass.first_by_hash:
                yield from self.batch.finish(self._pass, index, on_image, on_model)
            elif task.sha256 in self._twins:
                self._twins[task.sha256].append(index)
            else:
                self._twins[task.sha256] = []
                self._submit(task)
        if self._waiting and not self.pool.actors:  # every actor lost: nothing left to run them on
            for index in self._waiting:
                items[index].status, items[index].reason = ItemStatus.ERROR, self._no_actor_left
            while self._waiting:
                yield from self.batch.finish(self._pass, self._waiting.popleft(), on_image, on_model)

    def _collect_one(
        self, on_image: ImageDone | None, on_model: ModelDone | None
    ) -> Generator[BatchProgress, None, None]:
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
            yield from self._end(task, on_image, on_model)

    def _end(
        self, task: _Task, on_image: ImageDone | None, on_model: ModelDone | None
    ) -> Generator[BatchProgress, None, None]:
        yield from self.batch.finish(self._pass, task.index, on_image, on_model)
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

    def _lose(self, actor: Actor, why: str) -> None:
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
            sha256 = sha256_regular(item.path)  # a pipe named like an image: never waited on
        except (OSError, NotRegular):
            return None
        store, options = self.batch.store, self.batch.options
        needed = [
            m.name
            for m in self.models
            if store is None
            or not store.holds(result_key(sha256, m.name, m.checkpoints, options, self.runtimes[m.name]))
        ]
        return _Task(item, index, sha256, needed)

    def _submit(self, task: _Task) -> None:
        load: dict[Actor, int] = {actor: 0 for actor in self.pool.actors}
        for _, owner in self._in_flight.values():
            load[owner] = load.get(owner, 0) + 1
        actor = min(self.pool.actors, key=load.__getitem__)
        path = self._worker_path(task.item.path)
        data = Path(task.item.path).read_bytes() if self.cluster.ship_images else None
        ref = actor.analyze.remote(path, data, task.sha256, task.models, self.batch.max_pixels)
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

    def _collect(self, ref: object, task: _Task, actor: Actor) -> bool:
        """Keep an actor's maps for the driver; True when the image can be finished (with or without)."""
        try:
            runs = self.ray.get(ref, timeout=WAIT_SECONDS)  # ready: it returns at once
        except self.ray.exceptions.RayActorError as exc:
            self._in_flight[ref] = (task, actor)  # handed over with the actor's other images
            self._lose(actor, f"it died ({cause(exc)})")
            return False
        except self.ray.exceptions.RayError as exc:  # the image failed on the worker
            task.item.status, task.item.reason = ItemStatus.ERROR, cause(exc)
            return True
        try:
            for name, packed in runs.items():
                self.maps.computed[(task.sha256, name)] = unpacked_run(packed)
        except RunRecordError as exc:
            task.item.status, task.item.reason = ItemStatus.ERROR, str(exc)
        return True

    def close(self) -> None:
        if self._owns_pool:
            self.pool.close()
