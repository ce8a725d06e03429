"""A case in the viewer: created, an image analysed, a verdict given, a report exported, the package written;
the log records each step, the Case dock lists the evidence and the log, and the package verifies."""

import json

from dinolizer_gui.core.session.case_verify import verify
from tests.ui.helpers import drop, export, wait_batch_done


def _kinds(case_folder) -> list[str]:
    return [json.loads(line)["kind"] for line in (case_folder / "audit.jsonl").read_text().splitlines()]


def test_a_case_in_the_viewer_records_evidence_analyses_verdicts_reports_and_exports(
    qtbot, window, weights, photo, tmp_path
):
    files, _ = weights
    window.set_model_files("dinolizer", [files["release"]])
    window.settings.analyst = "Ana Ruiz"
    folder = tmp_path / "Case-7"
    assert window.case.new(folder, "Pier collapse", "2026-7") == ""
    assert "Case 2026-7 Pier collapse" in window.windowTitle()
    assert window.workspace.store.folder == folder / "store"  # the case's own results
    with qtbot.waitSignal(window.view.analysisFinished, timeout=60000):
        drop(window, photo)
    wait_batch_done(qtbot, window)
    window.actions_by_id["verdict_3"].trigger()  # Alt+4: manipulated
    report = export(qtbot, window, folder / "exports")
    assert report["case_log"]["title"] == "Pier collapse"
    kinds = _kinds(folder)
    assert kinds[:2] == ["case-created", "evidence-added"] and "analysis" in kinds
    assert kinds.index("analysis") < kinds.index("verdict") < kinds.index("report-exported")
    verdict = next(
        json.loads(line) for line in (folder / "audit.jsonl").read_text().splitlines() if '"verdict"' in line
    )
    assert verdict["data"]["old"] == "not reviewed" and verdict["data"]["new"] == "manipulated"
    assert verdict["actor"]["examiner"] == "Ana Ruiz"
    dock = window.case_dock
    dock.raise_()  # tabbed behind the batch: it reads the log once in sight
    qtbot.waitUntil(lambda: dock.log.rowCount() == len(_kinds(folder)), timeout=10000)
    assert dock.evidence.rowCount() == 1 and dock.evidence.item(0, 2).text() == window.batch.items[0].sha256
    dock.filter.setText("verdict")
    visible = [row for row in range(dock.log.rowCount()) if not dock.log.isRowHidden(row)]
    assert [dock.log.item(row, 3).text() for row in visible] == ["verdict"]
    with qtbot.waitSignal(window.case.exported, timeout=30000):
        window.case.export(tmp_path / "Case-7.zip")
    assert verify(tmp_path / "Case-7.zip").intact and verify(folder).intact
    # opened again later: the evidence is checked and queued, its maps come from the case's store
    window.case.close()
    assert window.workspace.case is None and not window.batch.items
    assert window.case.open(folder) == ""
    qtbot.waitUntil(lambda: bool(window.case.states and window.batch.items), timeout=20000)
    assert window.case.states[str(photo)].state == "intact"
    wait_batch_done(qtbot, window)
    assert window.batch.items[0].models["dinolizer"].cached
