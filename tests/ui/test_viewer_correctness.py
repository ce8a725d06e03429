"""What the viewer shows always belongs to the selected image, in every state a batch can be in."""

import time

import numpy as np
from PIL import Image
from PySide6.QtCore import Qt

from dinolizer_gui.core.session.batch import BatchProgress
from dinolizer_gui.ui.action_ids import ActionId
from tests.ui.helpers import analysed, cell, drop, wait_batch_done


def test_a_queued_row_shows_its_own_image_and_nothing_of_the_one_analysed_before(
    qtbot, window, weights, photo, tmp_path
):
    analysed(qtbot, window, weights, photo)
    qtbot.waitUntil(lambda: window.controls.regions.rowCount() > 0, timeout=10000)
    other = tmp_path / "other.png"
    Image.fromarray(np.full((30, 40, 3), 90, np.uint8)).save(other)
    window.batch.add([str(other)])  # queued, not started
    window.select_path(str(other))
    assert window.controls.regions.rowCount() == 0  # at once, not when the image has loaded
    assert window.panels[1].view.base.pixmap().isNull() and window.panels[1].view.layer.pixmap().isNull()
    assert "other.png" in window.windowTitle() and "suspect" not in window.windowTitle()
    qtbot.waitUntil(lambda: window.view.current is not None and window.view.worker is None, timeout=10000)
    assert window.view.current.path == str(other)
    assert window.panels[1].view.base.pixmap().width() == 40 and window.panels[1].view.layer.pixmap().isNull()
    assert all("not analysed" in panel.score.text() for panel in window.panel_grid.model_panels)
    assert all(panel.view.notice == "queued — not analysed yet" for panel in window.panel_grid.model_panels)
    assert "score" not in window.controls.scores_label.text() and window.controls.regions.rowCount() == 0
    assert all(control.marked.text() == "" for control in window.controls.threshold.values())


def test_an_error_row_shows_the_error_and_none_of_the_previous_maps_scores_or_title(
    qtbot, window, weights, photo, tmp_path
):
    analysed(qtbot, window, weights, photo)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    window.batch.add([str(broken)])
    window.batch.start()
    wait_batch_done(qtbot, window)
    window.select_path(str(photo))
    qtbot.waitUntil(
        lambda: window.view.current is not None and bool(window.view.current.models), timeout=10000
    )
    with qtbot.waitSignal(window.view.analysisFailed, timeout=10000) as failure:
        window.select_path(str(broken))
    assert "broken.png" in failure.args[0] and window.central.banner.isVisible()
    assert window.view.current is None and window.panels[1].view.base.pixmap().isNull()
    assert (
        "score" not in window.panels[1].score.text() and "flagged" not in window.controls.scores_label.text()
    )
    assert window.controls.regions.rowCount() == 0 and "broken.png" in window.windowTitle()


def test_the_viewing_only_banner_stays_while_true_and_goes_when_a_model_gets_weights(
    qtbot, window, weights, photo, tmp_path
):
    files, _ = weights
    second = tmp_path / "second.png"
    Image.fromarray(np.full((30, 40, 3), 90, np.uint8)).save(second)
    drop(window, photo, second)
    assert "Viewing only" in window.central.banner.text() and window.central.banner.isVisible()
    window.select_path(str(second))
    qtbot.waitUntil(lambda: window.view.current is not None and window.view.worker is None, timeout=10000)
    assert window.central.banner.isVisible()  # still true for the next image
    with qtbot.waitSignal(window.view.analysisFinished, timeout=60000):
        window.set_model_files("dinolizer", [files["release"]])  # the queued images now run
    assert not window.central.banner.isVisible()
    assert "score" in window.panels[1].score.text() and window.panels[1].view.notice == ""
    assert "not analysed" in window.panels[2].score.text()
    assert window.panels[2].view.notice == "not analysed (no weights)"  # never "analysing…" for it


def test_the_tables_marked_area_follows_the_live_threshold_as_the_dock_does(qtbot, window, weights, photo):
    analysed(qtbot, window, weights, photo)
    window.controls.threshold["dinolizer"].spin.setValue(0.3)
    qtbot.waitUntil(
        lambda: (
            cell(window, photo, "DinoLizer marked")
            == window.controls.threshold["dinolizer"].marked.text().removeprefix("marked ")
        ),
        timeout=3000,
    )
    assert cell(window, photo, "DinoLizer marked").endswith("at 0.3")
    area = window.view.current.models["dinolizer"].marked_area()
    assert cell(window, photo, "DinoLizer marked").startswith(f"{area:.2%}")


def test_brackets_move_the_threshold_of_the_panel_last_clicked_or_both_when_linked(
    qtbot, window, weights, photo
):
    analysed(qtbot, window, weights, photo)
    window.controls.link_check.setChecked(False)
    owner = window.workspace.thresholds
    dinolizer, declip = owner.of("dinolizer"), owner.of("declip")
    qtbot.mouseClick(window.panels[2].view.viewport(), Qt.MouseButton.LeftButton)
    assert window.panel_grid.active_model == "declip" and "▸" in window.panels[2].title.text()
    window.actions_by_id[ActionId.THRESHOLD_UP].trigger()
    assert owner.of("declip") == round(declip + 0.01, 3) and owner.of("dinolizer") == dinolizer
    assert "DeCLIP threshold" in window.status.currentMessage()
    assert window.controls.threshold["declip"].value() == owner.of("declip")
    qtbot.mouseClick(window.panels[1].view.viewport(), Qt.MouseButton.LeftButton)
    window.actions_by_id[ActionId.THRESHOLD_DOWN_MORE].trigger()
    assert owner.of("dinolizer") == round(dinolizer - 0.05, 3) and owner.of("declip") == round(
        declip + 0.01, 3
    )
    window.controls.link_check.setChecked(True)
    window.actions_by_id[ActionId.THRESHOLD_UP].trigger()
    assert owner.of("dinolizer") == owner.of("declip") == round(dinolizer - 0.04, 3)
    assert "Both thresholds" in window.status.currentMessage()


def test_f5_analyses_the_image_on_screen_again_and_visibly(qtbot, window, weights, photo):
    document = analysed(qtbot, window, weights, photo)
    calls = []
    document.models["dinolizer"].localizer.load().net.register_forward_hook(lambda *a: calls.append(1))
    with qtbot.waitSignal(window.view.analysisFinished, timeout=60000):
        window.actions_by_id[ActionId.RUN].trigger()
        assert window.view.current is None or not window.view.current.models  # the old maps left the screen
        assert "again" in window.status.currentMessage()
    assert calls, "F5 must compute the maps again, not read them from the results store"
    assert set(window.view.current.models) == {"dinolizer", "declip"}
    assert window.batch.items[0].status == "done" and not window.batch.items[0].recompute


def test_f5_without_weights_says_why(qtbot, window, photo):
    drop(window, photo)
    qtbot.waitUntil(lambda: window.view.current is not None, timeout=10000)
    window.actions_by_id[ActionId.RUN].trigger()
    assert "No model has weights" in window.status.currentMessage()


def test_cancel_says_cancelling_at_once_and_the_progress_names_image_model_and_windows(
    qtbot, window, weights, tmp_path
):
    files, _ = weights
    window.set_model_files("dinolizer", [files["release"]])
    wide = tmp_path / "wide.png"
    Image.fromarray(np.zeros((504, 8000, 3), np.uint8)).save(wide)
    drop(window, wide)
    qtbot.waitUntil(lambda: "windows" in window.status.progress.format(), timeout=30000)
    assert window.status.progress.format().startswith("Image 1 of 1 · DinoLizer windows ")
    assert window.status.progress.minimumWidth() >= 420
    window.actions_by_id[ActionId.CANCEL].trigger()
    assert window.status.progress.format() == "Cancelling…"
    qtbot.waitUntil(lambda: window.batch.worker is None, timeout=30000)
    assert window.batch.items[0].status == "queued" and not window.status.progress.isVisible()


def test_the_eta_covers_the_whole_batch_and_counts_read_as_words(window, weights):
    files, _ = weights
    window.set_model_files("dinolizer", [files["release"]])
    window.set_model_files("declip", [files["declip"]])
    batch = window.batch
    batch._started_at, batch._finished_at_start = time.perf_counter() - 10.0, 0
    # 10 s for half of the first of two models on the first of 4 images: 1/4 of an image in 10 s
    text = batch.progress_text(BatchProgress(0, 0, 4, "model", "dinolizer", 50, 100))
    assert text == "Image 1 of 4 · DinoLizer windows 50/100 · batch ETA 0:02:30"
    batch.add([])
    assert "0 errors" in batch.counts_text() and "0 duplicates" in batch.counts_text()


def test_every_models_score_and_weights_can_be_read_in_a_short_dock(qtbot, window, weights, photo):
    from PySide6.QtWidgets import QScrollArea

    window.resize(1366, 768)
    analysed(qtbot, window, weights, photo)
    label = window.controls.scores_label
    text = label.text()
    assert text.index("DinoLizer") < text.index("DeCLIP") and text.count("Weights:") == 2
    area = next(
        w for w in (label.parentWidget(), label.parentWidget().parentWidget()) if isinstance(w, QScrollArea)
    )
    qtbot.waitUntil(lambda: area.viewport().height() > 0)
    needed = label.heightForWidth(area.viewport().width())
    assert area.viewport().height() < needed  # the dock is shorter than the text here
    qtbot.waitUntil(  # the rest scrolls into view
        lambda: area.verticalScrollBar().maximum() >= needed - area.viewport().height() - 1, timeout=2000
    )
