"""The File dock and the triage table's "File says" column: signed, tampered and plain files dropped together,
read off the GUI thread, filtered, shown with their badge in words, the thumbnail beside the image, and the
EXIF/XMP fields searchable and copyable."""

import shutil

import numpy as np
from PIL import Image
from PySide6.QtGui import QGuiApplication

from dinolizer_gui.core.io.provenance import signing
from tests import factories
from tests.ui.helpers import cell, drop, wait_batch_done


def test_the_file_dock_and_the_triage_column_say_what_each_file_says(qtbot, window, weights, tmp_path):
    files, _ = weights
    window.set_model_files("declip", [files["declip"]])
    folder = tmp_path / "drop"
    folder.mkdir()
    source = tmp_path / "source.jpg"
    y, x = np.mgrid[0:240, 0:320]
    exif = Image.Exif()
    exif[0x010F], exif[0x0131] = "Canon", "PhotoFixer 9"  # Make, Software
    picture = Image.fromarray(np.stack([x % 256, y % 256, (x + y) % 256], -1).astype(np.uint8))
    picture.save(source, quality=90, exif=exif)
    signed = signing.sign(source, folder / "a_signed.jpg", signing.make_chain())
    changed = factories.change_pixels_after_signing(signed, folder / "b_changed.jpg")
    plain = shutil.copy(source, folder / "c_plain.jpg")
    data = signed.read_bytes()
    store_type = data.find(b"jumdc2pa") + 4  # the store's type changed: the library no longer finds it
    damaged = folder / "d_damaged.jpg"
    damaged.write_bytes(data[:store_type] + b"x" + data[store_type + 1 :])
    drop(window, folder)
    wait_batch_done(qtbot, window)
    assert cell(window, signed, "File says") == "C2PA valid, declares AI"
    assert cell(window, changed, "File says") == "C2PA INVALID, declares AI"
    assert cell(window, plain, "File says") == ""
    assert cell(window, damaged, "File says") == "C2PA DAMAGED, declares AI"  # its AI declaration kept
    dock = window.triage_dock
    dock.filter_combo.setCurrentText("C2PA invalid")
    assert dock.proxy.rowCount() == 1
    dock.filter_combo.setCurrentText("C2PA damaged")
    assert dock.proxy.rowCount() == 1
    dock.filter_combo.setCurrentText("All images")
    store = window.workspace.store
    item = next(i for i in window.batch.items if i.path == str(changed))
    assert store.provenance(item.sha256, "")["c2pa"]["validation_codes"]  # kept with the results, by SHA-256
    file_dock = window.file_dock
    window.select_path(str(changed))
    qtbot.waitUntil(lambda: "INVALID Content Credentials" in file_dock.badge.text(), timeout=20000)
    assert "assertion.dataHash.mismatch" in file_dock.summary.text()
    assert "Declared source: trainedAlgorithmicMedia (signed: action c2pa.created, invalid manifest)" in (
        file_dock.summary.text()
    )
    window.select_path(str(damaged))
    qtbot.waitUntil(lambda: "DAMAGED Content Credentials" in file_dock.badge.text(), timeout=20000)
    assert "APP11 JUMBF segment" in file_dock.summary.text()
    assert file_dock.image.pixmap() is not None and not file_dock.image.pixmap().isNull()
    window.select_path(str(plain))
    qtbot.waitUntil(lambda: "No Content Credentials" in file_dock.badge.text(), timeout=20000)
    assert file_dock.thumbnail.text() == "none"
    file_dock.search.setText("jfif")  # nothing matches: every row hidden
    assert all(file_dock.fields.isRowHidden(row) for row in range(file_dock.fields.rowCount()))
    window.select_path(str(signed))
    qtbot.waitUntil(lambda: "VALID Content Credentials" in file_dock.badge.text(), timeout=20000)
    file_dock.search.setText("")
    rows = file_dock.fields.rowCount()
    assert rows > 0
    file_dock.search.setText("software")
    shown = [r for r in range(rows) if not file_dock.fields.isRowHidden(r)]
    assert len(shown) == 1
    file_dock.copy_rows()
    assert QGuiApplication.clipboard().text() == "EXIF Software\tPhotoFixer 9"


def test_a_signer_is_trusted_in_the_viewer_only_through_the_anchors_chosen(
    qtbot, window, weights, tmp_path, monkeypatch
):
    from PySide6.QtWidgets import QFileDialog

    files, _ = weights
    window.set_model_files("declip", [files["declip"]])
    source = tmp_path / "source.jpg"
    Image.fromarray(np.full((200, 240, 3), 90, np.uint8)).save(source, quality=90)
    chain = signing.make_chain("Newsroom Desk")
    signed = signing.sign(source, tmp_path / "signed.jpg", chain)
    anchors = tmp_path / "anchors"
    anchors.mkdir()
    (anchors / "newsroom.pem").write_bytes(chain.ca_pem)
    with qtbot.waitSignal(window.view.analysisFinished, timeout=60000):
        drop(window, signed)
    file_dock = window.file_dock
    qtbot.waitUntil(
        lambda: "you gave no trust anchors of your own" in file_dock.summary.text(), timeout=20000
    )
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args: str(anchors))
    window.actions_by_id["trust_anchors"].trigger()
    assert window.settings.trust_anchors == str(anchors)
    file_dock.shown_path = None
    file_dock.follow(window.view.current)
    qtbot.waitUntil(lambda: "reaches one of your trust anchors" in file_dock.summary.text(), timeout=20000)
