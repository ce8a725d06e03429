"""Joining a Ray cluster: Ray imported only when asked for, the head's port tried before Ray is (Ray itself
retries an absent head for minutes), and what went wrong said in words with what to do."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from types import ModuleType

from ...errors import user_message

CONNECT_SECONDS = 10.0


class ClusterError(Exception):
    """The cluster cannot be used (Ray missing, no actor could start, a node with other weights)."""


@dataclass(frozen=True)
class ClusterOptions:
    address: str = ""  # "" joins RAY_ADDRESS or starts a local Ray; else ray://HOST:PORT or HOST:PORT
    actors: int = 0  # 0: one per GPU, else the number of CPU actors
    threads: int = 0  # CPU threads per actor (0: the CPUs of the cluster divided among the actors)
    ship_images: bool = False  # send the bytes from the driver (the workers do not see the same storage)
    path_map: tuple[tuple[str, str], ...] = ()  # (driver prefix, worker prefix): where workers see the files


def import_ray() -> ModuleType:
    try:
        import ray
    except ImportError:
        raise ClusterError(
            "--cluster needs Ray: pip install -e '.[cluster]' (or the pinned `ray` of pyproject.toml)"
        ) from None
    return ray


def connect(ray: ModuleType, address: str) -> None:
    """Join the cluster at `address` (else RAY_ADDRESS's, else a local Ray), unless this process has."""
    if ray.is_initialized():
        return
    address = address or os.environ.get("RAY_ADDRESS") or ""
    if address and address != "auto":
        check_reachable(address)
    try:
        ray.init(address=address or None, log_to_driver=False, include_dashboard=False)
    # Ray raises ConnectionError, ValueError, RuntimeError… for one cause: no cluster to join
    except Exception as exc:
        raise ClusterError(_unreachable(address, exc)) from None


def check_reachable(address: str) -> None:
    """A connection to the head's port within CONNECT_SECONDS, or ClusterError at once."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    host = host.strip("[]")  # an IPv6 address in brackets
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=CONNECT_SECONDS):
            pass
    except (OSError, ValueError) as exc:
        raise ClusterError(_unreachable(address, exc)) from None


def reachable(address: str) -> bool:
    """Whether the cluster's head still answers."""
    try:
        check_reachable(address)
    except ClusterError:
        return False
    return True


def cause(exc: BaseException) -> str:
    """What a Ray error says of its cause (the worker's own exception, relayed as text)."""
    return user_message(getattr(exc, "cause", None) or exc)


def _unreachable(address: str, exc: Exception) -> str:
    """Why no cluster could be joined, in words, with what to do."""
    where = f"the Ray cluster at {address}" if address else "a local Ray"
    text = user_message(exc)
    if address.startswith("ray://") and ("client" in text.lower() or isinstance(exc, ImportError)):
        return f"cannot join {where}: ray:// addresses need Ray's client (pip install 'ray[client]') ({text})"
    return f"cannot join {where}: {text} (is the cluster running, and RAY_ADDRESS or --cluster right?)"
