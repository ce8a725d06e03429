"""The examiner's findings on the image on screen: its marks (drawn with a tool, selected, moved, reshaped,
re-categorised, deleted, undone) and the decision on each model region — kept by the core's
`FindingsEditor` (saved at once in the results store, logged in an open case), and the regions' states
against the decisions computed off the GUI thread."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from PySide6.QtCore import QObject, Signal
from superqt.utils import WorkerBase, create_worker

from ...core.errors import OutputError
from ...core.session.findings import FindingsEditor
from ...core.session.workspace import Workspace
from ...core.store.audit import os_user
from ...core.store.decisions import RegionState, region_outlines, region_states
from ...core.store.findings import CATEGORIES, Findings, FindingsError, Mark
from ..document import Document
from .thresholds import ThresholdsController
from .view import ViewController

TOOLS = ("rectangle", "ellipse", "polygon", "freehand", "arrow")


class FindingsController(QObject):
    changed = Signal()  # the marks or decisions of the image on screen changed
    selected = Signal(str)  # the mark chosen ("" when none)
    toolChanged = Signal(str)  # the drawing tool ("" when none: marks are selected, moved, reshaped)
    statesReady = Signal(object)  # {model: [RegionState]} for the image on screen at its thresholds
    rejectedReady = Signal(object)  # the rejected regions' outlines, [[(x, y), …], …] in image pixels
    said = Signal(str, int)

    def __init__(
        self,
        workspace: Workspace,
        view: ViewController,
        thresholds: ThresholdsController,
        parent: QObject | None = None,
    ):
        super().__init__(parent)
        self.workspace, self.view = workspace, view
        self.editor: FindingsEditor | None = None
        self.tool, self.category, self.selected_id = "", CATEGORIES[0], ""
        self.states: dict[str, list[RegionState]] = {}
        self._workers: set[WorkerBase] = set()
        self._asked = 0  # the regions asked for last: an older answer (a worker finishing late) is dropped
        view.displayed.connect(self._displayed)
        view.loading.connect(self._loading)
        thresholds.regionsReady.connect(lambda document, _: self.refresh_states(document))

    # --- the image on screen ---------------------------------------------------------------------
    @property
    def findings(self) -> Findings | None:
        return self.editor.findings if self.editor is not None else None

    @property
    def marks(self) -> list[Mark]:
        return list(self.findings.marks) if self.findings is not None else []

    @property
    def size(self) -> tuple[int, int] | None:
        document = self.view.current
        return (document.image.width, document.image.height) if document is not None else None

    def _loading(self, path: str) -> None:
        if self.editor is not None and self.editor.findings.path != path:
            self.editor, self.states, self.selected_id = None, {}, ""
            self.changed.emit()
            self.statesReady.emit({})
            self.rejectedReady.emit([])

    def _displayed(self, document: Document) -> None:
        """Another image (its SHA-256): its findings; a preview or new maps of the same one keep the undo."""
        sha256 = document.image.sha256
        if self.editor is not None and self.editor.findings.sha256 == sha256:
            return
        author = self.workspace.settings.analyst or os_user()
        try:
            size = (document.image.width, document.image.height)
            self.editor = FindingsEditor(
                self.workspace.store, sha256, document.path, author, self.workspace.case, size
            )
        except OutputError as exc:  # a damaged row: said, and the image shown without marks
            self.editor = None
            self.said.emit(f"Marks and decisions cannot be read: {exc}", 10_000)
        self.selected_id = ""
        self.changed.emit()
        self.selected.emit("")

    # --- marks -----------------------------------------------------------------------------------
    def set_tool(self, tool: str) -> None:
        """A drawing tool ("" to leave it)."""
        if tool not in ("", *TOOLS):
            raise ValueError(f"unknown tool {tool!r}")
        if tool != self.tool:
            self.tool = tool
            self.toolChanged.emit(tool)

    def set_category(self, category: str) -> None:
        """The category the next marks take; the selected mark takes it too."""
        self.category = category
        if self.selected_id:
            self.change(self.selected_id, category=category)

    def add(self, shape: str, points: list[tuple[float, float]]) -> None:
        mark = self._edit(lambda editor: editor.add(shape, points, self.category))
        if mark is not None:
            self.select(mark.id)

    def change(self, mark_id: str, **fields: object) -> None:
        self._edit(lambda editor: editor.change(mark_id, **fields))

    def move(self, mark_id: str, dx: float, dy: float) -> None:
        self._edit(lambda editor: editor.move(mark_id, dx, dy))

    def delete(self, mark_id: str = "") -> None:
        """The mark given, or the one selected."""
        mark_id = mark_id or self.selected_id
        if mark_id:
            self._edit(lambda editor: editor.delete(mark_id))
            self.select("")

    def select(self, mark_id: str) -> None:
        if self.findings is not None and mark_id and self.findings.mark(mark_id) is None:
            mark_id = ""
        self.selected_id = mark_id
        self.selected.emit(mark_id)

    def undo(self) -> None:
        self._edit(lambda editor: editor.undo())

    def redo(self) -> None:
        self._edit(lambda editor: editor.redo())

    # --- decisions -------------------------------------------------------------------------------
    def decide(self, model: str, state: RegionState, decision: str, note: str | None = None) -> None:
        """The examiner's decision on a region's very pixels, at the model's threshold now."""
        threshold = self.workspace.thresholds.of(model)
        note = note if note is not None else (state.decided.note if state.decided is not None else "")
        self._edit(
            lambda editor: editor.decide(
                model, state.region.index, threshold, decision, note, fingerprint=state.fingerprint
            )
        )
        self.refresh_states(self.view.current)

    def refresh_states(self, document: Document | None) -> None:
        """Each region of each map at its threshold against the decisions (off the GUI thread)."""
        findings = self.findings
        if document is None or findings is None:
            self.statesReady.emit({})
            self.rejectedReady.emit([])
            return
        maps = {
            name: (result.probability, result.threshold)
            for name, result in document.models.items()
            if result.has_map and result.threshold is not None and result.preview is None
        }
        self._asked += 1
        worker = create_worker(_states, findings, maps, _start_thread=False, _ignore_errors=True)
        worker.returned.connect(partial(self._deliver, document, self._asked))
        worker.errored.connect(lambda exc: self.said.emit(f"region decisions: {exc}", 5000))
        self._workers.add(worker)
        worker.finished.connect(partial(self._workers.discard, worker))
        worker.start()

    def _deliver(
        self, document: Document, asked: int, reviewed: tuple[dict[str, list[RegionState]], list]
    ) -> None:
        if document is self.view.current and asked == self._asked:
            self.states, outlines = reviewed
            self.statesReady.emit(self.states)
            self.rejectedReady.emit(outlines)

    def state_of(self, model: str, region: int) -> RegionState | None:
        return next((s for s in self.states.get(model, []) if s.region.index == region), None)

    # --- the mechanism ---------------------------------------------------------------------------
    def _edit(self, change: Callable[[FindingsEditor], Mark | object]) -> Mark | None:
        """One change through the editor (saved, logged, undoable); a refusal is said, never lost silently."""
        if self.editor is None:
            self.said.emit("Open an analysed image first: marks belong to an image.", 5000)
            return None
        try:
            done = change(self.editor)
        except (FindingsError, OutputError) as exc:
            self.said.emit(f"Not recorded: {exc}", 8000)
            return None
        if self.workspace.store is None:
            self.said.emit("No results store: this mark lasts only while the viewer is open.", 8000)
        self.changed.emit()
        return done if isinstance(done, Mark) else None


def _states(findings: Findings, maps: dict) -> tuple[dict[str, list[RegionState]], list]:
    """Each map's regions against the decisions, and the outlines of those rejected (to hatch)."""
    states, outlines = {}, []
    for name, (probability, threshold) in maps.items():
        states[name] = region_states(findings, name, probability, threshold)
        rejected = [state.region for state in states[name] if state.decision == "rejected"]
        outlines += region_outlines(probability, threshold, rejected) if rejected else []
    return states, outlines
