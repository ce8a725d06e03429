import json
import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMenu

from dinolizer_gui.core.engine.analysis import DEVICE_CHOICES, PRECISION_CHOICES
from dinolizer_gui.ui.action_ids import ActionId, MenuId
from dinolizer_gui.ui.main_window import MainWindow
from dinolizer_gui.ui.menus import DEVICES, PRECISIONS

ROOT = Path(__file__).resolve().parents[2]

FIRST_PAINT = """
import json, sys, time
from PySide6.QtWidgets import QApplication
app = QApplication([])
from dinolizer_gui.ui.main_window import MainWindow
window = MainWindow()
window.show()
window.grab()  # the window is painted
painted = {"torch": "torch" in sys.modules, "timm": "timm" in sys.modules,
           "label": window.status.device_label.text()}
deadline = time.monotonic() + 120
while window.status.device_label.text() in ("", "loading PyTorch…") and time.monotonic() < deadline:
    app.processEvents()
    time.sleep(0.02)
ready = {"torch": "torch" in sys.modules, "timm": "timm" in sys.modules,
         "label": window.status.device_label.text()}
print(json.dumps({"painted": painted, "ready": ready}))
"""


def test_the_window_is_painted_before_pytorch_loads_and_then_names_device_and_precision(tmp_path):
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "DINOLIZER_GUI_CONFIG": str(tmp_path / "config"),
        "DINOLIZER_GUI_WEIGHTS": str(tmp_path / "weights"),
    }
    result = subprocess.run(
        [sys.executable, "-c", FIRST_PAINT], capture_output=True, text=True, timeout=180, cwd=ROOT, env=env
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["painted"] == {"torch": False, "timm": False, "label": ""}
    assert seen["ready"]["torch"] and seen["ready"]["timm"]
    # every model in float32 on any CPU: bfloat16 would move each beyond its fidelity bar
    assert seen["ready"]["label"].startswith("CPU (float32)")


def test_the_status_bar_says_pytorch_is_loading_then_the_precision_and_why(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("DINOLIZER_GUI_WEIGHTS", str(tmp_path / "no-weights"))
    window = MainWindow(config_folder=tmp_path / "config")
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.status.device_label.text() == "loading PyTorch…", timeout=5000)
    qtbot.waitUntil(lambda: "loading" not in window.status.device_label.text(), timeout=60000)
    precision = next(menu for menu in window.findChildren(QMenu) if menu.title() == MenuId.PRECISION)
    next(a for a in precision.actions() if a.text().startswith("float32")).trigger()  # Analysis › Precision
    qtbot.waitUntil(lambda: window.status.device_label.text().startswith("CPU (float32)"), timeout=10000)
    tip = window.status.device_label.toolTip()
    assert "DinoLizer: float32 as asked" in tip and "B-Free: float32 as asked" in tip
    assert window.workspace.options().precision == "float32"


def test_the_menus_offer_every_device_and_precision_the_core_knows():
    assert [value for value, _ in DEVICES] == list(DEVICE_CHOICES)
    assert sorted(value for value, _ in PRECISIONS) == sorted(PRECISION_CHOICES)


def test_the_viewer_starts_with_a_damaged_store_says_so_and_offers_a_new_one(
    qtbot, tmp_path, monkeypatch, weights, photo
):
    store = tmp_path / "store"
    store.mkdir()
    (store / "results.sqlite").write_bytes(b"not a database, not at all" * 100)
    monkeypatch.setenv("DINOLIZER_GUI_STORE", str(store))
    monkeypatch.setenv("DINOLIZER_GUI_WEIGHTS", str(tmp_path / "no-weights"))
    window = MainWindow(config_folder=tmp_path / "config")  # raised before: the viewer did not start
    qtbot.addWidget(window)
    window.show()
    assert window.workspace.store is None
    assert window.central.banner.isVisible() and "Use a new results store" in window.central.banner.text()
    window.set_model_files("declip", [weights[0]["declip"]])  # it works without a store
    with qtbot.waitSignal(window.view.analysisFinished, timeout=60000):
        window.open_paths([str(photo)])
    fresh = tmp_path / "fresh-store"
    fresh.mkdir()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args, **kwargs: str(fresh))
    window.actions_by_id[ActionId.NEW_STORE].trigger()
    assert window.workspace.store is not None and window.settings.store_dir == str(fresh)
    assert not window.central.banner.isVisible()


def test_settings_of_the_wrong_shape_never_stop_the_viewer(qtbot, tmp_path, monkeypatch):
    config = tmp_path / "config"
    config.mkdir()
    (config / "settings.json").write_text('{"thresholds": null, "opacity": "x", "recent_files": 5}')
    monkeypatch.setenv("DINOLIZER_GUI_WEIGHTS", str(tmp_path / "no-weights"))
    window = MainWindow(config_folder=config)
    qtbot.addWidget(window)
    window.show()
    assert window.settings.opacity == 0.6 and window.settings.recent_files == []
    assert "opacity was" in window.status.currentMessage() or "opacity was" in window.central.banner.text()
