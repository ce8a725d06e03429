import csv
import json

import numpy as np
import pytest
from PIL import Image
from sklearn import metrics as sk

from dinolizer_gui.core.io.images import OUTPUT_PNG_KEY
from tests.cli_run import analyze_args, run_cli, weights_args

MASKED = {"a/one.png": "a/one_mask.png", "a/two.png": "a/two.png", "three.jpg": "three_gt.png"}


def _photo(path, seed, size=(96, 80)):
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (size[1] // 8, size[0] // 8, 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.kron(base, np.ones((8, 8, 1), np.uint8))).save(path, quality=95)


@pytest.fixture()
def labelled(tmp_path):
    images, masks = tmp_path / "data" / "images", tmp_path / "data" / "masks"
    for seed, (image, mask) in enumerate(MASKED.items()):
        _photo(images / image, seed)
        truth = np.zeros((80, 96), np.uint8)
        truth[10 + seed * 8 : 50, 20 : 60 + seed * 8] = 255
        (masks / mask).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(truth).save(masks / mask)
    _photo(images / "real.png", 7)
    Image.fromarray(np.zeros((40, 48), np.uint8)).save(masks / "real_mask.png")  # authentic, half the size
    _photo(images / "unlabelled.png", 8)
    return images, masks


def test_evaluate_scores_the_apps_own_maps_as_scikit_learn_does(weights, labelled, tmp_path):
    images, masks = labelled
    out = tmp_path / "eval"
    given = [*weights_args(weights, ("dinolizer", "declip", "bfree")), "--device", "cpu"]
    code, _, err = run_cli("evaluate", images, "--masks", masks, "--out", out, *given, "--report", "pdf")
    assert code == 3  # the unlabelled image is an error, the rest goes on
    assert "unlabelled.png: error (no ground-truth mask: looked for unlabelled.*" in err
    assert "Pooled AP" in err and "dinolizer" in err
    assert "warning: " in err and "real.png: mask is 48x40, the image 96x80" in err  # said, not only in JSON
    document = json.loads((out / "evaluation.json").read_text())
    assert document["schema"] == "dinolizer-gui/evaluation" and document["summary"] == {
        "ok": 4,
        "error": 1,
        "skipped": 0,
    }
    assert document["model_details"]["dinolizer"]["checkpoints"][0]["sha256"]

    run_cli(*analyze_args(weights, images, tmp_path / "maps", "--save-prob"))
    analysed = json.loads((tmp_path / "maps" / "results.json").read_text())
    maps = {
        entry["path"]: {
            name: np.load(tmp_path / "maps" / m["probability_map"]) for name, m in entry["models"].items()
        }
        for entry in analysed["images"]
        if entry["status"] == "ok"
    }
    by_path = {entry["path"]: entry for entry in document["images"]}
    for name in ("dinolizer", "declip"):
        truths, scores, labels, image_scores = [], [], [], []
        for image, mask in [*MASKED.items(), ("real.png", "real_mask.png")]:
            entry = by_path[str(images / image)]
            assert entry["mask"] == str(masks / mask)
            probability = maps[str(images / image)][name]
            truth = np.asarray(Image.open(masks / mask).resize((96, 80), Image.Resampling.NEAREST)) >= 128
            got = entry["models"][name]
            truths.append(truth.ravel())
            scores.append(probability.ravel())
            labels.append(truth.any())
            image_scores.append(got["score"])
            if not truth.any():
                assert entry["authentic"] and got["iou"] is None
                assert any("nearest-neighbour" in warning for warning in entry["warnings"])
                continue
            predicted = probability.ravel() >= 0.5
            assert got["iou"] == pytest.approx(sk.jaccard_score(truth.ravel(), predicted, zero_division=0))
            assert got["f1"] == pytest.approx(sk.f1_score(truth.ravel(), predicted, zero_division=0))
            assert got["ap"] == pytest.approx(sk.average_precision_score(truth.ravel(), probability.ravel()))
        summary = document["models"][name]
        assert summary["manipulated"] == 3 and summary["authentic"] == 1
        pooled = sk.average_precision_score(np.concatenate(truths), np.concatenate(scores))
        assert summary["localization"]["pooled_ap"] == pytest.approx(pooled)
        assert summary["detection"]["auc"] == pytest.approx(sk.roc_auc_score(labels, image_scores), abs=1e-6)
    bfree = document["models"]["bfree"]
    assert (
        bfree["kind"] == "image-level"
        and bfree["localization"] is None
        and bfree["detection"]["auc"] is not None
    )

    with open(out / "evaluation.csv", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 4 * 3 + 1 and {row["model"] for row in rows} == {"dinolizer", "declip", "bfree", ""}
    assert set(document["plots"]) == {"pr", "iou", "roc"}
    for plot in document["plots"].values():
        with Image.open(out / plot) as picture:
            assert picture.size == (640, 480) and OUTPUT_PNG_KEY in picture.info
    assert (out / "evaluation.pdf").read_bytes().startswith(b"%PDF")


def test_a_second_evaluation_computes_nothing_and_inverted_masks_swap_the_classes(
    weights, labelled, tmp_path, monkeypatch
):
    images, masks = labelled
    (images / "unlabelled.png").unlink()
    args = ["evaluate", images, "--masks", masks, *weights_args(weights), "--quiet"]
    assert run_cli(*args, "--out", tmp_path / "first").code == 0

    def no_weights_read(*args, **kwargs):
        raise AssertionError("a model was built although every map was stored")

    monkeypatch.setattr("dinolizer_gui.core.session.workspace.load_localizer", no_weights_read)
    assert run_cli(*args, "--out", tmp_path / "second", "--invert-masks", "--report", "html").code == 0
    first, second = (
        json.loads((tmp_path / run / "evaluation.json").read_text()) for run in ("first", "second")
    )
    assert first["models"]["dinolizer"]["authentic"] == 1 and second["models"]["dinolizer"]["authentic"] == 0
    assert second["ground_truth"]["inverted"] is True
    assert "<h2>Summary</h2>" in (tmp_path / "second" / "evaluation.html").read_text()


def test_masks_inside_the_images_folder_are_not_evaluated_as_images(weights, tmp_path):
    data = tmp_path / "data"
    _photo(data / "x.png", 1)
    (data / "masks").mkdir()
    Image.fromarray(np.full((80, 96), 255, np.uint8)).save(data / "masks" / "x.png")
    out = tmp_path / "out"
    assert (
        run_cli("evaluate", data, "--masks", data / "masks", "--out", out, *weights_args(weights)).code == 0
    )
    assert [entry["path"] for entry in json.loads((out / "evaluation.json").read_text())["images"]] == [
        str(data / "x.png")
    ]


def test_out_may_hold_neither_images_nor_masks(weights, labelled):
    images, masks = labelled
    code, _, err = run_cli("evaluate", images, "--masks", masks, "--out", masks, *weights_args(weights))
    assert code == 2
    assert "outputs must not be mixed with the evidence" in err
