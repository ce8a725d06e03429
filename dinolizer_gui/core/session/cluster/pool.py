"""The Ray actors holding the loaded models: how many the cluster's resources allow, starting them (the slow
part: each imports torch and timm and loads the models, so one pool can serve several runs), replacing a lost
one where there is room, and stopping them. A head that no longer answers is never asked anything: Ray ends a
driver that waits on a missing head."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ...engine.analysis import AnalysisOptions
from .connection import ClusterError, ClusterOptions, cause, connect, import_ray, reachable
from .wire import runtimes_from
from .worker import WeightFiles, Worker

if TYPE_CHECKING:
    from ...engine.device import Runtime
    from ...models.model_like import ModelLike

ACTOR_START_SECONDS = 300  # importing torch and timm and loading the models, on a busy node
ROOM_WAIT_SECONDS = 15.0  # how long a lost actor's resources may take to be free for its replacement

Actor = Any  # a Ray actor handle


def weights_of(models: Sequence[ModelLike]) -> WeightFiles:
    """Each model's checkpoint files with their SHA-256, as the actors must find them on their nodes."""
    return {m.name: [(os.path.abspath(c["path"]), c["sha256"]) for c in m.checkpoints] for m in models}


class ActorPool:
    """Ray actors holding the loaded models, checked against the driver's weights."""

    def __init__(self, models: Sequence[ModelLike], options: AnalysisOptions, cluster: ClusterOptions):
        self.options, self.cluster = options, cluster
        self.ray = import_ray()
        connect(self.ray, cluster.address)
        self.head: str = self.ray.get_runtime_context().gcs_address  # asked now: later, the head may be gone
        self._actor_class = self.ray.remote(Worker)
        self.files = weights_of(models)
        self._check_room()
        self.actors: list[Actor] = [self._new_actor() for _ in range(self._actor_count())]
        try:
            self.runtimes = self._actors_runtimes()
            where = self.ray.get([a.where.remote() for a in self.actors], timeout=ACTOR_START_SECONDS)
        except ClusterError:
            self.close()
            raise
        self.nodes: dict[Actor, tuple[str, str]] = dict(zip(self.actors, where, strict=True))

    def _resources(self, kind: str) -> int:
        return int(self.ray.cluster_resources().get(kind, 0))

    def _actor_count(self) -> int:
        if self.cluster.actors:
            return self.cluster.actors
        return self._resources("GPU") or max(1, max(self._resources("CPU"), 1) // 2)

    def _threads(self) -> int:
        cpus = max(self._resources("CPU"), 1)
        return self.cluster.threads or max(1, cpus // max(self._actor_count(), 1))

    def _demand(self) -> tuple[int, int]:
        """What one actor asks of Ray: (GPUs, CPUs); a CPU actor reserves a CPU per torch thread."""
        if self.options.device != "cpu" and self._resources("GPU") > 0 and not self.cluster.actors:
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

    def _new_actor(self) -> Actor:
        gpus, cpus = self._demand()
        options = self._actor_class.options(num_gpus=gpus, num_cpus=cpus)
        return options.remote(self.files, self.options.to_record(), self._threads())

    def _actors_runtimes(self) -> dict[str, Runtime]:
        """Each model's runtime as the actors report it (they must all compute alike)."""
        try:
            reports = self.ray.get([a.runtimes.remote() for a in self.actors], timeout=ACTOR_START_SECONDS)
        except self.ray.exceptions.RayActorError as exc:
            raise ClusterError(f"the cluster's actors could not start: {cause(exc)}") from None
        except self.ray.exceptions.GetTimeoutError:
            raise ClusterError(
                f"the cluster's actors did not start within {ACTOR_START_SECONDS} s: its CPUs or GPUs are "
                "held by other work (`ray status` tells)"
            ) from None
        kinds = {
            tuple((name, r["device"], r["precision"]) for name, r in sorted(report.items()))
            for report in reports
        }
        if len(kinds) != 1:
            raise ClusterError(
                f"the actors compute differently ({sorted(kinds)}): their maps would not agree"
            )
        return {
            name: replace(runtime, description=f"{runtime.description} on {len(reports)} Ray actor(s)")
            for name, runtime in runtimes_from(reports[0]).items()
        }

    def lose(self, actor: Actor) -> tuple[str, bool]:
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

    def lost_actors(self) -> list[Actor]:
        """The actors whose node is no longer alive."""
        alive = {node["NodeID"] for node in self.ray.nodes() if node.get("Alive")}
        return [actor for actor in self.actors if self.nodes.get(actor, ("",))[0] not in alive]

    def head_reachable(self) -> bool:
        return reachable(self.head)

    def close(self) -> None:
        if self.actors and self.head_reachable():  # a lost head takes its actors with it
            for actor in self.actors:
                with contextlib.suppress(Exception):  # a node may be gone
                    self.ray.kill(actor, no_restart=True)
        self.actors = []
