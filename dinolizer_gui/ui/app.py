"""Starting the viewer."""

from __future__ import annotations

import sys

if sys.platform == "win32":  # on Windows PyTorch must load its DLLs before Qt's; elsewhere it loads later
    import torch  # noqa: F401

from PySide6.QtWidgets import QApplication

from .. import __version__
from .main_window import MainWindow
from .qimages import load_icon


def run_gui(args_paths: list[str]) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("DinoLizer GUI")
    app.setApplicationVersion(__version__)
    QApplication.setWindowIcon(load_icon("app"))
    window = MainWindow()
    window.show()
    if args_paths:
        window.open_paths(args_paths)
    return app.exec()
