"""The PDF report (reportlab): a cover page, a batch summary, the pages of each image (`pdf_image_page`), the
case's audit log; each page's footer, and the image whose figures go on over a page named at its top."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, PageBreak, SimpleDocTemplate, Spacer

from ..io.outputs import write_atomic
from .pdf_blocks import (
    PAGE_WIDTH,
    CurrentImage,
    Styles,
    grid_table,
    in_font,
    label_table,
    paragraph,
    pdf_styles,
)
from .pdf_image_page import image_page
from .sections import case_rows, cover_rows, log_rows, model_rows, parameter_rows, summary_table, summary_text


def _cover(report: dict, styles: Styles) -> list[Flowable]:
    case = report["case"]
    story = [paragraph("Generative-inpainting localisation report", styles["title"]), Spacer(1, 4 * mm)]
    story.append(label_table(cover_rows(report) + case_rows(report), styles))
    if case["notes"]:
        story += [
            Spacer(1, 3 * mm),
            paragraph("Notes", styles["h2"]),
            paragraph(case["notes"], styles["body"], limit=None),
        ]
    story += [Spacer(1, 3 * mm), paragraph("Parameters", styles["h2"])]
    story.append(label_table(parameter_rows(report), styles, 45 * mm))
    story += [Spacer(1, 3 * mm), paragraph("Models", styles["h2"])]
    for name in report["models"]:
        story += [label_table(model_rows(report, name), styles), Spacer(1, 2 * mm)]
    story += [paragraph("Limitations", styles["h2"])] + [
        paragraph(f"• {text}", styles["body"]) for text in report["limitations"]
    ]
    return story


def _summary(report: dict, styles: Styles) -> list[Flowable]:
    story = [
        PageBreak(),
        paragraph("Summary", styles["h2"]),
        paragraph(summary_text(report["summary"]), styles["body"]),
        Spacer(1, 2 * mm),
    ]
    rows = summary_table(report)
    models = len(report["models"])
    width = PAGE_WIDTH / (len(rows[0]) + 1.5)
    widths = [2 * width, 1.5 * width] + [width] * models + [0.8 * width, 1.2 * width]
    story.append(grid_table(rows, widths, styles, header=True))
    return story


def write_pdf(report: dict, results_dir: Path, path: Path) -> Path:
    styles = pdf_styles()
    story = _cover(report, styles)
    if len(report["images"]) > 1:
        story += _summary(report, styles)
    for entry in report["images"]:
        story += image_page(entry, report, Path(results_dir), styles)
    if report.get("case_log"):
        story += [CurrentImage(None), PageBreak(), paragraph("Appendix: the case's audit log", styles["h2"])]
        widths = [10 * mm, 38 * mm, 30 * mm, 27 * mm, PAGE_WIDTH - 105 * mm]
        story.append(grid_table(log_rows(report), widths, styles, header=True))
    case, font = report["case"]["case_number"][:60], styles["body"].fontName

    def footer(canvas: Any, document: SimpleDocTemplate) -> None:
        canvas.saveState()
        if continued := getattr(canvas, "_report_image", None):  # an image's figures go on over this page
            canvas.setFont(font, 8)
            canvas.drawString(15 * mm, A4[1] - 9 * mm, in_font(f"{continued} (continued)", font))
        canvas.setFont(font, 7)
        line = f"{report['application']} — case {case or '—'} — exported {report['exported_at']}"
        canvas.drawString(15 * mm, 8 * mm, in_font(f"{line} — page {document.page}", font))
        canvas.restoreState()

    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=14 * mm,
        bottomMargin=14 * mm,
        title=f"Inpainting localisation report {case}".strip(),
        author=report["case"]["analyst"],
        creator=report["application"],
        invariant=bool(os.environ.get("SOURCE_DATE_EPOCH")),  # else the PDF is dated when it is written
    )
    document.build(story, onFirstPage=footer, onLaterPages=footer)
    write_atomic(path, buffer.getvalue())
    return path
