"""numpy arrays and core layers as QImages (the only place that knows the conversion)."""

from __future__ import annotations

from importlib import resources

import numpy as np
from PySide6.QtGui import QIcon, QImage, qRgba

from ..core.maps.render import Layer


def rgb_image(rgb: np.ndarray) -> QImage:
    """An H x W x 3 uint8 array as a QImage that owns its pixels (safe to build off the GUI thread)."""
    rgb = np.ascontiguousarray(rgb)
    height, width = rgb.shape[:2]
    image = QImage(rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888)
    return image.convertToFormat(QImage.Format.Format_RGB32)


def layer_image(layer: Layer) -> QImage:
    """An index layer as an 8-bit indexed QImage with the layer's palette as colour table."""
    levels = np.ascontiguousarray(layer.levels)
    height, width = levels.shape
    if layer.black_and_white:  # Qt turns a grey image into a pixmap twice as fast as an indexed one
        grey = levels * np.uint8(255)
        return QImage(grey.data, width, height, width, QImage.Format.Format_Grayscale8).copy()
    image = QImage(levels.data, width, height, width, QImage.Format.Format_Indexed8)
    image.setColorTable([qRgba(int(r), int(g), int(b), int(a)) for r, g, b, a in layer.palette])
    return image.copy()  # detach from the numpy buffer


def load_icon(name: str) -> QIcon:
    """An icon of resources/icons (SVG, so it stays sharp on HiDPI screens)."""
    return QIcon(str(resources.files("dinolizer_gui").joinpath(f"resources/icons/{name}.svg")))
