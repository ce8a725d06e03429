"""Trust, round two: evidence never skipped in silence, no file outside the outputs touched, results that
cannot mix, a start that cannot fail on bad state, batches that scale, names that cannot pass for others.
Each test here failed on the code before the fix (issue 20). The results store's own checks are in
tests/core/store/test_store.py."""

import json
import os
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dinolizer_gui.core.engine.analysis import ImageOutcome
from dinolizer_gui.core.errors import OutputError
from dinolizer_gui.core.evaluation.ground_truth import read_mask
from dinolizer_gui.core.io.images import ImageLoadError, load_image
from dinolizer_gui.core.io.outputs import claim_output_folder
from dinolizer_gui.core.models import manager
from dinolizer_gui.core.report import results_folder
from dinolizer_gui.core.session.batch import BatchItem, make_items
from dinolizer_gui.core.session.settings import load_settings
from tests import factories
from tests.cli_run import analyze_args, run_cli, weights_args

DECLIP = ("declip",)  # the model these runs use


def _results(out):
    return json.loads((Path(out) / "results.json").read_text(encoding="utf-8"))


# --- evidence never skipped in silence -----------------------------------------------------------


def _beyond_path_max(root: Path) -> Path:
    """A folder whose path is longer than the system allows (made step by step, relative to its parent)."""
    descriptor = os.open(root, os.O_RDONLY)
    try:
        for _ in range(24):  # 24 x 200 characters: beyond Linux's 4096
            os.mkdir("d" * 200, dir_fd=descriptor)
            inner = os.open("d" * 200, os.O_RDONLY, dir_fd=descriptor)
            os.close(descriptor)
            descriptor = inner
    finally:
        os.close(descriptor)
    return root / "/".join(["d" * 200] * 24)


@pytest.mark.skipif(os.name != "posix", reason="PATH_MAX is a POSIX limit")
def test_a_folder_that_cannot_be_read_is_an_error_row_never_skipped(weights, tmp_path):
    drop = tmp_path / "drop"
    factories.blocky_photo(drop / "a.png", 120, 96)
    _beyond_path_max(drop / "deep" if (drop / "deep").mkdir() is None else drop)
    items = make_items([drop])
    problems = [item for item in items if item.problem]
    assert [item.path for item in items if not item.problem] == [str(drop / "a.png")]
    assert problems and "could not be read" in problems[0].problem
    assert "File name too long" in problems[0].problem
    code, _, err = run_cli(*analyze_args(weights, drop, tmp_path / "out", models=DECLIP))
    results = _results(tmp_path / "out")
    assert code == 3 and results["summary"]["error"] == 1 and results["summary"]["ok"] == 1
    assert "1 of 2 images analysed" in err


def test_links_out_of_the_folder_dropped_are_listed_not_followed_unless_asked(weights, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    secret = factories.blocky_photo(elsewhere / "secret.png", 120, 96)
    factories.blocky_photo(elsewhere / "pictures" / "holiday.png", 120, 96, seed=1)
    drop = tmp_path / "drop"
    factories.blocky_photo(drop / "own.png", 120, 96, seed=2)
    (drop / "link.png").symlink_to(secret)
    (drop / "pics").symlink_to(elsewhere / "pictures")
    (drop / "inside.png").symlink_to(drop / "own.png")  # a link that stays inside is followed
    items = {Path(item.path).name: item for item in make_items([drop])}
    assert set(items) == {"own.png", "inside.png", "link.png", "pics"}
    assert "a link out of" in items["link.png"].problem and str(secret) in items["link.png"].problem
    assert "not followed" in items["pics"].problem and not items["inside.png"].problem
    code = run_cli(*analyze_args(weights, drop, tmp_path / "out", models=DECLIP)).code
    by_name = {Path(e["path"]).name: e for e in _results(tmp_path / "out")["images"]}
    assert code == 3 and by_name["link.png"]["status"] == "error" and by_name["link.png"]["sha256"] is None
    assert by_name["pics"]["status"] == "error"
    followed = run_cli(*analyze_args(weights, drop, tmp_path / "followed", "--follow-links", models=DECLIP))
    assert followed.code == 0
    names = {Path(e["path"]).name for e in _results(tmp_path / "followed")["images"]}
    assert {"link.png", "holiday.png"} <= names


# --- results that cannot mix ---------------------------------------------------------------------


def test_an_out_holding_an_earlier_run_is_refused_unless_replaced(weights, tmp_path):
    out = tmp_path / "out"
    first = factories.blocky_photo(tmp_path / "a" / "photo.png", 120, 96)
    second = factories.blocky_photo(tmp_path / "b" / "photo.png", 120, 96, seed=5)
    assert run_cli(*analyze_args(weights, first, out, "--report", "html", models=DECLIP)).code == 0
    (out / "notes.txt").write_text("the analyst's own file")
    code, _, err = run_cli(*analyze_args(weights, second, out, "--report", "html", models=DECLIP))
    assert code == 2
    assert "holds an earlier run's outputs" in err
    replaced = run_cli(*analyze_args(weights, second, out, "--report", "html", "--replace", models=DECLIP))
    assert replaced.code == 0
    report = (out / "report.html").read_text()
    sha = _results(out)["images"][0]["sha256"]
    assert sha in report and load_image(second).sha256 == sha and load_image(first).sha256 not in report
    assert (out / "notes.txt").read_text() == "the analyst's own file"  # only the app's own files go


def test_a_second_run_into_the_same_out_fails_at_once(weights, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    image = factories.blocky_photo(tmp_path / "x.png", 120, 96)
    lock = claim_output_folder(out)  # another run holds it
    try:
        code, _, err = run_cli(*analyze_args(weights, image, out, models=DECLIP))
        assert code == 2
    finally:
        lock.release()
    assert "another run is writing into --out" in err
    assert not (out / "results.json").exists()


def test_a_killed_runs_hidden_temporary_file_is_removed_by_the_next_run(weights, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    stale = out / ".report.pdf.4242.deadbeef.tmp"  # what write_atomic leaves when killed mid-write
    stale.write_bytes(b"%PDF half")
    image = factories.blocky_photo(tmp_path / "x.png", 120, 96)
    assert run_cli(*analyze_args(weights, image, out, models=DECLIP)).code == 0
    assert not stale.exists()


def test_results_json_is_rewritten_at_checkpoints_so_a_batch_costs_linear_time(tmp_path, monkeypatch):
    writes = []
    real = results_folder.write_json_atomic
    monkeypatch.setattr(
        results_folder, "write_json_atomic", lambda *a, **k: (writes.append(1), real(*a, **k))
    )
    writer = results_folder.ResultsWriter(tmp_path / "out", {})
    for index in range(200):
        writer.add(BatchItem(f"{index}.png"), ImageOutcome(f"{index}.png", error="unreadable"))
    assert len(writes) == 8  # after images 1, 2, 4, …, 128 (the old writer: 200, a quadratic batch)
    journal = (tmp_path / "out" / "results.jsonl").read_text().splitlines()
    assert len(journal) == 200 and json.loads(journal[-1])["path"] == "199.png"  # nothing is lost meanwhile
    writer.finish()
    assert _results(tmp_path / "out")["summary"] == {"images": 200, "ok": 0, "error": 200, "skipped": 0}


# --- a start that cannot fail on bad state -------------------------------------------------------


@pytest.mark.parametrize(
    "saved, problem",
    [
        ("[]", "not a JSON object"),
        ('{"thresholds": null}', "thresholds was null"),
        ('{"opacity": "x"}', 'opacity was "x"'),
        ('{"recent_files": 5}', "recent_files was 5"),
        ('{"device": "tpu", "stride": 0}', "device was"),
    ],
)
def test_settings_of_the_wrong_shape_fall_back_field_by_field(tmp_path, saved, problem):
    (tmp_path / "settings.json").write_text(saved)
    settings = load_settings(tmp_path)
    assert any(problem in text for text in settings.problems)
    assert settings.thresholds == {"dinolizer": 0.5, "declip": 0.5} and 0 <= settings.opacity <= 1
    assert isinstance(settings.recent_files, list) and settings.device in ("auto", "cpu", "cuda", "mps")


def test_analyze_report_with_broken_settings_writes_its_report(weights, tmp_path, monkeypatch):
    config = tmp_path / "config"
    config.mkdir()
    (config / "settings.json").write_text('{"analyst": 7, "organisation": null}')
    monkeypatch.setenv("DINOLIZER_GUI_CONFIG", str(config))
    out = tmp_path / "out"
    image = factories.blocky_photo(tmp_path / "x.png", 120, 96)
    assert run_cli(*analyze_args(weights, image, out, "--report", "json", models=DECLIP)).code == 0
    assert json.loads((out / "report.json").read_text())["case"]["analyst"] == ""


def test_a_read_only_store_is_found_before_any_model_runs(weights, tmp_path, monkeypatch):
    from dinolizer_gui.core.models.registry import REGISTRY
    from dinolizer_gui.core.store import results

    results.ResultStore(tmp_path / "store")  # an existing store, then read-only
    real = sqlite3.connect
    monkeypatch.setattr(  # the database opens as a read-only file does
        results.sqlite3, "connect", lambda path, **kw: real(f"file:{path}?mode=ro", uri=True, **kw)
    )
    built = []
    monkeypatch.setattr(REGISTRY["declip"].__class__, "build", lambda self, files: built.append(1))
    image = factories.blocky_photo(tmp_path / "x.png", 120, 96)
    store = ("--store", tmp_path / "store")
    code, _, err = run_cli(*analyze_args(weights, image, tmp_path / "out", *store, models=DECLIP))
    assert code == 2 and "cannot use the results store" in err and "readonly" in err
    assert "--no-cache" in err and not built


# --- names that cannot pass for others -----------------------------------------------------------


def test_a_right_to_left_override_never_shows_a_name_as_another(weights, tmp_path):
    spoof = factories.blocky_photo(tmp_path / "in" / "\u202e1000_GMI\u202c.png", 120, 96)
    factories.blocky_photo(tmp_path / "in" / "IMG_0001.png", 120, 96, seed=3)
    out = tmp_path / "out"
    reports = ("--report", "html", "--report", "pdf")
    code, _, err = run_cli(*analyze_args(weights, spoof.parent, out, *reports, models=DECLIP, quiet=False))
    assert code == 0
    assert "\u202e" not in err and "\\u202e1000_GMI\\u202c.png" in err
    entry = next(e for e in _results(out)["images"] if "GMI" in e["path"])
    assert entry["path"].endswith("\\u202e1000_GMI\\u202c.png") and entry["path_bytes"]
    html = (out / "report.html").read_text()
    assert "\u202e" not in html and "\\u202e1000_GMI\\u202c.png" in html


# --- evaluate: one documented mask rule ----------------------------------------------------------


def _mask(path, array, mode=None):
    Image.fromarray(array, mode).save(path) if mode else Image.fromarray(array).save(path)
    return path


def test_masks_are_read_by_one_rule_and_an_ambiguous_one_is_an_error(tmp_path):
    region = np.zeros((8, 10), bool)
    region[2:5, 3:7] = True
    zero_one = _mask(tmp_path / "01.png", region.astype(np.uint8))
    assert np.array_equal(read_mask(zero_one, 8, 10).mask, region)  # read as authentic before
    palette = Image.fromarray(region.astype(np.uint8), "L").convert("P")
    palette.putpalette([0, 0, 0, 255, 255, 255] + [0] * 762)
    palette.save(tmp_path / "palette.png")
    assert np.array_equal(read_mask(tmp_path / "palette.png", 8, 10).mask, region)
    sixteen = _mask(tmp_path / "16.png", region.astype(np.uint16) * 65535)
    assert np.array_equal(read_mask(sixteen, 8, 10).mask, region)
    rgba = np.zeros((8, 10, 4), np.uint8)
    rgba[..., 3] = region * 255  # the region drawn in the alpha channel: all manipulated before, silently
    with pytest.raises(ImageLoadError, match="transparency"):
        read_mask(_mask(tmp_path / "alpha.png", rgba), 8, 10)
    assert "0/1 mask" in read_mask(zero_one, 8, 10).warnings[0]


def test_evaluate_says_error_for_an_unreadable_mask_and_refuses_masks_in_the_images_folder(weights, tmp_path):
    images, masks = tmp_path / "images", tmp_path / "masks"
    factories.blocky_photo(images / "a.png", 120, 96)
    masks.mkdir()
    rgba = np.zeros((96, 120, 4), np.uint8)
    rgba[:40, :40, 3] = 255
    Image.fromarray(rgba).save(masks / "a.png")
    common = ["--out", tmp_path / "eval", "--device", "cpu", *weights_args(weights, DECLIP)]
    code, _, err = run_cli("evaluate", images, "--masks", masks, *common)
    assert code == 3
    assert "a.png: error (ground-truth mask" in err and ": done" not in err
    code, _, err = run_cli("evaluate", images, "--masks", images, *common)
    assert code == 2
    assert "is the images folder itself" in err


# --- every conversion said -----------------------------------------------------------------------


def test_a_32_bit_tiff_a_tiff_orientation_and_a_lab_tiff_are_said(tmp_path):
    values = (np.arange(40 * 30).reshape(30, 40) * 1_000_000).astype(np.int32)
    Image.fromarray(values, "I").save(tmp_path / "i32.tif")
    loaded = load_image(tmp_path / "i32.tif")
    assert "32-bit integer samples rescaled" in loaded.warnings[0] and (loaded.rgb == 255).mean() < 0.01
    Image.fromarray(np.zeros((20, 40, 3), np.uint8)).save(tmp_path / "turned.tif", tiffinfo={274: 6})
    turned = load_image(tmp_path / "turned.tif")
    assert turned.rgb.shape == (40, 20, 3) and any("orientation 6 applied" in w for w in turned.warnings)
    Image.new("LAB", (8, 8), (50, 10, 10)).save(tmp_path / "lab.tif")
    assert "LAB converted to RGB" in load_image(tmp_path / "lab.tif").warnings[0]


def test_a_png_with_a_large_icc_profile_is_read_with_its_note(tmp_path):
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(
        tmp_path / "icc.png", icc_profile=os.urandom(2_000_000)
    )
    assert any("ICC colour profile" in note for note in load_image(tmp_path / "icc.png").warnings)


def test_a_sliver_is_refused_before_thousands_of_windows(weights, tmp_path):
    Image.fromarray(np.zeros((1000, 1, 3), np.uint8)).save(tmp_path / "sliver.png")  # 1 x 1000 px
    sliver = analyze_args(
        weights, tmp_path / "sliver.png", tmp_path / "out", models=("dinolizer",), quiet=False
    )
    code = run_cli(*sliver).code
    assert code == 3 and "too thin to analyse" in _results(tmp_path / "out")["images"][0]["error"]


# --- weights ---------------------------------------------------------------------------------------


def test_a_failed_import_leaves_the_installed_file_and_its_record_as_they_were(
    weights, tmp_path, monkeypatch
):
    files, _ = weights
    folder = tmp_path / "weights"
    manager.import_file(files["declip"], folder)
    before = manager.status(folder)

    def in_use(staging, target):  # Windows: the installed file is open in another program
        raise OutputError(target, "cannot be written: the file is in use")

    monkeypatch.setattr(manager, "commit", in_use)
    altered = tmp_path / "ViT_layer20_conv-20_cocosd.pth"
    altered.write_bytes(files["declip"].read_bytes() + b"\0")
    with pytest.raises(OutputError):
        manager.import_file(altered, folder)
    after = manager.status(folder, check_hashes=True, recompute=True)  # `models verify`
    assert [(r.state, r.sha256) for r in after] == [(r.state, r.sha256) for r in before]
    assert all(row.state != "corrupt" for row in after)


def test_a_huge_file_named_like_a_checkpoint_is_refused_before_it_is_hashed(tmp_path, monkeypatch):
    huge = tmp_path / "epoch=36_val_loss=0.2130.ckpt"
    with open(huge, "wb") as handle:
        handle.truncate(20_000_000_000)  # 20 GB, sparse
    monkeypatch.setattr(manager, "sha256_of_file", lambda path: pytest.fail("hashed before refused"))
    with pytest.raises(manager.ModelManagerError, match="refused before reading it"):
        manager.import_file(huge, tmp_path / "weights")


# --- messages, never tracebacks --------------------------------------------------------------------


def test_an_unreachable_cluster_is_a_message(weights, tmp_path, monkeypatch):
    pytest.importorskip("ray")  # the [cluster] extra: ./setup.sh installs it, as CI does
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:9")  # nothing listens on the discard port
    image = factories.blocky_photo(tmp_path / "x.png", 120, 96)
    code, _, err = run_cli(*analyze_args(weights, image, tmp_path / "out", "--cluster", "ray", models=DECLIP))
    assert code == 2 and "cannot join the Ray cluster at 127.0.0.1:9" in err and "Traceback" not in err


def test_an_out_path_near_the_system_limit_is_a_message(weights, tmp_path):
    out = tmp_path / ("o" * 240)  # a folder name the system allows; the temporary names beside it do not
    image = factories.blocky_photo(tmp_path / "x.png", 120, 96)
    code, _, err = run_cli(*analyze_args(weights, image, out, models=DECLIP))
    assert code in (0, 2, 4) and "Traceback" not in err
    assert code == 0 or "File name too long" in err


def test_a_file_missing_at_export_is_said_missing_not_a_hash_mismatch(weights, tmp_path):
    from dinolizer_gui.core.report.content import CaseInfo, build_report

    photo = factories.blocky_photo(tmp_path / "in" / "x.png", 120, 96)
    out = tmp_path / "out"
    assert run_cli(*analyze_args(weights, photo, out, models=DECLIP)).code == 0
    photo.unlink()
    report = build_report(out, CaseInfo())
    entry = report["images"][0]
    assert entry["hash_problem"].startswith("FILE MISSING") and entry["hash_verified"] is None
    assert report["summary"]["hash_mismatches"] == 0 and report["summary"]["missing_at_export"] == 1
