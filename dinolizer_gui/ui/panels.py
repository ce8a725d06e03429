"""The central panels: the input and one per model, zoom and pan locked, each model's layer and score."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QSplitter

from ..core.evaluation.ground_truth import GroundTruth
from ..core.io.names import readable
from ..core.maps.render import ViewMode, agreement_layer, model_layer, stability_layer, truth_layer
from ..core.models.integrity import stated
from ..core.models.registry import map_titles, titles
from ..core.session.image_results import ModelResult
from ..core.session.settings import Settings
from .document import Document
from .image_view import ViewLink
from .qimages import layer_image
from .widgets import Panel

AGREEMENT_OPACITY = 0.75
AGREEMENT = "agreement"  # the key of the agreement panel
NO_STABILITY = "no stability check yet — Analysis › Check stability (Ctrl+Shift+B)"
LAYOUTS = {"three": "Three panels", "two": "Two panels", "one": "One panel"}


class PanelGrid(QSplitter):
    """Input, one panel per map model and the agreement panel, shown three, two or one at a time."""

    hovered = Signal(int, int)  # image pixel under the cursor, (-1, -1) outside
    cardRequested = Signal(str)
    arranged = Signal()  # the layout or the panels shown changed

    def __init__(self, parent=None):
        super().__init__(Qt.Orientation.Horizontal, parent)
        models = [Panel(name, title) for name, title in map_titles().items()]
        self.panels = [Panel("input", "Input"), *models, Panel(AGREEMENT, "Agreement")]
        self.link = ViewLink([p.view for p in self.panels])
        for panel in self.panels:
            self.addWidget(panel)
            self.setStretchFactor(self.count() - 1, 1)
            panel.view.hovered.connect(self.hovered)
            panel.view.doubleClicked.connect(lambda key=panel.key: self.toggle_maximised(key))
            panel.cardRequested.connect(self.cardRequested)
            if panel in models:
                panel.view.pressed.connect(lambda key=panel.key: self.activate(key))
        self._truth: GroundTruth | None = None
        self.layout_name, self.single, self.pair = "three", "input", models[0].key
        self.agreement_mode = False
        self.mode = ViewMode.OVERLAY  # what the model panels show
        self._before_maximised: tuple[str, str] | None = None
        self.active_model = models[0].key  # the one `]` and `[` act on when not linked
        self.activate(self.active_model)
        self.arrange()

    @property
    def leader(self):
        """The view that zoom commands act on (the others follow it while locked): the first one shown."""
        return next((p.view for p in self.panels if p.key in self.shown_keys()), self.panels[0].view)

    def fit(self) -> None:
        self.leader.fit()

    def actual_size(self) -> None:
        self.leader.actual_size()

    def zoom(self, factor: float) -> None:
        self.leader.zoom(factor)

    def zoom_to(self, rect: QRectF) -> None:
        self.leader.zoom_to(rect)

    @property
    def model_panels(self) -> list[Panel]:
        return [p for p in self.panels if p.key in map_titles()]

    def panel(self, key: str) -> Panel:
        return next(p for p in self.panels if p.key == key)

    # --- layout ----------------------------------------------------------------------------------
    def shown_keys(self) -> list[str]:
        if self.layout_name == "one":
            return [self.single]
        if self.agreement_mode:  # the agreement of both models is one panel, beside the input
            return ["input", AGREEMENT]
        if self.layout_name == "two":
            return ["input", self.pair]
        return ["input", *map_titles()]

    def arrange(self, layout: str | None = None, single: str | None = None, pair: str | None = None) -> None:
        """Show the panels of a layout (unchanged arguments keep their value), equally wide."""
        self.layout_name = layout or self.layout_name
        self.single, self.pair = single or self.single, pair or self.pair
        self._show_panels()
        self.arranged.emit()

    def _show_panels(self) -> None:
        shown = self.shown_keys()
        for panel in self.panels:
            panel.setVisible(panel.key in shown)
        self.setSizes([10_000 if p.key in shown else 0 for p in self.panels])
        models = [key for key in shown if key in map_titles()]
        if models and self.active_model not in models:  # `]` and `[` act on a model in sight
            self.activate(models[0])

    def restore(self, settings: Settings) -> None:
        """The layout the settings remember (an unknown one: three panels)."""
        known = {panel.key for panel in self.panels}
        self.arrange(
            settings.panel_layout if settings.panel_layout in LAYOUTS else "three",
            settings.single_panel if settings.single_panel in known else "input",
            settings.pair_model if settings.pair_model in map_titles() else None,
        )

    def remember(self, settings: Settings) -> None:
        settings.panel_layout, settings.single_panel, settings.pair_model = (
            self.layout_name,
            self.single,
            self.pair,
        )

    def choose(self, layout: str, single: str | None = None) -> None:
        """A layout the user asked for (a double-clicked panel is no longer maximised)."""
        self._before_maximised = None
        self.arrange(layout, single)

    def switch_pair(self) -> None:
        """In the two-panel layout, the next model beside the input."""
        names = list(map_titles())
        self._before_maximised = None
        self.arrange("two", pair=names[(names.index(self.pair) + 1) % len(names)])
        self.activate(self.pair)

    def toggle_maximised(self, key: str) -> None:
        """Double-click: the panel alone; again: the layout before."""
        if self._before_maximised is not None and self.layout_name == "one":
            layout, single = self._before_maximised
            self._before_maximised = None
            self.arrange(layout, single)
            return
        before = (self.layout_name, self.single)
        self.arrange("one", key)
        self._before_maximised = before

    def activate(self, key: str) -> None:
        self.active_model = key
        for panel in self.model_panels:
            panel.set_active(panel.key == key)

    def show_input(self, document: Document) -> None:
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
            panel.view.set_notice("")

    def show_layers(
        self,
        mode: ViewMode,
        document: Document | None,
        colormap: str,
        opacity: float,
        original: bool,
        changed: set[str] | None = None,
    ) -> None:
        """Rebuild the model layers; with `changed` (after a threshold move) only those that depend on it."""
        self.mode = mode
        if self.agreement_mode != (mode is ViewMode.AGREEMENT):
            self.agreement_mode = mode is ViewMode.AGREEMENT
            self._show_panels()  # the layers are drawn below: no `arranged` to draw them twice
        results = document.models if document else {}
        agreement_panel = self.panel(AGREEMENT)
        if AGREEMENT in self.shown_keys():  # masks make it: it follows every threshold move
            agreement = self._agreement(results) if not original else None
            agreement_panel.view.set_layer(agreement, AGREEMENT_OPACITY)
            needs = "needs both models' maps" if document is not None and len(self._maps(results)) < 2 else ""
            agreement_panel.view.set_notice(needs)
        else:
            agreement_panel.view.set_layer(None)
        if changed is not None and not mode.uses_threshold:
            return
        panel_mode = ViewMode.MASK if mode is ViewMode.AGREEMENT else mode  # agreement has its own panel
        shown = self.shown_keys()
        for panel in self.model_panels:
            if changed is not None and panel.key not in changed:
                continue
            result = results.get(panel.key)
            if result is None or result.levels is None or original or panel.key not in shown:
                panel.view.set_layer(None)  # a hidden panel is drawn when shown
            elif panel_mode is ViewMode.STABILITY:
                self._show_stability(panel, result, opacity)
            else:
                layer = layer_image(model_layer(panel_mode, result.levels, result.mask, colormap))
                panel.view.set_layer(layer, opacity if panel_mode is ViewMode.OVERLAY else 1.0)

    def _show_stability(self, panel, result: ModelResult, opacity: float) -> None:
        """The stability map over the image, or a notice that no check was run."""
        check = result.stability_now() if result.preview is None else None
        panel.view.set_layer(layer_image(stability_layer(check.levels())) if check else None, opacity)
        panel.view.set_notice(self._notice(result, ""))

    def _notice(self, result: ModelResult | None, missing: str) -> str:
        """What a model panel says over its image: why it has no map, or no stability check to show."""
        if result is None:
            return missing
        if self.mode is ViewMode.STABILITY and (result.stability is None or result.preview is not None):
            return NO_STABILITY
        return ""

    @staticmethod
    def _maps(results: dict[str, ModelResult]) -> list[ModelResult]:
        return [results[name] for name in map_titles() if name in results and results[name].has_map]

    def _agreement(self, results: dict[str, ModelResult]) -> QPixmap | None:
        masks = [result.mask() for result in self._maps(results)]
        return QPixmap.fromImage(layer_image(agreement_layer(*masks))) if len(masks) == 2 else None

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

    def set_overlay_opacity(self, opacity: float) -> None:
        for panel in self.model_panels:
            panel.view.layer.setOpacity(opacity)

    def show_scores(self, document: Document | None, missing: dict[str, str] | None = None) -> str:
        """Each panel's score line; returns every model's score with its meaning, for the dock. A model
        without a result says why (`missing` by model: "queued", "analysing…", "no weights")."""
        lines = []
        for panel in self.model_panels:
            result = document.models.get(panel.key) if document else None
            why = (missing or {}).get(panel.key, "not analysed")
            panel.view.set_notice(self._notice(result, why) if document is not None else "")
            if result is None:
                panel.score.setText(f"<b style='color:#c0392b'>{why}</b>" if document else "")
                panel.score.setToolTip(
                    "this model has not run on this image: no score, no map" if document else ""
                )
                continue
            title, localizer = titles()[panel.key], result.localizer
            verdict = "<b style='color:#c0392b'>flagged</b>" if result.flagged() else "not flagged"
            explanation = (  # the weights first: whether they are the published ones matters most
                f"Weights: {_weights(localizer)}. "
                f"{title} score = 99th percentile of the inpainting probability map; "
                f"flagged when ≥ {localizer.score_threshold:.4f} ({localizer.score_threshold_source})."
            )
            if result.preview is not None:
                done, total = result.preview
                panel.score.setText(f"<b style='color:#b9770e'>preview — {done} of {total} windows</b>")
                panel.score.setToolTip(
                    "The average of the windows analysed so far (every pixel covered); the "
                    "map, the mask and the regions change until all windows are done."
                )
                lines.append(
                    f"<b>{title}</b>: <b style='color:#b9770e'>preview — {done} of {total} windows</b>, "
                    "not a result yet"
                )
                continue
            truth = _truth_scores(result, document.ground_truth if document else None)
            panel.score.setText(f"score {result.score:.3f} — {verdict}{truth}")
            panel.score.setToolTip(explanation)
            lines.append(
                f"<b>{title}</b> {result.score:.3f} ({verdict}): {explanation} "
                f"<i>Variant: {localizer.variant}; {result.run.device}; {_timing(result)}.</i>"
                + _stability_text(result)
            )
        results = document.models if document else {}
        lines += [_image_level_line(name, result) for name, result in results.items() if not result.has_map]
        if document is not None and document.ground_truth is not None:
            lines.append(_truth_line(document.ground_truth))
        if warning := fully_generated_warning(results):
            lines.insert(0, f"<b style='color:#c0392b'>{warning}</b>")
        return "<br>".join(lines)


def _stability_text(result: ModelResult) -> str:
    """How the mask held under the benign variants (the Stability view shows where)."""
    if (check := result.stability_now()) is None:
        return ""
    ious = ", ".join(
        f"{v.name} {'—' if v.iou_with_original is None else f'{v.iou_with_original:.2f}'}"
        for v in check.variants
    )
    return f" Stability check ({check.analyses} analyses): mask IoU with the original: {ious}."


def _truth_scores(result: ModelResult, truth: GroundTruth | None) -> str:
    """The score line's part about the ground truth: computing, a false-alarm area, or IoU, F1 and AP."""
    if truth is None or not result.has_map:
        return ""
    scores = result.scored_against(truth)
    if scores is None:
        return " · <span style='color:#2e7d32'>GT …</span>"
    if truth.authentic:
        return f" · <span style='color:#2e7d32'>GT authentic: {scores['marked_area']:.1%} marked</span>"
    return (
        f" · <span style='color:#2e7d32'>GT IoU {scores['iou']:.2f} F1 {scores['f1']:.2f} "
        f"AP {scores['ap']:.2f}</span>"
    )


def _truth_line(truth: GroundTruth) -> str:
    what = "authentic (no manipulated pixel)" if truth.authentic else f"{truth.mask.mean():.1%} manipulated"
    return (
        f"<b style='color:#2e7d32'>Ground truth</b> {readable(Path(truth.path).name)}: {what}, outlined in "
        "green. GT IoU and F1: the mask at the pixel threshold against it; AP: over every threshold "
        "(as <code>dinolizer-gui evaluate</code> computes them)."
    )


def _weights(localizer) -> str:
    return "; ".join(f"{c['file']}: {stated(c)}" for c in localizer.checkpoints)


def _timing(result: ModelResult) -> str:
    return f"{result.run.seconds:.1f} s" if result.run.seconds else "from the results store"


def _image_level_line(name: str, result: ModelResult) -> str:
    level, localizer = result.run.image_level, result.localizer
    assert level is not None  # a result without a map is an image-level answer
    flagged = " — <b style='color:#c0392b'>flagged</b>" if level.flagged else ""
    return (
        f"<b>{titles()[name]}: {level.probability:.2f}</b>{flagged} — {level.indication} that the whole "
        f"image is synthetic; this model does not localise (logit {level.logit:+.2f}, mean of 5 crops; "
        f"positive = synthetic). <i>Weights: {_weights(localizer)}; {result.run.device}; "
        f"{_timing(result)}.</i>"
    )


def fully_generated_warning(results: dict[str, ModelResult]) -> str:
    """Said when an image-level detector flags the image and a localizer marks most of it."""
    detectors = [r for r in results.values() if r.run.image_level is not None and r.flagged()]
    most = [titles()[n] for n, r in results.items() if r.has_map and r.marked_area() > 0.5]
    if detectors and most:
        return (
            f"{' and '.join(most)} mark most of the image, and {titles()[detectors[0].localizer.name]} "
            "says the whole image is likely synthetic: for a fully generated image the localizers' maps are "
            "not meaningful."
        )
    return ""
