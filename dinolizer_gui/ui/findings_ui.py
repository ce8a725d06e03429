"""The examiner's findings in the window: the marks drawn on every panel by the tool, the Marks dock beside
the regions, the decisions asked from the regions table, and the commands (tools, undo, redo, delete, the
findings mask and a mask taken as marks)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import QObject, QRectF
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMainWindow

from ..core.errors import OutputError
from ..core.session.findings import protected_for, write_mask
from ..core.session.instrument_views import Outline
from ..core.store.decisions import findings_mask, mark_from_mask
from ..core.store.findings import CATEGORIES, CATEGORY_STYLES, rasterise, rgb
from .action_ids import ActionId, MenuId
from .actions import ActionSpec, MenuPlace
from .controllers.batch import BatchController
from .controllers.findings import TOOLS, FindingsController
from .controllers.review import RowReview
from .docks.controls import ControlsDock
from .docks.marks import TOOL_KEYS, MarksDock
from .document import Document
from .instrument_views import InstrumentPanels
from .marks import MarkTool
from .panels import PanelGrid

TOOL_ACTIONS = {
    "rectangle": ActionId.TOOL_RECTANGLE,
    "ellipse": ActionId.TOOL_ELLIPSE,
    "polygon": ActionId.TOOL_POLYGON,
    "freehand": ActionId.TOOL_FREEHAND,
    "arrow": ActionId.TOOL_ARROW,
}


class FindingsUI(QObject):
    """Binds the findings controller to the panels (the tool), the regions table, the Marks dock, the triage
    table's "To review" column and the instruments' region curves."""

    def __init__(
        self,
        window: QMainWindow,
        findings: FindingsController,
        panels: PanelGrid,
        controls: ControlsDock,
        batch: BatchController,
    ):
        super().__init__(window)
        self.window, self.findings, self.panels = window, findings, panels
        self.tool = MarkTool(findings, [panel.view for panel in panels.panels], self)
        self.dock = MarksDock(findings, self.zoom_to, window)
        self.review = RowReview(findings.workspace, batch.table_model, findings, self)
        batch.itemFinished.connect(self.review.follow_item)
        controls.decisionAsked.connect(self._decide)
        controls.noteAsked.connect(self._note)
        findings.statesReady.connect(controls.show_decisions)
        findings.rejectedReady.connect(self.tool.hatch)

    def offer_marks(self, instruments: InstrumentPanels) -> None:
        """The marks' insides offered for the JPEG ghost's curve (they draw themselves on the views)."""
        instruments.add_outline_source(self._mark_outlines)
        self.findings.changed.connect(instruments.outlines_changed)

    def _mark_outlines(self, document: Document) -> list[Outline]:
        size = (document.image.width, document.image.height)
        return [
            Outline(
                f"Mark {number}: {mark.label or mark.category}",
                rasterise(mark, size),
                rgb(CATEGORY_STYLES[mark.category][0]),
                drawn=False,
            )
            for number, mark in enumerate(self.findings.marks, 1)
            if mark.shape != "arrow"
        ]

    def zoom_to(self, rect: QRectF) -> None:
        self.panels.leader.zoom_to(rect)

    def _decide(self, model: str, region: int, decision: str) -> None:
        state = self.findings.state_of(model, region)
        if state is not None:
            self.findings.decide(model, state, decision)

    def _note(self, model: str, region: int) -> None:
        state = self.findings.state_of(model, region)
        if state is None:
            return
        now = state.decided.note if state.decided is not None else ""
        note, ok = QInputDialog.getText(
            self.window, "Note on the decision", f"{model} region {region}:", text=now
        )
        if ok:
            decision = state.decided.decision if state.decided is not None else "unreviewed"
            self.findings.decide(model, state, decision, note)

    # --- the findings as a mask, and a mask as marks -----------------------------------------------
    def export_mask(self) -> None:
        """The union of the manipulated marks and the confirmed regions, as a PNG `evaluate` takes."""
        findings, document = self.findings.findings, self.findings.view.current
        if findings is None or document is None:
            self.findings.said.emit("Open an analysed image first.", 5000)
            return
        out, _ = QFileDialog.getSaveFileName(self.window, "Export the findings mask", "", "PNG (*.png)")
        if not out:
            return
        maps = {name: [result.probability] for name, result in document.models.items() if result.has_map}
        mask, missing = findings_mask(findings, (document.image.width, document.image.height), maps)
        protect = protected_for(self.findings.workspace.case, [Path(document.path)], {document.image.sha256})
        try:  # the dialog asked before replacing a file; evidence is never replaced
            write_mask(Path(out), mask, True, protect)
        except OutputError as exc:
            self.findings.said.emit(f"Not written: {exc}", 10_000)
            return
        left = f"; {len(missing)} confirmed region(s) not on these maps, left out" if missing else ""
        self.findings.said.emit(f"Findings mask written: {out} ({int(mask.sum()):,} pixels){left}", 10_000)

    def import_mask(self) -> None:
        """A mask PNG (white = marked) taken as marks of the category chosen, one polygon per area."""
        size = self.findings.size
        if size is None:
            self.findings.said.emit("Open an image first: marks belong to an image.", 5000)
            return
        path, _ = QFileDialog.getOpenFileName(
            self.window, "A mask to take as marks", "", "Images (*.png *.tif *.bmp)"
        )
        if not path:
            return
        try:
            with Image.open(path) as picture:
                mask = np.array(picture.convert("L")) > 127
        except (OSError, ValueError, Image.DecompressionBombError) as exc:
            self.findings.said.emit(f"{Path(path).name} is not a readable image: {exc}", 8000)
            return
        if mask.shape != (size[1], size[0]):
            self.findings.said.emit(
                f"{Path(path).name} is {mask.shape[1]}x{mask.shape[0]}, not the image's size.", 8000
            )
            return
        marks = mark_from_mask(mask, self.findings.category, "", Path(path).name)
        for mark in marks:
            self.findings.add("polygon", list(mark.points))
        covered = np.logical_or.reduce([rasterise(mark, size) for mark in marks]) if marks else mask
        if filled := int((covered & ~mask).sum()):
            self.findings.said.emit(
                f"{len(marks)} mark(s) from {Path(path).name}; holes inside its areas are marked too "
                f"({filled:,} pixels the mask leaves out): a mark has no holes.",
                10_000,
            )


def findings_actions(ui: FindingsUI) -> list[ActionSpec]:
    findings = ui.findings
    place = MenuPlace(MenuId.MARKS, 0)
    tools = [
        ActionSpec(
            TOOL_ACTIONS[tool],
            f"Draw: {tool}",
            findings.set_tool,
            (TOOL_KEYS[tool],),
            args=(tool,),
            tip=f"Draw a {tool} on any panel (Esc leaves the tool)",
            menu=place,
        )
        for tool in TOOLS
    ]
    edits = MenuPlace(MenuId.MARKS, 1)
    return [
        *tools,
        ActionSpec(ActionId.TOOL_SELECT, "&Select marks", findings.set_tool, args=("",), menu=place),
        ActionSpec(
            ActionId.UNDO,
            "&Undo",
            findings.undo,
            ("Ctrl+Z",),
            "Undo the last change to the marks or decisions",
            menu=edits,
        ),
        ActionSpec(ActionId.REDO, "&Redo", findings.redo, ("Ctrl+Shift+Z",), menu=edits),
        ActionSpec(
            ActionId.DELETE_MARK, "&Delete the selected mark", findings.delete, ("Delete",), menu=edits
        ),
        *(
            ActionSpec(
                ActionId(f"category_{category}"),
                f"Category: {category}",
                findings.set_category,
                args=(category,),
                menu=MenuPlace(MenuId.MARKS, 2),
            )
            for category in CATEGORIES
        ),
        ActionSpec(
            ActionId.EXPORT_FINDINGS_MASK,
            "Export findings &mask…",
            ui.export_mask,
            tip="Manipulated marks and confirmed regions as a PNG mask (ground truth for evaluate)",
            menu=MenuPlace(MenuId.MARKS, 3),
        ),
        ActionSpec(
            ActionId.IMPORT_MASK_AS_MARKS,
            "&Import a mask as marks…",
            ui.import_mask,
            menu=MenuPlace(MenuId.MARKS, 3),
        ),
    ]
