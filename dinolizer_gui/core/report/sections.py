"""The report's content, section by section: the rows and sentences that the PDF and the HTML report both
render (each only decides how they look)."""

from __future__ import annotations

from dataclasses import dataclass

from ..io.names import counted, for_terminal
from ..io.provenance.summaries import declaration_short
from ..models.integrity import stated
from ..store.findings import threshold_text

WINDOW_NOTE = "504 px, class 2 of a 3-class softmax (release) or sigmoid (paper head)"
REGION_HEADER = ["#", "Area %", "Mean p", "Max p", "Box x, y, w, h"]


@dataclass(frozen=True)
class Row:
    label: str
    value: str
    kind: str = "text"  # "mono": a hash; "alert": something the reader must not miss


def cover_rows(report: dict) -> list[Row]:
    case, analysis = report["case"], report["analysis"]
    device = analysis["device"]
    return [
        Row("Case number", case["case_number"] or "—"),
        Row("Analyst", case["analyst"] or "—"),
        Row("Organisation", case["organisation"] or "—"),
        Row("Exported", f"{report['exported_at']} (when this report was written)"),
        Row("Analysed", f"{computed_text(analysis['maps_computed'])} (when the maps were computed)"),
        Row("Application", report["application"]),
        Row(
            "Device",
            f"{device['used']} (requested: {device['requested']})"
            + (f" — {device['note']}" if device["note"] else ""),
        ),
        Row("Software", ", ".join(f"{k} {v}" for k, v in analysis["software"].items())),
    ]


def case_rows(report: dict) -> list[Row]:
    """The case a report was made from: title, number, examiners and the audit log's last entry (a reader
    checks the log against them with `dinolizer-gui case verify`)."""
    log = report.get("case_log")
    if not log:
        return []
    return [
        Row("Case", f"{log['title']}" + (f" (number {log['number']})" if log["number"] else "")),
        Row("Examiners", ", ".join(log["examiners"]) or "—"),
        Row("Audit log", f"{log['last_seq']} entries when this report was written; the last one's hash:"),
        Row("Last entry hash", log["last_hash"], "mono"),
    ]


LOG_HEADER = ["Seq", "Time (UTC)", "Who", "What", "Details"]


def log_rows(report: dict) -> list[list[str]]:
    """The audit log appendix: a header, then one row per entry."""
    entries = (report.get("case_log") or {}).get("entries", [])
    return [LOG_HEADER] + [[str(e["seq"]), e["time"], e["who"], e["kind"], e["summary"]] for e in entries]


def parameter_rows(report: dict) -> list[Row]:
    rows = [Row("window (DinoLizer)", WINDOW_NOTE)]
    for key, value in report["analysis"]["parameters"].items():
        text = ", ".join(f"{k} {v}" for k, v in value.items()) if isinstance(value, dict) else str(value)
        rows.append(Row(key.replace("_", " "), text))
    return rows


def model_rows(report: dict, name: str) -> list[Row]:
    """One model's table: what it is, its thresholds and precision, and each weights file with its state."""
    model, used = report["models"][name], report["analysis"]["parameters"]["thresholds"]
    threshold = (
        f"{used[name]} (masks, areas and regions of this report; the papers use {model['pixel_threshold']})"
        if name in used
        else "— (no map)"
    )
    rows = [
        Row("Model", f"{model['title']} — {model['variant']}"),
        Row("Paper", model["paper"]),
        Row("Trained on", model["training_data"]),
        Row("Licence", model["licence"]),
        Row("Pixel threshold", threshold),
        Row("Image threshold", f"{model['score_threshold']:.4f} — {model['score_threshold_source']}"),
        Row("Precision", precision_text(model)),
        Row("Loading", "; ".join(model["load_notes"]) or "—"),
    ]
    for checkpoint in model["checkpoints"]:
        unofficial = (checkpoint.get("verification") or {}).get("state") not in ("verified", "recorded")
        rows += [
            Row("Checkpoint", f"{checkpoint['file']} ({checkpoint['layout']})"),
            Row("Weights", stated(checkpoint), "alert" if unofficial else "text"),
            Row("SHA-256", checkpoint["sha256"], "mono"),
        ]
    return rows


def summary_table(report: dict) -> list[list[str]]:
    """The batch summary: a header, then one row per image (errors and duplicates included)."""
    names = list(report["models"])
    rows = [
        ["File", "Status"]
        + [f"{report['models'][n]['title']} score" for n in names]
        + ["Marked area", "Analyst's verdict"]
    ]
    for entry in report["images"]:
        models = entry.get("models", {})
        scores = [
            f"{models[n]['score']:.3f}{' FLAGGED' if models[n]['flagged'] else ''}" if n in models else "—"
            for n in names
        ]
        marked = ", ".join(f"{m['marked_area']:.1%}" for m in models.values() if m["marked_area"] is not None)
        status = entry_status(entry) + (
            f" — {entry['hash_problem'].split(':')[0]}" if entry["hash_problem"] else ""
        )
        verdict = entry.get("analyst_verdict")
        rows.append(
            [entry["file_name"], status, *scores, marked or "—", verdict["verdict"] if verdict else "—"]
        )
    return rows


def hash_problem(entry: dict) -> str | None:
    """The alert of an image whose file changed (or went) since it was analysed; None when all is well."""
    if not entry["hash_problem"]:
        return None
    at_export = entry["sha256_at_export"] or "—"
    return f"{entry['hash_problem']}. SHA-256 at analysis {entry['sha256']}, at export {at_export}."


def image_rows(entry: dict) -> list[Row]:
    exif = ", ".join(f"{k}: {v}" for k, v in entry.get("exif", {}).items()) or "none"
    verified = " (verified)" if entry["hash_verified"] else ""
    rows = [
        Row("Path", entry["path"]),
        Row("SHA-256 at analysis", entry["sha256"] or "—", "mono"),
        Row("SHA-256 at export", f"{entry['sha256_at_export'] or '—'}{verified}", "mono"),
        Row("Size", f"{entry['file_size']:,} bytes" if entry.get("file_size") else "—"),
        Row(
            "Format, pixels", f"{entry['format'] or '—'}, {entry['width']} x {entry['height']} (as displayed)"
        ),
        Row("EXIF", exif),
        Row("Transformations", "; ".join(entry["warnings"]) or "none"),
    ]
    if entry["status"] != "ok":
        rows.append(Row("Status", entry_status(entry)))
    return rows


C2PA_WORDS = {
    "valid": "valid",
    "invalid": "INVALID",
    "none": "none",
    "remote": "points to a remote manifest (not fetched)",
    "damaged": "DAMAGED (present, unreadable)",
    "error": "could not be read",
}


def provenance_rows(entry: dict) -> list[Row]:
    """What the file says about itself, in as few rows as it takes (the EXIF summary is in the image's own
    rows): Content Credentials, their codes and actions, the declared source, the EXIF thumbnail, the JPEG's
    structure, generator text, the other indications, and what could not be read."""
    provenance = entry.get("provenance")
    if not provenance:
        return []
    c2pa, said = provenance["c2pa"], list(provenance["indications"])
    state = C2PA_WORDS.get(c2pa["state"], c2pa["state"])
    credentials = said.pop(0) if c2pa["state"] == "none" and said else f"{state} — {c2pa['message']}"
    if c2pa["state"] != "none" and said:
        said.pop(0)  # the same as the message
    broken = c2pa["state"] in ("invalid", "damaged")
    rows = [Row("Content Credentials", credentials, "alert" if broken else "text")]
    if c2pa["validation_codes"]:
        rows.append(Row("C2PA codes", ", ".join(c2pa["validation_codes"]), "mono"))
    if c2pa["actions"]:
        chain = " → ".join(
            action["action"]
            + (f" ({action['digital_source_type']})" if action["digital_source_type"] else "")
            for action in c2pa["actions"]
        )
        rows.append(Row("C2PA actions", f"{chain}; by {c2pa['claim_generator'] or 'an unnamed generator'}"))
    if declared := provenance["digital_source_types"]:
        rows.append(Row("Declared source", "; ".join(declaration_short(item) for item in declared)))
    if (thumbnail := provenance["thumbnail"]) and thumbnail["present"]:
        alert = "alert" if thumbnail["matches"] is False else "text"
        rows.append(Row("EXIF thumbnail", thumbnail_text(thumbnail), alert))
    if jpeg := provenance["jpeg"]:
        rows.append(Row("JPEG", jpeg_text(jpeg)))
    if texts := provenance["generator_text"]:
        rows.append(Row("Generator text", "; ".join(f"{key}: {value[:200]}" for key, value in texts.items())))
    if said:
        rows.append(Row("Indications", " ".join(said)))
    if provenance["problems"]:
        rows.append(Row("Not read", "; ".join(provenance["problems"])))
    return rows


def thumbnail_text(thumbnail: dict) -> str:
    if not thumbnail["present"]:
        return "none"
    if thumbnail["matches"] is None:
        return "present, not compared (see the indications)"
    verdict = "the same picture as the image" if thumbnail["matches"] else "ANOTHER picture than the image"
    return f"{verdict} (distance {thumbnail['distance']}, 0 = identical; above 0.08 = different)"


def jpeg_text(jpeg: dict) -> str:
    tables = "standard IJG tables" if jpeg["standard_tables"] else "tables of its own encoder"
    trailing = f"; {jpeg['trailing_bytes']:,} bytes after the image" if jpeg["trailing_bytes"] else ""
    if images := jpeg.get("mpf_images"):
        trailing += f"; {len(images)} more image(s) listed by its MPF index"
    scan = "progressive" if jpeg["progressive"] else "baseline"
    icc = f", ICC profile {jpeg['icc_profile']}" if jpeg.get("icc_profile") else ""
    return f"quality about {jpeg['quality']} ({tables}), {scan}, {jpeg['subsampling'] or '—'}{icc}{trailing}"


def region_rows(result: dict, limit: int) -> list[list[str]]:
    """The regions table; with a stability check, each region's stability and its label in words."""
    stability = {r["index"]: r for r in result.get("stability", {}).get("regions", [])}
    header = REGION_HEADER + (["Stability"] if "stability" in result else [])
    rows = [header]
    for r in result["regions"][:limit]:
        row = [
            str(r["index"]),
            f"{r['area_percent']:.2f}",
            f"{r['mean_probability']:.3f}",
            f"{r['max_probability']:.3f}",
            f"{r['x']}, {r['y']}, {r['width']}, {r['height']}",
        ]
        if "stability" in result:
            held = stability.get(r["index"])
            row.append(f"{held['stability']:.2f} {held['label']}" if held else "—")
        rows.append(row)
    return rows


def stability_caption(title: str, result: dict) -> str:
    analyses = result["stability"]["analyses"]
    return (
        f"{title} stability: colour = analyses marking a pixel, dark purple 1 to yellow {analyses} of "
        f"{analyses}; clear: none"
    )


def stability_text(result: dict) -> str:
    """How the mask held under each variant, in one sentence."""
    variants = "; ".join(
        f"{v['name']}: {v['marked_area']:.1%} marked, mask IoU with the original "
        + ("— (neither marks a pixel)" if v["iou_with_original"] is None else f"{v['iou_with_original']:.2f}")
        for v in result["stability"]["variants"]
    )
    return f"Stability check ({result['stability']['analyses']} analyses): {variants}."


def agreement_caption(entry: dict, report: dict) -> str:
    first, second = (report["models"][n]["title"] for n in entry["agreement"]["models"])
    return f"Agreement: orange {first} only, blue {second} only, magenta both"


def computed_text(span: dict | None) -> str:
    """The analysis time as reports print it."""
    if span is None:
        return "—"
    if span["first"] == span["last"]:
        return span["first"]
    return f"{span['first']} to {span['last']}"


def summary_text(summary: dict) -> str:
    """The batch summary's sentence: every image counted, errors and duplicates included; then the analyst's
    verdicts."""
    verdicts = ", ".join(
        f"{count} {verdict}" for verdict, count in summary["analyst_verdicts"].items() if count
    )
    return (
        f"{counted(summary['images'], 'image')}: {summary['flagged']} flagged, {summary['not_flagged']} not "
        f"flagged, {counted(summary['errors'], 'error')}, {counted(summary['duplicates'], 'duplicate')} "
        f"(counted with the file they copy), {counted(summary['hash_mismatches'], 'hash mismatch')}, "
        f"{counted(summary.get('missing_at_export', 0), 'file')} missing at export. "
        f"Analyst's verdicts: {verdicts}.{provenance_summary(summary)}"
    )


def provenance_summary(summary: dict) -> str:
    """What the files say of themselves, counted: Content Credentials states and declarations of AI."""
    states = summary.get("content_credentials")
    if not states:
        return ""
    listed = ", ".join(f"{count} {C2PA_WORDS.get(state, state)}" for state, count in states.items() if count)
    return (
        f" Content Credentials: {listed}. {counted(summary.get('declare_ai', 0), 'file')} declare generative "
        "AI (XMP or Content Credentials)."
    )


def entry_status(entry: dict) -> str:
    if entry["status"] == "error":
        return f"error: {entry['error']}"
    if entry["status"] == "skipped":
        return f"duplicate of {entry['duplicate_of']} (same SHA-256): its results"
    return "analysed"


def verdict_line(verdict: dict) -> str:
    """The analyst's verdict on one image, as every report prints it, attributed."""
    note = f" Note: {verdict['note']}" if verdict["note"] else ""
    return (
        f"{verdict['verdict'].upper()} — recorded by {verdict['analyst']} at {verdict['recorded_at']}.{note}"
    )


FINDINGS_TITLE = "The examiner's findings (a person's marks and decisions, not a model output)"
FINDINGS_CAPTION = (
    "The examiner's marks, numbered as in the table, each category in its own colour and line (manipulated: "
    "red, solid; suspicious: orange, dashed; reference: blue, dotted; comment: grey, dash-dot); the models' "
    "regions the examiner confirmed outlined in green. Rejected regions are not part of the findings."
)
MARK_HEADER = ["#", "Category", "Shape", "Label", "Note", "Area px", "Who", "When (UTC)"]
DECISION_HEADER = ["Model", "Region", "Decision", "On this report's map", "Note", "Who", "When (UTC)"]


def has_findings(entry: dict) -> bool:
    return bool(entry.get("annotations") or entry.get("region_decisions"))


def mark_rows(entry: dict) -> list[list[str]]:
    """The marks' table: a header, then one row per mark, numbered as on the findings figure."""
    return [MARK_HEADER] + [
        [
            str(mark["number"]),
            mark["category"],
            mark["shape"],
            *map(for_terminal, (mark["label"], mark["note"])),
            _area_words(mark),
            *map(for_terminal, (mark["author"], mark["modified"])),
        ]
        for mark in entry.get("annotations") or []
    ]


def _area_words(mark: dict) -> str:
    """The pixels a mark holds, and whether it reaches (or lies wholly) beyond the image."""
    if not mark.get("outside_image"):
        return f"{mark['area_pixels']:,}"
    if mark["area_pixels"] == 0 and mark["shape"] != "arrow":
        return "0 (wholly beyond the image)"
    return f"{mark['area_pixels']:,} (part beyond the image)"


def decision_rows(entry: dict, report: dict) -> list[list[str]]:
    """The decisions on the models' regions, each with its state on this report's map: a decision belongs to
    the region's pixels at the threshold it was made at."""
    rows = [DECISION_HEADER]
    for decision in entry.get("region_decisions") or []:
        title = report["models"].get(decision["model"], {}).get("title", for_terminal(decision["model"]))
        if decision["state_now"] == "changed since decided":
            now = "CHANGED since decided (another threshold or other weights): not carried"
        else:
            now = f"region {decision['region_now']}"
        rows.append(
            [
                title,
                f"{decision['region']} at {threshold_text(decision['threshold'])}",
                decision["decision"],
                now,
                *map(for_terminal, (decision["note"], decision["author"], decision["time"])),
            ]
        )
    return rows


def precision_text(model: dict) -> str:
    """The precision a model computed in and why (results written before it was recorded say so)."""
    if "precision" not in model:
        return "not recorded"
    return f"{model['precision']} — {model['precision_reason']}"
