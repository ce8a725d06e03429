"""The evaluation's PDF and HTML reports, built from evaluation.json and its plots."""

from __future__ import annotations

import base64
import io
import json
from html import escape
from pathlib import Path

from PIL import Image as PILImage

from ..errors import user_message
from ..io.outputs import write_atomic
from ..models.integrity import stated

SUMMARY_COLUMNS = (
    ("Model", "name"),
    ("Manip.", "manipulated"),
    ("Auth.", "authentic"),
    ("IoU", "mean_iou"),
    ("F1", "mean_f1"),
    ("Best F1", "mean_best_f1"),
    ("AP", "mean_ap"),
    ("Pooled AP", "pooled_ap"),
    ("Best T", "best_threshold"),
    ("F1 at best T", "mean_f1_at_best_threshold"),
    ("AUC", "auc"),
    ("Acc.", "accuracy"),
    ("TPR", "tpr"),
    ("TNR", "tnr"),
)
DEFINITIONS = (
    (
        "IoU, F1, precision, recall",
        "of the mask at the pixel threshold (a pixel is marked when its probability "
        "is at or above it), per manipulated image, then averaged over the manipulated images",
    ),
    (
        "Best F1",
        "per manipulated image, the best F1 over every threshold of its precision-recall curve "
        "(one per distinct probability), then averaged",
    ),
    (
        "AP",
        "per manipulated image, the average precision of its pixels (scikit-learn's definition: precision "
        "times the recall gained at each threshold, no interpolation), then averaged",
    ),
    (
        "Pooled AP",
        "the average precision of all the pixels of all evaluated images together (authentic images "
        "add negatives only)",
    ),
    (
        "Best T, F1 at best T",
        "the single threshold (searched in steps of 0.001) that maximises the mean F1 "
        "over the manipulated images, and that mean",
    ),
    (
        "AUC",
        "image level: the area under the ROC curve of the image score, manipulated against authentic "
        "images (ties count one half)",
    ),
    (
        "Acc., TPR, TNR",
        "image level, at the model's flag threshold: accuracy, the share of manipulated images "
        "flagged, the share of authentic images not flagged",
    ),
)
PLOT_TITLES = {"pr": "Precision-recall", "iou": "IoU per manipulated image", "roc": "ROC (image level)"}


def summary_rows(document: dict) -> list[list[str]]:
    rows = [[title for title, _ in SUMMARY_COLUMNS]]
    for name, summary in document["models"].items():
        values = {
            "name": name,
            "manipulated": summary["manipulated"],
            "authentic": summary["authentic"],
            **(summary["localization"] or {}),
            **summary["detection"],
        }
        rows.append([format_metric(values.get(key)) for _, key in SUMMARY_COLUMNS])
    return rows


def image_rows(document: dict) -> list[list[str]]:
    models = list(document["models"])
    rows = [["Image", "Truth", *[f"{name} IoU / F1 / AP / score" for name in models]]]
    for entry in document["images"]:
        truth = (
            entry["error"]
            if entry["status"] != "ok"
            else ("authentic" if entry["authentic"] else "manipulated")
        )
        cells = []
        for name in models:
            scores = entry["models"].get(name)
            cells.append(
                " / ".join(format_metric(scores.get(key)) for key in ("iou", "f1", "ap", "score"))
                if scores
                else "—"
            )
        rows.append([entry["path"], truth or "", *cells])
    return rows


def format_metric(value: object) -> str:
    """A metric as the tables print it: three decimals, '—' when it cannot be computed."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _weights_lines(document: dict) -> list[str]:
    return [
        f"{name}: {checkpoint['file']} — SHA-256 {checkpoint['sha256']} — weights: {stated(checkpoint)}"
        for name, model in document["model_details"].items()
        for checkpoint in model["checkpoints"]
    ]


def load(out_dir: Path) -> dict:
    return json.loads((Path(out_dir) / "evaluation.json").read_text(encoding="utf-8"))


def write_evaluation_reports(out_dir: Path, formats: list[str]) -> tuple[list[Path], dict[str, str]]:
    """Write each format beside evaluation.json; one that fails never stops the others."""
    document = load(out_dir)
    writers = {"pdf": write_pdf, "html": write_html}
    written, failures = [], {}
    for fmt in dict.fromkeys(formats):
        try:
            written.append(writers[fmt](document, Path(out_dir), Path(out_dir) / f"evaluation.{fmt}"))
        except Exception as exc:  # one format's failure (layout, disk, font) must not stop the others
            failures[fmt] = user_message(exc)
    return written, failures


def _context_lines(document: dict) -> list[tuple[str, str]]:
    truth, device = document["ground_truth"], document["device"]
    return [
        ("Created", document["created"]),
        ("Images", truth["images"]),
        ("Masks", f"{truth['masks']} (manipulated from 128{', inverted' if truth['inverted'] else ''})"),
        ("Images evaluated", ", ".join(f"{k}: {v}" for k, v in document["summary"].items())),
        ("Device", device["used"]),
        *(
            (f"Precision, {name}", f"{device['precision'][name]}: {why}")
            for name, why in device["precision_reason"].items()
        ),
        (
            "Geometry",
            "official" if document["parameters"]["official_geometry"] else "NOT the official geometry",
        ),
        ("Software", ", ".join(f"{k} {v}" for k, v in document["software"].items())),
    ]


def write_pdf(document: dict, out_dir: Path, path: Path) -> Path:
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.units import mm
    from reportlab.platypus import PageBreak, SimpleDocTemplate, Spacer

    from .pdf_blocks import grid_table, paragraph, pdf_styles, picture

    styles = pdf_styles()
    width = landscape(A4)[0] - 30 * mm
    story = [paragraph("Evaluation against ground-truth masks", styles["title"])]
    story.append(grid_table(_context_lines(document), [40 * mm, width - 40 * mm], styles))
    story += [Spacer(1, 3 * mm), paragraph("Weights", styles["h2"])]
    story += [paragraph(line, styles["small"]) for line in _weights_lines(document)]
    story += [Spacer(1, 3 * mm), paragraph("Summary", styles["h2"])]
    rows = summary_rows(document)
    story.append(grid_table(rows, [width / len(rows[0])] * len(rows[0]), styles, header=True))
    story.append(PageBreak())
    plots = document.get("plots", {})
    if plots:
        story.append(paragraph("Plots", styles["h2"]))
        pictures = [picture(PILImage.open(out_dir / file), width / 3 - 4 * mm) for file in plots.values()]
        story.append(
            grid_table([[PLOT_TITLES[k] for k in plots], pictures], [width / 3] * len(plots), styles)
        )
    story += [Spacer(1, 3 * mm), paragraph("Definitions", styles["h2"])]
    story.append(grid_table(DEFINITIONS, [45 * mm, width - 45 * mm], styles))
    story += [PageBreak(), paragraph("Images", styles["h2"])]
    rows = image_rows(document)
    first = width * 0.4
    rest = (width - first - 25 * mm) / max(len(rows[0]) - 2, 1)
    story.append(grid_table(rows, [first, 25 * mm] + [rest] * (len(rows[0]) - 2), styles, header=True))
    buffer = io.BytesIO()
    SimpleDocTemplate(
        buffer,
        pagesize=landscape(A4),
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=14 * mm,
        bottomMargin=14 * mm,
        title="Evaluation against ground-truth masks",
        invariant=1,
    ).build(story)
    write_atomic(path, buffer.getvalue())
    return path


def _table_html(rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(str(cell))}</th>" for cell in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>" for row in rows[1:])
    return f"<table><tr>{head}</tr>{body}</table>"


def write_html(document: dict, out_dir: Path, path: Path) -> Path:
    figures = "".join(
        f"<figure><img alt='{escape(PLOT_TITLES[key])}' src='data:image/png;base64,"
        f"{base64.b64encode((out_dir / file).read_bytes()).decode()}'>"
        f"<figcaption>{escape(PLOT_TITLES[key])}</figcaption></figure>"
        for key, file in document.get("plots", {}).items()
    )
    context = "".join(
        f"<tr><th>{escape(k)}</th><td>{escape(str(v))}</td></tr>" for k, v in _context_lines(document)
    )
    weights = "".join(f"<li>{escape(line)}</li>" for line in _weights_lines(document))
    definitions = "".join(f"<dt>{escape(term)}</dt><dd>{escape(text)}</dd>" for term, text in DEFINITIONS)
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>Evaluation</title><style>"
        "body{font-family:sans-serif;margin:2em;max-width:1200px}table{border-collapse:collapse;margin:1em 0}"
        "td,th{border:1px solid #bbb;padding:3px 6px;font-size:13px;text-align:left}th{background:#eee}"
        "figure{display:inline-block;margin:0 1em 1em 0}img{max-width:380px}dt{font-weight:bold}"
        "</style></head><body><h1>Evaluation against ground-truth masks</h1>"
        f"<table>{context}</table><h2>Weights</h2><ul>{weights}</ul>"
        f"<h2>Summary</h2>{_table_html(summary_rows(document))}<h2>Definitions</h2><dl>{definitions}</dl>"
        f"<h2>Plots</h2>{figures}<h2>Images</h2>{_table_html(image_rows(document))}</body></html>"
    )
    write_atomic(path, page.encode("utf-8"))
    return path
