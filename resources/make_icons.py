"""Renders the app icon (dinolizer_gui/resources/icons/app.svg) to the sizes each platform needs.

    QT_QPA_PLATFORM=offscreen .venv/bin/python resources/make_icons.py

Writes resources/icons/: PNGs (16 … 1024), dinolizer-gui.ico (Windows) and dinolizer-gui.icns (macOS).
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "dinolizer_gui" / "resources" / "icons" / "app.svg"
OUT = ROOT / "resources" / "icons"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512, 1024)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)


def render(size: int):
    from PIL import Image
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    QSvgRenderer(str(SOURCE)).render(painter)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return Image.open(io.BytesIO(bytes(data.data()))).convert("RGBA")


def main() -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 - Qt needs one
    OUT.mkdir(parents=True, exist_ok=True)
    images = {size: render(size) for size in PNG_SIZES}
    for size, image in images.items():
        image.save(OUT / f"dinolizer-gui-{size}.png")
    images[256].save(OUT / "dinolizer-gui.ico", sizes=[(s, s) for s in ICO_SIZES])
    images[1024].save(OUT / "dinolizer-gui.icns")


if __name__ == "__main__":
    main()
