import numpy as np
import pytest
import torch

from dinolizer_gui.core.engine.accumulators import BandAccumulator
from dinolizer_gui.core.engine.tiling import WindowGrid, dinolizer_working_size, window_starts


@pytest.mark.parametrize(
    "length, expected",
    [
        (504, [0]),
        (632, [0, 128]),
        (700, [0, 128, 196]),
        (1016, [0, 128, 256, 384, 512]),
    ],
)
def test_window_starts_step_by_stride_and_end_flush_with_the_far_edge(length, expected):
    assert window_starts(length, 504, 128) == expected


def test_window_starts_refuse_a_length_under_one_window():
    with pytest.raises(ValueError):
        window_starts(503, 504, 128)


def test_every_pixel_is_covered_and_coverage_matches_a_brute_force_count():
    grid = WindowGrid(700, 1100, 504, 128)
    brute = np.zeros((700, 1100), dtype=int)
    for top, left in grid.boxes:
        brute[top : top + 504, left : left + 504] += 1
    assert np.array_equal(grid.coverage(), brute)
    assert brute.min() >= 1
    assert len(grid) == len(grid.boxes) == 3 * 6


def test_small_images_are_resized_to_about_1016_squared_and_large_ones_are_kept():
    assert dinolizer_working_size(256, 256) == (1016, 1016)
    assert len(WindowGrid(1016, 1016, 504, 128)) == 25  # the official CocoGlide figure
    width, height = dinolizer_working_size(3000, 400)
    assert height == 504 and width == pytest.approx(3000 * 504 / 400, abs=2)
    width, height = dinolizer_working_size(700, 300)
    assert min(width, height) >= 504 and abs(width / height - 700 / 300) < 0.01
    assert dinolizer_working_size(4000, 3000) == (4000, 3000)


@pytest.mark.parametrize("height, width, stride", [(600, 650, 128), (1400, 700, 96), (504, 504, 128)])
def test_band_accumulator_averages_overlapping_logits_like_a_full_canvas(height, width, stride):
    grid = WindowGrid(height, width, 504, stride)
    accumulator = BandAccumulator(grid, 2, torch.device("cpu"), lambda band: (band[0] - band[1]).numpy())
    total = np.zeros((2, height, width))
    rng = np.random.default_rng(0)
    for top, left in grid.boxes:
        logits = rng.normal(size=(2, 504, 504)).astype(np.float32)
        accumulator.add(top, left, torch.from_numpy(logits))
        total[:, top : top + 504, left : left + 504] += logits
    mean = total / grid.coverage()[None]
    assert np.allclose(accumulator.result(), mean[0] - mean[1], atol=1e-5)
    assert accumulator.buffer.shape == (2, 504, width)  # never the full image height


def test_a_stride_wider_than_the_window_is_refused():
    with pytest.raises(ValueError, match="gaps"):
        BandAccumulator(
            WindowGrid(1200, 1200, 504, 600), 1, torch.device("cpu"), lambda band: band[0].numpy()
        )
