"""The examiner's findings in the core: marks checked, edited, undone and kept across a restart; decisions
that follow a region's very pixels; audit entries in a case; the findings mask; the interchange file, which
is taken whole or not at all."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dinolizer_gui.core.io.hashing import sha256_of_file
from dinolizer_gui.core.session.case import Case
from dinolizer_gui.core.session.case_verify import verify
from dinolizer_gui.core.session.findings import FindingsEditor, import_findings
from dinolizer_gui.core.store.decisions import findings_mask, mark_from_mask, region_states
from dinolizer_gui.core.store.findings import Findings, FindingsError, Mark, from_interchange, pixel_area
from dinolizer_gui.core.store.results import ResultStore
from tests.cli_run import run_cli

SHA = "ab" * 32


def _store(tmp_path: Path) -> ResultStore:
    return ResultStore(tmp_path / "store")


def test_marks_are_checked_and_measured():
    size = (64, 64)
    square = Mark.new("rectangle", [[10, 10], [30, 40]], "manipulated", "Ana")
    assert pixel_area(square, size) == 600 and square.box == (10, 10, 20, 30)
    ellipse = Mark.new("ellipse", [[0, 0], [20, 10]], "suspicious", "Ana")
    assert (
        abs(pixel_area(ellipse, size) - math.pi * 10 * 5) < 2 * math.pi * 10
    )  # within a ring of its outline
    triangle = Mark.new("polygon", [[0, 0], [10, 0], [0, 10]], "reference", "Ana")
    assert 50 <= pixel_area(triangle, size) <= 50 + 20  # its inside and the pixels its outline crosses
    assert pixel_area(Mark.new("arrow", [[0, 0], [5, 5]], "comment", "Ana"), size) == 0
    for shape, points, category, reason in [
        ("circle", [[0, 0], [1, 1]], "manipulated", "unknown shape"),
        ("rectangle", [[0, 0], [1, 1]], "fake", "unknown category"),
        ("polygon", [[0, 0], [1, 1]], "comment", "needs 3 points"),
        ("rectangle", [[0, 0], [1, 1], [2, 2]], "comment", "needs 2 points"),
    ]:
        with pytest.raises(FindingsError, match=reason):
            Mark.new(shape, points, category, "Ana")
    with pytest.raises(FindingsError, match="outside the image"):
        square.check((20, 100))
    moved = square.moved(1, 2)
    assert moved.geometry_sha256 != square.geometry_sha256 and moved.points[0] == (11.0, 12.0)


def test_edits_are_saved_at_once_undoable_and_kept_across_a_restart(tmp_path):
    store = _store(tmp_path)
    editor = FindingsEditor(store, SHA, "photo.jpg", "Ana")
    first = editor.add("rectangle", [[1, 1], [5, 5]], "manipulated", "pasted")
    second = editor.add("arrow", [[0, 0], [9, 9]], "comment")
    editor.change(first.id, category="suspicious", note="check the shadow")
    editor.move(second.id, 2, 0)
    editor.delete(second.id)
    assert [m.id for m in ResultStore(tmp_path / "store").findings(SHA).marks] == [first.id]
    editor.undo()  # the deletion
    editor.undo()  # the move
    restored = ResultStore(tmp_path / "store").findings(SHA)  # a restart
    assert [m.id for m in restored.marks] == [first.id, second.id]
    assert restored.mark(second.id).points == ((0.0, 0.0), (9.0, 9.0))
    assert (
        restored.mark(first.id).category == "suspicious"
        and restored.mark(first.id).note == "check the shadow"
    )
    editor.redo()
    assert ResultStore(tmp_path / "store").findings(SHA).mark(second.id).points[0] == (2.0, 0.0)
    assert editor.can_undo and editor.can_redo


def test_each_change_is_an_audit_entry_in_a_case_with_the_geometry_hash(tmp_path):
    case = Case.create(tmp_path / "case", "Findings", examiner="Ana")
    editor = FindingsEditor(case.store, SHA, "photo.jpg", "Ana", case)
    mark = editor.add("polygon", [[0, 0], [10, 0], [10, 10]], "manipulated")
    editor.move(mark.id, 1, 1)
    editor.decide("dinolizer", 1, 0.5, "rejected", "sky texture", fingerprint="f" * 64)
    editor.undo()  # an undo is a change like any other, and logged
    kinds = ("mark-added", "mark-changed", "region-decided", "region-decision-removed")
    entries = [e for e in case.chain().entries if e["kind"] in kinds]
    assert [e["kind"] for e in entries] == list(kinds)
    assert entries[0]["data"]["geometry_sha256"] == mark.geometry_sha256
    assert entries[1]["data"]["geometry_sha256"] == mark.moved(1, 1).geometry_sha256
    assert entries[2]["data"]["decision"] == "rejected" and entries[2]["data"]["image_sha256"] == SHA
    assert not case.store.findings(SHA).decisions
    assert verify(tmp_path / "case").intact


def _map() -> np.ndarray:
    """A map with one blob whose shape depends on the threshold (a core at 0.9, a halo at 0.5)."""
    probability = np.zeros((64, 64), np.float32)
    probability[20:40, 20:40] = 0.6
    probability[25:35, 25:35] = 0.95
    probability[5:10, 50:60] = 0.7
    return probability


def test_a_decision_follows_the_regions_pixels_across_thresholds(tmp_path):
    store = _store(tmp_path)
    editor = FindingsEditor(store, SHA, "photo.jpg", "Ana")
    states = region_states(editor.findings, "dinolizer", _map(), 0.5)
    assert [s.decision for s in states] == ["unreviewed", "unreviewed"]
    editor.decide("dinolizer", 1, 0.5, "confirmed", fingerprint=states[0].fingerprint)
    editor.decide("dinolizer", 2, 0.5, "rejected", fingerprint=states[1].fingerprint)
    assert [s.decision for s in region_states(editor.findings, "dinolizer", _map(), 0.5)] == [
        "confirmed",
        "rejected",
    ]
    higher = region_states(editor.findings, "dinolizer", _map(), 0.9)  # region 1 shrinks to its core
    assert higher[0].decision == "changed since decided" and "confirmed at 0.5)" in higher[0].text
    assert [s.decision for s in region_states(store.findings(SHA), "dinolizer", _map(), 0.5)] == [
        "confirmed",
        "rejected",
    ]  # back at the threshold it was decided at, after a restart


def test_the_findings_mask_is_manipulated_marks_and_confirmed_regions(tmp_path):
    editor = FindingsEditor(_store(tmp_path), SHA, "photo.jpg", "Ana")
    editor.add("rectangle", [[0, 0], [10, 10]], "manipulated")
    editor.add("rectangle", [[50, 50], [60, 60]], "suspicious")  # not a finding of manipulation
    states = region_states(editor.findings, "dinolizer", _map(), 0.5)
    editor.decide("dinolizer", 1, 0.5, "confirmed", fingerprint=states[0].fingerprint)
    editor.decide("dinolizer", 2, 0.5, "rejected", fingerprint=states[1].fingerprint)
    mask, missing = findings_mask(editor.findings, (64, 64), {"dinolizer": [np.zeros((64, 64)), _map()]})
    assert not missing
    expected = np.zeros((64, 64), bool)
    expected[0:10, 0:10] = True
    expected[20:40, 20:40] = True
    assert np.array_equal(mask, expected)
    marks = mark_from_mask(expected, "manipulated", "Ana")
    assert len(marks) == 2 and sorted(pixel_area(m, (64, 64)) for m in marks) == [100, 400]
    again, _ = findings_mask(Findings(SHA, marks=marks), (64, 64), {})
    assert np.array_equal(again, expected)  # a mask taken as marks gives the same mask back


def _document(**image) -> dict:
    entry = {"sha256": SHA, "path": "photo.jpg", "marks": [], "region_decisions": [], **image}
    return {"version": 1, "images": [entry]}


MARK = {"id": "m1", "shape": "rectangle", "points": [[1, 1], [5, 5]], "category": "manipulated",
        "label": "pasted", "note": "", "author": "Bo", "created": "2026-12-07T10:00:00Z",
        "modified": "2026-12-07T10:00:00Z"}  # fmt: skip


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"marks": [{**MARK, "shape": "star"}]}, "unknown shape"),
        ({"marks": [{**MARK, "category": "maybe"}]}, "unknown category"),
        ({"marks": [{**MARK, "points": [[1, "a"], [2, 2]]}]}, "numbers from 0"),
        ({"marks": [{**MARK, "points": [[1, float("nan")], [2, 2]]}]}, "numbers from 0"),
        ({"marks": [MARK, MARK]}, "appears twice"),
        ({"sha256": "xyz"}, "64 lower-case hex"),
        (
            {
                "region_decisions": [
                    {
                        "model": "dinolizer",
                        "region": 1,
                        "threshold": 2,
                        "decision": "confirmed",
                        "fingerprint": "f" * 64,
                    }
                ]
            },
            "threshold in",
        ),
        (
            {
                "region_decisions": [
                    {
                        "model": "dinolizer",
                        "region": 1,
                        "threshold": 0.5,
                        "decision": "ok",
                        "fingerprint": "f" * 64,
                    }
                ]
            },
            "unknown decision",
        ),
    ],
)
def test_malformed_documents_are_refused_with_the_reason(change, reason):
    with pytest.raises(FindingsError, match=reason):
        from_interchange(_document(**change))


def test_an_import_is_all_or_nothing_and_keeps_findings_for_unseen_images(tmp_path):
    store = _store(tmp_path)
    good = _document(marks=[MARK])["images"][0]
    bad = {**good, "sha256": "cd" * 32, "marks": [{**MARK, "shape": "blob"}]}
    (tmp_path / "both.json").write_text(json.dumps({"version": 1, "images": [good, bad]}))
    code, _, err = run_cli("annotations", "import", tmp_path / "both.json", "--store", store.folder)
    assert code == 2
    assert "unknown shape" in err and store.findings(SHA).empty  # nothing half-imported
    (tmp_path / "good.json").write_text(json.dumps({"version": 1, "images": [good]}))
    assert run_cli("annotations", "import", tmp_path / "good.json", "--store", store.folder).code == 0
    assert store.findings(SHA).mark("m1").label == "pasted"  # kept for an image never seen


def test_an_import_refuses_a_mark_outside_an_image_of_known_size(tmp_path, monkeypatch):
    store = _store(tmp_path)
    monkeypatch.setattr(store, "size_of", lambda sha: (4, 4))
    with pytest.raises(FindingsError, match="outside the image"):
        import_findings(store, _document(marks=[MARK]))
    assert store.findings(SHA).empty


def test_export_and_mask_from_the_command_line(tmp_path):
    photo = tmp_path / "photo.png"
    Image.fromarray(np.zeros((12, 16, 3), np.uint8)).save(photo)
    store = _store(tmp_path)
    sha = sha256_of_file(photo)
    editor = FindingsEditor(store, sha, str(photo), "Ana")
    editor.add("rectangle", [[2, 2], [6, 6]], "manipulated", "pasted")
    out = tmp_path / "findings.json"
    assert run_cli("annotations", "export", tmp_path, "--out", out, "--store", store.folder).code == 0
    document = json.loads(out.read_text())
    assert [image["sha256"] for image in document["images"]] == [sha]
    assert document["images"][0]["marks"][0]["points"] == [[2.0, 2.0], [6.0, 6.0]]
    assert from_interchange(document)[0].marks[0].label == "pasted"
    mask_file = tmp_path / "mask.png"
    code = run_cli("annotations", "mask", photo, "--out", mask_file, "--store", store.folder).code
    assert code == 0
    mask = np.array(Image.open(mask_file))
    assert mask.shape == (12, 16) and mask[2:6, 2:6].all() and mask.sum() == 16 * 255


def test_a_damaged_findings_row_is_said_not_taken_for_none(tmp_path):
    import sqlite3

    store = _store(tmp_path)
    store.put_all_findings([Findings(SHA, "x", [Mark.new("arrow", [[0, 0], [1, 1]], "comment", "Ana")])])
    with sqlite3.connect(store.database) as db:
        db.execute("UPDATE findings SET document = '{broken'")
    with pytest.raises(Exception, match="damaged"):
        store.findings(SHA)


def test_a_threshold_is_shown_as_set_never_rounded_to_another():
    from dinolizer_gui.core.store.findings import threshold_text

    assert [threshold_text(t) for t in (0.505, 0.5, 0.51, 0.999, 1.0)] == [
        "0.505",
        "0.5",
        "0.51",
        "0.999",
        "1",
    ]
