"""The HTML report: the same content as the PDF, one self-contained page next to its PNGs."""

from __future__ import annotations

from html import escape
from pathlib import Path

from ..io.outputs import write_atomic
from ..maps.stability import MEANING as STABILITY_MEANING
from .sections import (
    FINDINGS_CAPTION,
    FINDINGS_TITLE,
    Row,
    agreement_caption,
    case_rows,
    cover_rows,
    decision_rows,
    has_findings,
    hash_problem,
    image_rows,
    log_rows,
    mark_rows,
    model_rows,
    parameter_rows,
    provenance_rows,
    region_rows,
    stability_caption,
    stability_text,
    summary_table,
    summary_text,
    thumbnail_text,
    verdict_line,
)
from .views import VIEWS_TITLE, view_figures


def _table(rows: list[Row]) -> str:
    cells = "".join(
        f"<tr><th>{escape(row.label)}</th><td class={row.kind}>{escape(row.value)}</td></tr>" for row in rows
    )
    return f"<table>{cells}</table>"


def _grid(rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(cell)}</th>" for cell in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows[1:])
    return f"<table><tr>{head}</tr>{body}</table>"


def _image_section(entry: dict, report: dict) -> str:
    parts = [f"<section><h2>{escape(entry['file_name'])}</h2>"]
    if problem := hash_problem(entry):
        parts.append(f"<p class=alert>{escape(problem)}</p>")
    parts.append(_table(image_rows(entry)))
    if rows := provenance_rows(entry):
        parts.append(f"<h3>File and provenance</h3>{_table(rows)}")
        thumbnail = entry["provenance"].get("thumbnail") or {}
        if thumbnail.get("picture"):
            caption = escape(f"EXIF thumbnail: {thumbnail_text(thumbnail)}")
            parts.append(
                f"<figure><img src='{thumbnail['picture']}'><figcaption>{caption}</figcaption></figure>"
            )
    if verdict := entry.get("analyst_verdict"):
        parts.append(
            "<div class=verdict><b>Analyst's verdict (a person's assessment, not a model output)</b><br>"
            f"{escape(verdict_line(verdict))}</div>"
        )
    for name, result in entry.get("models", {}).items():
        meaning = escape(result["score_meaning"])
        parts.append(f"<h3>{escape(result['statement'])}</h3><p class=small>Score: {meaning}.</p>")
        if "overlay" in result:
            mask = f"mask @ {result['threshold']}"
            parts.append(
                f"<div class=panels><figure><img src='{result['overlay']}'><figcaption>overlay</figcaption>"
                f"</figure><figure><img src='{result['mask']}'><figcaption>{mask}</figcaption></figure>"
                f"<figure><img src='{result['heatmap']}'><figcaption>heat map</figcaption></figure></div>"
            )
        title = report["models"][name]["title"]
        if "stability" in result:
            caption = escape(stability_caption(title, result))
            parts.append(
                f"<figure><img src='{result['stability']['overlay']}'><figcaption>{caption}</figcaption>"
                f"</figure><p>{escape(stability_text(result))}</p>"
                f"<p class=small>{escape(STABILITY_MEANING)}</p>"
            )
        if result["regions"]:
            parts.append(f"<p>{escape(title)} regions (largest first)</p>{_grid(region_rows(result, 20))}")
    if "agreement" in entry:
        caption = escape(agreement_caption(entry, report))
        parts.append(
            f"<figure><img src='{entry['agreement']['image']}'><figcaption>{caption}</figcaption></figure>"
        )
    return "".join(parts) + _views_part(entry) + _findings_part(entry, report) + "</section>"


def _views_part(entry: dict) -> str:
    """The classic instruments' views: a figure each, with its one-line reading guide, numbers and notes."""
    figures = view_figures(entry)
    parts = [f"<h3>{escape(VIEWS_TITLE)}</h3>"] if figures else []
    for figure in figures:
        parts.append(f"<h4>{escape(figure.title)}</h4><p class=small>{escape(figure.guide)}</p>")
        if figure.alert:
            parts.append(f"<p class=alert>{escape(figure.alert)}</p>")
        pictures = "".join(
            f"<figure><img src='{escape(path)}'><figcaption>{escape(label)}</figcaption></figure>"
            for label, path in figure.pictures
        )
        parts.append(f"<div class=views>{pictures}</div>" if pictures else "")
        parts += [f"<p class=small>{escape(line)}</p>" for line in figure.lines]
    return "".join(parts)


def _findings_part(entry: dict, report: dict) -> str:
    """The examiner's own marks and decisions, after the models' figures and boxed apart from them."""
    if not has_findings(entry):
        return ""
    parts = [f"<div class=findings><h3>{escape(FINDINGS_TITLE)}</h3>"]
    if entry.get("findings_figure"):
        parts.append(
            f"<figure><img src='{entry['findings_figure']}'>"
            f"<figcaption>{escape(FINDINGS_CAPTION)}</figcaption></figure>"
        )
    for rows in (mark_rows(entry), decision_rows(entry, report)):
        if len(rows) > 1:
            parts.append(_grid(rows))
    return "".join(parts) + "</div>"


def write_html(report: dict, results_dir: Path, path: Path) -> Path:
    case = report["case"]
    notes = f"<h2>Notes</h2><p>{escape(case['notes'])}</p>" if case["notes"] else ""
    models = "".join(_table(model_rows(report, name)) for name in report["models"])
    summary = (
        f"<h2>Summary</h2><p>{escape(summary_text(report['summary']))}</p>{_grid(summary_table(report))}"
        if len(report["images"]) > 1
        else ""
    )
    body = (
        "<h1>Generative-inpainting localisation report</h1>"
        + _table(cover_rows(report) + case_rows(report))
        + notes
        + "<h2>Parameters</h2>"
        + _table(parameter_rows(report))
        + "<h2>Models</h2>"
        + models
        + "<h2>Limitations</h2><ul>"
        + "".join(f"<li>{escape(t)}</li>" for t in report["limitations"])
        + "</ul>"
        + summary
        + "".join(_image_section(entry, report) for entry in report["images"])
        + (
            f"<h2>Appendix: the case's audit log</h2>{_grid(log_rows(report))}"
            if report.get("case_log")
            else ""
        )
    )
    style = (
        "body{font-family:sans-serif;max-width:1100px;margin:auto}"
        "table{border-collapse:collapse;margin:6px 0}"
        "th,td{border:1px solid #bbb;padding:2px 6px;text-align:left;vertical-align:top;font-size:13px}"
        ".alert{background:#b00020;color:#fff;padding:8px;font-weight:bold}.small{font-size:12px;color:#444}"
        ".mono{font-family:monospace}"
        ".panels{display:flex;gap:8px}figure{margin:4px}img{max-width:340px}"
        ".verdict{border:2px solid #1f618d;background:#f4f9fd;padding:6px;margin:6px 0}"
        ".findings{border:2px solid #1f618d;padding:6px;margin:10px 0}"
        ".views{display:flex;flex-wrap:wrap;gap:4px}.views img{max-width:250px}"
    )
    page = (
        f"<!doctype html><html><head><meta charset=utf-8><title>Report {escape(case['case_number'])}"
        f"</title><style>{style}</style></head><body>{body}</body></html>"
    )
    write_atomic(path, page.encode("utf-8"))
    return path
