"""Cases: created, analysed, reported and packaged; verified; then tampered with in every way a log, an
evidence file, a report or a package can be, each named by `case verify`; concurrent writers; a torn last
line; a verifier written from the README's definition alone."""

import hashlib
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from PIL import Image

from dinolizer_gui.core.session.case import Case
from dinolizer_gui.core.session.case_entries import CaseError
from dinolizer_gui.core.session.case_package import export_case
from dinolizer_gui.core.session.case_verify import verify
from dinolizer_gui.core.store.audit import AuditLog, AuditReadOnly
from tests.cli_run import analyze_args, run_process

ROOT = Path(__file__).resolve().parents[3]


def readme_verifier(lines: list[str]) -> bool:
    """Written from the manual's definition of the log (docs/cases.md), not from the app's code."""
    prev = "0" * 64
    for seq, line in enumerate(lines, 1):
        entry = json.loads(line)
        body = json.dumps(
            {k: v for k, v in entry.items() if k != "hash"},
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        )
        whole = json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        if (
            line != whole
            or entry["seq"] != seq
            or entry["prev"] != prev
            or hashlib.sha256(f"{prev}\n{body}".encode()).hexdigest() != entry["hash"]
        ):
            return False
        prev = entry["hash"]
    return True


@pytest.fixture(scope="module")
def analysed_case(weights, tmp_path_factory):
    """A case made with the CLI: created, two images analysed into it with reports, then packaged."""
    root = tmp_path_factory.mktemp("case")
    evidence = root / "evidence"
    evidence.mkdir()
    rng = np.random.default_rng(3)
    for name in ("harbour.png", "pier.png"):
        Image.fromarray(rng.integers(0, 256, (96, 128, 3), dtype=np.uint8)).save(evidence / name)
    case = root / "Case-2026-114"
    made = run_process(
        "case", "new", case, "--title", "Harbour fire", "--number", "2026-114", "--examiner", "Ana Ruiz"
    )
    assert made.returncode == 0, made.stderr
    asked = ("--case", case, "--report", "pdf", "--report", "json", "--analyst", "Ana Ruiz")
    run = run_process(*analyze_args(weights, evidence, None, *asked, models=("dinolizer",)))
    assert run.returncode == 0, run.stderr
    package = root / "Case-2026-114.zip"
    exported = run_process("case", "export", case, "--out", package, "--examiner", "Ana Ruiz")
    assert exported.returncode == 0, exported.stderr
    return case, evidence, package


def _copy(analysed_case, tmp_path):
    case, evidence, package = analysed_case
    shutil.copytree(case, tmp_path / case.name)
    shutil.copytree(evidence, tmp_path / "evidence")
    shutil.copy(package, tmp_path / package.name)
    return tmp_path / case.name, tmp_path / "evidence", tmp_path / package.name


def test_a_case_records_who_did_what_with_which_weights_and_verifies(analysed_case, weights):
    case, evidence, package = analysed_case
    lines = (case / "audit.jsonl").read_text(encoding="utf-8").splitlines()
    kinds = [json.loads(line)["kind"] for line in lines]
    assert kinds[:2] == ["case-created", "case-opened"]
    assert kinds.count("evidence-added") == 2 and kinds.count("analysis") == 2
    assert kinds.count("report-exported") == 2 and kinds[-2:] == ["case-opened", "case-exported"]
    analysis = next(json.loads(line) for line in lines if json.loads(line)["kind"] == "analysis")
    assert analysis["actor"]["examiner"] == "Ana Ruiz" and analysis["actor"]["user"]
    data = analysis["data"]
    assert data["model"] == "dinolizer" and data["device"] == "cpu" and data["precision"] == "float32"
    assert data["weights"][0]["sha256"] == hashlib.sha256(weights[0]["release"].read_bytes()).hexdigest()
    assert (
        data["weights"][0]["verification"]
        and isinstance(data["score"], str)
        and isinstance(data["flagged"], bool)
    )
    assert (
        data["image_sha256"] == hashlib.sha256((evidence / Path(data["path"]).name).read_bytes()).hexdigest()
    )
    assert readme_verifier(lines)
    done = run_process("case", "verify", case)
    assert done.returncode == 0 and "INTACT" in done.stdout and "harbour.png: intact" in done.stdout
    packaged = run_process("case", "verify", package)
    assert packaged.returncode == 0, packaged.stdout
    assert "2 file(s) listed, not checked" in packaged.stdout
    assert run_process("case", "verify", package, "--evidence", evidence).returncode == 0
    with zipfile.ZipFile(package) as opened:
        names = set(opened.namelist())
        manifest = opened.read("MANIFEST.sha256").decode()
        assert {"case.json", "audit.jsonl", "MANIFEST.sha256"} <= names
        assert any(name.endswith("/results.json") for name in names) and any(
            n.endswith("report.pdf") for n in names
        )
        assert not any(name.startswith("store/") for name in names)
        for line in manifest.splitlines():  # sha256sum -c format
            digest, name = line.split("  ", 1)
            assert hashlib.sha256(opened.read(name)).hexdigest() == digest
        # the export is in the packaged log, before the package was closed
        assert json.loads(opened.read("audit.jsonl").decode().splitlines()[-1])["kind"] == "case-exported"
    report = json.loads(next(case.glob("runs/*/report.json")).read_text())
    schema = json.loads((ROOT / "dinolizer_gui" / "core" / "report" / "schema.json").read_text())
    jsonschema.validate(report, schema)
    assert report["case_log"]["title"] == "Harbour fire" and report["case_log"]["examiners"] == ["Ana Ruiz"]
    assert (
        report["case_log"]["entries"][-1]["kind"] == "analysis"
    )  # the log as it was when the report was made
    assert report["case"]["case_number"] == "2026-114"


def _rewrite_log(case: Path, change) -> None:
    lines = (case / "audit.jsonl").read_text(encoding="utf-8").splitlines()
    (case / "audit.jsonl").write_text("\n".join(change(lines)) + "\n", encoding="utf-8")


def test_one_byte_changed_in_an_entry_is_named(analysed_case, tmp_path):
    case, _, _ = _copy(analysed_case, tmp_path)
    _rewrite_log(case, lambda lines: [*lines[:3], lines[3].replace("pier.png", "pieR.png"), *lines[4:]])
    done = run_process("case", "verify", case)
    assert done.returncode == 1
    assert "line 4 (seq 4, evidence-added): its hash does not match its content" in done.stdout


def test_a_deleted_entry_and_two_swapped_entries_are_named(analysed_case, tmp_path):
    case, _, _ = _copy(analysed_case, tmp_path)
    _rewrite_log(case, lambda lines: lines[:4] + lines[5:])
    done = run_process("case", "verify", case)
    assert (
        done.returncode == 1
        and "line 5 (seq 6" in done.stdout
        and "removed, reordered or inserted" in done.stdout
    )
    (tmp_path / "b").mkdir()
    other, _, _ = _copy(analysed_case, tmp_path / "b")
    _rewrite_log(other, lambda lines: [*lines[:3], lines[4], lines[3], *lines[5:]])
    swapped = run_process("case", "verify", other)
    assert swapped.returncode == 1 and "line 4 (seq 5" in swapped.stdout


def test_a_changed_evidence_file_and_a_changed_report_are_named(tmp_path):
    photo = tmp_path / "photo.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(photo)
    case = Case.create(tmp_path / "case", "Tampering")
    case.add_evidence([photo])
    report = tmp_path / "case" / "runs" / "r1" / "report.json"
    report.parent.mkdir(parents=True)
    report.write_text("{}")
    case.record_report(report, "json")
    assert verify(tmp_path / "case").intact
    photo.write_bytes(photo.read_bytes() + b"\0")
    report.write_text("{ }")
    done = verify(tmp_path / "case")
    problems = "\n".join(done.problems)
    assert f"evidence {photo}: CHANGED since it was added" in problems
    assert "report runs/r1/report.json (log seq 3): changed since it was exported" in problems
    report.unlink()
    photo.unlink()
    gone = verify(tmp_path / "case")
    assert "report runs/r1/report.json (log seq 3): missing" in gone.problems
    assert any(f"evidence {photo}: MISSING" in note for note in gone.notes)  # unreachable: not checked, said


def test_a_package_missing_a_file_or_with_a_changed_one_is_named(analysed_case, tmp_path):
    _, _, package = _copy(analysed_case, tmp_path)
    with zipfile.ZipFile(package) as source:
        names = source.namelist()
        contents = {name: source.read(name) for name in names}
    dropped = next(name for name in names if name.endswith("report.pdf"))
    smaller = tmp_path / "missing.zip"
    with zipfile.ZipFile(smaller, "w") as target:
        for name in names:
            if name != dropped:
                target.writestr(name, contents[name])
    done = run_process("case", "verify", smaller)
    assert (
        done.returncode == 1 and f"{dropped}: listed in the manifest, missing from the package" in done.stdout
    )
    changed = tmp_path / "changed.zip"
    with zipfile.ZipFile(changed, "w") as target:
        for name in names:
            target.writestr(name, contents[name] + (b" " if name == "case.json" else b""))
    done = run_process("case", "verify", changed)
    assert done.returncode == 1 and "case.json: its SHA-256 differs from the manifest's" in done.stdout


def test_two_processes_writing_one_log_leave_a_valid_chain(tmp_path):
    Case.create(tmp_path / "case", "Concurrent")
    script = (
        "import sys; from dinolizer_gui.core.store.audit import AuditLog\n"
        "log = AuditLog(sys.argv[1], sys.argv[2])\n"
        "for i in range(40): log.append('note', {'writer': sys.argv[2], 'i': i})\n"
    )
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(tmp_path / "case" / "audit.jsonl"), name], cwd=ROOT
        )
        for name in ("first", "second")
    ]
    assert [writer.wait(timeout=120) for writer in writers] == [0, 0]
    lines = (tmp_path / "case" / "audit.jsonl").read_text().splitlines()
    assert len(lines) == 81 and readme_verifier(lines)
    assert verify(tmp_path / "case").intact


def test_a_torn_last_line_is_reported_then_set_aside_recorded_and_never_intact_again(tmp_path):
    case = Case.create(tmp_path / "case", "Crash")
    log = tmp_path / "case" / "audit.jsonl"
    with open(log, "ab") as handle:
        handle.write(b'{"seq":2,"time":"2026-')  # a crash mid-write
    broken = verify(tmp_path / "case")
    assert not broken.intact and "torn (incomplete, 22 bytes)" in broken.problems[0]
    case.log.append("note", {"after": "the crash"})
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert [e["kind"] for e in entries] == ["case-created", "log-repaired", "note"]
    kept = tmp_path / "case" / entries[1]["data"]["kept_in"]
    assert kept.read_bytes() == b'{"seq":2,"time":"2026-'  # never silently dropped
    repaired = verify(tmp_path / "case")  # a crash or a cut: nothing tells them apart, so never INTACT
    assert not repaired.intact and not repaired.problems and repaired.verdict.startswith("REPAIRED")
    assert any("torn last line was set aside" in said for said in repaired.repaired)


def test_a_case_on_read_only_media_opens_read_only_and_records_nothing(tmp_path, monkeypatch):
    import dinolizer_gui.core.session.case as case_module

    Case.create(tmp_path / "case", "Read-only")
    before = (tmp_path / "case" / "audit.jsonl").read_bytes()
    monkeypatch.setattr(case_module, "_writable", lambda folder: False)
    opened = Case.open(tmp_path / "case", "Bo")
    assert opened.read_only
    with pytest.raises(AuditReadOnly, match="read-only"):
        opened.log.append("note", {})
    assert (tmp_path / "case" / "audit.jsonl").read_bytes() == before


def test_cases_refuse_what_they_cannot_be(tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x.txt").write_text("x")
    with pytest.raises(CaseError, match="not empty"):
        Case.create(tmp_path / "full", "T")
    with pytest.raises(CaseError, match="is not a case"):
        Case.open(tmp_path / "full")
    case = Case.create(tmp_path / "case", "T")
    with pytest.raises(CaseError, match="inside the case"):
        export_case(case, tmp_path / "case" / "p.zip")
    done = run_process("analyze", tmp_path / "full", "--case", tmp_path / "full")
    assert done.returncode == 2 and "not a case folder" in done.stderr
    usage = run_process("case", "verify", tmp_path / "nothing")
    assert usage.returncode == 2
    assert AuditLog(tmp_path / "none.jsonl").read().intact


def test_evidence_is_copied_only_when_asked_and_removed_with_a_reason(tmp_path):
    photo = tmp_path / "photo.png"
    Image.fromarray(np.full((8, 8, 3), 7, np.uint8)).save(photo)
    before = photo.read_bytes()
    assert run_process("case", "new", tmp_path / "case", "--title", "Copies").returncode == 0
    plain = run_process("case", "add", tmp_path / "case", photo)
    assert plain.returncode == 0 and "1 file(s) added" in plain.stderr
    assert not (tmp_path / "case" / "evidence").exists()  # nothing copied unless asked
    again = run_process("case", "add", tmp_path / "case", photo, "--copy")
    assert "0 file(s) added" in again.stderr  # already listed with the same content
    other = tmp_path / "other.png"
    Image.fromarray(np.full((8, 8, 3), 9, np.uint8)).save(other)
    copied = run_process("case", "add", tmp_path / "case", other, "--copy")
    assert copied.returncode == 0 and "copied to evidence/" in copied.stderr
    copy = next((tmp_path / "case" / "evidence").iterdir())
    assert copy.read_bytes() == other.read_bytes() and photo.read_bytes() == before
    removed = run_process(
        "case", "remove", tmp_path / "case", str(photo), "--reason", "duplicate of exhibit 3"
    )
    assert removed.returncode == 0
    case = Case.open(tmp_path / "case", read_only=True)
    assert [item.path for item in case.evidence()] == [str(other)]
    last = case.chain().entries[-1]
    assert last["kind"] == "evidence-removed" and last["data"]["reason"] == "duplicate of exhibit 3"
    other.unlink()  # the original gone: the copy in the case still verifies
    assert verify(tmp_path / "case").intact
    assert run_process("case", "remove", tmp_path / "case", str(photo), "--reason", "x").returncode == 2
