"""How the viewer shows the image on screen, apart from the widgets that show it: the view mode, the colour
map, the overlay's opacity, whether zoom and pan are locked across the panels, whether the original is shown
in place of the layers, which panels are laid out, and which classic instrument's view a panel shows
(instrument_views.py).

Qt-free and evented: the panels, the legend, the controls and the toolbar subscribe to its events (each
emitted only when a value really changes) and write to it; tests and headless code drive it directly."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from ..maps.render import COLORMAPS, DEFAULT_COLORMAP, ViewMode
from ..models.registry import map_titles
from .events import Emitter
from .instrument_views import InstrumentViews
from .settings import Settings

T = TypeVar("T")

INPUT = "input"  # the key of the input's panel
AGREEMENT = "agreement"  # the key of the agreement panel
LAYOUT_NAMES = ("three", "two", "one")  # the input and every model, the input and one model, one panel


def panel_keys() -> list[str]:
    """Every panel, in the order they stand: the input, one per map model, the agreement."""
    return [INPUT, *map_titles(), AGREEMENT]


def _first_model() -> str:
    return next(iter(map_titles()))


@dataclass(frozen=True)
class PanelLayout:
    """Which panels are laid out: `name` is three, two or one panels; `single` the panel alone in the
    one-panel layout, `pair` the model beside the input in the two-panel layout."""

    name: str = "three"
    single: str = INPUT
    pair: str = field(default_factory=_first_model)

    def __post_init__(self) -> None:
        if self.name not in LAYOUT_NAMES:
            raise ValueError(f"unknown layout {self.name!r}: one of {', '.join(LAYOUT_NAMES)}")
        if self.single not in panel_keys():
            raise ValueError(f"unknown panel {self.single!r}")
        if self.pair not in map_titles():
            raise ValueError(f"{self.pair!r} is not a map model")

    @classmethod
    def from_settings(cls, settings: Settings) -> PanelLayout:
        """The layout the settings remember; a value that is not known keeps its default."""
        return cls(
            settings.panel_layout if settings.panel_layout in LAYOUT_NAMES else "three",
            settings.single_panel if settings.single_panel in panel_keys() else INPUT,
            settings.pair_model if settings.pair_model in map_titles() else _first_model(),
        )

    def shown(self, mode: ViewMode) -> list[str]:
        """The keys of the panels in sight: the agreement of both models is one panel, beside the input."""
        if self.name == "one":
            return [self.single]
        if mode is ViewMode.AGREEMENT:
            return [INPUT, AGREEMENT]
        if self.name == "two":
            return [INPUT, self.pair]
        return [INPUT, *map_titles()]


class ViewerEvents:
    def __init__(self) -> None:
        self.mode: Emitter[ViewMode] = Emitter()
        self.colormap: Emitter[str] = Emitter()
        self.opacity: Emitter[float] = Emitter()
        self.zoom_locked: Emitter[bool] = Emitter()
        self.original: Emitter[bool] = Emitter()
        self.layout: Emitter[PanelLayout] = Emitter()
        self.instruments: Emitter[InstrumentViews] = Emitter()


class _Field(Generic[T]):
    """A value of the state: checked when set, its event emitted only when it changes."""

    def __init__(self, check: Callable[[Any], T]):
        self.check = check
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, state: Any, owner: type | None = None) -> T:
        return state._values[self.name]

    def __set__(self, state: Any, value: T) -> None:
        value = self.check(value)
        if state._values.get(self.name) != value:
            state._values[self.name] = value
            getattr(state.events, self.name).emit(value)


def _colormap(name: str) -> str:
    if name not in COLORMAPS:
        raise ValueError(f"unknown colour map {name!r}: one of {', '.join(COLORMAPS)}")
    return name


def _opacity(value: float) -> float:
    return min(max(float(value), 0.0), 1.0)


def _layout(layout: PanelLayout) -> PanelLayout:
    if not isinstance(layout, PanelLayout):
        raise TypeError(f"a PanelLayout, not {layout!r}")
    return layout


def _remembered_instruments(settings: Settings) -> InstrumentViews:
    """The instruments' parameters the settings remember; an instrument or a value that is not known keeps
    its defaults, and the settings' problems say so."""
    kept: dict[str, dict] = {}
    for name, given in settings.instrument_params.items():
        try:
            InstrumentViews(params={name: given})
        except (KeyError, TypeError, ValueError) as exc:
            settings.problems.append(
                f"settings: the {name!r} instrument's parameters ({exc}): its defaults are used"
            )
        else:
            kept[name] = given
    return InstrumentViews(params=kept)


def _instruments(views: InstrumentViews) -> InstrumentViews:
    if not isinstance(views, InstrumentViews):
        raise TypeError(f"an InstrumentViews, not {views!r}")
    if unknown := set(views.panels) - set(panel_keys()):
        raise ValueError(f"no panel {', '.join(sorted(unknown))}")
    return views


class ViewerState:
    mode = _Field(ViewMode)
    colormap = _Field(_colormap)
    opacity = _Field(_opacity)
    zoom_locked = _Field(bool)
    original = _Field(bool)  # the original in place of every layer (the O key, or Space held)
    layout = _Field(_layout)
    instruments = _Field(_instruments)  # the classic instruments' views on the panels (instrument_views.py)

    def __init__(
        self,
        *,
        mode: ViewMode = ViewMode.OVERLAY,
        colormap: str = DEFAULT_COLORMAP,
        opacity: float = 0.6,
        zoom_locked: bool = True,
        original: bool = False,
        layout: PanelLayout | None = None,
        instruments: InstrumentViews | None = None,
    ):
        self._values: dict[str, Any] = {}
        self.events = ViewerEvents()
        self.mode, self.colormap, self.opacity = mode, colormap, opacity
        self.zoom_locked, self.original, self.layout = zoom_locked, original, layout or PanelLayout()
        self.instruments = instruments or InstrumentViews()

    @classmethod
    def from_settings(cls, settings: Settings) -> ViewerState:
        colormap = settings.colormap if settings.colormap in COLORMAPS else DEFAULT_COLORMAP
        layout, instruments = PanelLayout.from_settings(settings), _remembered_instruments(settings)
        return cls(colormap=colormap, opacity=settings.opacity, layout=layout, instruments=instruments)

    def remember(self, settings: Settings) -> None:
        """What the next start restores: the colour map, the opacity, the layout and the instruments'
        parameters."""
        settings.colormap, settings.opacity = self.colormap, self.opacity
        settings.instrument_params = {name: dict(given) for name, given in self.instruments.params.items()}
        layout = self.layout
        settings.panel_layout, settings.single_panel, settings.pair_model = (
            layout.name,
            layout.single,
            layout.pair,
        )

    def shown_panels(self) -> list[str]:
        return self.layout.shown(self.mode)
