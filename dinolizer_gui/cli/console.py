"""How a headless analysis tells the user its run, on standard error: a line an image (with the pace on a
cluster), the stability variants as they start, and on a terminal a window counter redrawn in place."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING

from .common import eta_text, say

if TYPE_CHECKING:
    from ..core.session.batch import BatchItem, BatchProgress


class Console:
    """The run told on stderr: a line an image (with the pace on a cluster), stability variants as they
    start, and on a terminal a window counter redrawn in place (in a log it would be one endless line)."""

    def __init__(self, quiet: bool, cluster: bool):
        self.quiet, self.cluster, self.windows = quiet, cluster, not quiet and sys.stderr.isatty()
        self.started, self._stages = time.monotonic(), set[tuple[int, str, str]]()

    def begin(self, total: int) -> None:
        self.started = time.monotonic()

    def say(self, text: str) -> None:
        say(text)

    def note(self, text: str) -> None:
        if not self.quiet:
            say(text)

    def error(self, text: str) -> None:
        say(f"dinolizer-gui: error: {text}")

    def progress(self, event: BatchProgress) -> None:
        stage = (event.index, event.model, event.variant)
        if event.stage == "stability" and not self.quiet and event.variant and stage not in self._stages:
            self._stages.add(stage)
            say(f"  {event.model} stability: {event.variant}")
        if self.windows and event.stage in ("model", "stability") and event.windows_total > 1:
            print(
                f"\r  {event.model}: windows {event.windows_done}/{event.windows_total}",
                end="",
                file=sys.stderr,
            )
            if event.windows_done == event.windows_total:
                print(file=sys.stderr)

    def image_done(self, item: BatchItem, position: int, done: int, total: int) -> None:
        if self.quiet:
            return
        if not self.cluster:
            say(f"[{position}/{total}] {item.path}: {_item_line(item)}")
            return
        rate = done / max(time.monotonic() - self.started, 1e-6) * 3600
        pace = f"{rate:.0f} images/h {eta_text(self.started, done, total)}".rstrip()
        say(f"[{done}/{total}] {item.path}: {_item_line(item)} — {pace}")


def _item_line(item: BatchItem) -> str:
    scores = "  ".join(
        f"{name} {m.score:.3f}{' FLAGGED' if m.flagged else ''}{' (stored)' if m.cached else ''}"
        for name, m in item.models.items()
    )
    detail = f"{str(item.status).upper()}: {item.reason}" if item.reason else str(item.status)
    return f"{detail}  {scores}".rstrip()
