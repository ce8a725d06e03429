"""The central panels: the input and one per model, zoom and pan locked, each model's layer and score.

The grid subscribes itself to what it shows: the viewer state (mode, colour map, opacity, zoom lock, the
original, the layout), the thresholds' owner, the image on screen (the view controller) and the scores
computed with its regions."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QSplitter, QWidget

from ..core.evaluation.ground_truth import GroundTruth
from ..core.maps.render import ViewMode, agreement_layer, model_layer, stability_layer, truth_layer
from ..core.models.registry import map_titles
from ..core.session.events import Binding, rebind
from ..core.session.image_results import ModelResult
from ..core.session.viewer_state import AGREEMENT, INPUT, PanelLayout, ViewerState
from .controllers.thresholds import ThresholdsController
from .controllers.view import ViewController
from .document import Document
from .image_view import ImageView, ViewLink
from .qimages import layer_image
from .scores import panel_score
from .widgets import Panel

AGREEMENT_OPACITY = 0.75
NO_STABILITY = "no stability check yet — Analysis › Check stability (Ctrl+Shift+B)"
LAYOUTS = {"three": "Three panels", "two": "Two panels", "one": "One panel"}
PANEL_TITLES = {INPUT: "Input", **map_titles(), AGREEMENT: "Agreement"}


class PanelGrid(QSplitter):
    """Input, one panel per map model and the agreement panel, shown three, two or one at a time."""

    hovered = Signal(int, int)  # image pixel under the cursor, (-1, -1) outside
    cardRequested = Signal(str)
    zoomChanged = Signal()  # the zoom of the panel in front, or the panels shown, changed

    def __init__(
        self,
        viewer: ViewerState,
        thresholds: ThresholdsController,
        view: ViewController,
        parent: QWidget | None = None,
    ):
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.panels = [Panel(key, title) for key, title in PANEL_TITLES.items()]
        self.link = ViewLink([p.view for p in self.panels])
        for panel in self.panels:
            self.addWidget(panel)
            self.setStretchFactor(self.count() - 1, 1)
            panel.view.hovered.connect(self.hovered)
            panel.view.viewChanged.connect(self.zoomChanged)
            panel.view.doubleClicked.connect(lambda key=panel.key: self.toggle_maximised(key))
            panel.cardRequested.connect(self.cardRequested)
            if panel in self.model_panels:
                panel.view.pressed.connect(lambda key=panel.key: self.activate(key))
        self._truth: GroundTruth | None = None
        self._notices: dict[str, str] = {}  # what each panel says over its own picture
        self._covered: set[str] = set()  # panels showing an instrument's view, which says its own
        self._before_maximised: PanelLayout | None = None
        self.active_model = self.model_panels[0].key  # the one `]` and `[` act on when not linked
        self.activate(self.active_model)
        self.view = view
        view.loading.connect(self._loading)
        view.replaced.connect(self.show_input)
        view.displayed.connect(self._displayed)
        view.queueStateChanged.connect(self._show_scores)
        view.fitWanted.connect(self.fit)
        thresholds.owner.events.moved.connect(self.refresh_layers)
        thresholds.regionsReady.connect(lambda document, _: self._show_scores(document))  # with GT scores
        self.viewer: ViewerState | None = None
        self.bind(viewer)

    def bind(self, viewer: ViewerState) -> None:
        """Show this viewer state from now on: the one before no longer reaches the panels."""
        rebind(self._bindings(self.viewer), self._bindings(viewer))
        self.viewer = viewer
        self.link.locked = viewer.zoom_locked
        self._arranged(viewer.layout)

    def _bindings(self, viewer: ViewerState | None) -> list[Binding]:
        if viewer is None:
            return []
        events = viewer.events
        return [
            (events.mode, self._mode_changed),
            (events.colormap, self._redraw),
            (events.original, self._redraw),
            (events.opacity, self._set_opacity),
            (events.zoom_locked, self._lock),
            (events.layout, self._arranged),
        ]

    @property
    def state(self) -> ViewerState:
        assert self.viewer is not None  # bound in the constructor
        return self.viewer

    @property
    def leader(self) -> ImageView:
        """The view that zoom commands act on (the others follow it while locked): the first one shown."""
        shown = self.state.shown_panels()
        return next((p.view for p in self.panels if p.key in shown), self.panels[0].view)

    def fit(self) -> None:
        self.leader.fit()

    def actual_size(self) -> None:
        self.leader.actual_size()

    def zoom(self, factor: float) -> None:
        self.leader.zoom(factor)

    def zoom_to_region(self, rect: QRectF, number: int) -> None:
        """A region's numbered box on every panel, zoomed to."""
        self.show_region("selected", rect, number)
        self.leader.zoom_to(rect)

    @property
    def model_panels(self) -> list[Panel]:
        return [p for p in self.panels if p.key in map_titles()]

    def panel(self, key: str) -> Panel:
        return next(p for p in self.panels if p.key == key)

    # --- layout ----------------------------------------------------------------------------------
    def choose(self, layout: str, single: str | None = None) -> None:
        """A layout the user asked for (a double-clicked panel is no longer maximised)."""
        self._before_maximised = None
        now = self.state.layout
        self.state.layout = PanelLayout(layout, single or now.single, now.pair)

    def switch_pair(self) -> None:
        """In the two-panel layout, the next model beside the input."""
        names, now = list(map_titles()), self.state.layout
        self._before_maximised = None
        self.state.layout = PanelLayout("two", now.single, names[(names.index(now.pair) + 1) % len(names)])
        self.activate(self.state.layout.pair)

    def toggle_maximised(self, key: str) -> None:
        """Double-click: the panel alone; again: the layout before."""
        before, now = self._before_maximised, self.state.layout
        if before is not None and now.name == "one":
            self._before_maximised = None
            self.state.layout = PanelLayout(before.name, before.single, now.pair)
            return
        self.state.layout = PanelLayout("one", key, now.pair)
        self._before_maximised = now

    def activate(self, key: str) -> None:
        self.active_model = key
        for panel in self.model_panels:
            panel.set_active(panel.key == key)

    def _show_panels(self) -> None:
        shown = self.state.shown_panels()
        for panel in self.panels:
            panel.setVisible(panel.key in shown)
        self.setSizes([10_000 if p.key in shown else 0 for p in self.panels])
        models = [key for key in shown if key in map_titles()]
        if models and self.active_model not in models:  # `]` and `[` act on a model in sight
            self.activate(models[0])

    def _arranged(self, _layout: PanelLayout) -> None:
        self._show_panels()
        self.refresh_layers()  # layers are drawn only on the panels in sight
        self.zoomChanged.emit()

    # --- what the viewer state changes -----------------------------------------------------------
    def _mode_changed(self, _mode: ViewMode) -> None:
        self._show_panels()  # the agreement is one panel beside the input
        self.refresh_layers()
        self._show_scores(self.view.current)  # a model panel's notice depends on the mode
        self.zoomChanged.emit()

    def _redraw(self, _value: object) -> None:
        self.refresh_layers()

    def _set_opacity(self, opacity: float) -> None:
        if self.state.mode in (ViewMode.OVERLAY, ViewMode.STABILITY) and not self.state.original:
            for panel in self.model_panels:
                panel.view.layer.setOpacity(opacity)

    def _lock(self, locked: bool) -> None:
        self.link.locked = locked

    # --- what the image on screen changes --------------------------------------------------------
    def _loading(self, _path: str) -> None:
        if self.view.current is None:  # nothing of the image shown before stays while another loads
            self.clear()
            self._show_scores(None)

    def _displayed(self, document: Document) -> None:
        self.refresh_layers()
        self.show_truth(document.ground_truth)
        self._show_scores(document)

    def show_input(self, document: Document) -> None:
        """A new image on screen (a preview only updates the maps of the one shown)."""
        for panel in self.panels:
            panel.view.set_base(document.base)

    def clear(self) -> None:
        """Empty panels: no image, no layer, no outline, no notice."""
        self.show_truth(None)
        for kind in ("selected", "hovered"):
            self.show_region(kind, None)
        for panel in self.panels:
            panel.view.set_base(None)
            panel.view.set_layer(None)
            self.say(panel, "")

    # --- layers ----------------------------------------------------------------------------------
    def refresh_layers(self, changed: frozenset[str] | None = None) -> None:
        """Rebuild the model layers; with `changed` (after a threshold move) only those that depend on it."""
        state, document = self.state, self.view.current
        results = document.models if document else {}
        self._show_agreement(document, results)
        mode = state.mode
        if changed is not None and not mode.uses_threshold:
            return
        panel_mode = ViewMode.MASK if mode is ViewMode.AGREEMENT else mode  # agreement has its own panel
        shown = state.shown_panels()
        for panel in self.model_panels:
            if changed is not None and panel.key not in changed:
                continue
            result = results.get(panel.key)
            if result is None or result.levels is None or state.original or panel.key not in shown:
                panel.view.set_layer(None)  # a hidden panel is drawn when shown
            elif panel_mode is ViewMode.STABILITY:
                self._show_stability(panel, result)
            else:
                layer = layer_image(model_layer(panel_mode, result.levels, result.mask, state.colormap))
                panel.view.set_layer(layer, state.opacity if panel_mode is ViewMode.OVERLAY else 1.0)

    def _show_agreement(self, document: Document | None, results: dict[str, ModelResult]) -> None:
        """Masks make it: it follows every threshold move."""
        panel = self.panel(AGREEMENT)
        if AGREEMENT not in self.state.shown_panels():
            panel.view.set_layer(None)
            return
        maps = self._maps(results)
        masks = [result.mask() for result in maps]
        agreement = agreement_layer(*masks) if len(masks) == 2 and not self.state.original else None
        panel.view.set_layer(
            QPixmap.fromImage(layer_image(agreement)) if agreement else None, AGREEMENT_OPACITY
        )
        self.say(panel, "needs both models' maps" if document is not None and len(maps) < 2 else "")

    def _show_stability(self, panel: Panel, result: ModelResult) -> None:
        """The stability map over the image, or a notice that no check was run."""
        check = result.stability_now() if result.preview is None else None
        layer = layer_image(stability_layer(check.levels())) if check else None
        panel.view.set_layer(layer, self.state.opacity)
        self.say(panel, self._notice(result, ""))

    def _notice(self, result: ModelResult | None, missing: str) -> str:
        """What a model panel says over its image: why it has no map, or no stability check to show."""
        if result is None:
            return missing
        stability_missing = result.stability is None or result.preview is not None
        return NO_STABILITY if self.state.mode is ViewMode.STABILITY and stability_missing else ""

    @staticmethod
    def _maps(results: dict[str, ModelResult]) -> list[ModelResult]:
        return [results[name] for name in map_titles() if name in results and results[name].has_map]

    def _show_scores(self, document: Document | None) -> None:
        """Each model panel's score line, or why it has none ("queued", "analysing…", "no weights")."""
        missing = self.view.missing_maps(document.path) if document is not None else {}
        for panel in self.model_panels:
            result = document.models.get(panel.key) if document is not None else None
            why = missing.get(panel.key, "not analysed")
            self.say(panel, self._notice(result, why) if document is not None else "")
            truth = document.ground_truth if document is not None else None
            text, tip = panel_score(result, why, truth) if document is not None else ("", "")
            panel.score.setText(text)
            panel.score.setToolTip(tip)

    def say(self, panel: Panel, notice: str) -> None:
        """What a panel says over its own picture (not while it shows an instrument's view)."""
        self._notices[panel.key] = notice
        if panel.key not in self._covered:
            panel.view.set_notice(notice)

    def cover(self, key: str, notice: str | None) -> None:
        """An instrument's view shown in place of a panel's own picture says `notice` over it; None: the
        panel shows its own picture again, and what it says (instrument_views.py)."""
        if notice is None:
            self._covered.discard(key)
            notice = self._notices.get(key, "")
        else:
            self._covered.add(key)
        self.panel(key).view.set_notice(notice)

    # --- outlines --------------------------------------------------------------------------------
    def show_region(self, kind: str, rect: QRectF | None, number: int = 0) -> None:
        """A region's numbered box on every panel (`selected` or `hovered`)."""
        for panel in self.panels:
            panel.view.set_box(kind, rect, number)

    def show_truth(self, truth: GroundTruth | None) -> None:
        """A ground truth's outline on every panel."""
        if truth is self._truth:
            return
        self._truth = truth
        outline = QPixmap.fromImage(layer_image(truth_layer(truth.outline()))) if truth is not None else None
        for panel in self.panels:
            panel.view.set_truth(outline)
