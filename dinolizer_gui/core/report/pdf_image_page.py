"""An image's pages in the PDF report: its file and hashes, the analyst's verdict, the models' findings and
figures (original, overlays, masks, agreement, stability, the EXIF thumbnail), their regions, the instruments'
views, the examiner's own marks and decisions, and what the file says about itself."""

from __future__ import annotations

from pathlib import Path

from PIL import Image as PILImage
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, PageBreak, Spacer, Table, TableStyle

from ..io.images import ImageLoadError, load_image
from ..io.names import path_of
from ..maps.stability import MEANING as STABILITY_MEANING
from .pdf_blocks import PAGE_WIDTH, CurrentImage, Styles, grid_table, label_table, paragraph, picture
from .sections import (
    FINDINGS_CAPTION,
    FINDINGS_TITLE,
    REGION_HEADER,
    agreement_caption,
    decision_rows,
    has_findings,
    hash_problem,
    image_rows,
    mark_rows,
    provenance_rows,
    region_rows,
    stability_caption,
    stability_text,
    thumbnail_text,
    verdict_line,
)
from .views import VIEWS_TITLE, view_figures

REGION_ROWS = 6  # per model on an image's page


def image_page(entry: dict, report: dict, results_dir: Path, styles: Styles) -> list[Flowable]:
    story = [CurrentImage(None), PageBreak(), CurrentImage(entry["file_name"])]
    story.append(paragraph(entry["file_name"], styles["h2"]))
    if problem := hash_problem(entry):
        story += [paragraph(problem, styles["alert"]), Spacer(1, 3 * mm)]
    story.append(label_table(image_rows(entry), styles))
    if verdict := entry.get("analyst_verdict"):
        story += [Spacer(1, 2 * mm), _verdict_box(verdict, styles)]
    if entry["status"] == "error":
        return story + _provenance_block(entry, styles)
    story.append(Spacer(1, 2 * mm))
    findings = [paragraph("Models' findings", styles["body"])]
    for result in entry["models"].values():
        findings += [
            paragraph(result["statement"], styles["body"]),
            paragraph(f"Score: {result['score_meaning']}.", styles["small"]),
        ]
        if "stability" in result:
            findings.append(paragraph(stability_text(result), styles["small"]))
    if any("stability" in result for result in entry["models"].values()):
        findings.append(paragraph(STABILITY_MEANING, styles["small"]))
    story += [KeepTogether(findings), Spacer(1, 2 * mm), _panels(entry, report, results_dir, styles)]
    blocks = [
        _regions_block(report["models"][name]["title"], result, styles)
        for name, result in entry["models"].items()
        if result["regions"]
    ]
    if blocks:  # side by side, so that an image's figures fit on its page
        pairs: list[list] = [
            blocks[start : start + 2] + [""] * (start + 2 - len(blocks)) for start in range(0, len(blocks), 2)
        ]
        table = Table(pairs, colWidths=[PAGE_WIDTH / 2] * 2, hAlign="LEFT")
        table.setStyle(
            TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)])
        )
        story += [Spacer(1, 2 * mm), table]
    story += _views_block(entry, results_dir, styles)
    return story + _findings_block(entry, report, results_dir, styles) + _provenance_block(entry, styles)


def _views_block(entry: dict, results_dir: Path, styles: Styles) -> list[Flowable]:
    """The classic instruments' views (analyze --views): a figure each, with its one-line reading guide, its
    numbers and notes; a view that could not be computed says why."""
    figures = view_figures(entry)
    story: list[Flowable] = [Spacer(1, 3 * mm), paragraph(VIEWS_TITLE, styles["body"])] if figures else []
    for figure in figures:
        block: list[Flowable] = [
            paragraph(figure.title, styles["body"]),
            paragraph(figure.guide, styles["small"]),
        ]
        if figure.alert:
            block.append(paragraph(figure.alert, styles["alert"]))
        if figure.pictures:
            columns = 3 if len(figure.pictures) <= 3 else 4
            width = PAGE_WIDTH / columns - 2 * mm
            cells = [
                [paragraph(label, styles["small"]), picture(PILImage.open(results_dir / path), width)]
                for label, path in figure.pictures
            ]
            rows = [cells[start : start + columns] for start in range(0, len(cells), columns)]
            lines = []
            for row in rows:
                padding = [""] * (columns - len(row))
                lines += [[label for label, _ in row] + padding, [image for _, image in row] + padding]
            table = Table(lines, colWidths=[width + 2 * mm] * columns, hAlign="LEFT")
            table.setStyle(
                TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 1)])
            )
            block.append(table)
        block += [paragraph(line, styles["small"]) for line in figure.lines]
        story += [Spacer(1, 2 * mm), KeepTogether(block)]
    return story


def _findings_block(entry: dict, report: dict, results_dir: Path, styles: Styles) -> list[Flowable]:
    """The examiner's own marks and decisions, after the models' figures and boxed apart from them."""
    if not has_findings(entry):
        return []
    heading: list[Flowable] = [paragraph(FINDINGS_TITLE, styles["findings"])]
    if entry.get("findings_figure"):
        figure = PILImage.open(results_dir / entry["findings_figure"])
        heading += [picture(figure, PAGE_WIDTH * 0.6), paragraph(FINDINGS_CAPTION, styles["small"])]
    story: list[Flowable] = [Spacer(1, 3 * mm), KeepTogether(heading)]  # never a title alone at the foot
    marks, decisions = mark_rows(entry), decision_rows(entry, report)
    width = PAGE_WIDTH
    if len(marks) > 1:
        widths = [w * width for w in (0.04, 0.13, 0.11, 0.16, 0.18, 0.1, 0.12, 0.16)]
        story += [Spacer(1, 2 * mm), grid_table(marks, widths, styles, header=True)]
    if len(decisions) > 1:
        widths = [w * width for w in (0.12, 0.1, 0.12, 0.18, 0.18, 0.12, 0.18)]
        story += [Spacer(1, 2 * mm), grid_table(decisions, widths, styles, header=True)]
    return story


def _provenance_block(entry: dict, styles: Styles) -> list[Flowable]:
    """What the file says about itself, after the figures (which stay on the image's first page)."""
    rows = provenance_rows(entry)
    if not rows:
        return []
    return [
        Spacer(1, 2 * mm),
        KeepTogether([paragraph("File and provenance", styles["body"]), label_table(rows, styles)]),
    ]


def _regions_block(title: str, result: dict, styles: Styles) -> list[Flowable]:
    rows = region_rows(result, REGION_ROWS)
    block = [
        paragraph(f"{title} regions (largest first)", styles["body"]),
        grid_table(rows, _region_widths(rows[0]), styles, header=True),
    ]
    if len(result["regions"]) > REGION_ROWS:
        more = len(result["regions"]) - REGION_ROWS
        block.append(paragraph(f"... and {more} smaller regions (all in the JSON report)", styles["small"]))
    return block


def _region_widths(header: list[str]) -> list[float]:
    """Two tables side by side; the stability column takes room from the box's."""
    if len(header) > len(REGION_HEADER):
        return [7 * mm, 14 * mm, 13 * mm, 13 * mm, 19 * mm, 21 * mm]
    return [8 * mm, 15 * mm, 15 * mm, 15 * mm, 34 * mm]


def _verdict_box(verdict: dict, styles: Styles) -> Table:
    """The analyst's verdict, boxed apart from the models' output."""
    rows = [
        [paragraph("Analyst's verdict (a person's assessment, not a model output)", styles["body"])],
        [paragraph(verdict_line(verdict), styles["body"], limit=None)],
    ]
    table = Table(rows, colWidths=[PAGE_WIDTH], hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 1.2, colors.HexColor("#1f618d")),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#d6eaf8")),
                ("BACKGROUND", (0, 1), (-1, -1), colors.HexColor("#f4f9fd")),
            ]
        )
    )
    return table


def _panels(entry: dict, report: dict, results_dir: Path, styles: Styles) -> Table:
    """Original, overlay and mask per model, agreement: three a row, each under its label."""
    try:
        max_pixels = report["analysis"]["parameters"].get("max_pixels")
        original, missing = PILImage.fromarray(load_image(path_of(entry), max_pixels).rgb), ""
    except ImageLoadError as exc:
        original, missing = None, exc.reason
    pictures = [("Original" + (" (as it is now)" if entry["hash_verified"] is False else ""), original)]
    for name, result in entry["models"].items():
        if "overlay" not in result:
            continue  # an image-level detector has no map
        title = report["models"][name]["title"]
        pictures.append((f"{title} overlay", PILImage.open(results_dir / result["overlay"])))
        pictures.append(
            (f"{title} mask @ {result['threshold']}", PILImage.open(results_dir / result["mask"]))
        )
        if "stability" in result:
            overlay = PILImage.open(results_dir / result["stability"]["overlay"])
            pictures.append((stability_caption(title, result), overlay))
    if "agreement" in entry:
        agreement = PILImage.open(results_dir / entry["agreement"]["image"])
        pictures.append((agreement_caption(entry, report), agreement))
    thumbnail = (entry.get("provenance") or {}).get("thumbnail") or {}
    if thumbnail.get("picture"):
        words = thumbnail_text(thumbnail)
        pictures.append((f"EXIF thumbnail: {words}", PILImage.open(results_dir / thumbnail["picture"])))
    width = PAGE_WIDTH / 3 - 2 * mm
    lines = []
    for start in range(0, len(pictures), 3):
        chunk = pictures[start : start + 3]
        padding = [""] * (3 - len(chunk))
        lines.append([paragraph(label, styles["small"]) for label, _ in chunk] + padding)
        lines.append(
            [
                picture(img, width) if img is not None else paragraph(missing, styles["small"])
                for _, img in chunk
            ]
            + padding
        )
    table = Table(lines, colWidths=[width + 2 * mm] * 3, hAlign="LEFT", splitByRow=True)
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 1)]))
    return table
