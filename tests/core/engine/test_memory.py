"""Memory-mapped weights leave resident memory when asked, and come back unchanged."""

import os
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from dinolizer_gui.core.engine.analysis import AnalysisOptions
from dinolizer_gui.core.engine.device import release_mapped_files
from dinolizer_gui.core.models.registry import load_localizer
from dinolizer_gui.core.progress import run_to_end
from dinolizer_gui.core.session import batch
from dinolizer_gui.core.session.batch import BatchRunner, make_items
from dinolizer_gui.core.session.thresholds import Thresholds

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/smaps (Linux)")


def _resident_kib(path) -> int:
    """Resident memory of this process's mappings of a file, from /proc/self/smaps."""
    target, total, inside = os.path.realpath(path), 0, False
    with open("/proc/self/smaps") as smaps:
        for line in smaps:
            fields = line.split()
            if "-" in fields[0] and not fields[0].endswith(":"):
                inside = fields[-1] == target
            elif inside and fields[0] == "Rss:":
                total += int(fields[1])
    return total


def _photos(folder, count=2):
    folder.mkdir()
    for seed in range(count):
        rng = np.random.default_rng(seed)
        Image.fromarray(rng.integers(0, 256, (200, 260, 3), dtype=np.uint8)).save(folder / f"img{seed}.png")
    return folder


def test_released_weights_leave_resident_memory_and_give_the_same_maps(weights, tmp_path):
    files, _ = weights
    localizer = load_localizer("declip", [files["declip"]])
    image_folder = _photos(tmp_path / "case", 1)
    from dinolizer_gui.core.io.images import load_image

    image = load_image(image_folder / "img0.png")
    before = run_to_end(localizer.analyze(image, AnalysisOptions(device="cpu"))).probability
    assert _resident_kib(files["declip"]) > 0
    assert localizer.release_weight_pages() > 0
    assert _resident_kib(files["declip"]) == 0
    after = run_to_end(localizer.analyze(image, AnalysisOptions(device="cpu"))).probability
    assert np.array_equal(before, after)


def test_a_mapping_changed_in_this_process_is_not_released(weights, tmp_path):
    files, _ = weights
    state = torch.load(files["declip"], map_location="cpu", weights_only=True, mmap=True)
    tensor = next(t for t in state["model"].values() if t.numel() > 1024)
    tensor.fill_(7.0)  # a copy-on-write page: dropping it would silently restore the file's values
    release_mapped_files([files["declip"]])  # other, unchanged mappings of the file may be released
    assert bool((tensor == 7.0).all())


def test_a_batch_of_large_images_releases_each_models_weights_after_it_runs(weights, tmp_path, monkeypatch):
    files, _ = weights
    localizers = [
        load_localizer("dinolizer", [files["release"]]),
        load_localizer("declip", [files["declip"]]),
    ]
    folder = _photos(tmp_path / "case")
    kept = make_items([folder])
    run_to_end(BatchRunner(localizers, AnalysisOptions(device="cpu"), None, Thresholds()).run(kept))
    assert _resident_kib(files["declip"]) > 0  # small images: the weights stay resident

    monkeypatch.setattr(batch, "RELEASE_WEIGHTS_FROM_PIXELS", 200 * 260)
    released = make_items([folder])
    run_to_end(BatchRunner(localizers, AnalysisOptions(device="cpu"), None, Thresholds()).run(released))
    assert _resident_kib(files["release"]) == _resident_kib(files["declip"]) == 0
    assert [i.models for i in released] == [i.models for i in kept]  # same scores, areas and verdicts
