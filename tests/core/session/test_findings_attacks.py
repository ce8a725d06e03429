"""The examiner's findings attacked: interchange files built to hang, crash or mislead (coordinates far past
any image, lone surrogates, duplicated keys, decisions bound to no pixels), outputs aimed at evidence or
through links, a case that must not be written, a log failing mid-change — and the pixels a mark holds
counted the same in the table, the report, the figure and the mask."""

from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from dinolizer_gui.cli.common import EXIT_SOME_FAILED
from dinolizer_gui.core.errors import OutputError
from dinolizer_gui.core.io.hashing import sha256_of_file
from dinolizer_gui.core.report.findings import findings_record
from dinolizer_gui.core.report.sections import mark_rows
from dinolizer_gui.core.session.case import Case
from dinolizer_gui.core.session.findings import FindingsEditor
from dinolizer_gui.core.store.audit import AuditLog
from dinolizer_gui.core.store.decisions import findings_mask, mark_from_mask, region_states
from dinolizer_gui.core.store.findings import Findings, Mark, RegionDecision, pixel_area, rasterise
from dinolizer_gui.core.store.results import ResultStore
from tests import factories
from tests.cli_run import analyze_args, run_cli, run_process

FINGERPRINT = "c" * 64


def _photo(path: Path, seed: int = 3) -> tuple[Path, str]:
    photo = factories.blocky_photo(path, 96, 64, seed=seed)
    return Path(photo), sha256_of_file(photo)


def _mark(**fields) -> dict:
    return {
        "id": "m1",
        "shape": "rectangle",
        "points": [[1, 1], [20, 20]],
        "category": "manipulated",
        **fields,
    }


def _decision(**fields) -> dict:
    fields = {"model": "dinolizer", "region": 1, "threshold": 0.5, "decision": "confirmed", **fields}
    return {"fingerprint": FINGERPRINT, **fields} if "fingerprint" not in fields else fields


def _file(path: Path, sha: str, marks=(), decisions=(), version: object = 1) -> Path:
    image = {"sha256": sha, "marks": list(marks), "region_decisions": list(decisions)}
    path.write_text(json.dumps({"version": version, "images": [image]}))
    return path


HOSTILE = {
    "a point far past any image": ({"marks": [_mark(points=[[0, 0], [1e12, 1e12]])]}, "0 to 1,000,000"),
    "a negative point": ({"marks": [_mark(points=[[-5, 0], [10, 10]])]}, "0 to 1,000,000"),
    "a lone surrogate in a label": ({"marks": [_mark(label="lone \ud800")]}, "lone surrogate"),
    "a version that is true": ({"version": True}, "version 1"),
    "a version that is 1.0": ({"version": 1.0}, "version 1"),
    "a decision without fingerprint": ({"decisions": [_decision(fingerprint="")]}, "no fingerprint"),
    "a decision on a detector": ({"decisions": [_decision(model="bfree")]}, "not a model with regions"),
    "a decision on no model": ({"decisions": [_decision(model="no-such-model")]}, "not a model with regions"),
    "a region number past any map": ({"decisions": [_decision(region=10**21)]}, "region number"),
    "two decisions on one region": (
        {"decisions": [_decision(decision="rejected"), _decision()]},
        "two decisions on the same region",
    ),
}  # fmt: skip


@pytest.mark.parametrize("hostile", HOSTILE, ids=list(HOSTILE))
def test_hostile_interchange_files_are_refused_whole_with_the_reason(tmp_path, hostile):
    change, reason = HOSTILE[hostile]
    surrogate = "label" in hostile
    path = tmp_path / "in.json"
    version = change.get("version", 1)
    _file(path, "ab" * 32, change.get("marks", [_mark()]), change.get("decisions", []), version)
    if surrogate:  # json.dumps escapes the surrogate as \ud800: the file holds what an attacker writes
        assert "\\ud800" in path.read_text()
    run = run_cli("annotations", "import", path, "--store", tmp_path / "store")
    assert run.code == 2 and reason in run.shown and "nothing was imported" in run.shown
    assert ResultStore(tmp_path / "store").findings("ab" * 32).empty


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"version": 1, "version": 1, "images": []}', "appears twice"),
        ('{"version": 1, "images": [' + "[" * 100_000 + "]" * 100_000 + "]}", "nested too deeply"),
        ('{"version": 1, "images": [{"sha256": "' + "ab" * 32 + '", "marks": [{"points": [[1e400, 1]]}]}]}',
         "too large"),
        ('{"version": 1, "images": [], "x": NaN}', "not a JSON number"),
    ],
)  # fmt: skip
def test_files_that_are_not_strict_json_are_refused_not_a_traceback(tmp_path, text, reason):
    path = tmp_path / "in.json"
    path.write_text(text)
    run = run_cli("annotations", "import", path, "--store", tmp_path / "store")
    assert run.code == 2 and reason in run.shown and "nothing was imported" in run.shown


def test_a_mark_reaching_past_an_unseen_image_is_drawn_and_counted_on_it_alone(weights, tmp_path):
    photo, sha = _photo(tmp_path / "later.png")
    huge = _mark(points=[[48, 32], [1_000_000, 1_000_000]], label="far")
    assert run_cli("annotations", "import", _file(tmp_path / "in.json", sha, [huge]), "--store",
                   tmp_path / "store").code == 0  # fmt: skip
    out = tmp_path / "out"
    given = ("--store", tmp_path / "store", "--report", "json", "--report", "html")
    assert run_cli(*analyze_args(weights, photo, out, *given, models=("dinolizer",))).code == 0
    (mark,) = json.loads((out / "report.json").read_text())["images"][0]["annotations"]
    assert mark["outside_image"] is True and mark["area_pixels"] == 48 * 32
    assert "part beyond the image" in (out / "report.html").read_text()
    assert (
        run_cli("annotations", "mask", photo, "--out", tmp_path / "m.png", "--store", tmp_path / "store").code
        == 0
    )
    mask = np.array(Image.open(tmp_path / "m.png")) > 0
    assert mask.sum() == 48 * 32 and mask[32:, 48:].all()


def test_a_decision_must_be_the_pixels_of_its_region_on_a_stored_map(weights, tmp_path):
    photo, sha = _photo(tmp_path / "seen.png")
    store = tmp_path / "store"
    given = ("--store", store, "--threshold", "0.3")
    assert run_cli(*analyze_args(weights, photo, tmp_path / "run", *given, models=("dinolizer",))).code == 0
    (probability,) = ResultStore(store).maps_of(sha, "dinolizer")
    regions = region_states(Findings(sha), "dinolizer", probability, 0.3)
    assert len(regions) >= 2  # the refusals below need a second region
    first, second = regions[0], regions[1]
    wrong = {
        "another region's pixels": (
            _decision(region=1, threshold=0.3, fingerprint=second.fingerprint),
            "region 2",
        ),
        "a region the map has not": (
            _decision(region=99, threshold=0.3, fingerprint=first.fingerprint),
            "region 1",
        ),
        "another threshold": (_decision(region=1, threshold=0.9, fingerprint=first.fingerprint), "at 0.9"),
    }
    for decision, said in wrong.values():
        run = run_cli(
            "annotations", "import", _file(tmp_path / "d.json", sha, [], [decision]), "--store", store
        )
        assert run.code == 2 and said in run.shown and "nothing was imported" in run.shown
        assert ResultStore(store).findings(sha).empty
    right = _decision(region=1, threshold=0.3, fingerprint=first.fingerprint)
    assert (
        run_cli("annotations", "import", _file(tmp_path / "d.json", sha, [], [right]), "--store", store).code
        == 0
    )
    (state, *_) = region_states(ResultStore(store).findings(sha), "dinolizer", probability, 0.3)
    assert state.decision == "confirmed" and state.region.index == 1


def test_a_decision_carried_by_its_pixels_on_another_number_is_said_there_alone():
    probability = np.zeros((40, 60), np.float32)
    probability[5:20, 5:30], probability[25:35, 30:55] = 0.9, 0.8  # two regions: 1 (larger), then 2
    states = region_states(Findings("a" * 64), "dinolizer", probability, 0.5)
    _, small = states
    moved = RegionDecision("dinolizer", 1, 0.5, "confirmed", "", "Ana", "t", small.fingerprint)
    findings = Findings("a" * 64, decisions=[moved])  # e.g. taken in before the image was analysed here
    first, second = region_states(findings, "dinolizer", probability, 0.5)
    assert (first.decision, second.decision) == ("unreviewed", "confirmed")
    record = findings_record(findings, {"dinolizer": [first, second]}, (60, 40))
    assert record["region_decisions"][0]["state_now"] == "confirmed"
    assert record["region_decisions"][0]["region_now"] == 2


shapes = st.sampled_from(["rectangle", "ellipse", "polygon", "freehand", "arrow"])
coordinates = st.floats(0, 80, allow_nan=False)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(shape=shapes, points=st.lists(st.tuples(coordinates, coordinates), min_size=3, max_size=12))
def test_the_area_in_the_tables_is_the_pixels_of_the_mask(shape, points):
    points = points[:2] if shape in ("rectangle", "ellipse", "arrow") else points
    mark = Mark.new(shape, points, "manipulated", "Ana")
    size = (64, 48)  # smaller than the coordinates reach: marks cut by the edges too
    mask, _ = findings_mask(Findings("ab" * 32, marks=[mark]), size, {})
    assert pixel_area(mark, size) == int(rasterise(mark, size).sum()) == int(mask.sum())
    assert mark.shape != "arrow" or pixel_area(mark, size) == 0


def test_area_pixels_of_simple_shapes_count_pixel_centres():
    size = (256, 256)
    area = {
        "rectangle": pixel_area(Mark.new("rectangle", [[10, 10], [20, 20]], "comment", "Ana"), size),
        "point": pixel_area(Mark.new("rectangle", [[5, 5], [5, 5]], "comment", "Ana"), size),
        "ellipse": pixel_area(Mark.new("ellipse", [[150, 100], [200, 150]], "comment", "Ana"), size),
    }
    assert area["rectangle"] == 100 and area["point"] == 0
    assert abs(area["ellipse"] - np.pi * 25 * 25) < 2 * np.pi * 25  # within a ring of the outline


def _holds(polygon: list[tuple[float, float]], x: float, y: float) -> bool:
    """A point in a closed polygon (on an edge counts), by the even-odd rule: a re-statement for the test."""
    crossings = 0
    for (x0, y0), (x1, y1) in zip(polygon, polygon[1:] + polygon[:1], strict=True):
        cross = (x1 - x0) * (y - y0) - (y1 - y0) * (x - x0)
        if cross == 0 and min(x0, x1) <= x <= max(x0, x1) and min(y0, y1) <= y <= max(y0, y1):
            return True
        if (y0 > y) != (y1 > y) and x < x0 + (y - y0) * (x1 - x0) / (y1 - y0):
            crossings += 1
    return crossings % 2 == 1


halves = st.integers(0, 40).map(lambda n: n / 2)  # on pixel edges and centres: the boundary cases


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(halves, halves), min_size=3, max_size=7), st.sampled_from(["polygon", "freehand"]))
def test_a_polygon_holds_exactly_the_pixels_whose_centres_it_holds(points, shape):
    mark = Mark.new(shape, [list(p) for p in points], "manipulated", "Ana")
    mask = rasterise(mark, (24, 24))
    expected = np.array([[_holds(points, x + 0.5, y + 0.5) for x in range(24)] for y in range(24)])
    assert np.array_equal(mask, expected)
    assert pixel_area(mark, (24, 24)) == int(expected.sum())


def test_a_polygon_with_a_rectangles_corners_holds_the_rectangles_pixels():
    size = (400, 300)
    corners = [[0, 0], [150, 0], [150, 150], [0, 150]]
    assert pixel_area(Mark.new("polygon", corners, "comment", "Ana"), size) == 150 * 150
    assert pixel_area(Mark.new("polygon", [[0, 0], [1, 0], [0, 1]], "comment", "Ana"), size) == 1


def _case_with_evidence(tmp_path: Path) -> tuple[Case, Path, str]:
    photo, sha = _photo(tmp_path / "evidence" / "harbour.png")
    case = Case.create(tmp_path / "case", "Harbour", "1", "Ana")
    case.add_evidence([photo])
    return case, photo, sha


def test_outputs_never_replace_evidence_never_follow_links_and_ask_for_replace(tmp_path):
    case, photo, _ = _case_with_evidence(tmp_path)
    before = photo.read_bytes()
    for action in (("mask", photo), ("export", photo)):
        for extra in ((), ("--replace",)):
            run = run_cli("annotations", *action, "--out", photo, "--case", case.folder, *extra)
            assert run.code == 2 and photo.read_bytes() == before
            assert ("exists" if not extra else "is an evidence file") in run.shown
    elsewhere = tmp_path / "copy.png"  # the same bytes elsewhere: evidence by content
    elsewhere.write_bytes(before)
    run = run_cli("annotations", "mask", photo, "--out", elsewhere, "--case", case.folder, "--replace")
    assert run.code == 2 and "is an evidence file" in run.shown
    precious = tmp_path / "precious.txt"
    precious.write_text("keep")
    (tmp_path / "link.png").symlink_to(precious)
    run = run_cli("annotations", "mask", photo, "--out", tmp_path / "link.png", "--case", case.folder)
    assert run.code == 2 and "not a regular file" in run.shown and precious.read_text() == "keep"
    (tmp_path / "old.png").write_bytes(b"an earlier mask")
    assert (
        run_cli("annotations", "mask", photo, "--out", tmp_path / "old.png", "--case", case.folder).code == 2
    )
    run = run_cli(
        "annotations", "mask", photo, "--out", tmp_path / "old.png", "--case", case.folder, "--replace"
    )
    assert run.code == 0 and Image.open(tmp_path / "old.png").size == (96, 64)


def test_outputs_are_never_written_inside_the_case_its_log_and_files_are_its_own(tmp_path):
    case, photo, _ = _case_with_evidence(tmp_path)
    kept = {name: (case.folder / name).read_bytes() for name in ("audit.jsonl", "case.json")}
    for name in (*kept, "store/new.png", "new.json"):
        for action in (("export", photo), ("mask", photo)):
            run = run_cli(
                "annotations", *action, "--out", case.folder / name, "--case", case.folder, "--replace"
            )
            assert run.code == 2 and "is inside the case" in run.shown
    assert (case.folder / "case.json").read_bytes() == kept["case.json"]
    assert (case.folder / "audit.jsonl").read_bytes().startswith(kept["audit.jsonl"])  # only "case-opened"s
    assert not (case.folder / "new.json").exists() and not (case.folder / "store" / "new.png").exists()
    assert run_cli("case", "verify", case.folder).code == 0


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are a POSIX thing")
def test_a_pipe_named_like_an_image_or_an_annotations_file_is_refused_never_waited_on(tmp_path):
    photo, _ = _photo(tmp_path / "images" / "harbour.png")
    os.mkfifo(tmp_path / "images" / "pipe.png")
    os.mkfifo(tmp_path / "in.json")
    run = run_process("annotations", "export", photo.parent, "--out", tmp_path / "out.json", timeout=60)
    assert run.returncode == EXIT_SOME_FAILED and "pipe.png: is a named pipe" in run.stderr
    assert json.loads((tmp_path / "out.json").read_text())["images"] == []
    run = run_process("annotations", "import", tmp_path / "in.json", timeout=60)
    assert run.returncode == 2 and "in.json: is a named pipe" in run.stderr and "nothing" in run.stderr


def test_an_annotations_file_too_large_to_be_one_is_refused_unread(tmp_path, monkeypatch):
    from dinolizer_gui.core.session import findings

    monkeypatch.setattr(findings, "MAX_INTERCHANGE_BYTES", 1000)
    big = tmp_path / "big.json"
    big.write_text(json.dumps({"version": 1, "images": [], "padding": "x" * 2000}))
    run = run_cli("annotations", "import", big)
    assert run.code == 2 and "larger than" in run.shown and "nothing was imported" in run.shown


def test_a_case_that_cannot_be_written_takes_no_findings(tmp_path):
    case, photo, sha = _case_with_evidence(tmp_path)
    with open(case.folder / "audit.jsonl", "ab") as log:
        log.write(b"garbage\n")
    run = run_cli("annotations", "import", _file(tmp_path / "in.json", sha, [_mark()]), "--case", case.folder)
    assert run.code == 2 and "cannot be written" in run.shown
    reopened = Case.open(case.folder, "Ana")
    assert reopened.read_only and reopened.store.findings(sha).empty
    editor = FindingsEditor(reopened.store, sha, str(photo), "Ana", reopened)
    with pytest.raises(OutputError, match="read-only"):
        editor.add("rectangle", [[1, 1], [9, 9]], "manipulated")
    assert reopened.store.findings(sha).empty and editor.findings.empty and not editor.can_undo


def test_a_log_failing_mid_change_puts_the_store_back(tmp_path, monkeypatch):
    case, photo, sha = _case_with_evidence(tmp_path)
    editor = FindingsEditor(case.store, sha, str(photo), "Ana", case, size=(96, 64))
    kept = editor.add("rectangle", [[1, 1], [9, 9]], "manipulated")

    def full_disk(self, kind, data):
        raise OutputError(self.path, "cannot be written: No space left on device")

    monkeypatch.setattr(AuditLog, "_write", full_disk)
    with pytest.raises(OutputError, match="No space"):
        editor.add("ellipse", [[10, 10], [30, 30]], "suspicious")
    with pytest.raises(OutputError):
        editor.undo()
    assert (
        [m.id for m in case.store.findings(sha).marks] == [kept.id] == [m.id for m in editor.findings.marks]
    )
    monkeypatch.undo()
    editor.undo()
    assert case.store.findings(sha).empty and editor.can_redo


def test_a_moved_mark_stops_at_the_image_edges(tmp_path):
    editor = FindingsEditor(ResultStore(tmp_path / "s"), "ab" * 32, "x.png", "Ana", size=(96, 64))
    mark = editor.add("rectangle", [[10, 10], [30, 20]], "comment")
    assert editor.move(mark.id, -50, 500).points == ((0.0, 54.0), (20.0, 64.0))
    assert editor.move(mark.id, 1000, -1000).box == (76.0, 0.0, 20.0, 10.0)


def test_region_decided_entries_hold_the_threshold_as_a_decimal_string(tmp_path):
    case, _, sha = _case_with_evidence(tmp_path)
    document = _file(tmp_path / "in.json", sha, [], [_decision(threshold=1e-7)])
    assert run_cli("annotations", "import", document, "--case", case.folder, "--examiner", "Ana").code == 0
    (entry,) = [e for e in Case.open(case.folder).chain().entries if e["kind"] == "region-decided"]
    assert entry["data"]["threshold"] == "0.0000001"
    with pytest.raises(ValueError, match="decimal string"):
        case.log.append("note", {"nested": [{"value": 0.5}]})


def test_an_export_holds_each_content_once_and_imports_again(tmp_path):
    (tmp_path / "imgs").mkdir()
    first, sha = _photo(tmp_path / "imgs" / "a.png")
    (tmp_path / "imgs" / "b.png").write_bytes(first.read_bytes())
    store = ("--store", tmp_path / "store")
    assert run_cli("annotations", "import", _file(tmp_path / "in.json", sha, [_mark()]), *store).code == 0
    assert (
        run_cli("annotations", "export", tmp_path / "imgs", "--out", tmp_path / "out.json", *store).code == 0
    )
    document = json.loads((tmp_path / "out.json").read_text())
    assert [image["sha256"] for image in document["images"]] == [sha]
    assert run_cli("annotations", "import", tmp_path / "out.json", "--store", tmp_path / "other").code == 0


def test_the_reports_show_control_and_bidi_characters_escaped():
    mark = {
        "number": 1, "category": "comment", "shape": "arrow", "label": "\x1b[31mred\u202eevil",
        "note": "bell\x07", "area_pixels": 0, "outside_image": False, "author": "Ana", "modified": "now",
    }  # fmt: skip
    (row,) = mark_rows({"annotations": [mark]})[1:]
    assert row[3] == "\\x1b[31mred\\u202eevil" and row[4] == "bell\\x07"


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), density=st.floats(0.05, 0.7))
def test_a_mask_taken_as_marks_gives_its_areas_back_pixel_for_pixel(seed, density):
    mask = np.random.default_rng(seed).random((20, 24)) < density
    marks = mark_from_mask(mask, "manipulated", "Ana")
    again, _ = findings_mask(Findings("ab" * 32, marks=marks), (24, 20), {})
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    filled = cv2.drawContours(np.zeros(mask.shape, np.uint8), contours, -1, 1, -1).astype(bool)
    assert np.array_equal(again, filled) and (again >= mask).all()  # every pixel, holes filled
