"""The open case: opening, creating, closing and exporting it; the evidence check when it opens.

While a case is open the workspace uses the case's results store, and the core records in its log what is
done (each image analysed joins its evidence, each analysis, verdict and exported report is an entry)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from superqt.utils import WorkerBase, create_worker

from ...core.session.case import Case
from ...core.session.case_package import export_case
from ...core.session.evidence import EvidenceState
from ...core.session.workspace import Workspace
from .batch import BatchController
from .verdicts import VerdictController


class CaseController(QObject):
    changed = Signal()  # a case opened or closed, or its log grew
    problem = Signal(str)  # evidence changed or missing, a case that could not be opened or exported
    exported = Signal(str)  # the package written

    def __init__(
        self,
        workspace: Workspace,
        batch: BatchController,
        verdicts: VerdictController,
        parent: QObject | None = None,
    ):
        super().__init__(parent)
        self.workspace, self.batch = workspace, batch
        self.states: dict[str, EvidenceState] = {}  # by evidence path, as checked when the case opened
        self._user_store = workspace.store
        self._workers: set[WorkerBase] = set()
        batch.itemFinished.connect(lambda _: self.changed.emit())  # the log grew (the core records)
        verdicts.changed.connect(lambda _: self.changed.emit())

    @property
    def case(self) -> Case | None:
        return self.workspace.case

    def open(self, folder: Path) -> str:
        """Work in the case at `folder`: its store, its log; the queue holds its evidence. Returns why not."""
        if self.batch.running:
            return "Wait for the batch to finish (or cancel it, Esc) before opening a case."
        case = Case.open(folder, self.workspace.settings.analyst)
        self._enter(case)
        if case.warnings:
            self.problem.emit(f"Case {case.title}: {'; '.join(case.warnings)}")
        return ""

    def new(self, folder: Path, title: str, number: str) -> str:
        if self.batch.running:
            return "Wait for the batch to finish (or cancel it, Esc) before starting a case."
        self._enter(Case.create(folder, title, number, self.workspace.settings.analyst))
        return ""

    def close(self) -> None:
        if self.case is None or self.batch.running:
            return
        self.workspace.use_case(None, self._user_store)
        self.batch.clear()
        self.states = {}
        self.changed.emit()

    def _enter(self, case: Case) -> None:
        if self.case is None:
            self._user_store = self.workspace.store
        self.workspace.use_case(case)
        self.batch.clear()
        self.states = {}
        self.changed.emit()
        self._run(self._check_evidence, case)

    @staticmethod
    def _check_evidence(case: Case) -> list[EvidenceState]:
        """Every evidence file hashed again (run off the GUI thread)."""
        return case.evidence_states()

    def _checked(self, states: list[EvidenceState]) -> None:
        """The evidence present goes into the queue (its maps come from the case's store); what changed or
        went missing is said."""
        self.states = {state.evidence.path: state for state in states}
        present = [state.found_at for state in states if state.state == "intact" and state.found_at]
        bad = [state.describe() for state in states if state.state != "intact"]
        if present:
            self.batch.add(present)
            self.batch.start()
        if bad:
            self.problem.emit(f"Case evidence not as it was added: {'; '.join(bad)}")
        self.changed.emit()

    def export(self, out: Path) -> None:
        """Write the package (the save dialog has asked before replacing a file; evidence is never)."""
        if self.case is not None:
            self._run(export_case, self.case, out, True, done=lambda done: self.exported.emit(str(done.path)))

    def _run(
        self, function: Callable[..., Any], *args: object, done: Callable[[Any], object] | None = None
    ) -> None:
        worker = create_worker(function, *args, _start_thread=False, _ignore_errors=True)
        worker.returned.connect(done or self._checked)
        worker.returned.connect(lambda *_: self.changed.emit())
        worker.errored.connect(lambda exc: self.problem.emit(str(getattr(exc, "reason", None) or exc)))
        self._workers.add(worker)
        worker.finished.connect(lambda *_: self._workers.discard(worker))
        worker.start()
