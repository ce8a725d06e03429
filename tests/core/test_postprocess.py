import numpy as np
import pytest

from dinolizer_gui.core.postprocess import find_regions, summarise


def test_regions_give_box_area_mean_and_max_largest_first():
    probability = np.zeros((100, 200), np.float32)
    probability[10:30, 20:60] = 0.7
    probability[15, 25] = 0.95
    probability[60:65, 150:160] = 0.6
    summary = summarise(probability, 0.5, 0.5)
    big, small = summary.regions
    assert (big.x, big.y, big.width, big.height, big.area_pixels) == (20, 10, 40, 20, 800)
    assert big.max_probability == pytest.approx(0.95) and big.mean_probability == pytest.approx((799 * 0.7 + 0.95) / 800)
    assert big.area_percent == pytest.approx(4.0) and small.area_pixels == 50
    assert summary.marked_area == pytest.approx(850 / 20000) and summary.score == pytest.approx(0.7)


def test_more_regions_than_16_bit_labels_hold_fall_back_to_32_bit():
    probability = np.zeros((600, 600), np.float32)
    probability[::2, ::2] = np.linspace(0.5, 1.0, 90000, dtype=np.float32).reshape(300, 300)
    regions = find_regions(probability, probability >= 0.5)
    assert len(regions) == 90000
    assert max(r.max_probability for r in regions) == pytest.approx(1.0)
    assert all(r.area_pixels == 1 and r.mean_probability == r.max_probability for r in regions[:100])
