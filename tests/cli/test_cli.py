import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from dinolizer_gui.core.io.hashing import sha256_of_file
from dinolizer_gui.core.io.images import load_image
from dinolizer_gui.core.maps.render import (
    DEFAULT_COLORMAP,
    agreement_layer,
    colormap_rgb,
    composite,
    probability_levels,
)
from tests import factories, reference
from tests.cli_run import analyze_args, run_cli, run_process


@pytest.fixture()
def odd_folder(tmp_path):
    folder = tmp_path / "case"
    (folder / "sub").mkdir(parents=True)
    (folder / ".cache").mkdir()
    factories.blocky_photo(folder / "a.png", 300, 260)
    exif = Image.Exif()
    exif[0x0112] = 6
    factories.blocky_photo(folder / "sub" / "rotated.jpg", 320, 240, seed=1, exif=exif, quality=95)
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "fake.png").write_text("not a png")
    (folder / "README.txt").write_text("case notes, not an image")
    factories.blocky_photo(folder / ".cache" / "hidden.png", 64, 64)
    factories.blocky_photo(folder / ".hidden.png", 64, 64)
    os.symlink(folder, folder / "sub" / "loop")
    return folder


def test_folder_of_odd_files_gives_a_result_or_a_clear_error_each_and_exit_3(weights, odd_folder, tmp_path):
    files, _ = weights
    out = tmp_path / "out"
    run = run_cli(*analyze_args(weights, odd_folder, out, "--save-prob"))
    assert run.code == 3
    results = json.loads((out / "results.json").read_text())
    by_name = {os.path.basename(e["path"]): e for e in results["images"]}
    assert sorted(by_name) == [
        "a.png",
        "empty.jpg",
        "fake.png",
        "rotated.jpg",
    ]  # no txt, hidden or loop entries
    assert by_name["empty.jpg"]["status"] == "error" and "empty" in by_name["empty.jpg"]["error"]
    assert "not a recognised image format" in by_name["fake.png"]["error"]
    rotated = by_name["rotated.jpg"]
    assert rotated["status"] == "ok" and (rotated["width"], rotated["height"]) == (240, 320)
    assert any("EXIF orientation 6" in w for w in rotated["warnings"])
    for name in ("dinolizer", "declip"):
        model = rotated["models"][name]
        mask = np.asarray(Image.open(out / model["mask"]))
        probability = np.load(out / model["probability_map"])
        assert mask.shape == probability.shape == (320, 240)
        assert np.array_equal(mask == 255, probability >= 0.5)
        assert model["marked_area"] == pytest.approx((probability >= 0.5).mean(), abs=1e-6)
        assert Image.open(out / model["overlay"]).size == (240, 320)
        heatmap = np.asarray(Image.open(out / model["heatmap"]).convert("RGB"))
        assert np.array_equal(heatmap, colormap_rgb(DEFAULT_COLORMAP)[probability_levels(probability)])
    first, second = (
        np.load(out / rotated["models"][n]["probability_map"]) >= 0.5 for n in ("dinolizer", "declip")
    )
    expected = composite(
        load_image(odd_folder / "sub" / "rotated.jpg").rgb, agreement_layer(first, second), 0.75
    )
    assert np.array_equal(np.asarray(Image.open(out / rotated["agreement"]["image"])), expected)
    assert results["summary"] == {"images": 4, "ok": 2, "error": 2, "skipped": 0}
    assert results["models"]["dinolizer"]["checkpoints"][0]["sha256"] == sha256_of_file(files["release"])
    assert results["parameters"]["stride"] == 128 and results["device"]["used"] == "CPU"
    assert "Traceback" not in run.err


def test_analyze_reproduces_the_official_maps(weights, tmp_path):
    _, sources = weights
    image_path = factories.blocky_photo(tmp_path / "evidence.png", 610, 520, seed=4)
    out = tmp_path / "out"
    precision = ("--precision", "float32")  # the official pipelines compute in float32 on the CPU
    assert run_cli(*analyze_args(weights, image_path, out, "--save-prob", *precision)).code == 0
    entry = json.loads((out / "results.json").read_text())["images"][0]
    rgb = np.asarray(Image.open(image_path).convert("RGB"))
    expected = {
        "dinolizer": reference.dinolizer_map(factories.unmerged_dinolizer(sources["release"]), rgb),
        "declip": reference.declip_map(sources["declip"], rgb),
    }
    for name, ref in expected.items():
        got = np.load(out / entry["models"][name]["probability_map"])
        assert np.abs(got - ref).mean() <= 2e-3
        assert reference.iou(got >= 0.5, ref >= 0.5) >= 0.98


def test_a_second_run_over_stored_maps_reads_no_weights_and_writes_the_same_results(
    weights, tmp_path, monkeypatch
):
    folder = tmp_path / "case"
    folder.mkdir()
    for seed in range(3):
        factories.blocky_photo(folder / f"img{seed}.png", 200, 160, seed=seed)
    assert run_cli(*analyze_args(weights, folder, tmp_path / "first")).code == 0

    def no_weights_read(*args, **kwargs):
        raise AssertionError("a model was built although every map was stored")

    monkeypatch.setattr("dinolizer_gui.core.session.workspace.load_localizer", no_weights_read)
    assert run_cli(*analyze_args(weights, folder, tmp_path / "second")).code == 0
    first, second = (json.loads((tmp_path / run / "results.json").read_text()) for run in ("first", "second"))
    assert second["models"] == first["models"]  # weights, verification, thresholds: all as recorded
    for before, after in zip(first["images"], second["images"], strict=True):
        for name, result in after["models"].items():
            assert result["cached"] and result["score"] == before["models"][name]["score"]
            mask = result["mask"]
            assert (tmp_path / "second" / mask).read_bytes() == (tmp_path / "first" / mask).read_bytes()


def test_threshold_and_stride_are_applied_and_recorded(weights, tmp_path):
    image_path = factories.blocky_photo(tmp_path / "x.png", 700, 504)
    out = tmp_path / "out"
    given = ("--threshold", "0.8", "--stride", "256", "--save-prob")
    assert run_cli(*analyze_args(weights, image_path, out, *given, models=("dinolizer",))).code == 0
    results = json.loads((out / "results.json").read_text())
    model = results["images"][0]["models"]["dinolizer"]
    assert model["threshold"] == 0.8 and model["windows"] == 2
    assert results["parameters"]["official_geometry"] is False
    probability = np.load(out / model["probability_map"])
    assert np.array_equal(np.asarray(Image.open(out / model["mask"])) == 255, probability >= 0.8)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--model", "nosuch"], "unknown model 'nosuch'"),
        (["--weights", "dinolizer"], "--weights takes NAME=FILE"),
        (["--weights", "dinolizer=/does/not/exist.ckpt"], "weights file for dinolizer not found"),
        (["--model", "declip"], "model declip has no weights"),
        (["--threshold", "1.5", "--model", "dinolizer"], "--threshold must lie between 0 and 1"),
    ],
)
def test_usage_errors_exit_2_with_a_message(weights, tmp_path, args, message):
    image_path = factories.blocky_photo(tmp_path / "x.png", 64, 64)
    empty_store = tmp_path / "no-weights"
    models = () if "--weights" in args else ("dinolizer",)
    run = run_cli(
        *analyze_args(
            weights, image_path, tmp_path / "out", "--weights-dir", empty_store, *args, models=models
        )
    )
    assert run.code == 2
    assert message in run.err and "Traceback" not in run.err


def test_a_checkpoint_in_an_unknown_layout_is_a_usage_error_listing_keys(tmp_path):
    import torch

    bad = tmp_path / "mystery.pth"
    torch.save({"backbone.w": torch.zeros(1)}, bad)
    image = factories.blocky_photo(tmp_path / "x.png", 64, 64)
    run = run_cli(*analyze_args(None, image, tmp_path / "o", "--weights", f"dinolizer={bad}", models=()))
    assert run.code == 2 and "backbone.w" in run.err


def test_installed_weights_are_used_without_the_weights_option(weights, tmp_path):
    files, _ = weights
    store = tmp_path / "store"
    store.mkdir()
    (store / files["release"].name).symlink_to(files["release"])
    out = tmp_path / "out"
    image = factories.blocky_photo(tmp_path / "x.png", 64, 64)
    assert run_cli(*analyze_args(None, image, out, "--weights-dir", store, models=())).code == 0
    assert list(json.loads((out / "results.json").read_text())["models"]) == ["dinolizer"]


def test_console_entry_point_runs_without_a_traceback(tmp_path):
    result = run_process(
        "analyze", tmp_path / "none.png", "--out", tmp_path / "o", "--weights-dir", tmp_path, timeout=120
    )
    assert result.returncode == 2
    assert "no model has weights" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "word, hint", [("analyse", "did you mean `dinolizer-gui analyze`"), ("xyzzy", "commands:")]
)
def test_a_misspelt_command_is_a_usage_error_not_an_image_path(tmp_path, monkeypatch, word, hint):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(word, "photo.jpg", "--out", "o")
    assert code == 2
    assert f"{word!r} is neither a command nor an existing file or folder" in err and hint in err


NO_TORCH = """
import json, sys
from dinolizer_gui.cli import main
codes = []
for argv in json.loads(sys.argv[1]):
    try:
        codes.append(main(argv))
    except SystemExit as end:
        codes.append(end.code)
print(json.dumps({"codes": codes, "loaded": [m for m in ("torch", "timm") if m in sys.modules]}))
"""


def test_help_models_list_and_models_verify_never_import_pytorch(weights, tmp_path):
    files, _ = weights
    folder = tmp_path / "weights"
    for name in ("release", "declip", "bfree"):
        assert run_cli("models", "--weights-dir", folder, "import", files[name]).code == 0
    argvs = [
        ["--help"],
        ["analyze", "--help"],
        ["models", "--weights-dir", str(folder), "list"],
        ["models", "--weights-dir", str(folder), "verify"],
    ]
    result = subprocess.run(
        [sys.executable, "-c", NO_TORCH, json.dumps(argvs)], capture_output=True, text=True, timeout=120
    )
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["codes"] == [0, 0, 0, 0] and "unofficial" in result.stdout + result.stderr
    assert seen["loaded"] == []


def test_help_lists_the_commands(capsys):
    with pytest.raises(SystemExit) as end:
        run_cli("--help")
    assert end.value.code == 0 and "analyze" in capsys.readouterr().out


def test_the_window_counter_is_drawn_on_a_terminal_only(weights, tmp_path):
    image = factories.blocky_photo(tmp_path / "a.png", 300, 260)
    telling_progress = {"models": ("dinolizer",), "quiet": False}
    code, _, logged = run_cli(*analyze_args(weights, image, tmp_path / "log", **telling_progress))
    assert code == 0
    assert "a.png: done" in logged and "windows" not in logged and "\r" not in logged
    code, _, drawn = run_cli(
        *analyze_args(weights, image, tmp_path / "terminal", "--no-cache", **telling_progress), terminal=True
    )
    assert code == 0
    assert "\r  dinolizer: windows" in drawn
