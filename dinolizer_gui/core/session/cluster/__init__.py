"""Analysing a collection on a Ray cluster: actors hold the loaded models and compute maps; the driver is
the only reader of the results store and the only writer of it, of the PNGs and of results.json, so the
outputs are those of a local run.

connection  joining the cluster, the head's reachability, the cluster's errors in words
pool        the actors: how many the resources allow, starting, replacing and stopping them
worker      the actor itself: the models built on its node, checked against the driver's weights
wire        what travels between driver and actors: records and compressed maps
runner      the images scheduled on the actors and finished on the driver by a BatchRunner

Ray is an optional extra (`pip install -e '.[cluster]'`), imported only when a pool starts.
"""

from .connection import ClusterError, ClusterOptions
from .pool import ActorPool
from .runner import ClusterRunner

__all__ = ["ActorPool", "ClusterError", "ClusterOptions", "ClusterRunner"]
