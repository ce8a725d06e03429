"""The PDF report (reportlab): a cover page, a batch summary, one page per image."""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from PIL import Image as PILImage
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (
    Flowable,
    Image,
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from ..io.images import ImageLoadError, load_image
from ..io.names import path_of
from ..io.outputs import write_atomic
from ..maps.stability import MEANING as STABILITY_MEANING
from .sections import (
    FINDINGS_CAPTION,
    FINDINGS_TITLE,
    REGION_HEADER,
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

Styles = dict[str, ParagraphStyle]

PAGE_WIDTH = A4[0] - 30 * mm
CELL_LIMIT = 600  # characters of one value in a table cell
# Panels are a third of the page wide (~60 mm): 560 px is ~240 dpi there, sharp in print, and photographs go
# in as JPEG (masks stay lossless PNG), so an image's page stays well under 1 MB.
PANEL_PIXELS = 560
PANEL_HEIGHT = 44 * mm
JPEG_QUALITY = 88
REGION_ROWS = 6  # per model on an image's page
_FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/Library/Fonts/Arial Unicode.ttf",
    "C:/Windows/Fonts/arial.ttf",
)


def _font() -> str:
    """A Unicode TrueType font when one is installed (file names may be in any script), else Helvetica."""
    for candidate in _FONT_CANDIDATES:
        if Path(candidate).is_file():
            if "Report" not in pdfmetrics.getRegisteredFontNames():
                pdfmetrics.registerFont(TTFont("Report", candidate))
            return "Report"
    return "Helvetica"


def pdf_styles() -> Styles:
    font = _font()
    base = getSampleStyleSheet()
    body = ParagraphStyle(
        "body", parent=base["BodyText"], fontName=font, fontSize=8.5, leading=11, alignment=TA_LEFT
    )
    return {
        "title": ParagraphStyle("title", parent=base["Title"], fontName=font, fontSize=18, leading=22),
        "h2": ParagraphStyle(
            "h2", parent=base["Heading2"], fontName=font, fontSize=12, leading=15, spaceAfter=4
        ),
        "body": body,
        "small": ParagraphStyle("small", parent=body, fontSize=7, leading=9),
        "findings": ParagraphStyle(
            "findings", parent=body, fontSize=10, leading=13, textColor=colors.HexColor("#1f618d")
        ),
        "mono": ParagraphStyle("mono", parent=body, fontName="Courier", fontSize=6.8, leading=8.5),
        "alert": ParagraphStyle(
            "alert",
            parent=body,
            fontSize=10,
            leading=13,
            textColor=colors.white,
            backColor=colors.HexColor("#b00020"),
            borderPadding=5,
        ),
    }


def paragraph(text: object, style: ParagraphStyle, limit: int | None = CELL_LIMIT) -> Paragraph:
    """A paragraph; text longer than `limit` is cut with an ellipsis (a table cell cannot span pages)."""
    text = str(text)
    if limit is not None and len(text) > limit:
        text = f"{text[:limit]}… ({len(text) - limit:,} more characters: the full text is in report.json)"
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def grid_table(
    rows: Sequence[Sequence[object]], widths: list[float], styles: Styles, header: bool = False
) -> Table:
    cells = [
        [cell if isinstance(cell, (Paragraph, Image)) else paragraph(cell, styles["body"]) for cell in row]
        for row in rows
    ]
    table = Table(cells, colWidths=widths, hAlign="LEFT")
    commands = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]
    if header:
        commands.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8e8e8")))
    table.setStyle(TableStyle(commands))
    return table


def picture(image: PILImage.Image, width: float) -> Image:
    """A picture at the panel's print resolution: JPEG for photographs, PNG for two-colour masks."""
    if image.width > PANEL_PIXELS:
        image = image.resize(
            (PANEL_PIXELS, round(image.height * PANEL_PIXELS / image.width)), PILImage.Resampling.LANCZOS
        )
    buffer = io.BytesIO()
    colours = image.getcolors(2)  # None when the picture has more than two colours
    if colours is not None:
        image.convert("L").save(buffer, "PNG", optimize=True)
    else:
        image.convert("RGB").save(buffer, "JPEG", quality=JPEG_QUALITY, optimize=True)
    buffer.seek(0)
    height = width * image.height / image.width
    return Image(buffer, width=width, height=min(height, PANEL_HEIGHT), kind="proportional")


class CurrentImage(Flowable):
    """Invisible: tells the page header which image's pages these are (None between images)."""

    def __init__(self, name: str | None):
        super().__init__()
        self.name = name

    def wrap(self, *_: float) -> tuple[float, float]:
        return 0, 0

    def draw(self) -> None:
        self.canv._report_image = self.name  # read by the page header of the pages that follow


def _table(rows: list[Row], styles: Styles, label_width: float = 35 * mm) -> Table:
    """Label and value rows, each value styled by its kind (a hash in monospace, an alert in red)."""
    style = {"text": styles["body"], "mono": styles["mono"], "alert": styles["alert"]}
    cells = [(row.label, paragraph(row.value, style[row.kind])) for row in rows]
    return grid_table(cells, [label_width, PAGE_WIDTH - label_width], styles)


def _cover(report: dict, styles: Styles) -> list[Flowable]:
    case = report["case"]
    story = [paragraph("Generative-inpainting localisation report", styles["title"]), Spacer(1, 4 * mm)]
    story.append(_table(cover_rows(report) + case_rows(report), styles))
    if case["notes"]:
        story += [
            Spacer(1, 3 * mm),
            paragraph("Notes", styles["h2"]),
            paragraph(case["notes"], styles["body"], limit=None),
        ]
    story += [Spacer(1, 3 * mm), paragraph("Parameters", styles["h2"])]
    story.append(_table(parameter_rows(report), styles, 45 * mm))
    story += [Spacer(1, 3 * mm), paragraph("Models", styles["h2"])]
    for name in report["models"]:
        story += [_table(model_rows(report, name), styles), Spacer(1, 2 * mm)]
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


def _image_page(entry: dict, report: dict, results_dir: Path, styles: Styles) -> list[Flowable]:
    story = [CurrentImage(None), PageBreak(), CurrentImage(entry["file_name"])]
    story.append(paragraph(entry["file_name"], styles["h2"]))
    if problem := hash_problem(entry):
        story += [paragraph(problem, styles["alert"]), Spacer(1, 3 * mm)]
    story.append(_table(image_rows(entry), styles))
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
    story: list[Flowable] = [Spacer(1, 3 * mm), paragraph(FINDINGS_TITLE, styles["findings"])]
    if entry.get("findings_figure"):
        figure = PILImage.open(results_dir / entry["findings_figure"])
        story += [picture(figure, PAGE_WIDTH * 0.6), paragraph(FINDINGS_CAPTION, styles["small"])]
    marks, decisions = mark_rows(entry), decision_rows(entry, report)
    width = PAGE_WIDTH
    if len(marks) > 1:
        widths = [w * width for w in (0.05, 0.12, 0.1, 0.15, 0.25, 0.09, 0.1, 0.14)]
        story += [Spacer(1, 2 * mm), grid_table(marks, widths, styles, header=True)]
    if len(decisions) > 1:
        widths = [w * width for w in (0.12, 0.1, 0.1, 0.2, 0.22, 0.1, 0.16)]
        story += [Spacer(1, 2 * mm), grid_table(decisions, widths, styles, header=True)]
    return story


def _provenance_block(entry: dict, styles: Styles) -> list[Flowable]:
    """What the file says about itself, after the figures (which stay on the image's first page)."""
    rows = provenance_rows(entry)
    if not rows:
        return []
    return [
        Spacer(1, 2 * mm),
        KeepTogether([paragraph("File and provenance", styles["body"]), _table(rows, styles)]),
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


def write_pdf(report: dict, results_dir: Path, path: Path) -> Path:
    styles = pdf_styles()
    story = _cover(report, styles)
    if len(report["images"]) > 1:
        story += _summary(report, styles)
    for entry in report["images"]:
        story += _image_page(entry, report, Path(results_dir), styles)
    if report.get("case_log"):
        story += [CurrentImage(None), PageBreak(), paragraph("Appendix: the case's audit log", styles["h2"])]
        widths = [10 * mm, 38 * mm, 30 * mm, 27 * mm, PAGE_WIDTH - 105 * mm]
        story.append(grid_table(log_rows(report), widths, styles, header=True))
    case = report["case"]["case_number"][:60]

    def footer(canvas: Any, document: SimpleDocTemplate) -> None:
        canvas.saveState()
        if continued := getattr(canvas, "_report_image", None):  # an image's figures go on over this page
            canvas.setFont(styles["body"].fontName, 8)
            canvas.drawString(15 * mm, A4[1] - 9 * mm, f"{continued} (continued)")
        canvas.setFont("Helvetica", 7)
        canvas.drawString(
            15 * mm,
            8 * mm,
            f"{report['application']} — case {case or '—'} — exported "
            f"{report['exported_at']} — page {document.page}",
        )
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
