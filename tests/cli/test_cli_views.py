"""`analyze --views`: the classic instruments' pictures beside each image's maps (8-bit grey, the displayed
size, exactly what the instrument computes on the file), their record in results.json as the issue gives it
(validated by the report schema), a figure each in the PDF and HTML reports, usage errors, a view that fails
recorded without stopping the run, and `--replace` knowing the views' files as the run's own."""

from __future__ import annotations

import io
import json
from importlib import resources

import jsonschema
import numpy as np
import pytest
from PIL import Image
from pypdf import PdfReader

from dinolizer_gui.core.instruments import INSTRUMENTS, SourceFacts, compute
from dinolizer_gui.core.io.images import OUTPUT_PNG_KEY, load_image
from dinolizer_gui.core.io.outputs import IMAGE_OUTPUT
from dinolizer_gui.core.progress import run_to_end
from dinolizer_gui.core.report import views as report_views
from tests.cli_run import analyze_args, run_cli

QUALITIES = list(range(50, 101, 5))
DINOLIZER = ("dinolizer",)


def _photo(path, seed=0, height=200, width=264, quality=90):
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (height // 8, width // 8, 3), dtype=np.uint8)
    picture = np.kron(base, np.ones((8, 8, 1), np.uint8))
    picture[40:136, 40:136] = picture[8:104, 136:232]  # a 96 px area copied within the image
    Image.fromarray(picture).save(path, quality=quality)
    return path


def _schema():
    return json.loads(resources.files("dinolizer_gui").joinpath("core/report/schema.json").read_text())


@pytest.fixture()
def evidence(tmp_path):
    folder = tmp_path / "evidence"
    folder.mkdir()
    return _photo(folder / "suspect.jpg")


def test_views_write_their_pictures_record_and_report_figures(weights, evidence, tmp_path):
    out = tmp_path / "out"
    asked = (
        "--views", "ela,noise,ghost,copymove", "--view-param", "ela.quality=75",
        "--view-param", "copymove.min_distance=20", "--report", "json", "--report", "pdf", "--report", "html",
    )  # fmt: skip
    assert run_cli(*analyze_args(weights, evidence, out, *asked, models=DINOLIZER)).code == 0
    entry = json.loads((out / "results.json").read_text())["images"][0]
    views = entry["views"]
    assert list(views) == ["ela", "noise", "ghost", "copymove"]
    image = load_image(evidence)
    source = SourceFacts.from_file("JPEG", evidence.read_bytes())
    params = {"ela": {"quality": 75}, "noise": {}, "ghost": {}, "copymove": {"min_distance": 20}}
    for name, given in params.items():
        result = run_to_end(compute(name, image.rgb, given, source))
        record = views[name]
        titles = [INSTRUMENTS[name].panel_title(given, key) for key in ("png", "sigma_png")]
        assert record["title"] == (
            " · ".join(titles) if name == "noise" else INSTRUMENTS[name].panel_title(given)
        )
        assert record["guide"] == INSTRUMENTS[name].guide.report_line
        for key in result.pictures():
            relative = record["pngs"][QUALITIES.index(int(key[1:]))] if name == "ghost" else record[key]
            assert relative.startswith(entry["models"]["dinolizer"]["mask"].split("/")[0] + "/view_")
            assert IMAGE_OUTPUT.match(relative.split("/")[1])  # --replace and a case's run record know it
            with Image.open(out / relative) as png:
                assert png.mode == "L" and png.size == (image.width, image.height)
                assert OUTPUT_PNG_KEY in png.info  # never taken for evidence
                assert np.array_equal(np.asarray(png), result.picture(key))
    assert views["ela"]["quality"] == 75 and views["ela"]["png"].endswith("view_ela.png")
    noise = views["noise"]
    assert (noise["filter"], noise["block"]) == (3, 32) and noise["sigma_png"].endswith(
        "view_noise_sigma.png"
    )
    ghost = views["ghost"]
    assert ghost["qualities"] == QUALITIES and len(ghost["curve"]) == len(ghost["pngs"]) == 11
    assert ghost["file_quality"] == 90
    clusters = views["copymove"]["clusters"]
    assert len(clusters) == 1 and clusters[0]["matches"] >= 8
    (a, b, tx), (c, d, ty) = clusters[0]["affine"]  # the copy: a shift by (-96, +32), source above
    assert abs(a - 1) < 0.02 and abs(d - 1) < 0.02 and abs(b) < 0.02 and abs(c) < 0.02
    assert abs(tx + 96) < 1.5 and abs(ty - 32) < 1.5

    report = json.loads((out / "report.json").read_text())
    jsonschema.validate(report, _schema())
    assert report["images"][0]["views"] == views
    text = " ".join(" ".join(page.extract_text() for page in PdfReader(out / "report.pdf").pages).split())
    for name in params:
        assert " ".join(views[name]["title"].split()) in text
        assert " ".join(INSTRUMENTS[name].guide.report_line.split()[:6]) in text
    assert "The file's own estimated quality: 90" in text and "Cluster 1:" in text
    html = (out / "report.html").read_text()
    for path in [views["ela"]["png"], views["noise"]["sigma_png"], *ghost["pngs"], views["copymove"]["png"]]:
        assert f"src='{path}'" in html


def test_the_pdf_figure_shows_the_views_picture(weights, evidence, tmp_path):
    out = tmp_path / "out"
    given = ("--views", "noise", "--report", "pdf")
    assert run_cli(*analyze_args(weights, evidence, out, *given, models=DINOLIZER)).code == 0
    entry = json.loads((out / "results.json").read_text())["images"][0]
    with Image.open(out / entry["views"]["noise"]["sigma_png"]) as png:
        sigma = np.asarray(png, np.float32)
    found = []
    for page in PdfReader(out / "report.pdf").pages:
        for embedded in page.images:
            shown = np.asarray(Image.open(io.BytesIO(embedded.data)).convert("L"), np.float32)
            if shown.shape[1] == sigma.shape[1] and shown.shape[0] == sigma.shape[0]:
                found.append(float(np.abs(shown - sigma).mean()))
    assert found and min(found) < 3  # the sigma map, as JPEG in the PDF


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--views", "ela,sepia"], "--views: no view sepia"),
        (["--views", "ela", "--view-param", "ela.quality=40"], "ELA quality must be 50–100"),
        (["--views", "ela", "--view-param", "noise.filter=5"], "noise is not among --views"),
        (["--views", "noise", "--view-param", "noise.filter"], "give VIEW.NAME=VALUE"),
        (["--views", "ghost", "--view-param", "ghost.size=8"], "JPEG ghosts has no parameter size"),
    ],
)
def test_view_usage_errors_exit_2_naming_what_is_wrong(weights, evidence, tmp_path, args, message):
    code, _, err = run_cli(*analyze_args(weights, evidence, tmp_path / "out", *args, models=DINOLIZER))
    assert code == 2
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_a_view_that_fails_is_recorded_and_the_run_goes_on(weights, evidence, tmp_path, monkeypatch):
    real = report_views.compute

    def failing_copy_move(name, rgb, params, source):
        if name == "copymove":
            raise MemoryError("no room for the keypoints")
        return real(name, rgb, params, source)

    monkeypatch.setattr(report_views, "compute", failing_copy_move)
    out = tmp_path / "out"
    given = ("--views", "all", "--report", "json", "--report", "pdf")
    assert run_cli(*analyze_args(weights, evidence, out, *given, models=DINOLIZER)).code == 0
    views = json.loads((out / "results.json").read_text())["images"][0]["views"]
    assert views["copymove"] == {"error": "no room for the keypoints"} and "png" in views["ela"]
    jsonschema.validate(json.loads((out / "report.json").read_text()), _schema())
    text = " ".join(" ".join(page.extract_text() for page in PdfReader(out / "report.pdf").pages).split())
    assert "Copy-move: not computed — no room for the keypoints" in text


def test_an_image_the_models_refuse_still_gets_its_views(weights, tmp_path):
    thin = tmp_path / "thin" / "line.png"
    thin.parent.mkdir()
    Image.fromarray(np.full((5000, 1, 3), 128, np.uint8)).save(thin)  # too thin for a model's window
    out = tmp_path / "out"
    run = run_cli(*analyze_args(weights, thin.parent, out, "--views", "ela,noise", models=DINOLIZER))
    (entry,) = json.loads((out / "results.json").read_text())["images"]
    assert entry["status"] == "error" and run.code != 0
    assert Image.open(out / entry["views"]["ela"]["png"]).size == (1, 5000)


def test_replace_removes_the_views_pictures_of_the_run_before(weights, evidence, tmp_path):
    out = tmp_path / "out"
    assert run_cli(*analyze_args(weights, evidence, out, "--views", "ela", models=DINOLIZER)).code == 0
    folder = next(path for path in out.iterdir() if path.is_dir())
    assert (folder / "view_ela.png").is_file()
    assert run_cli(*analyze_args(weights, evidence, out, "--replace", models=DINOLIZER)).code == 0
    assert (
        not (folder / "view_ela.png").exists()
        and "views" not in json.loads((out / "results.json").read_text())["images"][0]
    )
