import numpy as np
import pytest
from PIL import Image

from dinolizer_gui.ui.main_window import MainWindow


@pytest.fixture()
def window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("DINOLIZER_GUI_WEIGHTS", str(tmp_path / "no-weights"))
    win = MainWindow(config_folder=tmp_path / "config")
    qtbot.addWidget(win)
    win.show()
    return win


@pytest.fixture()
def photo(tmp_path):
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (64, 80, 3), dtype=np.uint8)
    path = tmp_path / "suspect.png"
    Image.fromarray(np.kron(base, np.ones((8, 8, 1), np.uint8))).save(path)  # 640 x 512
    return path
