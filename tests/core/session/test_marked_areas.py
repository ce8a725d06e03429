"""A map's marked areas at every threshold the viewer can set: exactly what the mask counts, read from the
results store only for the map the row's score was measured on."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

from dinolizer_gui.core.maps.postprocess import binary_mask
from dinolizer_gui.core.progress import run_to_end
from dinolizer_gui.core.session import marked_areas
from dinolizer_gui.core.session.batch import make_items
from dinolizer_gui.core.session.jobs import load_models
from dinolizer_gui.core.session.marked_areas import AreasRead, MarkedAreas, StoredMap, stored_areas_job
from dinolizer_gui.core.session.settings import Settings
from dinolizer_gui.core.session.workspace import Workspace
from dinolizer_gui.core.store.results import ResultStore

STEPS = [k / 1000 for k in range(1001)]
# values on and right beside the thresholds, where a count made another way would be off by a pixel
EDGES = np.array(STEPS, np.float32)
NEAR = np.concatenate([EDGES, np.nextafter(EDGES, np.float32(-1)), np.nextafter(EDGES, np.float32(2))])
values = st.one_of(st.sampled_from(NEAR.tolist()), st.floats(0, 1, width=32), st.just(float("nan")))


@settings(max_examples=60, deadline=None)
@given(arrays(np.float32, st.tuples(st.integers(1, 9), st.integers(1, 40)), elements=values))
def test_the_area_at_every_step_is_what_the_mask_counts(probability):
    areas = MarkedAreas(probability)
    for threshold in STEPS:
        assert areas.at(threshold) == np.count_nonzero(binary_mask(probability, threshold)) / probability.size


def test_maps_counted_in_pieces_count_the_same_and_off_step_thresholds_are_not_guessed(monkeypatch):
    probability = np.random.default_rng(3).random((70, 90), dtype=np.float32)
    whole = MarkedAreas(probability)
    monkeypatch.setattr(marked_areas, "CHUNK", 1000)  # 7 pieces and a part
    pieces = MarkedAreas(probability)
    assert [whole.at(t) for t in STEPS] == [pieces.at(t) for t in STEPS]
    assert whole.at(0.5946) is None and whole.at(1.5) is None and whole.at(-0.001) is None
    assert whole.at(0.0) == 1.0


def test_the_store_gives_the_areas_of_the_map_a_row_was_measured_on_and_no_other(tmp_path, weights):
    files, _ = weights
    Image.fromarray(np.random.default_rng(5).integers(0, 256, (90, 120, 3), np.uint8)).save(
        tmp_path / "a.png"
    )
    store = ResultStore(tmp_path / "store")
    workspace = Workspace(Settings(device="cpu"), tmp_path / "config", tmp_path / "no-weights", store)
    workspace.set_model_files("dinolizer", [files["release"]])
    localizers = run_to_end(load_models(workspace, workspace.model_files()))
    items = make_items([tmp_path / "a.png"])
    maps = {}
    on_model = lambda item, image, name, outcome: maps.setdefault(name, outcome.run.probability.copy())  # noqa: E731
    run_to_end(workspace.batch_runner(localizers).run(items, on_model=on_model))
    item = items[0]
    row = StoredMap(item.sha256, "dinolizer", item.models["dinolizer"].score)
    other = StoredMap(item.sha256, "dinolizer", round(row.score - 0.01, 6))  # another map of the image
    read = areas_read(stored_areas_job(workspace, [row, other]))
    assert [event.map for event in read] == [row]
    assert read[0].areas.at(0.7) == np.count_nonzero(maps["dinolizer"] >= 0.7) / maps["dinolizer"].size
    workspace.settings.stride = 256  # analysed under other settings: not the map under this key
    assert areas_read(stored_areas_job(workspace, [row])) == []


def areas_read(job) -> list[AreasRead]:
    return [event for event in job if isinstance(event, AreasRead)]
