"""A PDF report shows what the text holds: a character its font cannot draw (a CJK label where only a
Latin font is installed) is written as its code point, never as an empty box or nothing."""

import io
from pathlib import Path

import pytest
import reportlab
from pypdf import PdfReader
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import SimpleDocTemplate

from dinolizer_gui.core.report.pdf_blocks import paragraph

LABEL = "港口 sign — café"


def _pdf_text(font: str) -> str:
    buffer = io.BytesIO()
    SimpleDocTemplate(buffer).build([paragraph(LABEL, ParagraphStyle("cell", fontName=font))])
    return " ".join(page.extract_text() for page in PdfReader(buffer).pages)


@pytest.fixture(scope="module")
def latin_truetype() -> str:
    """A TrueType font without CJK glyphs (Bitstream Vera, shipped with reportlab)."""
    pdfmetrics.registerFont(TTFont("LatinOnly", str(Path(reportlab.__file__).parent / "fonts" / "Vera.ttf")))
    return "LatinOnly"


@pytest.mark.parametrize("font", ["Helvetica", "latin_truetype"])
def test_characters_the_font_cannot_draw_are_written_as_code_points(font, request):
    name = request.getfixturevalue(font) if font == "latin_truetype" else font
    text = _pdf_text(name)
    assert "\\u6e2f\\u53e3 sign" in text  # 港口, each as its code point
    assert "café" in text and "—" in text  # what the font draws stays itself
