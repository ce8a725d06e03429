"""The analyst's verdict (kept, shown, filtered, reported) and reports an examiner can sign."""

import shutil

import numpy as np
from PIL import Image
from pypdf import PdfReader
from PySide6.QtCore import Qt

from dinolizer_gui.ui.action_ids import ActionId
from dinolizer_gui.ui.main_window import MainWindow
from tests.ui.helpers import analysed, export, wait_batch_done


def _pdf_text(path) -> str:
    return " ".join(" ".join(page.extract_text() for page in PdfReader(path).pages).split())  # lines joined


def test_a_verdict_and_note_are_kept_shown_filtered_and_survive_reanalysis_and_restart(
    qtbot, window, weights, photo, tmp_path
):
    analysed(qtbot, window, weights, photo)
    window.actions_by_id[ActionId.VERDICT_SUSPICIOUS].trigger()  # Alt+3: suspicious
    window.actions_by_id[ActionId.VERDICT_NOTE].trigger()
    window.controls.verdict.note.setText("sky replaced?")
    window.controls.verdict.note.editingFinished.emit()
    item = window.batch.items[0]
    assert item.verdict.verdict == "suspicious" and item.verdict.note == "sky replaced?"
    window.triage_dock.filter_combo.setCurrentText("Analyst: suspicious")
    assert window.triage_dock.table.model().rowCount() == 1
    window.triage_dock.filter_combo.setCurrentText("Analyst: not reviewed")
    assert window.triage_dock.table.model().rowCount() == 0
    model = window.batch.table_model
    headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    assert model.data(model.index(0, headers.index("Analyst"))) == "suspicious"

    with qtbot.waitSignal(window.view.analysisFinished, timeout=60000):
        window.actions_by_id[ActionId.RUN].trigger()  # F5: analysed again, the verdict stays
    assert window.batch.items[0].verdict.verdict == "suspicious"
    assert window.controls.verdict.choice.currentText() == "suspicious"
    window.close()

    again = MainWindow(config_folder=window.workspace.config_folder)
    qtbot.addWidget(again)
    again.show()
    files, _ = weights
    again.set_model_files("dinolizer", [files["release"]])
    again.open_paths([str(photo)])
    qtbot.waitUntil(lambda: again.view.current is not None and again.view.worker is None, timeout=30000)
    assert again.controls.verdict.choice.currentText() == "suspicious"
    assert again.controls.verdict.note.text() == "sky replaced?"


def test_a_batch_report_has_one_threshold_truth_dates_verdicts_errors_and_duplicates(
    qtbot, window, weights, tmp_path, monkeypatch
):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    files, _ = weights
    window.set_model_files("dinolizer", [files["release"]])
    window.set_model_files("declip", [files["declip"]])
    window.workspace.thresholds.move("dinolizer", 0.65)
    case = tmp_path / "case"
    case.mkdir()
    rng = np.random.default_rng(3)
    for index in range(3):  # photographs with detail, as reports meet them
        pixels = rng.integers(0, 256, (1200, 1600, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(case / f"photo{index}.jpg", quality=92)
    shutil.copy(case / "photo0.jpg", case / "photo0_copy.jpg")
    (case / "broken.jpg").write_bytes(b"not an image")
    window.open_paths([str(case)])
    wait_batch_done(qtbot, window, timeout=120000)
    window.select_path(str(case / "photo1.jpg"))
    qtbot.waitUntil(lambda: window.view.current is not None and window.view.worker is None, timeout=30000)
    window.actions_by_id[ActionId.VERDICT_MANIPULATED].trigger()  # manipulated

    out = tmp_path / "export"
    report = export(qtbot, window, out, scope="All analysed images", analyst="B. Analyst")
    summary = report["summary"]
    assert summary["images"] == 5 and summary["errors"] == 1 and summary["duplicates"] == 1
    assert summary["analyst_verdicts"]["manipulated"] == 1
    entry = next(e for e in report["images"] if e["file_name"] == "photo1.jpg")
    assert entry["analyst_verdict"]["verdict"] == "manipulated"
    assert entry["analyst_verdict"]["analyst"] == "B. Analyst"
    assert all(
        m["threshold"] == 0.65 for e in report["images"] for n, m in e["models"].items() if n == "dinolizer"
    )
    computed = report["analysis"]["maps_computed"]
    assert computed["first"] <= computed["last"] < report["exported_at"]

    text = _pdf_text(out / "report.pdf")
    assert "Pixel threshold 0.65 (masks, areas and regions of this report" in text
    assert "Pixel threshold 0.5 (masks" in text  # DeCLIP's, unchanged
    assert "1 error, 1 duplicate" in text and "broken.jpg" in text
    assert "Analyst's verdict" in text and "MANIPULATED — recorded by B. Analyst" in text
    assert "when the maps were computed" in text
    pdf = PdfReader(out / "report.pdf")
    created = str(pdf.metadata.get("/CreationDate"))
    assert not created.startswith("D:2000"), created
    assert (out / "report.pdf").stat().st_size <= 1_000_000 * 4  # 4 image pages with pictures
    pages = [(page.extract_text().splitlines()[:2], len(page.images)) for page in pdf.pages]
    summary_page = next(i for i, (lines, _) in enumerate(pages) if "Summary" in lines)
    image_pages = pages[summary_page + 1 :]
    assert all(any(".jpg" in line for line in lines) for lines, _ in image_pages)  # each page names its image
    firsts = [
        i for i, (lines, _) in enumerate(image_pages) if not any("(continued)" in line for line in lines)
    ]
    assert len(firsts) == 5
    continued = [figures for i, (_, figures) in enumerate(image_pages) if i not in firsts]
    assert all(figures == 0 for figures in continued)  # an image's figures stay on its first page
    html = (out / "report.html").read_text()
    assert "Analyst's verdict" in html and "1 error, 1 duplicate" in html


def test_help_check_installation_shows_the_self_test_report(qtbot, window):
    window.settings.device = "cpu"
    dialog = window.dialogs.check_installation()
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.outcome is not None, timeout=60000)
    assert dialog.outcome.ok and "Everything works." in dialog.verdict.text()
    assert "check the map, the mask and the files written" in dialog.report.toPlainText()
    assert "log file:" in dialog.report.toPlainText()
