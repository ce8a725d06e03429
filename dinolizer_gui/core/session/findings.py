"""The examiner's findings at work: editing one image's marks and decisions (each change saved at once and,
in a case, logged with the mark's geometry hash; every change undoable), the state of each model region
against the decisions (confirmed, rejected, unreviewed, changed since decided), the findings mask, and the
interchange of findings between stores and examiners."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image

from ..io.outputs import write_atomic
from ..io.regular import NotRegular, read_regular, sha256_regular
from ..io.strict_json import loads_strict
from ..models.registry import REGISTRY
from ..store.decisions import decision_mismatch
from ..store.findings import (
    MAX_COORDINATE,
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
from .evidence import Protected, protected
from .inputs import scan_inputs

UNDO_DEPTH = 200


class FindingsEditor:
    """One image's findings as the examiner edits them: every change is saved to the store at once, logged
    in the open case (mark added, changed or deleted with its geometry's SHA-256; decision recorded), and
    can be undone and redone — an undo is itself a change, saved and logged."""

    def __init__(
        self,
        store: ResultStore | None,
        sha256: str,
        path: str,
        author: str,
        case: Case | None = None,
        size: tuple[int, int] | None = None,
    ):
        self.store, self.author, self.case, self.size = store, author, case, size
        self.findings = store.findings(sha256) if store is not None else Findings(sha256)
        self.findings.path = path or self.findings.path
        self._undo: list[Findings] = []
        self._redo: list[Findings] = []

    # --- changes -------------------------------------------------------------------------------
    def add(self, shape: str, points: Points, category: str, label: str = "", note: str = "") -> Mark:
        mark = Mark.new(shape, points, category, self.author, label, note)
        mark.check(self.size)
        self._change(lambda f: replace(f, marks=[*f.marks, mark]))
        return mark

    def change(self, mark_id: str, **fields: object) -> Mark:
        mark = self._existing(mark_id).changed(**fields)
        mark.check(self.size)
        self._change(lambda f: replace(f, marks=[mark if m.id == mark_id else m for m in f.marks]))
        return mark

    def move(self, mark_id: str, dx: float, dy: float) -> Mark:
        """The mark moved by (dx, dy), as far as the image's edges let it go."""
        mark = self._existing(mark_id)
        x, y, width, height = mark.box
        right, bottom = self.size if self.size is not None else (MAX_COORDINATE, MAX_COORDINATE)
        dx, dy = min(max(dx, -x), right - width - x), min(max(dy, -y), bottom - height - y)
        moved = mark.moved(dx, dy).points
        return self.change(
            mark_id, points=[(min(max(px, 0.0), right), min(max(py, 0.0), bottom)) for px, py in moved]
        )

    def delete(self, mark_id: str) -> None:
        self._existing(mark_id)
        self._change(lambda f: replace(f, marks=[m for m in f.marks if m.id != mark_id]))

    def decide(self, model: str, region: int, threshold: float, decision: str, note: str = "", *,
               fingerprint: str) -> RegionDecision:  # fmt: skip
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
            before = self.findings
            self._commit(self._undo[-1])
            self._undo.pop()
            self._redo.append(before)

    def redo(self) -> None:
        if self._redo:
            before = self.findings
            self._commit(self._redo[-1])
            self._redo.pop()
            self._undo.append(before)

    # --- the mechanism -------------------------------------------------------------------------
    def _existing(self, mark_id: str) -> Mark:
        mark = self.findings.mark(mark_id)
        if mark is None:
            raise FindingsError(f"no mark {mark_id} on this image")
        return mark

    def _change(self, change: Callable[[Findings], Findings]) -> None:
        before = self.findings
        self._commit(change(before))
        self._undo = [*self._undo[-(UNDO_DEPTH - 1) :], before]
        self._redo = []

    def _commit(self, new: Findings) -> None:
        keep(self.store, self.case, [(self.findings, new)])
        self.findings = new


def keep(
    store: ResultStore | None, case: Case | None, states: list[tuple[Findings, Findings]], **marked: object
) -> None:
    """Save images' new findings and, in a case, log each change (with `marked` in every entry) — both or
    neither: a case whose log refuses (open read-only, a break) refuses before the store changes, and a log
    that fails midway puts the store back as it was."""
    if case is None:
        if store is not None:
            store.put_all_findings([after for _, after in states])
        return
    with case.log.writing() as record:
        if store is not None:
            store.put_all_findings([after for _, after in states])
        try:
            for before, after in states:
                for kind, data in changes(before, after):
                    record(kind, {"path": after.path, "image_sha256": after.sha256, **marked, **data})
        except BaseException:
            if store is not None:
                store.put_all_findings([before for before, _ in states])
            raise


def _same_region(first: RegionDecision, second: RegionDecision) -> bool:
    return (first.model, first.fingerprint) == (second.model, second.fingerprint)


def changes(old: Findings, new: Findings) -> list[tuple[str, dict]]:
    """What changed between two states of an image's findings, as audit-log entries."""
    before, after = {m.id: m for m in old.marks}, {m.id: m for m in new.marks}
    entries = [("mark-added", _mark_data(after[i])) for i in after if i not in before]
    entries += [
        ("mark-changed", _mark_data(after[i])) for i in after if i in before and after[i] != before[i]
    ]
    entries += [("mark-deleted", _mark_data(before[i])) for i in before if i not in after]
    entries += [("region-decided", _decision_data(d)) for d in new.decisions if d not in old.decisions]
    entries += [
        ("region-decision-removed", _decision_data(d))
        for d in old.decisions
        if not any(_same_region(d, kept) for kept in new.decisions)
    ]
    return entries


def _decision_data(decision: RegionDecision) -> dict:
    """A decision as a log entry holds it: its threshold a decimal string (the log holds no floats)."""
    return {**decision.to_record(), "threshold": np.format_float_positional(decision.threshold, trim="-")}


def _mark_data(mark: Mark) -> dict:
    return {"mark": mark.id, "shape": mark.shape, "category": mark.category, "label": mark.label,
            "note": mark.note, "geometry_sha256": mark.geometry_sha256}  # fmt: skip


# --- interchange --------------------------------------------------------------------------------------
@dataclass
class FindingsExport:
    document: dict  # the interchange document
    problems: list[tuple[str, str]]  # each input that could not be read, with why
    inputs: list[Path]  # every image read (what the document's file must never replace)
    digests: set[str]  # their SHA-256


def export_findings(store: ResultStore, paths: Sequence[Path | str]) -> FindingsExport:
    """The interchange document of the findings kept for these images (files, or folders searched): one
    entry per content (two files with the same bytes are one image to the store)."""
    images: dict[str, Findings] = {}
    done = FindingsExport({}, [], [], set())
    for found in scan_inputs(paths):
        if found.problem:
            done.problems.append((str(found.path), found.problem))
            continue
        try:
            sha256 = sha256_regular(found.path)  # a pipe named like an image is refused, never waited on
        except NotRegular as exc:
            done.problems.append((str(found.path), exc.reason))
            continue
        except OSError as exc:
            done.problems.append((str(found.path), exc.strerror or type(exc).__name__))
            continue
        done.inputs.append(Path(found.path))
        done.digests.add(sha256)
        findings = store.findings(sha256)
        if not findings.empty and sha256 not in images:
            images[sha256] = replace(findings, path=str(found.path))
    done.document = interchange(list(images.values()))
    return done


def protected_for(case: Case | None, inputs: list[Path], digests: set[str]) -> Protected:
    """What an output written from these inputs must never replace, in this case (if any)."""
    if case is None:
        return Protected(None, list(inputs), set(digests))
    return protected(case.evidence(), case.folder, inputs, digests)


def write_mask(out: Path, mask: np.ndarray, replace: bool, protect: Protected) -> None:
    """The findings mask as a PNG at `out` (white = manipulated), written whole: never through a link, never
    over an existing file unless `replace`, never over a protected file (OutputError)."""
    protect.check(Path(out), replace)
    png = io.BytesIO()
    Image.fromarray(mask.astype(np.uint8) * 255).save(png, format="PNG")
    write_atomic(Path(out), png.getvalue())


MAX_INTERCHANGE_BYTES = 64 << 20  # an annotations file this large is not one (200 marks take ~100 KB)


def read_interchange(path: Path) -> object:
    """The JSON document of an annotations file, read strictly (duplicate keys, deep nesting refused) from
    a regular file of at most MAX_INTERCHANGE_BYTES (a pipe or a device is never waited on); FindingsError
    naming the reason."""
    try:
        data = read_regular(path, MAX_INTERCHANGE_BYTES + 1)
    except NotRegular as exc:
        raise FindingsError(exc.reason) from None
    except OSError as exc:
        raise FindingsError(f"not readable ({exc.strerror or type(exc).__name__})") from None
    if len(data) > MAX_INTERCHANGE_BYTES:
        raise FindingsError(f"larger than {MAX_INTERCHANGE_BYTES >> 20} MB: not an annotations file")
    try:
        return loads_strict(data)
    except ValueError as exc:
        raise FindingsError(f"not a readable JSON file ({exc})") from None


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
        for decision in incoming.decisions:
            _check_model(decision)
            if why := decision_mismatch(decision, store.maps_of(incoming.sha256, decision.model)):
                raise FindingsError(
                    f"decision on {decision.model} region {decision.region} at {decision.threshold:g}: {why}"
                )
        existing = store.findings(incoming.sha256)
        pairs.append((existing, _merged(existing, incoming)))
    keep(store, case, pairs, imported=True)
    return [after for _, after in pairs]


def _check_model(decision: RegionDecision) -> None:
    spec = REGISTRY.get(decision.model)
    if spec is None or not spec.produces_map:
        known = ", ".join(name for name, spec in REGISTRY.items() if spec.produces_map)
        raise FindingsError(
            f"decision on {decision.model!r} region {decision.region}: not a model with regions ({known})"
        )


def _merged(existing: Findings, incoming: Findings) -> Findings:
    marks = {mark.id: mark for mark in existing.marks}
    marks.update({mark.id: mark for mark in incoming.marks})
    decisions = [d for d in existing.decisions if not any(_same_region(d, n) for n in incoming.decisions)]
    return Findings(
        incoming.sha256, incoming.path or existing.path, list(marks.values()), decisions + incoming.decisions
    )
