"""Cases attacked as a hostile examiner or a careless one would: altered copies, files pointed at, packages
written over evidence, links planted in the case, logs cut, edited, re-encoded or duplicated, case.json
edited, packages with unsafe members or bombs, unreadable and odd evidence, terminal escapes in names —
each must be said, never verified INTACT (issue 29). The property tests flip, cut, duplicate and reorder
bytes of a real case and a real package."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from dinolizer_gui.core.session import case as case_module
from dinolizer_gui.core.session.case import Case
from dinolizer_gui.core.session.case_entries import CaseError
from dinolizer_gui.core.session.case_package import export_case
from dinolizer_gui.core.session.case_verify import verify
from dinolizer_gui.core.store.audit import AuditLog, LogBroken
from dinolizer_gui.core.store.chain import GENESIS, entry_hash, serialise
from tests.cli_run import run_cli


def _image(path: Path, value: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((8, 8, 3), value, np.uint8)).save(path)
    return path


def _build(root: Path) -> tuple[Path, Path]:
    """A case with two evidence files (one copied in), a run (results and a report) recorded file by file."""
    evidence = root / "evidence"
    first, second = _image(evidence / "harbour.png", 10), _image(evidence / "pier.png", 20)
    case = Case.create(root / "case", "Harbour fire", "2026-114", "Ana Ruiz")
    case.add_evidence([first])
    case.add_evidence([second], copies=True)
    run = root / "case" / "runs" / "r1"
    run.mkdir(parents=True)
    (run / "results.json").write_text('{"images": []}')
    _image(run / "0001_harbour" / "dinolizer_mask.png", 255)
    (run / "report.json").write_text("{}")
    case.record_report(run / "report.json", "json")
    case.record_run(run)
    return root / "case", evidence


@pytest.fixture
def built(tmp_path) -> tuple[Path, Path]:
    return _build(tmp_path)


def _lines(case: Path) -> list[bytes]:
    return (case / "audit.jsonl").read_bytes().split(b"\n")[:-1]


def _write_lines(case: Path, lines: list[bytes]) -> None:
    (case / "audit.jsonl").write_bytes(b"".join(line + b"\n" for line in lines))


def test_the_case_as_built_verifies_intact_and_its_package_too(built, tmp_path):
    case, evidence = built
    done = verify(case, evidence)
    assert done.intact, done.lines()
    package = export_case(Case.open(case), tmp_path / "p.zip").path
    packed = verify(package, evidence)
    assert packed.intact, packed.lines()
    run = run_cli("case", "verify", package, "--evidence", evidence)
    assert (
        run.code == 0
        and "INTACT" in run.shown
        and f"--expect-head {packed.head[0]}:{packed.head[1]}" in run.shown
    )
    unchecked = verify(package)  # no --evidence: the verdict itself says what it did not check
    assert unchecked.intact and unchecked.verdict.endswith("evidence file(s) not checked (no --evidence DIR)")


# --- 1. an altered copy, in the case and in a package -------------------------------------------------
def test_an_altered_copy_in_the_case_is_broken_even_when_the_original_is_intact(built):
    case, _ = built
    copy = next((case / "evidence").iterdir())
    copy.write_bytes(copy.read_bytes() + b"\0")
    problems = "\n".join(verify(case).problems)
    assert f"copy of evidence evidence/{copy.name}" in problems and "changed since it was copied" in problems


def test_an_altered_copy_in_a_package_with_its_manifest_recomputed_is_broken(built, tmp_path):
    case, _ = built
    package = export_case(Case.open(case), tmp_path / "p.zip").path
    forged = _rezip(
        package, tmp_path / "forged.zip", lambda name, data: data + b"\0" if "evidence/" in name else data
    )
    problems = "\n".join(verify(forged).problems)
    assert "copy of evidence" in problems and "changed since it was copied" in problems


def _rezip(package: Path, out: Path, change, extra: dict | None = None) -> Path:
    """The package's members changed by `change(name, data)`, with MANIFEST.sha256 recomputed to match."""
    with zipfile.ZipFile(package) as source:
        contents = {name: change(name, source.read(name)) for name in source.namelist()}
    contents.update(extra or {})
    contents.pop("MANIFEST.sha256")
    manifest = "".join(f"{hashlib.sha256(d).hexdigest()}  {n}\n" for n, d in sorted(contents.items()))
    with zipfile.ZipFile(out, "w") as target:
        for name, data in contents.items():
            target.writestr(name, data)
        target.writestr("MANIFEST.sha256", manifest)
    return out


# --- 2. the folder the examiner points at is checked --------------------------------------------------
def test_verify_with_an_evidence_folder_checks_the_files_there(built, tmp_path):
    case, evidence = built
    given = tmp_path / "usb"
    shutil.copytree(evidence, given)
    assert verify(case, given).intact
    (given / "harbour.png").write_bytes(b"not the photo")  # the originals stay intact
    run = run_cli("case", "verify", case, "--evidence", given)
    assert (
        run.code == 1 and "BROKEN" in run.shown and "given folder" in run.shown and "harbour.png" in run.shown
    )
    (given / "harbour.png").unlink()
    lacking = verify(case, given)
    assert not lacking.intact and any("does not hold it" in problem for problem in lacking.problems)


# --- 3. export never overwrites, and logs only what it wrote ------------------------------------------
def test_export_never_overwrites_a_file_or_evidence_and_logs_only_what_it_wrote(built, tmp_path):
    case, evidence = built
    target = evidence / "harbour.png"
    before, log_before = target.read_bytes(), (case / "audit.jsonl").read_bytes()
    run = run_cli("case", "export", case, "--out", target)
    assert run.code == 2 and "exists: not overwritten" in run.shown and target.read_bytes() == before
    run = run_cli("case", "export", case, "--out", target, "--replace")
    assert run.code == 2 and "is an evidence file" in run.shown and target.read_bytes() == before
    run = run_cli("case", "export", case, "--out", tmp_path / "no" / "such" / "folder.zip")
    assert run.code != 0
    log_now = (case / "audit.jsonl").read_bytes()
    assert b"case-exported" not in log_now[len(log_before) :]  # refused or failed: nothing recorded
    other = tmp_path / "old.zip"
    other.write_bytes(b"an older package")
    run = run_cli("case", "export", case, "--out", other, "--replace")
    assert run.code == 0 and verify(other, evidence).intact


# --- 4. a log that is a link is never written through ------------------------------------------------
def test_a_log_that_is_a_symbolic_link_is_never_written_through(built, tmp_path):
    case, evidence = built
    target = evidence / "harbour.png"
    before = target.read_bytes()
    (case / "audit.jsonl").unlink()
    (case / "audit.jsonl").symlink_to(target)
    run = run_cli("case", "add", case, _image(tmp_path / "new.png", 99))
    assert run.code == 2 and "symbolic link" in run.shown
    assert target.read_bytes() == before
    run = run_cli("case", "verify", case)
    assert run.code == 1 and "BROKEN" in run.shown and target.read_bytes() == before
    with pytest.raises(Exception, match="symbolic link"):
        AuditLog(case / "audit.jsonl").append("note", {})
    assert target.read_bytes() == before


def test_a_lock_file_that_is_a_link_is_not_taken(built, tmp_path):
    case, evidence = built
    target = evidence / "pier.png"
    before = target.read_bytes()
    (case / ".audit.jsonl.lock").unlink(missing_ok=True)
    (case / ".audit.jsonl.lock").symlink_to(target)
    with pytest.raises(Exception, match="not a regular file"):
        AuditLog(case / "audit.jsonl").append("note", {})
    assert target.read_bytes() == before


# --- 5. a complete last entry without its newline is kept ---------------------------------------------
def test_a_last_entry_without_its_newline_is_kept_and_its_evidence_still_listed(built, tmp_path):
    case, evidence = built
    log = case / "audit.jsonl"
    Case.open(case).add_evidence([_image(evidence / "late.png", 77)])
    log.write_bytes(log.read_bytes()[:-1])
    result = verify(case)
    assert not result.intact and "lacks its newline" in "\n".join(result.problems)
    assert any("late.png: intact" in note for note in result.notes)  # still listed and checked
    Case.open(case).log.append("note", {"after": "the cut"})
    assert verify(case).intact
    assert "late.png" in [Path(item.path).name for item in Case.open(case, read_only=True).evidence()]


# --- 6. one damaged line hides nothing, and stops writing until a repair --------------------------------
def test_a_damaged_middle_line_hides_nothing_after_it_and_stops_writing(built, tmp_path):
    case, evidence = built
    Case.open(case).add_evidence([_image(evidence / "later.png", 55)])
    lines = _lines(case)
    lines[2] = b"garbage"
    _write_lines(case, lines)
    (evidence / "later.png").write_bytes(b"changed after the damage")
    run = run_cli("case", "log", case)
    assert run.code == 1 and "later.png" in run.shown and "line 3: not a readable entry" in run.shown
    saved = run_cli("case", "log", case, "--json").out.splitlines()  # what a script would keep
    status = json.loads(saved[-1])
    assert status["log"] == "broken" and "line 3: not a readable entry" in status["problems"][0]
    result = verify(case)
    assert "evidence " in "\n".join(result.problems) and "later.png: CHANGED" in "\n".join(result.problems)
    size = (case / "audit.jsonl").stat().st_size
    run = run_cli("case", "add", case, _image(tmp_path / "new.png", 3))
    assert run.code == 2 and "broken" in run.shown and (case / "audit.jsonl").stat().st_size == size
    run = run_cli("case", "repair", case, "--reason", "line 3 lost to a disk error")
    assert run.code == 0 and "line 3" in run.shown
    run = run_cli("case", "add", case, tmp_path / "new.png")
    assert run.code == 0
    run = run_cli("case", "verify", case)
    assert run.code == 1 and "REPAIRED" in run.shown and "INTACT" not in run.shown.splitlines()[0]


def test_a_complete_but_unreadable_last_line_is_a_clear_error_not_a_traceback(built, tmp_path):
    case, _ = built
    with open(case / "audit.jsonl", "ab") as handle:
        handle.write(b"not json at all\n")
    run = run_cli("case", "add", case, _image(tmp_path / "new.png", 4))
    assert run.code == 2 and "broken" in run.shown and "Traceback" not in run.shown
    with pytest.raises(LogBroken):
        AuditLog(case / "audit.jsonl").append("note", {})


# --- 7. case.json is vouched for ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "change",
    [
        lambda info: {**info, "title": "Harbour accident"},
        lambda info: {**info, "examiners": ["Someone Else"]},
        lambda info: {**info, "number": "2026-999"},
    ],
)
def test_an_edited_case_file_is_broken_and_the_reports_keep_the_logged_values(built, change):
    case, _ = built
    info = json.loads((case / "case.json").read_text())
    (case / "case.json").write_text(json.dumps(change(info), indent=2))
    assert any("case.json differs" in problem for problem in verify(case).problems)
    opened = Case.open(case, read_only=True)
    assert opened.title == "Harbour fire" and opened.number == "2026-114"
    assert opened.report_log()["examiners"] == ["Ana Ruiz"] and opened.warnings


def test_a_case_file_replaced_by_a_list_is_broken_not_a_crash(built):
    case, _ = built
    (case / "case.json").write_text("[]")
    assert any("case.json differs" in problem for problem in verify(case).problems)
    assert Case.open(case, read_only=True).title == "Harbour fire"


# --- 8. log edits that keep the JSON meaning, and a cut tail ---------------------------------------------
def test_a_duplicated_key_with_a_forged_first_value_is_broken(built):
    case, _ = built
    lines = _lines(case)
    entry = json.loads(lines[2])
    lines[2] = lines[2].replace(b'{"actor"', b'{"kind":"forged","actor"', 1)
    assert json.loads(lines[2]) == entry  # Python keeps the last value: the meaning is unchanged
    _write_lines(case, lines)
    assert any("appears twice" in problem for problem in verify(case).problems)


def test_a_line_re_encoded_with_the_same_meaning_is_broken(built):
    case, _ = built
    lines = _lines(case)
    lines[1] = json.dumps(json.loads(lines[1]), sort_keys=True).encode()  # spaces after , and :
    _write_lines(case, lines)
    assert any("canonical form" in problem for problem in verify(case).problems)


def test_a_cut_tail_is_seen_against_the_head_recorded_earlier(built):
    case, _ = built
    head = verify(case).head
    _write_lines(case, _lines(case)[:-2])
    assert verify(case).intact  # a shorter chain alone cannot be told from a younger one
    run = run_cli("case", "verify", case, "--expect-head", f"{head[0]}:{head[1]}")
    assert run.code == 1 and "entries were cut from its end" in run.shown


def test_a_package_whose_log_lost_its_last_entries_is_broken_without_an_anchor(built, tmp_path):
    case, _ = built
    package = export_case(Case.open(case), tmp_path / "p.zip").path

    def cut(name: str, data: bytes) -> bytes:
        return b"".join(data.splitlines(keepends=True)[:-2]) if name == "audit.jsonl" else data

    problems = "\n".join(verify(_rezip(package, tmp_path / "cut.zip", cut)).problems)
    assert "does not end with the export that made the package" in problems
    added = _rezip(package, tmp_path / "added.zip", lambda name, data: data, {"evidence/extra.png": b"x"})
    assert any("holds" in problem and "its export" in problem for problem in verify(added).problems)


def test_a_log_rewritten_whole_is_seen_against_the_head_recorded_earlier(built, tmp_path):
    case, _ = built
    head = verify(case).head
    (case / "audit.jsonl").unlink()
    rewritten = Case.create(tmp_path / "fresh", "Harbour fire", "2026-114", "Ana Ruiz")
    for _ in range(head[0]):
        rewritten.log.append("note", {})
    shutil.copy(tmp_path / "fresh" / "audit.jsonl", case / "audit.jsonl")
    assert any("the log was rewritten" in problem for problem in verify(case, expect_head=head).problems)


# --- 9. packages: unsafe members, links, reports outside, concurrent writers, bombs, damaged zips --------
@pytest.mark.parametrize("name", ["../escape.txt", "/etc/passwd", "C:/x.txt", "runs/../../x"])
def test_package_members_with_unsafe_names_are_broken(built, tmp_path, name):
    case, _ = built
    package = export_case(Case.open(case), tmp_path / "p.zip").path
    forged = _rezip(package, tmp_path / "forged.zip", lambda n, d: d, {name: b"x"})
    assert any("unsafe name" in problem for problem in verify(forged).problems)


def test_a_duplicated_member_is_broken(built, tmp_path):
    case, _ = built
    package = export_case(Case.open(case), tmp_path / "p.zip").path
    shutil.copy(package, tmp_path / "dup.zip")
    with pytest.warns(UserWarning), zipfile.ZipFile(tmp_path / "dup.zip", "a") as target:
        target.writestr("case.json", b"{}")
    assert any("more than once" in problem for problem in verify(tmp_path / "dup.zip").problems)


def test_a_member_added_to_a_package_is_broken(built, tmp_path):
    case, _ = built
    package = export_case(Case.open(case), tmp_path / "p.zip").path
    forged = _rezip(package, tmp_path / "forged.zip", lambda n, d: d, {"runs/r1/extra.pdf": b"%PDF fake"})
    assert any("not named by the log" in problem for problem in verify(forged).problems)


def test_a_link_in_the_case_is_not_packed_and_the_outside_file_never_read(built, tmp_path):
    case, _ = built
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"SECRET BYTES")
    (case / "runs" / "r1" / "link.txt").symlink_to(secret)
    report = case / "runs" / "r1" / "report.json"
    report.unlink()
    report.symlink_to(secret)  # a vouched name replaced by a link
    exported = export_case(Case.open(case), tmp_path / "p.zip")
    assert b"SECRET BYTES" not in exported.path.read_bytes()
    assert ("runs/r1/report.json", "not a regular file (a link, a folder): not packed") in exported.left_out
    assert any("report runs/r1/report.json" in problem for problem in verify(exported.path).problems)


def test_a_report_written_outside_the_case_is_said_not_broken(built, tmp_path):
    case, evidence = built
    outside = tmp_path / "elsewhere" / "report.pdf"
    outside.parent.mkdir()
    outside.write_bytes(b"%PDF a report")
    opened = Case.open(case)
    opened.record_report(outside, "pdf")
    opened.record_run(outside.parent)
    package = export_case(opened, tmp_path / "p.zip").path
    result = verify(package, evidence)
    assert result.intact, result.lines()
    assert any("outside the case, not in the package" in note for note in result.notes)
    outside.write_bytes(b"%PDF changed")
    assert any("changed since it was exported" in problem for problem in verify(case).problems)


def test_a_package_exported_while_another_process_appends_verifies(built, tmp_path):
    case, evidence = built
    stop = threading.Event()

    def appender():
        log = AuditLog(case / "audit.jsonl", "Bo")
        while not stop.is_set():
            log.append("note", {"busy": True})

    writer = threading.Thread(target=appender)
    writer.start()
    try:
        packages = [export_case(Case.open(case), tmp_path / f"p{i}.zip").path for i in range(4)]
    finally:
        stop.set()
        writer.join()
    for package in packages:
        assert verify(package, evidence).intact, verify(package, evidence).lines()
    assert verify(case, evidence).intact


def test_zip_bombs_are_not_inflated(built, tmp_path):
    case, _ = built
    package = export_case(Case.open(case), tmp_path / "p.zip").path
    lying = tmp_path / "lying.zip"
    with zipfile.ZipFile(lying, "w", zipfile.ZIP_DEFLATED) as target:
        target.writestr("runs/r1/zeros.bin", b"\0" * (1 << 20))
    _patched_central(lying, lying, "runs/r1/zeros.bin", 24, struct.pack("<I", 0xF0000000))  # 3.75 GB claimed
    overlapping = tmp_path / "overlapping.zip"
    _overlapping(package, overlapping, copies=2000)
    for bomb in (lying, overlapping):
        started = time.monotonic()
        result = verify(bomb)
        assert time.monotonic() - started < 5 and not result.intact
        said = ("not inflated", "shares bytes", "more compressed bytes than the package holds")
        assert any(words in p for p in result.problems for words in said), result.problems


def _overlapping(package: Path, out: Path, copies: int) -> None:
    """A zip whose central directory names the same member's bytes `copies` times (a non-recursive bomb)."""
    data = package.read_bytes()
    end = data.rfind(b"PK\x05\x06")
    start = struct.unpack("<I", data[end + 16 : end + 20])[0]  # of the central directory
    first = data[start : start + 46 + struct.unpack("<H", data[start + 28 : start + 30])[0]]
    name_length = struct.unpack("<H", first[28:30])[0]
    entries = [
        first[:28] + struct.pack("<H", name_length + 5) + first[30:46] + first[46:] + f"{i:05d}".encode()
        for i in range(copies)
    ]
    directory = b"".join(entries)
    tail = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, copies, copies, len(directory), start, 0)
    out.write_bytes(data[:start] + directory + tail)


def _patched(package: Path, out: Path, name: str, offset_in_header: int, value: bytes) -> Path:
    """The package with bytes of `name`'s local header (or of its data, offset past the header) replaced."""
    data = bytearray(package.read_bytes())
    with zipfile.ZipFile(package) as opened:
        info = opened.getinfo(name)
    data[info.header_offset + offset_in_header : info.header_offset + offset_in_header + len(value)] = value
    out.write_bytes(bytes(data))
    return out


def test_damaged_zips_are_broken_never_a_traceback(built, tmp_path):
    case, _ = built
    package = export_case(Case.open(case), tmp_path / "p.zip").path
    header = 30 + len(b"case.json")
    cases = {
        "crc": _patched(package, tmp_path / "crc.zip", "case.json", header, b"X"),
        "encrypted": _patched_central(
            package, tmp_path / "enc.zip", "case.json", 8, struct.pack("<H", 0x0801)
        ),
        "method": _patched_central(package, tmp_path / "method.zip", "case.json", 10, struct.pack("<H", 99)),
        "cut": tmp_path / "cut.zip",  # its directory gone: a transfer cut short
    }
    cases["cut"].write_bytes(package.read_bytes()[:-30])
    for kind, damaged in cases.items():
        run = run_cli("case", "verify", damaged)
        assert run.code == 1 and "BROKEN" in run.shown and "Traceback" not in run.shown, (kind, run.shown)
    assert "encrypted" in run_cli("case", "verify", cases["encrypted"]).shown
    assert "method 99" in run_cli("case", "verify", cases["method"]).shown


def _patched_central(package: Path, out: Path, name: str, offset: int, value: bytes) -> Path:
    """The package with bytes of `name`'s central directory entry replaced."""
    data = bytearray(package.read_bytes())
    position = data.find(b"PK\x01\x02")
    while position != -1:
        length = struct.unpack("<H", data[position + 28 : position + 30])[0]
        if data[position + 46 : position + 46 + length] == name.encode():
            data[position + offset : position + offset + len(value)] = value
            break
        position = data.find(b"PK\x01\x02", position + 4)
    assert position != -1
    out.write_bytes(bytes(data))
    return out


def test_a_package_whose_zip_structure_changed_is_broken(built, tmp_path):
    case, _ = built
    package = export_case(Case.open(case), tmp_path / "p.zip").path
    stamped = _patched(package, tmp_path / "time.zip", "case.json", 10, b"\x01\x00")  # its time changed
    assert any("zip structure" in problem for problem in verify(stamped).problems)
    appended = tmp_path / "appended.zip"
    appended.write_bytes(package.read_bytes()[:-2] + struct.pack("<H", 4) + b"note")  # a zip comment
    assert not verify(appended).intact


# --- 10. odd evidence, escapes, moves, the case inside its evidence, read-only media ---------------------
def test_case_add_names_everything_it_did_not_list_and_fails(tmp_path):
    folder = tmp_path / "drop"
    _image(folder / "ok.png", 1)
    (folder / "notes.txt").write_text("x")
    (folder / "out.png").symlink_to(_image(tmp_path / "outside.png", 2))
    os.mkfifo(folder / "pipe.jpg")
    (folder / "dangling.png").symlink_to(tmp_path / "nothing.png")
    (folder / "inside.png").symlink_to(folder / "ok.png")
    Case.create(tmp_path / "case", "Odd files")
    started = time.monotonic()
    run = run_cli("case", "add", tmp_path / "case", folder)
    assert time.monotonic() - started < 30  # the pipe never blocks
    assert run.code == 1
    for name, reason in [
        ("notes.txt", "not an image type"),
        ("out.png", "a link out of"),
        ("pipe.jpg", "named pipe"),
        ("dangling.png", "a link out of"),
        ("inside.png", "symbolic link"),
    ]:
        assert any(name in line and reason in line for line in run.shown.splitlines()), (name, run.shown)
    listed = [Path(item.path).name for item in Case.open(tmp_path / "case", read_only=True).evidence()]
    assert listed == ["ok.png"]


def test_verify_and_log_print_names_escaped(tmp_path):
    name = "IMG\x1b[2K\rC: INTACT\n\u202egnp.png"
    photo = _image(tmp_path / "photos" / name, 5)
    case = Case.create(tmp_path / "case", "Escapes")
    case.add_evidence([photo])
    photo.write_bytes(b"changed")
    run = run_cli("case", "verify", tmp_path / "case")
    assert run.code == 1 and "\x1b" not in run.shown and "\u202e" not in run.shown and "\\x1b" in run.shown
    assert run.shown.splitlines()[0].endswith("BROKEN (1 problem(s))")
    run = run_cli("case", "log", tmp_path / "case")
    assert "\x1b" not in run.shown and "\r" not in run.shown


def test_a_case_and_its_evidence_moved_together_still_verify(tmp_path, monkeypatch):
    root = tmp_path / "matter"
    monkeypatch.chdir(tmp_path)
    _image(root / "evidence" / "a.png", 9)
    case = Case.create(root / "case", "Moved")
    case.add_evidence([Path("matter/evidence/a.png")])  # relative, as typed
    shutil.move(root, tmp_path / "archive")
    monkeypatch.chdir(tmp_path / "archive")
    result = verify(tmp_path / "archive" / "case")
    assert result.intact and any("a.png: intact" in note for note in result.notes), result.lines()


def test_a_case_inside_its_evidence_folder_does_not_list_its_own_files(tmp_path):
    evidence = tmp_path / "evidence"
    _image(evidence / "a.png", 1)
    case = Case.create(evidence / "Case-1", "Inside")
    case.add_evidence([evidence], copies=True)
    listing = case.add_evidence([evidence])  # again: its copy inside the case is not new evidence
    assert listing.in_case >= 1 and not listing.added
    assert [Path(item.path).name for item in case.evidence()] == ["a.png"]


def test_a_read_only_case_exports_with_the_export_recorded_in_the_package(built, tmp_path, monkeypatch):
    case, evidence = built
    before = (case / "audit.jsonl").read_bytes()
    monkeypatch.setattr(case_module, "_writable", lambda folder: False)
    opened = Case.open(case)
    assert opened.read_only
    package = export_case(opened, tmp_path / "p.zip").path
    assert (case / "audit.jsonl").read_bytes() == before
    with zipfile.ZipFile(package) as opened_zip:
        assert json.loads(opened_zip.read("audit.jsonl").splitlines()[-1])["kind"] == "case-exported"
    assert verify(package, evidence).intact


# --- properties: any change to a case or a package is seen ----------------------------------------------
def _mutations():
    flip = st.tuples(st.just("flip"), st.floats(0, 1), st.integers(1, 255))
    cut = st.tuples(st.just("cut"), st.floats(0, 1), st.integers(1, 64))
    duplicate = st.tuples(st.just("duplicate"), st.floats(0, 1), st.integers(1, 200))
    swap = st.tuples(st.just("swap"), st.floats(0, 1), st.floats(0, 1))
    return st.one_of(flip, cut, duplicate, swap)


def _mutate(data: bytes, mutation) -> bytes:
    kind, where, amount = mutation
    at = min(int(where * len(data)), len(data) - 1)
    if kind == "flip":
        return data[:at] + bytes([data[at] ^ amount]) + data[at + 1 :]
    if kind == "cut":
        return data[:at] + data[at + amount :]
    if kind == "duplicate":
        return data[:at] + data[at : at + amount] * 2 + data[at + amount :]
    lines = data.split(b"\n")
    first, second = at % len(lines), min(int(amount * len(lines)), len(lines) - 1)
    lines[first], lines[second] = lines[second], lines[first]
    return b"\n".join(lines)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    root = tmp_path_factory.mktemp("pristine")
    case, evidence = _build(root)
    package = export_case(Case.open(case), root / "p.zip").path
    result = verify(case, evidence)
    return case, evidence, package, result.head


PROPERTY = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@PROPERTY
@given(
    target=st.sampled_from(["audit.jsonl", "case.json", "report", "run file", "copy"]),
    mutation=_mutations(),
)
def test_no_change_to_a_case_folder_verifies_intact(pristine, tmp_path_factory, target, mutation):
    case, evidence, _, head = pristine
    work = tmp_path_factory.mktemp("mutated") / "case"
    shutil.copytree(case, work)
    path = {
        "audit.jsonl": work / "audit.jsonl",
        "case.json": work / "case.json",
        "report": work / "runs" / "r1" / "report.json",
        "run file": work / "runs" / "r1" / "0001_harbour" / "dinolizer_mask.png",
        "copy": next((work / "evidence").iterdir()),
    }[target]
    original = path.read_bytes()
    changed = _mutate(original, mutation)
    path.write_bytes(changed)
    result = verify(work, evidence, expect_head=head)
    assert result.intact == (changed == original), (target, mutation, result.lines())


@PROPERTY
@given(mutation=_mutations())
def test_no_change_to_a_package_verifies_intact(pristine, tmp_path_factory, mutation):
    _, evidence, package, head = pristine
    original = package.read_bytes()
    changed = _mutate(original, mutation)
    work = tmp_path_factory.mktemp("package") / "p.zip"
    work.write_bytes(changed)
    started = time.monotonic()
    try:
        result = verify(work, evidence, expect_head=head)
    except CaseError:  # no longer a zip at all: said as a usage error, never INTACT
        return
    assert time.monotonic() - started < 10
    assert result.intact == (changed == original), (mutation, result.lines())


# --- a second hostile round (each found by a probe of the first fix) ---------------------------------
def test_a_folder_entry_never_switches_the_zip_check_off(built, tmp_path):
    case, _ = built
    package = export_case(Case.open(case), tmp_path / "p.zip").path
    shutil.copy(package, tmp_path / "dir.zip")
    with zipfile.ZipFile(tmp_path / "dir.zip", "a") as target:
        target.writestr("zz/", b"")
    problems = "\n".join(verify(tmp_path / "dir.zip").problems)
    assert "a folder entry" in problems


def test_every_place_an_evidence_file_is_found_is_checked(tmp_path, monkeypatch):
    work = tmp_path / "work"
    _image(work / "ev" / "a.png", 1)
    monkeypatch.chdir(work)
    case = Case.create(work / "C", "Shared")
    case.add_evidence([Path("ev")])  # as typed, relative
    share = tmp_path / "share"
    shutil.copytree(work / "C", share / "C")
    shutil.copytree(work / "ev", share / "ev")
    _image(share / "ev" / "a.png", 99)  # the copy handed over was altered; the original is intact
    problems = "\n".join(verify(share / "C").problems)
    assert "a.png: CHANGED" in problems and str(share / "ev" / "a.png") in problems
    hand = tmp_path / "hand"
    _image(hand / "a.png", 1)  # a pristine decoy at the top...
    _image(hand / "ev" / "a.png", 99)  # ...and the altered file where the path as given leads
    assert not verify(work / "C", hand).intact


def test_an_original_replaced_by_a_link_is_not_vouched_for(tmp_path):
    _image(tmp_path / "ev" / "a.png", 1)
    case = Case.create(tmp_path / "C", "Link")
    case.add_evidence([tmp_path / "ev" / "a.png"])
    shutil.move(tmp_path / "ev" / "a.png", tmp_path / "elsewhere.png")
    (tmp_path / "ev" / "a.png").symlink_to(tmp_path / "elsewhere.png")
    assert "not readable as a regular file" in "\n".join(verify(tmp_path / "C").problems)


def test_odd_names_in_the_log_are_checked_inside_the_case(tmp_path):
    photo = _image(tmp_path / "ev" / "scan\\01.png", 1)
    case = Case.create(tmp_path / "C", "Names")
    listing = case.add_evidence([photo], copies=True)
    copy = tmp_path / "C" / listing.added[0].copy
    assert "\\" not in copy.name  # the copy's own name is plain
    copy.write_bytes(b"replaced")
    assert any("changed since it was copied" in p for p in verify(tmp_path / "C").problems)
    (tmp_path / "C" / "results.json").write_text("{}")  # a run written into the case folder itself
    case.record_run(tmp_path / "C")
    (tmp_path / "C" / "results.json").write_text('{"changed": 1}')
    assert any("run file results.json" in p for p in verify(tmp_path / "C").problems)


def test_a_run_outside_the_case_given_relatively_is_recorded_where_it_is(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    case = Case.create(tmp_path / "C", "Outside")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "results.json").write_text("{}")
    entry = case.record_run(Path("out"))
    assert entry["data"]["folder"] == str(tmp_path / "out")
    assert verify(tmp_path / "C").intact
    (tmp_path / "C" / "out").mkdir()
    shutil.copy(tmp_path / "out" / "results.json", tmp_path / "C" / "out")
    (tmp_path / "out" / "results.json").write_text('{"score": "0.0"}')
    assert any("changed since it was written" in p for p in verify(tmp_path / "C").problems)


def test_no_copy_is_made_through_a_linked_evidence_folder(tmp_path):
    _image(tmp_path / "ev" / "a.png", 1)
    Case.create(tmp_path / "C", "Linked")
    (tmp_path / "outside").mkdir()
    (tmp_path / "C" / "evidence").symlink_to(tmp_path / "outside")
    run = run_cli("case", "add", tmp_path / "C", tmp_path / "ev", "--copy")  # the case is not opened
    assert run.code == 2 and "a link?" in run.shown and not any((tmp_path / "outside").iterdir())


def test_case_add_names_folders_of_outputs_it_does_not_look_into(tmp_path):
    _image(tmp_path / "ev" / "sub" / "b.png", 2)
    (tmp_path / "ev" / "sub" / ".dinolizer-gui-output").write_text("x")
    Case.create(tmp_path / "C", "Marked")
    run = run_cli("case", "add", tmp_path / "C", tmp_path / "ev")
    assert run.code == 1 and "holds outputs of this app" in run.shown


def test_a_name_that_is_not_utf8_is_listed_and_the_rest_too(tmp_path):
    folder = tmp_path / "ev"
    _image(folder / "ok.png", 1)
    odd = Path(os.fsdecode(bytes(folder) + b"/bad\xff.png"))
    _image(odd, 2)
    Case.create(tmp_path / "C", "Bytes")
    run = run_cli("case", "add", tmp_path / "C", folder, "--copy")
    assert run.code == 0, run.shown
    listed = Case.open(tmp_path / "C", read_only=True).evidence()
    assert sorted(Path(item.path).name for item in listed) == sorted(["ok.png", odd.name])
    assert verify(tmp_path / "C").intact
    odd.write_bytes(b"changed")
    assert any("CHANGED" in p for p in verify(tmp_path / "C").problems)
    package = export_case(Case.open(tmp_path / "C"), tmp_path / "p.zip").path
    assert verify(package).intact  # its copies were packed unchanged...
    assert not verify(package, folder).intact  # ...and the changed original is seen where it is


@pytest.mark.parametrize(
    "data",
    [
        {"path": "a.png", "sha256": "0" * 64, "size": "big"},
        {"path": "a.png", "sha256": "0" * 64, "from_case": 7},
        {"path": 5, "sha256": "0" * 64},
    ],
)
def test_entries_that_hash_but_hold_odd_data_are_problems_not_tracebacks(built, data):
    case, _ = built
    AuditLog(case / "audit.jsonl", "Mallory").append("evidence-added", data)
    assert any("malformed" in p for p in verify(case).problems)
    run = run_cli("case", "log", case)
    assert "Traceback" not in run.shown


def test_deeply_nested_json_is_a_problem_not_a_traceback(built):
    case, _ = built
    with open(case / "audit.jsonl", "ab") as handle:
        handle.write(b"[" * 200_000 + b"\n")
    run = run_cli("case", "verify", case)
    assert run.code == 1 and "nested too deeply" in run.shown
    (case / "case.json").write_bytes(b"[" * 200_000)
    run = run_cli("case", "verify", case)
    assert run.code == 1 and "Traceback" not in run.shown


def test_a_flipped_version_byte_is_broken_not_a_traceback(built, tmp_path):
    case, _ = built
    package = export_case(Case.open(case), tmp_path / "p.zip").path
    damaged = _patched_central(package, tmp_path / "v.zip", "case.json", 6, struct.pack("<H", 0x0394))
    run = run_cli("case", "verify", damaged)
    assert run.code == 1 and "Traceback" not in run.shown


def test_a_repair_that_acknowledges_nothing_or_takes_a_wrong_seq_is_a_break(built):
    case, _ = built
    log = AuditLog(case / "audit.jsonl")
    data = (case / "audit.jsonl").read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    entry = log._entry(1, digest, "log-repaired", {"reason": "x", "problems": [], "log_sha256": digest})
    with open(case / "audit.jsonl", "ab") as handle:
        handle.write(
            json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"
        )
    assert not verify(case).intact


def test_verify_stays_linear_on_hostile_logs_and_packages(built, tmp_path):
    case, _ = built
    lines = (case / "audit.jsonl").read_bytes()
    (case / "audit.jsonl").write_bytes(lines + b"\n" * 40_000)  # 40,000 breaks
    started = time.monotonic()
    verify(case)
    assert time.monotonic() - started < 5
    many = tmp_path / "many.zip"
    with zipfile.ZipFile(many, "w") as target:
        for index in range(20_000):
            target.writestr(f"runs/r/{index}.png", b"")
    started = time.monotonic()
    assert not verify(many).intact
    assert time.monotonic() - started < 10


def test_names_print_without_any_character_that_hides_or_fakes_text():
    from dinolizer_gui.core.io.names import for_terminal

    for char in ("\u2028", "\u2029", "\ufff9", "\U000e0041", "\U0001d173", "\u00a0", "\u202e", "\x1b"):
        shown = for_terminal(f"a{char}b")
        assert char not in shown and shown.startswith("a\\") and shown.endswith("b")


# --- 10. planted folders, malformed paths, files outside replaced, evidence found nowhere ----------------
@pytest.mark.parametrize("name", ["store", "runs", "evidence"])
def test_a_case_folder_planted_as_a_link_is_never_followed(built, tmp_path, name):
    case, _ = built
    victim = tmp_path / "victim"
    victim.mkdir()
    if (case / name).exists():
        shutil.rmtree(case / name)
    (case / name).symlink_to(victim)
    with pytest.raises(CaseError, match="not a folder of the case"):
        Case.open(case, "Ana Ruiz")
    opened = Case.open(case, read_only=True)
    assert any(name in warning for warning in opened.warnings)
    with pytest.raises(CaseError):  # nothing reads or writes through it
        opened.own_folder(name)
    uses = {"store": lambda: opened.store, "runs": opened.new_run_folder}
    with pytest.raises(CaseError):
        uses.get(name, lambda: opened.own_folder(name))()
    assert any(f"{name}: is not a folder of the case" in p for p in verify(case).problems)
    run = run_cli("annotations", "import", tmp_path / "none.json", "--case", case)
    assert run.code == 2 and list(victim.iterdir()) == []


@pytest.mark.parametrize(
    ("field", "value"), [("absolute", "/tmp/x\u0000y"), ("path_bytes", "abc"), ("path", "a\u0000b")]
)
def test_an_evidence_entry_with_a_path_no_system_takes_is_malformed_not_a_crash(built, field, value):
    case, _ = built
    lines, prev, rewritten = _lines(case), GENESIS, []
    for line in lines:  # the whole chain recomputed, as an attacker holding the files can
        entry = json.loads(line)
        if entry["kind"] == "evidence-added":
            entry["data"][field] = value
        entry["prev"] = prev
        entry["hash"] = prev = entry_hash(entry)
        rewritten.append(serialise(entry).encode())
    _write_lines(case, rewritten)
    result = verify(case)
    assert not result.intact and any(f"its data is malformed ({field})" in p for p in result.problems)


def test_a_report_outside_the_case_replaced_by_a_link_is_a_problem(built, tmp_path):
    case, _ = built
    outside = tmp_path / "elsewhere" / "report.html"
    outside.parent.mkdir()
    outside.write_text("<h1>the report</h1>")
    Case.open(case).record_report(outside, "html")
    forged = tmp_path / "forged.html"
    forged.write_text("<h1>forged</h1>")
    outside.unlink()
    outside.symlink_to(forged)
    result = verify(case)
    assert not result.intact and any("symbolic link" in problem for problem in result.problems)
    outside.unlink()
    gone = verify(case)
    assert gone.intact and gone.verdict == "INTACT — 1 file(s) not found, not checked"


def test_evidence_found_nowhere_is_counted_in_the_verdict(built):
    case, evidence = built
    (evidence / "harbour.png").unlink()
    result = verify(case)
    assert result.intact and result.verdict == "INTACT — 1 file(s) not found, not checked"
    run = run_cli("case", "verify", case)
    assert run.code == 0 and "INTACT — 1 file(s) not found, not checked" in run.shown


def test_files_of_one_name_and_content_from_two_folders_are_both_listed_and_checked(tmp_path, monkeypatch):
    first, second = _image(tmp_path / "d1" / "a.png", 30), _image(tmp_path / "d2" / "a.png", 30)
    case = Case.create(tmp_path / "case", "Two folders", "", "Ana")
    for folder in (first.parent, second.parent):
        monkeypatch.chdir(folder)
        assert len(case.add_evidence([Path("a.png")]).added) == 1
    assert len(case.evidence()) == 2
    with open(second, "ab") as handle:
        handle.write(b"tamper")
    assert any("CHANGED" in problem for problem in verify(case.folder).problems)
    monkeypatch.chdir(second.parent)
    assert case.remove_evidence("a.png", "wrong file")
    assert [item.absolute for item in Case.open(case.folder).evidence()] == [str(first)]
