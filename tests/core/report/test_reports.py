import json
from importlib import resources

import jsonschema
import pytest
from PIL import Image
from pypdf import PdfReader

from dinolizer_gui.core.io.hashing import sha256_of_file
from tests import factories
from tests.cli_run import analyze_args, run_cli

CASE = ("--case", "2026-0142", "--analyst", "A. Examiner", "--organisation", "Desk", "--notes", "by e-mail")


@pytest.fixture()
def evidence(tmp_path):
    folder = tmp_path / "evidence"
    folder.mkdir()
    for index in range(2):
        factories.blocky_photo(folder / f"photo{index}.png", 300, 260, seed=index)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 nope")
    return folder


def _schema():
    return json.loads(resources.files("dinolizer_gui").joinpath("core/report/schema.json").read_text())


def test_pdf_and_json_reports_carry_hashes_models_and_thresholds(weights, evidence, tmp_path):
    out = tmp_path / "out"
    given = ("--report", "pdf", "--report", "json", "--report", "html", "--threshold", "0.6")
    assert run_cli(*analyze_args(weights, evidence, out, *CASE, *given)).code == 3
    report = json.loads((out / "report.json").read_text())
    jsonschema.validate(report, _schema())
    text = "\n".join(page.extract_text() for page in PdfReader(out / "report.pdf").pages)
    for image in ("photo0.png", "photo1.png"):
        digest = sha256_of_file(evidence / image)
        assert text.count(digest) >= 2  # at analysis and at export
    assert "broken.jpg" in text and "not a recognised image format" in text
    for expected in (
        "DinoLizer",
        "DeCLIP",
        "2026-0142",
        "A. Examiner",
        "0.5947",
        "CocoGlide",
        "pixel threshold 0.6",
        "Limitations",
        f"{report['summary']['flagged']} flagged",
    ):
        assert expected in text, expected
    assert report["summary"]["errors"] == 1 and report["summary"]["hash_mismatches"] == 0
    ok = [e for e in report["images"] if e["status"] == "ok"]
    assert all(e["hash_verified"] for e in ok)
    for entry in ok:
        for result in entry["models"].values():
            assert (out / result["heatmap"]).is_file()
            assert Image.open(out / result["mask"]).size == (entry["width"], entry["height"])
        assert (out / entry["agreement"]["image"]).is_file()
    html = (out / "report.html").read_text()
    assert sha256_of_file(evidence / "photo0.png") in html and "agreement" in html


def test_a_file_changed_after_analysis_is_reported_as_a_hash_mismatch(weights, evidence, tmp_path):
    out = tmp_path / "out"
    run_cli(*analyze_args(weights, evidence, out, *CASE))
    factories.blocky_photo(evidence / "photo1.png", 300, 260, seed=9)  # tampered after the analysis
    from dinolizer_gui.core.report.content import CaseInfo, write_reports

    (pdf, report_json), _ = write_reports(out, ["pdf", "json"], CaseInfo("2026-0142"))
    report = json.loads(report_json.read_text())
    tampered = next(e for e in report["images"] if e["file_name"] == "photo1.png")
    assert tampered["hash_verified"] is False and "MISMATCH" in tampered["hash_problem"]
    assert tampered["sha256_at_export"] == sha256_of_file(evidence / "photo1.png") != tampered["sha256"]
    assert report["summary"]["hash_mismatches"] == 1
    text = "\n".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert "HASH MISMATCH" in text


def test_same_inputs_give_the_same_json_and_images(weights, evidence, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1795000000")
    first, second, stored = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for out in (first, second):
        run_cli(
            *analyze_args(weights, evidence, out, *CASE, "--report", "json", "--report", "pdf", "--no-cache")
        )
    for _ in range(2):  # the second run is served from the results store
        run_cli(*analyze_args(weights, evidence, stored, *CASE, "--report", "json", "--replace"))
    strip = lambda path: path.read_text().replace(str(path.parent), "OUT")  # noqa: E731
    assert strip(first / "report.json") == strip(second / "report.json")
    assert (first / "results.json").read_text() == (second / "results.json").read_text()
    pngs = sorted(p.relative_to(first) for p in first.rglob("*.png"))
    assert pngs and all(
        (first / p).read_bytes() == (second / p).read_bytes() == (stored / p).read_bytes() for p in pngs
    )
    served = json.loads((stored / "report.json").read_text())["images"]
    assert all(m["cached"] for e in served if e["status"] == "ok" for m in e["models"].values())
    assert (first / "report.pdf").read_bytes() == (second / "report.pdf").read_bytes()
