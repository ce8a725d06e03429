"""The HTML report: the same content as the PDF, one self-contained page next to its PNGs."""

from __future__ import annotations

from html import escape
from pathlib import Path

from ..files import write_atomic
from ..models.integrity import stated
from .wording import computed_text, entry_status, precision_text, summary_text, verdict_line


def _rows(pairs) -> str:
    return "".join(f"<tr><th>{escape(str(k))}</th><td>{escape(str(v))}</td></tr>" for k, v in pairs)


def _image_section(entry: dict, report: dict) -> str:
    parts = [f"<section><h2>{escape(entry['file_name'])}</h2>"]
    if entry["hash_verified"] is False:
        parts.append(
            f"<p class=alert>{escape(entry['hash_problem'])}: SHA-256 at analysis {entry['sha256']}, "
            f"at export {entry['sha256_at_export'] or '—'}</p>"
        )
    exif = ", ".join(f"{k}: {v}" for k, v in entry.get("exif", {}).items()) or "none"
    parts.append(
        "<table>"
        + _rows(
            [
                ("Path", entry["path"]),
                ("SHA-256 at analysis", entry["sha256"] or "—"),
                ("SHA-256 at export", entry["sha256_at_export"] or "—"),
                ("Size", entry.get("file_size") or "—"),
                ("Format, pixels", f"{entry['format']}, {entry['width']} x {entry['height']}"),
                ("EXIF", exif),
                ("Transformations", "; ".join(entry["warnings"]) or "none"),
                ("Status", entry_status(entry)),
            ]
        )
        + "</table>"
    )
    if verdict := entry.get("analyst_verdict"):
        parts.append(
            "<div class=verdict><b>Analyst's verdict (a person's assessment, not a model output)</b><br>"
            f"{escape(verdict_line(verdict))}</div>"
        )
    for result in entry.get("models", {}).values():
        parts.append(
            f"<h3>{escape(result['statement'])}</h3><p class=small>{escape(result['score_meaning'])}</p>"
        )
        if "overlay" in result:
            parts.append(
                f"<div class=panels><figure><img src='{result['overlay']}'><figcaption>overlay</figcaption>"
                f"</figure><figure><img src='{result['mask']}'><figcaption>mask</figcaption></figure>"
                f"<figure><img src='{result['heatmap']}'><figcaption>heat map</figcaption></figure></div>"
            )
        regions = "".join(
            f"<tr><td>{r['index']}</td><td>{r['area_percent']:.2f}</td><td>{r['mean_probability']:.3f}"
            f"</td><td>{r['max_probability']:.3f}</td><td>{r['x']}, {r['y']}, {r['width']}, "
            f"{r['height']}</td></tr>"
            for r in result["regions"][:20]
        )
        if regions:
            parts.append(
                "<table><tr><th>#</th><th>Area %</th><th>Mean p</th><th>Max p</th><th>Box</th></tr>"
                f"{regions}</table>"
            )
    if "agreement" in entry:
        parts.append(
            f"<figure><img src='{entry['agreement']['image']}'><figcaption>agreement: orange = first model "
            "only, blue = second only, magenta = both</figcaption></figure>"
        )
    return "".join(parts) + "</section>"


def write_html(report: dict, results_dir: Path, path: Path) -> Path:
    case, analysis = report["case"], report["analysis"]
    used = analysis["parameters"]["thresholds"]
    models = "".join(
        f"<h3>{escape(m['title'])} — {escape(m['variant'])}</h3><table>"
        + _rows(
            [
                ("Trained on", m["training_data"]),
                ("Pixel threshold", used.get(name, "— (no map)")),
                ("Image threshold", f"{m['score_threshold']:.4f} — {m['score_threshold_source']}"),
                ("Precision", precision_text(m)),
                ("Licence", m["licence"]),
            ]
            + [(c["file"], f"{c['sha256']} — weights: {stated(c)}") for c in m["checkpoints"]]
        )
        + "</table>"
        for name, m in report["models"].items()
    )
    body = (
        "<h1>Generative-inpainting localisation report</h1><table>"
        + _rows(
            [
                ("Case number", case["case_number"] or "—"),
                ("Analyst", case["analyst"] or "—"),
                ("Organisation", case["organisation"] or "—"),
                ("Notes", case["notes"] or "—"),
                ("Exported", f"{report['exported_at']} (when this report was written)"),
                ("Analysed", f"{computed_text(analysis['maps_computed'])} (when the maps were computed)"),
                ("Application", report["application"]),
                ("Device", analysis["device"]["used"]),
                ("Parameters", analysis["parameters"]),
                ("Summary", summary_text(report["summary"])),
            ]
        )
        + "</table><h2>Models</h2>"
        + models
        + "<h2>Limitations</h2><ul>"
        + "".join(f"<li>{escape(t)}</li>" for t in report["limitations"])
        + "</ul>"
        + "".join(_image_section(entry, report) for entry in report["images"])
    )
    style = (
        ""
        "body{font-family:sans-serif;max-width:1100px;margin:auto}"
        "table{border-collapse:collapse;margin:6px 0}"
        "th,td{border:1px solid #bbb;padding:2px 6px;text-align:left;vertical-align:top;font-size:13px}"
        ".alert{background:#b00020;color:#fff;padding:8px;font-weight:bold}.small{font-size:12px;color:#444}"
        ".panels{display:flex;gap:8px}figure{margin:4px}img{max-width:340px}"
        ".verdict{border:2px solid #1f618d;background:#f4f9fd;padding:6px;margin:6px 0}"
    )
    page = (
        f"<!doctype html><html><head><meta charset=utf-8><title>Report {escape(case['case_number'])}"
        f"</title><style>{style}</style></head><body>{body}</body></html>"
    )
    write_atomic(path, page.encode("utf-8"))
    return path
