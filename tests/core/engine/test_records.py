"""Each record is written and read in one place: what is written reads back the same, what is damaged is said,
and the records that name stored results and case entries keep the shape earlier versions wrote."""

import hashlib
import json
import zlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dinolizer_gui.core.engine.analysis import (
    DECLIP_MODES,
    DEVICE_CHOICES,
    PRECISION_CHOICES,
    AnalysisOptions,
    ImageLevel,
    ModelRun,
    RunRecordError,
)
from dinolizer_gui.core.engine.device import Runtime, cpu_runtime
from dinolizer_gui.core.engine.records import RecordError
from dinolizer_gui.core.maps.postprocess import Summary, summarise
from dinolizer_gui.core.models.registry import REGISTRY
from dinolizer_gui.core.session.case_entries import run_record
from dinolizer_gui.core.session.cluster.wire import packed_run, unpacked_run
from dinolizer_gui.core.store.results import result_key

options_strategy = st.builds(
    AnalysisOptions,
    device=st.sampled_from(DEVICE_CHOICES),
    precision=st.sampled_from(PRECISION_CHOICES),
    stride=st.integers(1, 504),
    batch_size=st.integers(0, 64),
    declip_mode=st.sampled_from(DECLIP_MODES),
    declip_stride=st.integers(1, 224),
    max_windows=st.integers(1, 10**6),
    progressive=st.booleans(),
)


@given(options_strategy)
def test_analysis_options_read_back_from_their_json_record(options):
    assert AnalysisOptions.from_record(json.loads(json.dumps(options.to_record()))) == options


WRONG = {
    "device": "tpu",
    "precision": "float8",
    "stride": -1,
    "batch_size": 1.5,
    "declip_mode": "tiles",
    "declip_stride": "112",
    "max_windows": True,
    "progressive": "yes",
}


@pytest.mark.parametrize("name, wrong", WRONG.items())
def test_a_damaged_options_record_is_refused_naming_what_is_wrong(name, wrong):
    record = AnalysisOptions().to_record()
    with pytest.raises(RecordError, match=f"damaged analysis options .*{wrong!r}"):
        AnalysisOptions.from_record({**record, name: wrong})
    del record[name]
    with pytest.raises(RecordError, match=f"KeyError: '{name}'"):
        AnalysisOptions.from_record(record)


@pytest.mark.parametrize("precision", ["auto", "float32", "bfloat16"])
def test_a_runtime_reads_back_from_its_json_record(precision):
    runtime = cpu_runtime(REGISTRY["dinolizer"].fidelity, precision, note="asked for CUDA")
    assert Runtime.from_record(json.loads(json.dumps(runtime.to_record()))) == runtime


def test_a_runtime_record_of_an_unknown_precision_is_refused():
    record = {**cpu_runtime(REGISTRY["declip"].fidelity).to_record(), "precision": "float8"}
    with pytest.raises(RecordError, match="damaged runtime"):
        Runtime.from_record(record)


def test_the_results_store_key_is_the_one_earlier_versions_wrote():
    """A stored map is found again only while its key is computed as before: pixels, weights, the model's
    parameters, device and precision."""
    runtime = cpu_runtime(REGISTRY["declip"].fidelity, "float32")
    options = AnalysisOptions(declip_mode="sliding", declip_stride=100)
    checkpoints = [{"sha256": "b" * 64}, {"sha256": "a" * 64}]
    earlier = {
        "model": "declip",
        "weights": ["a" * 64, "b" * 64],
        "device": "cpu",
        "precision": "float32",
        "mode": "sliding",
        "stride": 100,
    }
    expected = hashlib.sha256((json.dumps(earlier, sort_keys=True) + "f" * 64).encode()).hexdigest()
    assert result_key("f" * 64, "declip", checkpoints, options, runtime) == expected


def test_a_case_log_entry_keeps_its_shape():
    runtime = cpu_runtime(REGISTRY["dinolizer"].fidelity, "float32")
    entry = run_record(runtime, AnalysisOptions(stride=256, batch_size=8), 0.25, False, True)
    assert entry == {
        "device": "cpu",
        "precision": "float32",
        "options": {"stride": 256, "declip_mode": "whole", "declip_stride": 112, "batch_size": 8},
        "score": "0.250000",
        "flagged": False,
        "from_store": True,
    }


def _map(seed=0, shape=(37, 53)):
    return np.random.default_rng(seed).random(shape, dtype=np.float32)


def test_a_summary_reads_back_from_its_json_record():
    summary = summarise(_map(), 0.6, 0.5)
    assert summary.regions  # regions and their statistics travel too
    assert Summary.from_record(json.loads(json.dumps(summary.to_record()))) == summary


def test_a_summary_record_without_its_regions_is_refused():
    record = summarise(_map(), 0.6, 0.5).to_record()
    del record["regions"][0]["max_probability"]
    with pytest.raises(RecordError, match="max_probability"):
        Summary.from_record(record)


def test_a_run_sent_by_an_actor_arrives_bit_for_bit():
    run = ModelRun(_map(3), 12, (53, 37), ["resize"], "cpu", ["a note"], 1.5, None, 1700000000.0)
    back = unpacked_run(packed_run(run))
    assert np.array_equal(back.probability, run.probability) and back.record() == run.record()
    level = ModelRun(None, 1, (504, 504), [], "cpu", image_level=ImageLevel(1.25, (1.0, 1.5)))
    assert unpacked_run(packed_run(level)).image_level == level.image_level


@pytest.mark.parametrize(
    "damage",
    [
        lambda p: {**p, "map": p["map"][:-8]},  # cut
        lambda p: {**p, "map": zlib.compress(b"\0" * 16)},  # too few values
        lambda p: {**p, "map": b"not zlib"},
        lambda p: {**p, "shape": [37]},
        lambda p: {**p, "shape": [10**6, 10**6]},  # more than any map an actor computes
        lambda p: {**p, "run": {**p["run"], "windows": -1}},
        lambda p: {k: v for k, v in p.items() if k != "run"},
    ],
)
def test_a_damaged_run_from_an_actor_is_refused(damage):
    packed = packed_run(ModelRun(_map(), 1, (53, 37), [], "cpu"))
    with pytest.raises(RunRecordError, match="damaged"):
        unpacked_run(damage(packed))
