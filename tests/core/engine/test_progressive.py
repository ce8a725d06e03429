"""Progressive analysis: a first pass that covers every pixel, previews, and the grid's map at the end."""

import numpy as np
import pytest

from dinolizer_gui.core.engine import inference
from dinolizer_gui.core.engine.analysis import AnalysisOptions
from dinolizer_gui.core.engine.tiling import WindowGrid
from dinolizer_gui.core.models.registry import load_localizer
from dinolizer_gui.core.progress import run_to_end
from tests import factories


@pytest.mark.parametrize(
    "height, width, stride",
    [(3000, 4000, 128), (600, 650, 128), (1400, 700, 96), (520, 2000, 256), (504, 504, 128)],
)
def test_the_first_pass_covers_every_pixel_and_the_order_holds_every_window(height, width, stride):
    grid = WindowGrid(height, width, 504, stride)
    covered = np.zeros((height, width), bool)
    for top, left in grid.first_pass:
        covered[top : top + 504, left : left + 504] = True
    assert covered.all()
    assert sorted(grid.progressive_boxes) == sorted(grid.boxes) and len(set(grid.progressive_boxes)) == len(
        grid
    )
    assert grid.progressive_boxes[: len(grid.first_pass)] == grid.first_pass


def test_a_4000x3000_image_is_first_covered_by_80_of_its_609_windows():
    grid = WindowGrid(3000, 4000, 504, 128)
    assert (len(grid.first_pass), len(grid)) == (80, 609)  # 8 rows x 10 columns: the fewest the grid allows


def _runs(localizer, image, monkeypatch, **options):
    monkeypatch.setattr(inference, "PREVIEW_SECONDS", 0.0)  # a preview after every batch past the first pass
    exact = run_to_end(
        localizer.analyze(image, AnalysisOptions(device="cpu", precision="float32", **options))
    )
    events = []
    generator = localizer.analyze(
        image, AnalysisOptions(device="cpu", precision="float32", progressive=True, **options)
    )
    progressive = run_to_end(generator, events.append)
    return exact.probability, progressive.probability, [e for e in events if e.preview is not None]


@pytest.mark.parametrize("height, width", [(700, 1100), (300, 260)])  # the second is resized to ~1016 px
def test_the_progressive_dinolizer_map_equals_the_grid_order_map(weights, monkeypatch, height, width):
    files, _ = weights
    localizer = load_localizer("dinolizer", [files["release"]])
    exact, progressive, previews = _runs(
        localizer, factories.blocky_image(width, height), monkeypatch, batch_size=2
    )
    assert np.abs(exact - progressive).mean() <= 1e-6 and np.abs(exact - progressive).max() <= 1e-5
    assert previews and all(p.preview.shape == (height, width) for p in previews)
    grid_first = {(700, 1100): 6, (300, 260): 4}[(height, width)]
    assert previews[0].done >= grid_first and previews[-1].done < previews[-1].total
    assert np.abs(previews[0].preview - exact).mean() > 0  # a preview is not the result yet


def test_the_progressive_sliding_declip_map_equals_the_grid_order_map(weights, monkeypatch):
    files, _ = weights
    localizer = load_localizer("declip", [files["declip"]])
    exact, progressive, previews = _runs(
        localizer, factories.blocky_image(700, 400), monkeypatch, declip_mode="sliding"
    )
    assert np.abs(exact - progressive).mean() <= 1e-6 and previews


def test_the_cli_runs_windows_in_grid_order_with_bounded_memory(weights, monkeypatch):
    files, _ = weights
    localizer = load_localizer("dinolizer", [files["release"]])
    events = []
    run_to_end(
        localizer.analyze(factories.blocky_image(1100, 700), AnalysisOptions(device="cpu")), events.append
    )
    assert all(e.preview is None for e in events)
