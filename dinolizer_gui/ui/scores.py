"""What the viewer says of each model's result: a model panel's score line and its tooltip, and the dock's
scores with their meaning, the weights that made them, the ground truth and the warnings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..core.evaluation.ground_truth import GroundTruth
from ..core.io.names import readable
from ..core.models.integrity import stated
from ..core.models.registry import map_titles, titles
from ..core.session.image_results import ImageResults, ModelResult

RED, AMBER, GREEN = "#c0392b", "#b9770e", "#2e7d32"
NOT_RUN_TIP = "this model has not run on this image: no score, no map"
PREVIEW_TIP = (
    "The average of the windows analysed so far (every pixel covered); the "
    "map, the mask and the regions change until all windows are done."
)


def panel_score(result: ModelResult | None, why: str, truth: GroundTruth | None) -> tuple[str, str]:
    """A model panel's score line and its tooltip; `why` says why a model without a result has none
    ("queued", "analysing…", "no weights")."""
    if result is None:
        return f"<b style='color:{RED}'>{why}</b>", NOT_RUN_TIP
    if result.preview is not None:
        return _preview(result), PREVIEW_TIP
    return f"score {result.score:.3f} — {_flag(result)}{_truth_scores(result, truth)}", _explanation(result)


def scores_text(results: ImageResults | None) -> str:
    """Every model's score with its meaning and weights, for the dock (a preview says it is not a result)."""
    models = results.models if results is not None else {}
    lines = []
    for name in map_titles():
        if (result := models.get(name)) is None:
            continue
        title = titles()[name]
        if result.preview is not None:
            lines.append(f"<b>{title}</b>: {_preview(result)}, not a result yet")
            continue
        lines.append(
            f"<b>{title}</b> {result.score:.3f} ({_flag(result)}): {_explanation(result)} "
            f"<i>Variant: {result.localizer.variant}; {result.run.device}; {_timing(result)}.</i>"
            + _stability_text(result)
        )
    lines += [_image_level_line(name, result) for name, result in models.items() if not result.has_map]
    if results is not None and results.ground_truth is not None:
        lines.append(_truth_line(results.ground_truth))
    if warning := fully_generated_warning(models):
        lines.insert(0, f"<b style='color:{RED}'>{warning}</b>")
    return "<br>".join(lines)


def _preview(result: ModelResult) -> str:
    assert result.preview is not None
    done, total = result.preview
    return f"<b style='color:{AMBER}'>preview — {done} of {total} windows</b>"


def _flag(result: ModelResult) -> str:
    return f"<b style='color:{RED}'>flagged</b>" if result.flagged() else "not flagged"


def _explanation(result: ModelResult) -> str:
    """The weights first: whether they are the published ones matters most."""
    localizer = result.localizer
    return (
        f"Weights: {_weights(localizer)}. "
        f"{titles()[localizer.name]} score = 99th percentile of the inpainting probability map; "
        f"flagged when ≥ {localizer.score_threshold:.4f} ({localizer.score_threshold_source})."
    )


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
        return f" · <span style='color:{GREEN}'>GT …</span>"
    if truth.authentic:
        return f" · <span style='color:{GREEN}'>GT authentic: {scores['marked_area']:.1%} marked</span>"
    return (
        f" · <span style='color:{GREEN}'>GT IoU {scores['iou']:.2f} F1 {scores['f1']:.2f} "
        f"AP {scores['ap']:.2f}</span>"
    )


def _truth_line(truth: GroundTruth) -> str:
    what = "authentic (no manipulated pixel)" if truth.authentic else f"{truth.mask.mean():.1%} manipulated"
    return (
        f"<b style='color:{GREEN}'>Ground truth</b> {readable(Path(truth.path).name)}: {what}, outlined in "
        "green. GT IoU and F1: the mask at the pixel threshold against it; AP: over every threshold "
        "(as <code>dinolizer-gui evaluate</code> computes them)."
    )


def _weights(localizer: Any) -> str:
    return "; ".join(f"{c['file']}: {stated(c)}" for c in localizer.checkpoints)


def _timing(result: ModelResult) -> str:
    return f"{result.run.seconds:.1f} s" if result.run.seconds else "from the results store"


def _image_level_line(name: str, result: ModelResult) -> str:
    level, localizer = result.run.image_level, result.localizer
    assert level is not None  # a result without a map is an image-level answer
    flagged = f" — <b style='color:{RED}'>flagged</b>" if level.flagged else ""
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
