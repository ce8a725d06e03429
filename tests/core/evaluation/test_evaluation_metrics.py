import numpy as np
import pytest
from PIL import Image
from sklearn import metrics as sk

from dinolizer_gui.core.evaluation.evaluator import localization_scores
from dinolizer_gui.core.evaluation.ground_truth import GroundTruth, PairingError, find_mask, read_mask
from dinolizer_gui.core.evaluation.metrics import (
    PooledCounts,
    average_precision,
    best_f1,
    pixel_counts,
    precision_recall_curve,
    roc_auc,
)
from dinolizer_gui.core.io.images import ImageLoadError


def _truth(height=40, width=50, seed=0):
    rng = np.random.default_rng(seed)
    truth = np.zeros((height, width), bool)
    truth[5:25, 10:30] = True
    truth ^= rng.random((height, width)) < 0.05  # ragged edges
    return truth


def _maps(truth, seed=0):
    rng = np.random.default_rng(seed)
    smooth = np.clip(truth * 0.6 + rng.random(truth.shape) * 0.5, 0, 1).astype(np.float32)
    return {
        "continuous": smooth,
        "ties": np.round(smooth * 10) / 10,  # eleven distinct values: many ties
        "empty": np.full(truth.shape, 0.1, np.float32),  # nothing at or above 0.5
        "all positive": np.full(truth.shape, 0.9, np.float32),
        "two levels": np.where(truth, 0.5, 0.49999).astype(np.float32),  # exactly at the threshold
        "inverse": (1 - smooth).astype(np.float32),
    }


def _sklearn_best_f1(truth, scores):
    precision, recall, _ = sk.precision_recall_curve(truth.ravel(), scores.ravel())
    total = precision + recall
    return float(np.max(np.divide(2 * precision * recall, total, out=np.zeros_like(total), where=total > 0)))


@pytest.mark.parametrize("case", list(_maps(_truth())))
def test_pixel_metrics_equal_scikit_learn(case):
    truth = _truth()
    scores = _maps(truth)[case]
    got, counts = localization_scores(scores, GroundTruth("m.png", truth), 0.5)
    predicted = (scores >= 0.5).ravel()
    y = truth.ravel()
    assert got["iou"] == pytest.approx(sk.jaccard_score(y, predicted, zero_division=0), abs=1e-12)
    assert got["f1"] == pytest.approx(sk.f1_score(y, predicted, zero_division=0), abs=1e-12)
    assert got["precision"] == pytest.approx(sk.precision_score(y, predicted, zero_division=0), abs=1e-12)
    assert got["recall"] == pytest.approx(sk.recall_score(y, predicted, zero_division=0), abs=1e-12)
    assert got["ap"] == pytest.approx(sk.average_precision_score(y, scores.ravel()), abs=1e-12)
    assert got["best_f1"] == pytest.approx(_sklearn_best_f1(truth, scores), abs=1e-12)
    precision, recall, thresholds = precision_recall_curve(counts)
    expected = sk.precision_recall_curve(y, scores.ravel())
    np.testing.assert_allclose(precision, expected[0], atol=1e-12)
    np.testing.assert_allclose(recall, expected[1], atol=1e-12)
    np.testing.assert_array_equal(thresholds, expected[2])
    assert got["marked_area"] == pytest.approx(predicted.mean())


def test_the_best_f1_threshold_gives_the_best_f1():
    truth = _truth()
    scores = _maps(truth)["ties"]
    best, threshold = best_f1(pixel_counts(scores, truth))
    assert sk.f1_score(truth.ravel(), (scores >= threshold).ravel()) == pytest.approx(best, abs=1e-12)


def test_an_authentic_image_has_no_localization_scores_but_its_marked_area():
    truth = np.zeros((30, 30), bool)
    scores = np.linspace(0, 1, 900, dtype=np.float32).reshape(30, 30)
    got, _ = localization_scores(scores, GroundTruth("m.png", truth), 0.5)
    assert got["iou"] is None and got["ap"] is None and got["best_f1"] is None
    assert got["marked_area"] == pytest.approx((scores >= 0.5).mean())


def test_pooled_counts_equal_scikit_learn_on_all_pixels_together(monkeypatch):
    monkeypatch.setattr(PooledCounts, "MERGE_AT", 2000)  # merging along the way must not change the result
    pooled, truths, maps = PooledCounts(), [], []
    for seed in range(5):
        truth = _truth(seed=seed) if seed != 2 else np.zeros((40, 50), bool)  # one authentic image
        scores = _maps(truth, seed)["ties" if seed % 2 else "continuous"]
        pooled.add(pixel_counts(scores, truth))
        truths.append(truth.ravel())
        maps.append(scores.ravel())
    expected = sk.average_precision_score(np.concatenate(truths), np.concatenate(maps))
    assert average_precision(pooled.counts()) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_roc_auc_equals_scikit_learn_with_ties(seed):
    rng = np.random.default_rng(seed)
    labels = rng.random(60) < 0.4
    scores = np.round(rng.random(60) + labels * 0.3, 1)  # many ties
    assert roc_auc(scores, labels) == pytest.approx(sk.roc_auc_score(labels, scores), abs=1e-12)
    assert roc_auc(scores, np.ones(60, bool)) is None  # one class: undefined, never a number


def test_masks_binarise_at_128_resize_nearest_and_invert(tmp_path):
    pixels = np.zeros((20, 30), np.uint8)
    pixels[:, 10:] = 127
    pixels[:, 20:] = 128
    Image.fromarray(pixels).save(tmp_path / "m.png")
    truth = read_mask(tmp_path / "m.png", 20, 30)
    assert truth.mask[:, 20:].all() and not truth.mask[:, :20].any()
    assert truth.warnings == ["mask read as manipulated where any channel reaches 128 of 255"]
    inverted = read_mask(tmp_path / "m.png", 20, 30, invert=True)
    np.testing.assert_array_equal(inverted.mask, ~truth.mask)
    resized = read_mask(tmp_path / "m.png", 40, 60)
    assert resized.mask.shape == (40, 60) and resized.mask[:, 40:].all() and not resized.mask[:, :40].any()
    assert "nearest-neighbour" in resized.warnings[1] and "30x20" in resized.warnings[1]
    for height, width in ((30, 20), (20, 40)):  # turned by a rotation the mask did not follow; cropped
        with pytest.raises(ImageLoadError, match="another shape"):
            read_mask(tmp_path / "m.png", height, width)
    red = np.zeros((20, 30, 3), np.uint8)
    red[5:10, 5:10, 0] = 255  # a red annotation: any channel at 128 or more is manipulated
    Image.fromarray(red).save(tmp_path / "red.png")
    assert read_mask(tmp_path / "red.png", 20, 30).mask.sum() == 25
    Image.fromarray(np.zeros((20, 30), np.uint8)).save(tmp_path / "black.png")
    assert read_mask(tmp_path / "black.png", 20, 30).authentic


def test_masks_pair_by_relative_path_and_suffix_and_are_never_guessed(tmp_path):
    images, masks = tmp_path / "images", tmp_path / "masks"
    for folder in (images / "a", masks / "a", images / "b", masks / "b"):
        folder.mkdir(parents=True)
    for name in ("a/one.jpg", "a/two.jpg", "b/three.png", "b/four.png", "five.png"):
        (images / name).write_bytes(b"")
    (masks / "a" / "one.png").write_bytes(b"")
    (masks / "a" / "two_gt.tif").write_bytes(b"")
    (masks / "b" / "three-mask.PNG").write_bytes(b"")
    (masks / "b" / "four_mask.png").write_bytes(b"")
    (masks / "b" / "four_groundtruth.png").write_bytes(b"")
    assert find_mask(images / "a" / "one.jpg", images, masks) == masks / "a" / "one.png"
    assert find_mask(images / "a" / "two.jpg", images, masks) == masks / "a" / "two_gt.tif"
    assert find_mask(images / "b" / "three.png", images, masks) == masks / "b" / "three-mask.PNG"
    with pytest.raises(
        PairingError, match=r"several ground-truth masks match: four_groundtruth\.png, four_mask"
    ):
        find_mask(images / "b" / "four.png", images, masks)
    with pytest.raises(PairingError, match=r"no ground-truth mask: looked for five\.\*, five_mask\.\*"):
        find_mask(images / "five.png", images, masks)
