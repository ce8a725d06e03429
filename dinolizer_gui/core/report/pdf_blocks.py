"""The PDF reports' building blocks (reportlab): the fonts and styles, paragraphs cut to fit a table cell,
grid and label tables, pictures at the panels' print resolution, and the marker that tells the page header
whose pages these are."""

from __future__ import annotations

import functools
import io
from collections.abc import Callable, Sequence
from pathlib import Path
from xml.sax.saxutils import escape

from PIL import Image as PILImage
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Flowable, Image, Paragraph, Table, TableStyle

from ..io.names import escape_char
from .sections import Row

Styles = dict[str, ParagraphStyle]

PAGE_WIDTH = A4[0] - 30 * mm
CELL_LIMIT = 600  # characters of one value in a table cell
# Panels are a third of the page wide (~60 mm): 560 px is ~240 dpi there, sharp in print, and photographs go
# in as JPEG (masks stay lossless PNG), so an image's page stays well under 1 MB.
PANEL_PIXELS = 560
PANEL_HEIGHT = 44 * mm
JPEG_QUALITY = 88
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


def in_font(text: str, font: str) -> str:
    """The text with every character the font has no glyph for escaped (`\\uNNNN`): a PDF never shows an
    empty box, or nothing, where the text holds a character (a CJK label where the font is DejaVu Sans)."""
    drawn = _glyph_test(font)
    return "".join(c if c == "\n" or drawn(c) else escape_char(c) for c in text)


@functools.cache
def _glyph_test(font: str) -> Callable[[str], bool]:
    face = pdfmetrics.getFont(font)
    if not isinstance(face, TTFont):  # a standard font (Helvetica, Courier): what WinAnsi encodes
        return lambda char: char.encode("cp1252", "ignore") != b""
    glyphs = face.face.charToGlyph
    return lambda char: ord(char) in glyphs


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
    return Paragraph(escape(in_font(text, style.fontName)).replace("\n", "<br/>"), style)


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


def label_table(rows: list[Row], styles: Styles, label_width: float = 35 * mm) -> Table:
    """Label and value rows, each value styled by its kind (a hash in monospace, an alert in red)."""
    style = {"text": styles["body"], "mono": styles["mono"], "alert": styles["alert"]}
    cells = [(row.label, paragraph(row.value, style[row.kind])) for row in rows]
    return grid_table(cells, [label_width, PAGE_WIDTH - label_width], styles)
