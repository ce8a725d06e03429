import numpy as np
import pytest

from dinolizer_gui.core.maps.postprocess import find_regions, summarise


def test_regions_give_box_area_mean_and_max_largest_first():
    probability = np.zeros((100, 200), np.float32)
    probability[10:30, 20:60] = 0.7
    probability[15, 25] = 0.95
    probability[60:65, 150:160] = 0.6
    summary = summarise(probability, 0.5, 0.5)
    big, small = summary.regions
    assert (big.x, big.y, big.width, big.height, big.area_pixels) == (20, 10, 40, 20, 800)
    assert big.max_probability == pytest.approx(0.95) and big.mean_probability == pytest.approx(
        (799 * 0.7 + 0.95) / 800
    )
    assert big.area_percent == pytest.approx(4.0) and small.area_pixels == 50
    assert summary.marked_area == pytest.approx(850 / 20000) and summary.score == pytest.approx(0.7)


def test_more_regions_than_16_bit_labels_hold_fall_back_to_32_bit():
    probability = np.zeros((600, 600), np.float32)
    probability[::2, ::2] = np.linspace(0.5, 1.0, 90000, dtype=np.float32).reshape(300, 300)
    regions = find_regions(probability, probability >= 0.5)
    assert len(regions) == 90000
    assert max(r.max_probability for r in regions) == pytest.approx(1.0)
    assert all(r.area_pixels == 1 and r.mean_probability == r.max_probability for r in regions[:100])


@pytest.mark.parametrize(
    "values",
    [
        np.random.default_rng(0).random(100_003, dtype=np.float32),
        np.random.default_rng(1).beta(0.3, 0.3, 250_000).astype(np.float32),
        np.concatenate([np.zeros(5000), np.ones(200)]).astype(np.float32),
        np.full(77, 0.25, np.float32),
        np.array([0.7], np.float32),
        np.linspace(0, 1, 4097, dtype=np.float32),
        np.random.default_rng(2).normal(0.0, 3.0, 30_000).astype(np.float32),  # negatives and values above 1
        np.concatenate([np.full(3_000_000, 0.5), np.linspace(0.5, 0.5001, 40_000)]).astype(
            np.float32
        ),  # one huge tie
        np.random.default_rng(3).random(20_000),  # float64
    ],
)
def test_image_score_is_the_99th_percentile_as_numpy_computes_it(values):
    from dinolizer_gui.core.engine.scores import image_score

    shaped = values.reshape(1, -1)
    assert image_score(shaped) == pytest.approx(float(np.percentile(shaped, 99)), abs=1e-7)


def test_image_score_of_a_map_of_ties_needs_no_copy_of_the_map():
    import tracemalloc

    from dinolizer_gui.core.engine.scores import image_score

    flat_map = np.full((4000, 4000), 0.5, np.float32)  # 64 MB, every value in one histogram bin
    flat_map[-1, -50:] = 0.9
    tracemalloc.start()
    try:
        score = image_score(flat_map)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert score == 0.5 and peak < flat_map.nbytes / 2
