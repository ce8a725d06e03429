"""The analyst's verdict and note per image: kept in the results store by the image's SHA-256."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QObject, Signal

from ...core.report.run_record import now_iso
from ...core.session.workspace import Workspace
from ...core.store.verdicts import Verdict
from .batch import BatchController
from .view import ViewController


class VerdictController(QObject):
    changed = Signal(str)  # the path of the image whose verdict changed
    said = Signal(str, int)  # a passing note for the status bar, and for how many milliseconds

    def __init__(
        self,
        workspace: Workspace,
        batch: BatchController,
        view: ViewController,
        parent: QObject | None = None,
    ):
        super().__init__(parent)
        self.workspace, self.batch, self.view = workspace, batch, view

    def _sha256(self, path: str) -> str | None:
        item = self.batch.item_for(path)
        if item is not None and item.sha256:
            return item.sha256
        current = self.view.current
        return current.image.sha256 if current is not None and current.path == path else None

    def verdict_for(self, path: str | None) -> Verdict | None:
        """The verdict recorded for the image, from its queue row or the results store."""
        item = self.batch.item_for(path)
        if item is not None and item.verdict is not None:
            return item.verdict
        sha256 = self._sha256(path) if path else None
        store = self.workspace.store
        verdict = store.verdict(sha256) if sha256 and store is not None else None
        if item is not None and sha256:
            item.verdict = verdict or Verdict()  # looked up once: a preview's redraw does not ask again
        return verdict

    def record_shown(self, verdict: str | None = None, note: str | None = None) -> None:
        """Record a verdict and/or note for the image on screen."""
        self.record(self.view.wanted_path, verdict, note)

    def record(self, path: str | None, verdict: str | None = None, note: str | None = None) -> None:
        """Record a verdict and/or note for the image, and say so."""
        if said := self._record(path, verdict, note):
            self.said.emit(said, 4000)

    def _record(self, path: str | None, verdict: str | None, note: str | None) -> str:
        sha256 = self._sha256(path) if path else None
        if path is None or sha256 is None:
            return "Open an image (and let it load) before recording a verdict."
        old = self.verdict_for(path) or Verdict()
        new = replace(
            old,
            verdict=old.verdict if verdict is None else verdict,
            note=old.note if note is None else note.strip(),
            recorded_at=now_iso(),
        )
        if new.verdict == old.verdict and new.note == old.note:
            return ""
        if self.workspace.store is not None:
            self.workspace.store.put_verdict(sha256, new)
        if self.workspace.case is not None:
            self.workspace.case.record_verdict(path, sha256, old.verdict, new.verdict, new.note)
        for row, item in enumerate(self.batch.items):
            if item.path == path or (item.sha256 == sha256):
                item.sha256, item.verdict = sha256, new
                self.batch.table_model.refresh_row(row)
        self.changed.emit(path)
        return f"Verdict: {new.verdict}" + (" (with a note)" if new.note else "")
