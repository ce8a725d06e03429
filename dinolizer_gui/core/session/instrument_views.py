"""The classic instruments as views of the viewer's panels, without Qt: which panel shows which view, each
instrument's parameters, the JPEG ghost's quality on screen; the job that computes a view (cancellable); the
cache of results per image and parameters; the models' region outlines drawn over a view.

A view is one picture of an instrument: error level, the noise residual, the noise level sigma, the JPEG
ghost at the quality chosen, copy-move. Any panel can show one in place of its own picture; the viewer
state (viewer_state.py) holds an `InstrumentViews` and tells the panels when it changes.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Generator, Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np

from ..instruments import INSTRUMENTS, SIGMA, InstrumentResult, SourceFacts, compute
from ..instruments.ghosts import QUALITIES
from ..maps.render import AGREEMENT_COLOURS, Layer, outline
from ..progress import Progress


@dataclass(frozen=True)
class View:
    name: str  # the view's key
    instrument: str  # the instrument computing it
    picture: str  # the result's picture; "" for the ghost's: the quality on screen chooses it
    label: str  # in menus and the dock
    key: str  # its shortcut: the panel last clicked shows it (again: the panel's own picture)


VIEWS = {
    view.name: view
    for view in (
        View("ela", "ela", "png", "Error level (ELA)", "Shift+E"),
        View("noise", "noise", "png", "Noise residual", "Shift+N"),
        View("noise_sigma", "noise", "sigma_png", f"Noise level {SIGMA}", "Shift+L"),
        View("ghost", "ghost", "", "JPEG ghost", "Shift+G"),
        View("copymove", "copymove", "png", "Copy-move", "Shift+C"),
    )
}
DEFAULT_GHOST_QUALITY = 75


@dataclass(frozen=True)
class InstrumentViews:
    """Which panel shows which view (panel key -> view key; a panel not named shows its own picture), the
    parameters given to each instrument (the rest at their defaults) and the JPEG ghost's quality shown."""

    panels: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    ghost_quality: int = DEFAULT_GHOST_QUALITY

    def __post_init__(self) -> None:
        for panel, view in self.panels.items():
            if view not in VIEWS:
                raise ValueError(f"panel {panel!r}: no view {view!r} (there are {', '.join(VIEWS)})")
        checked = {name: INSTRUMENTS[name].checked(given) for name, given in self.params.items()}
        object.__setattr__(self, "params", checked)  # every value checked (ValueError naming it)
        object.__setattr__(self, "panels", dict(self.panels))
        if self.ghost_quality not in QUALITIES:
            raise ValueError(
                f"the JPEG ghost's quality is one of {QUALITIES[0]}, {QUALITIES[1]}, … {QUALITIES[-1]}"
            )

    def view_on(self, panel: str) -> View | None:
        """The view a panel shows in place of its own picture; None: its own."""
        name = self.panels.get(panel)
        return VIEWS[name] if name is not None else None

    def showing(self, panel: str, view: str | None) -> InstrumentViews:
        """The same, with `panel` showing `view` (None: its own picture)."""
        panels = {key: value for key, value in self.panels.items() if key != panel}
        if view is not None:
            panels[panel] = view
        return replace(self, panels=panels)

    def parameters(self, instrument: str) -> dict[str, Any]:
        """An instrument's parameters, every one (the defaults for those not given)."""
        return INSTRUMENTS[instrument].checked(self.params.get(instrument))

    def with_parameters(self, instrument: str, params: Mapping[str, Any]) -> InstrumentViews:
        return replace(self, params={**self.params, instrument: dict(params)})

    def with_ghost_quality(self, quality: int) -> InstrumentViews:
        return replace(self, ghost_quality=quality)

    def picture(self, view: View) -> str:
        """The key of the result's picture a view shows (the ghost's at the quality on screen)."""
        return view.picture or f"q{self.ghost_quality}"

    def instruments_on(self, panels: Iterable[str]) -> list[str]:
        """The instruments that the given panels' views need, in the registry's order."""
        needed = {VIEWS[self.panels[panel]].instrument for panel in panels if panel in self.panels}
        return [name for name in INSTRUMENTS if name in needed]

    def title(self, view: View) -> str:
        """A panel's title while it shows the view: which instrument, with what parameters."""
        return INSTRUMENTS[view.instrument].panel_title(self.parameters(view.instrument), self.picture(view))


def instrument_job(
    rgb: np.ndarray, name: str, params: Mapping[str, Any], source: SourceFacts, stop: threading.Event
) -> Generator[Progress, None, InstrumentResult | None]:
    """An instrument's result on the image, computed where the generator is driven; once `stop` is set it
    stops at its next progress report and returns None (the work is closed on the thread that drove it)."""
    work = compute(name, rgb, params, source)
    try:
        while not stop.is_set():
            try:
                progress = next(work)
            except StopIteration as end:
                return end.value
            yield progress
        return None
    finally:
        work.close()


def result_bytes(result: InstrumentResult) -> int:
    """The memory a result holds in its arrays (what the cache counts)."""
    held = (getattr(result, item.name) for item in fields(result))
    return sum(value.nbytes for value in held if isinstance(value, np.ndarray))


class ResultCache:
    """Results by their cache key (core/instruments' `cache_key`: the image's SHA-256, the instrument, its
    parameters and the file's facts), the least recently used dropped beyond `budget` bytes (the last one
    stored is always kept)."""

    def __init__(self, budget: int = 1 << 30):
        self.budget = budget
        self._results: OrderedDict[str, InstrumentResult] = OrderedDict()

    def get(self, key: str) -> InstrumentResult | None:
        result = self._results.get(key)
        if result is not None:
            self._results.move_to_end(key)
        return result

    def put(self, key: str, result: InstrumentResult) -> None:
        self._results[key] = result
        self._results.move_to_end(key)
        while len(self._results) > 1 and sum(map(result_bytes, self._results.values())) > self.budget:
            self._results.popitem(last=False)

    def __contains__(self, key: str) -> bool:
        return key in self._results

    def __len__(self) -> int:
        return len(self._results)


@dataclass(frozen=True)
class Outline:
    """A region drawn over the views, and offered for the JPEG ghost's curve: a model's mask, a region's box,
    an examiner's mark (their code adds theirs: `region_outlines` takes any)."""

    label: str
    mask: np.ndarray  # H x W bool, the image's size
    colour: tuple[int, int, int]
    drawn: bool = True  # False: offered for the curve only (a mark, which its own items draw)


def model_outline_colours(names: Iterable[str]) -> dict[str, tuple[int, int, int]]:
    """Each model's outline colour on the views: the agreement view's (the first orange, the second blue)."""
    colours = (AGREEMENT_COLOURS["first only"], AGREEMENT_COLOURS["second only"])
    return dict(zip(names, colours, strict=False))


def region_outlines(outlines: Iterable[Outline], shape: tuple[int, int]) -> Layer | None:
    """The outlines as one layer of the image's size (the later drawn over the earlier); None: none."""
    levels = np.zeros(shape, np.uint8)
    palette = np.zeros((256, 4), np.uint8)
    drawn = False
    for index, item in enumerate((item for item in outlines if item.drawn), start=1):
        if item.mask.shape != shape:
            raise ValueError(f"{item.label}: a mask of {item.mask.shape}, the image is {shape}")
        ring = outline(item.mask).view(bool)
        levels[ring] = index
        palette[index] = (*item.colour, 255)
        drawn = drawn or bool(ring.any())
    return Layer(levels, palette) if drawn else None
