"""The examiner's findings at work: editing one image's marks and decisions (each change saved at once and,
in a case, logged with the mark's geometry hash; every change undoable), the state of each model region
against the decisions (confirmed, rejected, unreviewed, changed since decided), the findings mask, and the
interchange of findings between stores and examiners."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from ..io.hashing import sha256_of_file
from ..store.findings import (
    Findings,
    FindingsError,
    Mark,
    Points,
    RegionDecision,
    from_interchange,
    interchange,
    utc_now,
)
from ..store.results import ResultStore
from .case import Case
from .inputs import scan_inputs

UNDO_DEPTH = 200


class FindingsEditor:
    """One image's findings as the examiner edits them: every change is saved to the store at once, logged
    in the open case (mark added, changed or deleted with its geometry's SHA-256; decision recorded), and
    can be undone and redone — an undo is itself a change, saved and logged."""

    def __init__(
        self, store: ResultStore | None, sha256: str, path: str, author: str, case: Case | None = None
    ):
        self.store, self.author, self.case = store, author, case
        self.findings = store.findings(sha256) if store is not None else Findings(sha256)
        self.findings.path = path or self.findings.path
        self._undo: list[Findings] = []
        self._redo: list[Findings] = []

    # --- changes -------------------------------------------------------------------------------
    def add(self, shape: str, points: Points, category: str, label: str = "", note: str = "") -> Mark:
        mark = Mark.new(shape, points, category, self.author, label, note)
        self._change(lambda f: replace(f, marks=[*f.marks, mark]))
        return mark

    def change(self, mark_id: str, **fields: object) -> Mark:
        mark = self._existing(mark_id).changed(**fields)
        self._change(lambda f: replace(f, marks=[mark if m.id == mark_id else m for m in f.marks]))
        return mark

    def move(self, mark_id: str, dx: float, dy: float) -> Mark:
        return self.change(mark_id, points=self._existing(mark_id).moved(dx, dy).points)

    def delete(self, mark_id: str) -> None:
        self._existing(mark_id)
        self._change(lambda f: replace(f, marks=[m for m in f.marks if m.id != mark_id]))

    def decide(self, model: str, region: int, threshold: float, decision: str, note: str = "",
               fingerprint: str = "") -> RegionDecision:  # fmt: skip
        made = RegionDecision(model, region, threshold, decision, note, self.author, utc_now(), fingerprint)
        made.check()

        def apply(findings: Findings) -> Findings:
            kept = [d for d in findings.decisions if not _same_region(d, made)]
            return replace(findings, decisions=[*kept, made])

        self._change(apply)
        return made

    # --- undo ----------------------------------------------------------------------------------
    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    def undo(self) -> None:
        if self._undo:
            self._redo.append(self.findings)
            self._commit(self._undo.pop())

    def redo(self) -> None:
        if self._redo:
            self._undo.append(self.findings)
            self._commit(self._redo.pop())

    # --- the mechanism -------------------------------------------------------------------------
    def _existing(self, mark_id: str) -> Mark:
        mark = self.findings.mark(mark_id)
        if mark is None:
            raise FindingsError(f"no mark {mark_id} on this image")
        return mark

    def _change(self, change: Callable[[Findings], Findings]) -> None:
        self._undo = [*self._undo[-(UNDO_DEPTH - 1) :], self.findings]
        self._redo = []
        self._commit(change(self.findings))

    def _commit(self, new: Findings) -> None:
        old, self.findings = self.findings, new
        if self.store is not None:
            self.store.put_findings(new)
        if self.case is not None and not self.case.read_only:
            for kind, data in changes(old, new):
                self.case.log.append(kind, {"path": new.path, "image_sha256": new.sha256, **data})


def _same_region(first: RegionDecision, second: RegionDecision) -> bool:
    if first.model != second.model:
        return False
    if first.fingerprint and second.fingerprint:
        return first.fingerprint == second.fingerprint
    return first.region == second.region and first.threshold == second.threshold


def changes(old: Findings, new: Findings) -> list[tuple[str, dict]]:
    """What changed between two states of an image's findings, as audit-log entries."""
    before, after = {m.id: m for m in old.marks}, {m.id: m for m in new.marks}
    entries = [("mark-added", _mark_data(after[i])) for i in after if i not in before]
    entries += [
        ("mark-changed", _mark_data(after[i])) for i in after if i in before and after[i] != before[i]
    ]
    entries += [("mark-deleted", _mark_data(before[i])) for i in before if i not in after]
    entries += [("region-decided", d.to_record()) for d in new.decisions if d not in old.decisions]
    entries += [
        ("region-decision-removed", d.to_record())
        for d in old.decisions
        if not any(_same_region(d, kept) for kept in new.decisions)
    ]
    return entries


def _mark_data(mark: Mark) -> dict:
    return {"mark": mark.id, "shape": mark.shape, "category": mark.category, "label": mark.label,
            "note": mark.note, "geometry_sha256": mark.geometry_sha256}  # fmt: skip


# --- interchange --------------------------------------------------------------------------------------
def export_findings(store: ResultStore, paths: Sequence[Path | str]) -> tuple[dict, list[tuple[str, str]]]:
    """The interchange document of the findings kept for these images (files, or folders searched), and each
    input that could not be read with why."""
    images, problems = [], []
    for found in scan_inputs(paths):
        if found.problem:
            problems.append((str(found.path), found.problem))
            continue
        try:
            sha256 = sha256_of_file(found.path)
        except OSError as exc:
            problems.append((str(found.path), exc.strerror or type(exc).__name__))
            continue
        findings = store.findings(sha256)
        if not findings.empty:
            images.append(replace(findings, path=str(found.path)))
    return interchange(images), problems


def import_findings(store: ResultStore, document: object, case: Case | None = None) -> list[Findings]:
    """Take an interchange document into the store: every image checked first (marks inside the image when
    its size is known to the store), then all kept in one transaction — or none (FindingsError). Marks merge
    with those kept by their id; decisions replace those on the same region. An image the store has never
    seen is kept for when it is opened."""
    pairs = []
    for incoming in from_interchange(document):
        size = store.size_of(incoming.sha256)
        for mark in incoming.marks:
            mark.check(size)
        existing = store.findings(incoming.sha256)
        pairs.append((existing, _merged(existing, incoming)))
    store.put_all_findings([after for _, after in pairs])
    if case is not None and not case.read_only:
        for before, after in pairs:
            for kind, data in changes(before, after):
                case.log.append(
                    kind, {"path": after.path, "image_sha256": after.sha256, "imported": True, **data}
                )
    return [after for _, after in pairs]


def _merged(existing: Findings, incoming: Findings) -> Findings:
    marks = {mark.id: mark for mark in existing.marks}
    marks.update({mark.id: mark for mark in incoming.marks})
    decisions = [d for d in existing.decisions if not any(_same_region(d, n) for n in incoming.decisions)]
    return Findings(
        incoming.sha256, incoming.path or existing.path, list(marks.values()), decisions + incoming.decisions
    )
