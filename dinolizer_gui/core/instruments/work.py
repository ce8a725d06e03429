"""Full-resolution work in bands of rows, run on a few threads, in order, and stopped when its consumer stops.

OpenCV's codecs and filters release the GIL, so two threads use both cores of
a small machine; at most a few bands are in flight, so memory stays bounded
whatever the image's size.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

BAND_PIXELS = 1 << 22  # about 4 MP per band: a few tens of MB of temporaries each
WORKERS = max(1, min(4, os.cpu_count() or 1))


def band_starts(height: int, width: int, multiple: int) -> list[tuple[int, int]]:
    """(top, bottom) of bands of whole rows, about BAND_PIXELS each, every top a multiple of `multiple`."""
    rows = max(multiple, (BAND_PIXELS // max(width, 1)) // multiple * multiple)
    return [(top, min(height, top + rows)) for top in range(0, height, rows)]


def in_order(work: Callable[[T], R], items: Iterable[T], workers: int = WORKERS) -> Iterator[R]:
    """`work(item)` for each item, computed on `workers` threads with at most 2 x workers in flight, yielded
    in the items' order. Closing the iterator cancels what has not started and waits for what has."""
    pending: deque[Future[R]] = deque()
    source = iter(items)
    executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="instrument")
    try:
        for item in source:
            pending.append(executor.submit(work, item))
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
