"""The instruments' views without Qt: which panel shows which view, checked parameters, the viewer state's
event, the job that stops when told, the cache's budget, the outlines drawn over the views."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from dinolizer_gui.core.instruments import INSTRUMENTS, SourceFacts, compute
from dinolizer_gui.core.maps.render import outline
from dinolizer_gui.core.progress import run_to_end
from dinolizer_gui.core.session.instrument_views import (
    VIEWS,
    InstrumentViews,
    Outline,
    ResultCache,
    instrument_job,
    region_outlines,
    result_bytes,
)
from dinolizer_gui.core.session.viewer_state import ViewerState


def _image(height=96, width=128, seed=0):
    rng = np.random.default_rng(seed)
    return np.kron(
        rng.integers(0, 256, (height // 8, width // 8, 3), dtype=np.uint8), np.ones((8, 8, 1), np.uint8)
    )


def test_panels_show_views_with_checked_parameters_and_titles():
    views = InstrumentViews().showing("input", "ghost").showing("declip", "noise_sigma")
    assert views.view_on("input") is VIEWS["ghost"] and views.view_on("dinolizer") is None
    assert views.instruments_on(["input", "declip"]) == ["noise", "ghost"]  # the registry's order
    assert views.instruments_on(["dinolizer"]) == []
    assert views.title(VIEWS["ghost"]) == "JPEG ghost, quality 75, 16 px blocks"
    tuned = views.with_parameters("ghost", {"block": 32}).with_ghost_quality(60)
    assert tuned.title(VIEWS["ghost"]) == "JPEG ghost, quality 60, 32 px blocks"
    assert tuned.parameters("ghost") == {"block": 32, "rgb": 0} and views.parameters("ghost")["block"] == 16
    assert views.showing("input", None).panels == {"declip": "noise_sigma"}
    assert tuned.picture(VIEWS["ghost"]) == "q60" and tuned.picture(VIEWS["noise_sigma"]) == "sigma_png"
    with pytest.raises(ValueError, match="ELA quality must be 50–100"):
        views.with_parameters("ela", {"quality": 40})
    with pytest.raises(ValueError, match="no view 'sepia'"):
        views.showing("input", "sepia")
    with pytest.raises(ValueError, match="quality is one of 50, 55"):
        views.with_ghost_quality(62)


def test_the_viewer_state_tells_a_change_of_views_once_and_refuses_an_unknown_panel():
    state, heard = ViewerState(), []
    state.events.instruments.connect(heard.append)
    state.instruments = state.instruments.showing("input", "ela")
    state.instruments = InstrumentViews(panels={"input": "ela"})  # the same
    state.instruments = state.instruments.with_parameters("ela", {"quality": 80})
    assert [views.parameters("ela")["quality"] for views in heard] == [90, 80]
    with pytest.raises(ValueError, match="no panel bfree"):
        state.instruments = InstrumentViews(panels={"bfree": "ela"})  # an image-level detector has no panel


def test_a_job_gives_the_instruments_result_or_stops_at_its_next_step():
    rgb, source = _image(), SourceFacts("JPEG", 90, "4:2:0")
    expected = run_to_end(compute("ela", rgb, {"quality": 70}, source))
    result = run_to_end(instrument_job(rgb, "ela", {"quality": 70}, source, threading.Event()))
    assert np.array_equal(result.picture("png"), expected.picture("png")) and result.params == expected.params

    stop = threading.Event()
    job = instrument_job(rgb, "ghost", INSTRUMENTS["ghost"].checked(), source, stop)
    next(job)
    stop.set()
    with pytest.raises(StopIteration) as ended:
        next(job)
    assert ended.value.value is None  # stopped: no result, never a partial one


def test_the_cache_keeps_the_most_recently_used_within_its_budget():
    rgb, source = _image(), SourceFacts()
    results = [run_to_end(compute("ela", rgb, {"quality": q}, source)) for q in (60, 70, 80)]
    size = result_bytes(results[0])
    assert size == rgb.shape[0] * rgb.shape[1]  # the error array
    cache = ResultCache(budget=2 * size)
    cache.put("a", results[0])
    cache.put("b", results[1])
    assert cache.get("a") is results[0]  # now the most recent
    cache.put("c", results[2])
    assert "b" not in cache and "a" in cache and "c" in cache and len(cache) == 2
    tiny = ResultCache(budget=1)
    tiny.put("a", results[0])
    assert "a" in tiny  # the last one stored is always kept


def test_outlines_are_drawn_in_their_colours_and_none_without_a_region():
    first, second = np.zeros((60, 80), bool), np.zeros((60, 80), bool)
    first[10:30, 10:30], second[25:50, 40:70] = True, True
    layer = region_outlines(
        [Outline("first", first, (230, 159, 0)), Outline("second", second, (0, 114, 178))], (60, 80)
    )
    assert layer is not None
    colours = layer.palette[layer.levels][..., :3]
    ring_first, ring_second = outline(first).view(bool), outline(second).view(bool)
    assert (colours[ring_first & ~ring_second] == (230, 159, 0)).all()
    assert (colours[ring_second] == (0, 114, 178)).all()  # the later over the earlier
    assert (layer.palette[layer.levels][..., 3][~(ring_first | ring_second)] == 0).all()
    assert region_outlines([Outline("none", np.zeros((60, 80), bool), (1, 2, 3))], (60, 80)) is None
    assert region_outlines([Outline("a mark", first, (1, 2, 3), drawn=False)], (60, 80)) is None
    with pytest.raises(ValueError, match="a mask of"):
        region_outlines([Outline("small", first[:10], (1, 2, 3))], (60, 80))
