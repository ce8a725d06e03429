import hashlib
from dataclasses import replace

from PySide6.QtWidgets import QMessageBox

from dinolizer_gui.core.models import transfer
from dinolizer_gui.core.models.weights_folder import installed_files, load_manifest
from dinolizer_gui.ui.models_dialog import ModelsDialog
from tests.factories import CheckpointServer


def test_dialog_downloads_with_progress_after_the_licence_is_accepted(qtbot, weights, tmp_path, monkeypatch):
    files, _ = weights
    body = files["release"].read_bytes()
    server = CheckpointServer()
    server.files["/r.ckpt"] = body
    manifest = [
        replace(e, sha256=hashlib.sha256(body).hexdigest()) if e.id == "dinolizer-release" else e
        for e in load_manifest()
    ]
    asked = []
    monkeypatch.setattr(
        QMessageBox, "question", lambda *a, **k: asked.append(a[2]) or QMessageBox.StandardButton.Yes
    )
    folder = tmp_path / "weights"
    dialog = ModelsDialog(folder, manifest=manifest, urls={"dinolizer-release": server.url("r.ckpt")})
    qtbot.addWidget(dialog)
    dialog.show()
    transfer.CHUNK, chunk = 64 * 1024, transfer.CHUNK
    try:
        dialog.select("dinolizer-release")
        assert dialog.table.item(dialog.table.currentRow(), 0).text() == "missing"
        seen = []
        dialog.progress.valueChanged.connect(seen.append)
        with qtbot.waitSignal(dialog.changed, timeout=30000):
            dialog.download_button.click()
            assert dialog.progress.isVisible()
    finally:
        transfer.CHUNK = chunk
        server.close()
    assert "non-profit" in asked[0]
    assert len(set(seen)) > 3 and max(seen) == 1000
    assert installed_files("dinolizer", folder)[0].read_bytes() == body
    dialog.select("dinolizer-release")
    assert dialog.table.item(dialog.table.currentRow(), 0).text() == "verified"


def test_dialog_imports_and_reports_a_bad_file(qtbot, weights, tmp_path):
    files, _ = weights
    folder = tmp_path / "weights"
    dialog = ModelsDialog(folder)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.changed):
        dialog.import_path(files["declip"])
    dialog.select("declip-vit-cocosd")
    assert dialog.table.item(dialog.table.currentRow(), 0).text() == "recorded"
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"nope")
    dialog.import_path(junk)
    assert "not a readable PyTorch" in dialog.message.text()


def test_imported_weights_are_used_by_the_viewer_without_choosing_files(
    qtbot, weights, tmp_path, monkeypatch
):
    import numpy as np
    from PIL import Image

    from dinolizer_gui.ui.main_window import MainWindow

    files, _ = weights
    folder = tmp_path / "weights"
    monkeypatch.setenv("DINOLIZER_GUI_WEIGHTS", str(folder))
    window = MainWindow(config_folder=tmp_path / "config")
    qtbot.addWidget(window)
    assert window.central.currentWidget() is window.central.welcome_page
    dialog = window.dialogs.manage_models()
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.changed):
        dialog.import_path(files["release"])
    assert window.central.currentWidget() is not window.central.welcome_page
    image = tmp_path / "x.png"
    Image.fromarray(np.full((60, 80, 3), 90, np.uint8)).save(image)
    with qtbot.waitSignal(window.view.analysisFinished, timeout=30000):
        window.open_paths([str(image)])
    assert window.view.current.models["dinolizer"].localizer.checkpoints[0]["path"] == str(
        folder / files["release"].name
    )


def test_importing_a_renamed_declip_file_asks_which_checkpoint_it_is(qtbot, weights, tmp_path, monkeypatch):
    import shutil

    from PySide6.QtWidgets import QInputDialog

    files, _ = weights
    renamed = tmp_path / "from_a_colleague.pth"
    shutil.copy(files["declip"], renamed)
    offered = []

    def choose(parent, title, text, labels, *args):
        offered.extend(labels)
        return next(label for label in labels if "Dolos" in label or "dolos" in label), True

    monkeypatch.setattr(QInputDialog, "getItem", choose)
    folder = tmp_path / "weights"
    dialog = ModelsDialog(folder)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.changed, timeout=10000):
        dialog.import_path(renamed)
    assert len(offered) > 1 and all(".pth" in label for label in offered)
    chosen = next(label for label in offered if "Dolos" in label or "dolos" in label).split(" — ")[1]
    assert (folder / chosen).read_bytes() == renamed.read_bytes()
    assert "Installed" in dialog.message.text()


def test_a_failed_download_suggests_importing_the_file(qtbot, tmp_path, monkeypatch):
    import socket

    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    with socket.socket() as probe:  # a port nothing listens on: the connection is refused at once
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    dialog = ModelsDialog(tmp_path / "weights", urls={"dinolizer-release": f"http://127.0.0.1:{port}/r.ckpt"})
    qtbot.addWidget(dialog)
    dialog.select("dinolizer-release")
    dialog.download_button.click()
    qtbot.waitUntil(lambda: dialog.worker is None, timeout=20000)
    assert "Import file…" in dialog.message.text()
