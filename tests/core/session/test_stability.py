"""The stability check: variants exactly as defined, the stability map and region labels computed by hand, the
results store serving a second check, and results.json, on a model with a known answer and on the real
pipelines (small official-layout checkpoints)."""

import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from PIL import Image

from dinolizer_gui.core.engine.analysis import AnalysisOptions, ModelRun
from dinolizer_gui.core.io.images import load_image
from dinolizer_gui.core.maps.postprocess import find_regions
from dinolizer_gui.core.maps.stability import StabilityAt, VariantMap, make_variant, on_original_grid
from dinolizer_gui.core.models.localizer import model_runtime
from dinolizer_gui.core.models.registry import load_localizer
from dinolizer_gui.core.progress import Progress, run_to_end
from dinolizer_gui.core.report.results_folder import ResultsWriter
from dinolizer_gui.core.session.batch import BatchRunner, make_items
from dinolizer_gui.core.session.stability import check_stability, plan_text, planned_variants, stored_check
from dinolizer_gui.core.session.thresholds import Thresholds
from dinolizer_gui.core.store.results import ResultStore
from tests.cli_run import analyze_args, run_cli, run_process

ROOT = Path(__file__).resolve().parents[3]
OPTIONS = AnalysisOptions(device="cpu", precision="float32")


@dataclass
class RedModel:
    """A model with a known answer: its map is the red channel / 255. It keeps every image it was given."""

    name: str = (
        "dinolizer"  # its registry entry gives the variants and the store key (a sliding-window model)
    )
    variant: str = "known answer"
    seen: list = field(default_factory=list)
    checkpoints: list = field(default_factory=lambda: [{"sha256": "0" * 64, "file": "red", "path": "red"}])
    load_notes: list = field(default_factory=list)
    pixel_threshold: float = 0.5
    score_threshold: float = 0.5
    score_threshold_source: str = "a test"

    def analyze(self, image, options, runtime=None):
        self.seen.append(image.rgb.copy())
        yield Progress(1, 1)
        red = image.rgb[..., 0].astype(np.float32) / 255.0
        return ModelRun(red, 1, (image.width, image.height), ["red channel"], "cpu", seconds=0.5)

    def release_weight_pages(self) -> int:
        return 0

    def describe(self) -> dict:
        return {"name": self.name}


def _photo(path: Path, size=(600, 570)) -> Path:
    """(Large enough for shift64: a whole 504 px DinoLizer window once cropped by 64 px.)"""
    """A photograph-like image whose red channel crosses 0.5 in smooth shapes (so that JPEG and resizing
    move the mask a little, not everywhere)."""
    width, height = size
    y, x = np.mgrid[0:height, 0:width]
    red = 128 + 100 * np.sin(x / 17.0) * np.cos(y / 23.0)
    rng = np.random.default_rng(4)
    rgb = np.stack([red, 90 + 40 * np.sin(y / 9.0), 60 + 0 * x], axis=-1) + rng.normal(
        0, 6, (height, width, 3)
    )
    Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)).save(path)
    return path


def _check(model, path, store=None):
    image = load_image(path)
    original = run_to_end(model.analyze(image, OPTIONS))
    runtime = model_runtime("dinolizer", OPTIONS)
    return image, run_to_end(check_stability(model, image, original, OPTIONS, runtime, store))


def _pillow_jpeg(rgb: np.ndarray, quality: int) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))


def test_the_variants_the_model_sees_are_exactly_pillows(tmp_path):
    model = RedModel()
    _image, _ = _check(model, _photo(tmp_path / "photo.png", (601, 579)))
    original, *variants = model.seen
    seen = dict(zip(["resize75", "shift64", "jpeg90", "jpeg75"], variants, strict=True))  # cheapest first
    assert np.array_equal(original, np.asarray(Image.open(tmp_path / "photo.png").convert("RGB")))
    resized = Image.fromarray(original).resize(
        (round(0.75 * 601), round(0.75 * 579)), Image.Resampling.BICUBIC
    )
    assert seen["resize75"].shape == (434, 451, 3)  # round(434.25), round(450.75)
    assert np.array_equal(seen["resize75"], np.asarray(resized))
    assert np.array_equal(seen["jpeg90"], _pillow_jpeg(original, 90))
    assert np.array_equal(seen["jpeg75"], _pillow_jpeg(original, 75))
    assert not np.array_equal(seen["jpeg90"], seen["jpeg75"])
    assert np.array_equal(seen["shift64"], original[64:, 64:])


def test_the_stability_map_is_the_fraction_of_analyses_marking_each_pixel_computed_by_hand(tmp_path):
    path = _photo(tmp_path / "photo.png")
    _, check = _check(RedModel(), path)
    rgb = np.asarray(Image.open(path).convert("RGB"))
    height, width = rgb.shape[:2]
    threshold = 0.5

    def red(pixels):
        return pixels[..., 0].astype(np.float32) / 255.0

    small = np.asarray(Image.fromarray(rgb).resize((450, 428), Image.Resampling.BICUBIC))  # 0.75, rounded
    back = np.asarray(Image.fromarray(red(small)).resize((width, height), Image.Resampling.BILINEAR))
    marked = (
        (red(rgb) >= threshold).astype(int)
        + (red(_pillow_jpeg(rgb, 90)) >= threshold)
        + (red(_pillow_jpeg(rgb, 75)) >= threshold)
        + (back >= threshold)
    )
    covering = np.full((height, width), 4)
    marked[64:, 64:] += red(rgb)[64:, 64:] >= threshold  # shift64 sees the same pixels: its map is the same
    covering[64:, 64:] += 1
    expected = marked / covering
    reading = check.at(threshold)
    assert reading.analyses == 5
    np.testing.assert_allclose(reading.stability, expected, atol=1e-6)
    assert np.mean((expected > 0) & (expected < 1)) > 0.05  # the variants really disagree somewhere
    assert np.array_equal(reading.levels(), np.rint(expected * 255).astype(np.uint8))
    by_name = {v.name: v for v in reading.variants}
    assert [v.name for v in reading.variants] == ["jpeg90", "jpeg75", "resize75", "shift64"]
    assert by_name["shift64"].iou_with_original == 1.0
    original = red(rgb) >= threshold
    jpeg75 = red(_pillow_jpeg(rgb, 75)) >= threshold
    assert by_name["jpeg75"].iou_with_original == pytest.approx(
        (original & jpeg75).sum() / (original | jpeg75).sum()
    )
    assert by_name["resize75"].marked_area == pytest.approx((back >= threshold).mean(), abs=1e-6)


def test_regions_get_their_stability_and_a_label_in_words():
    original = np.zeros((200, 300), np.float32)
    original[20:80, 20:120] = 0.9  # region 1 (6,000 px): every variant marks it
    original[120:170, 200:260] = 0.8  # region 2 (3,000 px): only jpeg90 still does
    original[150:160, 20:30] = 0.7  # region 3 (100 px): inside the 64 px shift64 does not see

    def keeping(*boxes):
        kept = np.zeros_like(original)
        for rows, cols in boxes:
            kept[rows, cols] = original[rows, cols]
        return kept

    first, second = (slice(20, 80), slice(20, 120)), (slice(120, 170), slice(200, 260))
    third = (slice(150, 160), slice(20, 30))
    variants = [
        VariantMap("jpeg90", keeping(first, second, third)),
        VariantMap("jpeg75", keeping(first, third)),
        VariantMap("resize75", keeping(first)),
        VariantMap("shift64", keeping(first, second, third)[64:, 64:], 64, 64),
    ]
    reading = StabilityAt(original, variants, 0.5)
    regions = {r.index: r for r in reading.regions}
    # shift64 does not see rows or columns under 64: 4 of 4 there, 5 of 5 elsewhere, stable throughout
    assert regions[1].label == "stable: marked in 5 of 5" and regions[1].stability == pytest.approx(1.0)
    assert regions[2].label == "partly stable: marked in 3 of 5"  # original, jpeg90, shift64
    assert regions[2].stability == pytest.approx(3 / 5)
    assert regions[3].label == "partly stable: marked in 3 of 4"  # shift64 does not see it
    assert regions[3].stability == pytest.approx(3 / 4)
    fragile = StabilityAt(original, variants[1:3], 0.5).region(2)
    assert fragile.label == "fragile: marked in 1 of 3" and fragile.stability == pytest.approx(1 / 3)
    numbered = find_regions(original, original >= 0.5)  # the regions list the labels refer to
    assert [(r.index, r.area_pixels) for r in numbered] == [(1, 6000), (2, 3000), (3, 100)]


def test_a_second_check_is_served_by_the_results_store(tmp_path):
    store = ResultStore(tmp_path / "store")
    path = _photo(tmp_path / "photo.png")
    model = RedModel()
    _, first = _check(model, path, store)
    assert len(model.seen) == 5  # the original and four variants
    again = RedModel()
    image, second = _check(again, path, store)
    assert len(again.seen) == 1  # the original only (this test's _check analyses it): no variant computed
    np.testing.assert_array_equal(second.at(0.5).stability, first.at(0.5).stability)
    original = run_to_end(again.analyze(image, OPTIONS))
    runtime = model_runtime("dinolizer", OPTIONS)
    held = stored_check(again, image, original, OPTIONS, runtime, store)
    np.testing.assert_array_equal(held.at(0.4).stability, first.at(0.4).stability)


def test_only_sliding_window_models_get_the_shifted_grid():
    assert planned_variants("dinolizer", OPTIONS, 640, 600) == ["resize75", "shift64", "jpeg90", "jpeg75"]
    assert planned_variants("declip", OPTIONS, 640, 600) == ["resize75", "jpeg90", "jpeg75"]  # whole image
    sliding = AnalysisOptions(declip_mode="sliding")
    assert planned_variants("declip", sliding, 600, 300) == ["resize75", "shift64", "jpeg90", "jpeg75"]
    assert planned_variants("bfree", OPTIONS, 600, 500) == []  # no map


def test_the_shifted_grid_runs_only_where_a_whole_window_is_left_and_is_never_counted_otherwise(tmp_path):
    """An image just over 64 px would have left the model a crop of a few pixels, blown up to its input
    size, counted as an analysis in every region's label: the variant is not run, and the plan says why."""
    whole = ["resize75", "jpeg90", "jpeg75"]
    for width, height in ((65, 65), (100, 80), (600, 500), (567, 900)):
        assert planned_variants("dinolizer", OPTIONS, width, height) == whole, (width, height)
    assert "shift64" in planned_variants("dinolizer", OPTIONS, 568, 568)  # 504 px left: one whole window
    sliding = AnalysisOptions(declip_mode="sliding")
    assert planned_variants("declip", sliding, 287, 600) == whole  # a 224 px window: 223 left
    original = ModelRun(np.zeros((80, 100), np.float32), 1, (100, 80), [], "cpu", seconds=1.0)
    assert plan_text("dinolizer", original, whole, OPTIONS, 100, 80).endswith(
        "; shift64 not run: the image (100 x 80) cropped by 64 px no longer holds a whole 504 px window of "
        "the model"
    )
    model = RedModel()
    _, check = _check(model, _photo(tmp_path / "small.png", (100, 80)))
    assert len(model.seen) == 4 and [v.name for v in check.at(0.5).variants] == [
        "jpeg90",
        "jpeg75",
        "resize75",
    ]
    assert check.at(0.5).analyses == 4 and all(r.analyses <= 4 for r in check.at(0.5).regions)


def test_the_resized_variants_map_comes_back_to_the_original_grid_bilinear():
    small = np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4)
    back = on_original_grid("resize75", small, 5, 4)
    expected = np.asarray(Image.fromarray(small).resize((5, 4), Image.Resampling.BILINEAR))
    assert back.probability.shape == (4, 5) and np.array_equal(back.probability, expected)
    assert make_variant(np.zeros((4, 5, 3), np.uint8), "resize75").shape == (3, 4, 3)  # round(3.75), round(3)
    with pytest.raises(ValueError, match="unknown variant"):
        make_variant(np.zeros((4, 5, 3), np.uint8), "blur")


def test_real_pipelines_maps_of_variants_equal_those_computed_outside_the_app(weights, tmp_path):
    """The tiny official-layout DinoLizer: each variant's map is the model's map of Pillow's variant."""
    files, _ = weights
    localizer = load_localizer("dinolizer", [files["release"]])
    path = _photo(tmp_path / "photo.png", (600, 570))
    store = ResultStore(tmp_path / "store")
    runner = BatchRunner([localizer], OPTIONS, store, Thresholds(), stability=True)
    kept = {}
    run_to_end(
        runner.run(
            make_items([path]), on_model=lambda item, image, name, outcome: kept.update(outcome=outcome)
        )
    )
    check = kept["outcome"].stability
    rgb = np.asarray(Image.open(path).convert("RGB"))
    image = load_image(path)
    by_name = {variant.name: variant for variant in check.variants}
    outside = _pillow_jpeg(rgb, 75)
    direct = run_to_end(localizer.analyze(_with_pixels(image, outside), OPTIONS))
    np.testing.assert_array_equal(by_name["jpeg75"].probability, direct.probability)
    shifted = run_to_end(localizer.analyze(_with_pixels(image, rgb[64:, 64:].copy()), OPTIONS))
    np.testing.assert_array_equal(by_name["shift64"].probability, shifted.probability)
    assert by_name["shift64"].probability.shape == (570 - 64, 600 - 64)


def _with_pixels(image, rgb):
    from dataclasses import replace

    return replace(image, rgb=rgb)


def test_analyze_stability_writes_the_map_png_and_the_results_json_fields(weights, tmp_path):
    files, _ = weights
    path = _photo(tmp_path / "photo.png", (580, 570))
    out = tmp_path / "out"
    asked = ("--stability", "--report", "json")
    done = run_process(*analyze_args(weights, path, out, *asked, quiet=False), timeout=600)
    assert done.returncode == 0, done.stderr
    assert (
        "dinolizer stability: 4 variant(s) to analyse (resize75, shift64, jpeg90, jpeg75): about"
        in done.stderr
    )
    entry = json.loads((out / "results.json").read_text())["images"][0]
    for name, count in (("dinolizer", 4), ("declip", 3)):
        result = entry["models"][name]
        stability = result["stability"]
        assert [v["name"] for v in stability["variants"]][:count] == [
            "jpeg90",
            "jpeg75",
            "resize75",
            "shift64",
        ][:count]
        assert set(stability["variants"][0]) == {"name", "marked_area", "iou_with_original"}
        assert [r["index"] for r in stability["regions"]] == [r["index"] for r in result["regions"]]
        assert all(
            r["label"].split(":")[0] in ("stable", "partly stable", "fragile") for r in stability["regions"]
        )
        picture = np.asarray(Image.open(out / stability["map"]))
        assert picture.shape == (570, 580) and picture.dtype == np.uint8
        assert stability["analyses"] == count + 1
    # the PNG is the stability map of the stored variants at the threshold used
    store = ResultStore(tmp_path / "store")
    localizer = load_localizer("dinolizer", [files["release"]])
    image = load_image(path)
    runtime = model_runtime("dinolizer", OPTIONS)
    original = store.load(_original_key(image, localizer, runtime))[0]
    check = stored_check(localizer, image, original, AnalysisOptions(device="cpu"), runtime, store)
    expected = check.at(entry["models"]["dinolizer"]["threshold"]).levels()
    assert np.array_equal(
        np.asarray(Image.open(out / entry["models"]["dinolizer"]["stability"]["map"])), expected
    )
    report = json.loads((out / "report.json").read_text())
    schema = json.loads((ROOT / "dinolizer_gui" / "core" / "report" / "schema.json").read_text())
    jsonschema.validate(report, schema)
    assert report["images"][0]["models"]["dinolizer"]["stability"]["regions"][0]["label"]


def _original_key(image, localizer, runtime):
    from dinolizer_gui.core.store.results import result_key

    return result_key(
        image.sha256, "dinolizer", localizer.checkpoints, AnalysisOptions(device="cpu"), runtime
    )


def test_the_results_writer_leaves_out_stability_when_no_check_ran(weights, tmp_path):
    files, _ = weights
    localizer = load_localizer("dinolizer", [files["release"]])
    path = _photo(tmp_path / "photo.png", (520, 510))
    writer = ResultsWriter(tmp_path / "out", {"models": {}})
    runner = BatchRunner([localizer], OPTIONS, None, Thresholds())
    run_to_end(runner.run(make_items([path]), on_image=writer.add, on_model=writer.add_model))
    writer.finish()
    entry = json.loads((tmp_path / "out" / "results.json").read_text())["images"][0]
    assert "stability" not in entry["models"]["dinolizer"]
    assert not list((tmp_path / "out").rglob("*stability*"))


def test_a_stability_check_on_a_cluster_is_refused_before_anything_runs(tmp_path):
    path = _photo(tmp_path / "photo.png")
    code, _, err = run_cli("analyze", path, "--out", tmp_path / "out", "--stability", "--cluster", "ray")
    assert code == 2
    assert "--stability runs on this machine only: not with --cluster" in err
    assert not (tmp_path / "out").exists()
