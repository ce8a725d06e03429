from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QImage

from dinolizer_gui.core.session.settings import load_settings
from dinolizer_gui.ui.action_ids import ActionId
from dinolizer_gui.ui.main_window import MainWindow
from tests.ui.helpers import analysed, drop, layer_pixels


def test_first_start_without_weights_shows_the_welcome_page(window):
    assert window.central.currentWidget() is window.central.welcome_page
    text = window.central.welcome.text.text()
    assert "epoch=36_val_loss=0.2130.ckpt" in text and "ViT_layer20_conv-20_cocosd.pth" in text
    assert "non-commercial" in text and not window.actions_by_id[ActionId.RUN].isEnabled()


def test_drop_runs_both_models_on_the_worker_and_threshold_changes_never_rerun(qtbot, window, weights, photo):
    forward_calls = []
    document = analysed(qtbot, window, weights, photo)
    assert set(document.models) == {"dinolizer", "declip"}
    assert document.models["dinolizer"].probability.shape == (512, 640)
    assert window.panels[1].view.base.pixmap().width() == 640
    assert "score" in window.panels[1].score.text() and "score" in window.panels[2].score.text()
    assert window.batch.started_count == 1

    dinolizer = document.models["dinolizer"].localizer.load().net
    dinolizer.register_forward_hook(lambda *a: forward_calls.append(1))
    window.toolbar.mode_combo.setCurrentText("Mask")
    before = layer_pixels(window.panels[1])
    marked_before = window.controls.threshold["dinolizer"].marked.text()
    window.controls.threshold["dinolizer"].slider.setValue(900)
    after = layer_pixels(window.panels[1])
    expected = document.models["dinolizer"].probability >= 0.9
    assert not np.array_equal(before, after)
    assert np.array_equal(after[..., 0] == 255, expected)
    assert window.controls.threshold["dinolizer"].marked.text() != marked_before
    qtbot.waitUntil(lambda: window.controls.regions.rowCount() > 0, timeout=10000)
    assert forward_calls == [] and window.batch.started_count == 1
    assert load_settings(window.workspace.config_folder).thresholds["dinolizer"] == 0.9


def test_linked_thresholds_move_together(qtbot, window, weights, photo):
    analysed(qtbot, window, weights, photo)
    window.controls.link_check.setChecked(True)
    window.controls.threshold["declip"].spin.setValue(0.7)
    assert window.controls.threshold["dinolizer"].value() == 0.7
    assert window.view.current.models["dinolizer"].threshold == 0.7


def test_agreement_view_colours_each_case(qtbot, window, weights, photo):
    document = analysed(qtbot, window, weights, photo)
    window.toolbar.mode_combo.setCurrentText("Agreement")
    pixels = layer_pixels(window.panel_grid.panel("agreement"))
    first, second = document.models["dinolizer"].mask(), document.models["declip"].mask()
    assert np.all(pixels[first & second][:, :3] == (204, 121, 167))
    assert np.all(pixels[first & ~second][:, :3] == (230, 159, 0))
    assert np.all(pixels[~first & ~second][:, 3] == 0)


def test_zoom_and_pan_are_locked_across_panels(qtbot, window, weights, photo):
    analysed(qtbot, window, weights, photo)
    views = [panel.view for panel in window.panels if panel.isVisibleTo(window.panel_grid)]
    views[1].zoom(4.0)
    views[1].centerOn(100, 80)
    for view in views:
        assert view.scale_factor == pytest.approx(views[1].scale_factor)
        assert (view.center() - views[1].center()).manhattanLength() < 2


def test_cancel_stops_a_running_analysis(qtbot, window, weights, tmp_path):
    files, _ = weights
    window.set_model_files("dinolizer", [files["release"]])
    wide = tmp_path / "wide.png"
    Image.fromarray(np.zeros((504, 6000, 3), np.uint8)).save(wide)
    with qtbot.waitSignal(window.status.progress.valueChanged, timeout=30000):
        drop(window, wide)
    assert window.actions_by_id[ActionId.CANCEL].isEnabled()
    window.actions_by_id[ActionId.CANCEL].trigger()
    qtbot.waitUntil(lambda: window.batch.worker is None, timeout=30000)
    assert (
        window.batch.items[0].status == "queued"
        and not window.view.current.models
        and not window.status.progress.isVisible()
    )


def test_a_broken_file_shows_a_readable_error(qtbot, window, weights, tmp_path):
    files, _ = weights
    window.set_model_files("dinolizer", [files["release"]])
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff garbage")
    with qtbot.waitSignal(window.view.analysisFailed, timeout=30000) as signal:
        drop(window, broken)
    assert "broken.jpg" in signal.args[0] and window.central.banner.isVisible()


def test_space_shows_the_original_and_readout_gives_probabilities(qtbot, window, weights, photo):
    document = analysed(qtbot, window, weights, photo)
    qtbot.keyPress(window.panels[1].view, Qt.Key.Key_Space)
    assert window.panels[1].view.layer.pixmap().isNull()
    qtbot.keyRelease(window.panels[1].view, Qt.Key.Key_Space)
    assert not window.panels[1].view.layer.pixmap().isNull()
    window.status.show_readout(10, 20)
    value = document.models["declip"].probability[20, 10]
    assert (
        "(10, 20)" in window.status.readout.text() and f"DeCLIP {value:.3f}" in window.status.readout.text()
    )


def test_region_click_zooms_to_it(qtbot, window, weights, photo):
    analysed(qtbot, window, weights, photo)
    qtbot.waitUntil(lambda: window.controls.regions.rowCount() > 0, timeout=5000)
    x, y, w, h = window.controls.regions.item(0, 0).data(Qt.ItemDataRole.UserRole)
    view = window.panels[2].view
    fitted = view.scale_factor
    window.controls.choose_region(0)
    visible = view.mapToScene(view.viewport().rect()).boundingRect()
    assert visible.contains(QPointF(x + w / 2, y + h / 2)) and view.scale_factor > fitted


def test_next_and_previous_walk_the_opened_images(qtbot, window, tmp_path):
    paths = []
    for index in range(3):
        paths.append(tmp_path / f"img{index}.png")
        Image.fromarray(np.full((40, 50, 3), index * 60, np.uint8)).save(paths[-1])
    drop(window, tmp_path)
    qtbot.waitUntil(lambda: window.view.current is not None and window.view.worker is None, timeout=10000)
    assert "no model has weights" in window.central.banner.text() and window.batch.items[0].status == "queued"
    window.actions_by_id[ActionId.NEXT].trigger()
    qtbot.waitUntil(
        lambda: (
            window.view.current is not None
            and window.view.current.path == str(paths[1])
            and window.view.worker is None
        ),
        timeout=10000,
    )
    window.actions_by_id[ActionId.PREVIOUS].trigger()
    qtbot.waitUntil(
        lambda: window.view.current is not None and window.view.current.path == str(paths[0]), timeout=10000
    )


def test_export_writes_a_report_of_the_current_image_with_progress(qtbot, window, weights, photo, tmp_path):
    import json

    from dinolizer_gui.core.io.hashing import sha256_of_file

    analysed(qtbot, window, weights, photo)
    window.controls.threshold["declip"].set_value(0.7)
    dialog = window.dialogs.export_report()
    qtbot.addWidget(dialog)
    dialog.case_number.setText("2026-0007")
    dialog.analyst.setText("B. Analyst")
    dialog.folder.setText(str(tmp_path / "export"))
    dialog.formats["html"].setChecked(True)
    steps = []
    dialog.progress.valueChanged.connect(steps.append)
    with qtbot.waitSignal(dialog.exported, timeout=30000) as signal:
        dialog.buttons.accepted.emit()
    assert sorted(p.name for p in signal.args[0]) == ["report.html", "report.json", "report.pdf"]
    report = json.loads((tmp_path / "export" / "report.json").read_text())
    assert report["case"]["case_number"] == "2026-0007"
    assert report["images"][0]["sha256"] == sha256_of_file(photo)
    assert report["images"][0]["models"]["declip"]["threshold"] == 0.7
    assert steps and load_settings(window.workspace.config_folder).analyst == "B. Analyst"


def _case_folder(tmp_path):
    import shutil

    folder = tmp_path / "case"
    folder.mkdir()
    for index in range(4):
        rng = np.random.default_rng(index)
        Image.fromarray(
            np.kron(rng.integers(0, 256, (20, 25, 3), dtype=np.uint8), np.ones((8, 8, 1), np.uint8))
        ).save(folder / f"img{index}.png")
    shutil.copy(folder / "img0.png", folder / "img0_copy.png")
    (folder / "broken.png").write_bytes(b"not an image")
    return folder


def test_dropped_folder_fills_the_triage_table_with_statuses_and_filters(qtbot, window, weights, tmp_path):
    files, _ = weights
    window.set_model_files("dinolizer", [files["release"]])
    window.set_model_files("declip", [files["declip"]])
    drop(window, _case_folder(tmp_path))
    qtbot.waitUntil(
        lambda: (
            window.batch.worker is None
            and window.batch.items
            and all(i.status not in ("queued", "running") for i in window.batch.items)
        ),
        timeout=60000,
    )
    statuses = {Path(i.path).name: i.status for i in window.batch.items}
    assert statuses == {
        "broken.png": "error",
        "img0.png": "done",
        "img0_copy.png": "skipped",
        "img1.png": "done",
        "img2.png": "done",
        "img3.png": "done",
    }
    assert window.triage_dock.table.model().rowCount() == 6
    window.triage_dock.filter_combo.setCurrentText("Errors")
    assert window.triage_dock.table.model().rowCount() == 1
    window.triage_dock.filter_combo.setCurrentText("Flagged")
    flagged = [i for i in window.batch.items if i.flagged and i.status == "done"]
    assert window.triage_dock.table.model().rowCount() == len(flagged) + sum(
        1 for i in window.batch.items if i.status == "skipped" and i.flagged
    )
    window.triage_dock.filter_combo.setCurrentText("All images")
    window.triage_dock.table.sortByColumn(2, Qt.SortOrder.DescendingOrder)
    top = window.batch.items[window.triage_dock.proxy.mapToSource(window.triage_dock.proxy.index(0, 0)).row()]
    assert top.models["dinolizer"].score == max(
        i.models["dinolizer"].score for i in window.batch.items if i.models
    )
    assert "1 error, 1 duplicate," in window.triage_dock.label.text()


def test_reopening_a_finished_batch_uses_the_store_and_opens_maps_instantly(
    qtbot, tmp_path, weights, monkeypatch
):
    files, _ = weights
    monkeypatch.setenv("DINOLIZER_GUI_WEIGHTS", str(tmp_path / "no-weights"))
    folder = _case_folder(tmp_path)
    first = MainWindow(config_folder=tmp_path / "config")
    qtbot.addWidget(first)
    first.set_model_files("dinolizer", [files["release"]])
    first.open_paths([str(folder)])
    qtbot.waitUntil(
        lambda: first.batch.worker is None and all(i.status != "queued" for i in first.batch.items),
        timeout=60000,
    )
    first.close()

    again = MainWindow(config_folder=tmp_path / "config")
    qtbot.addWidget(again)
    again.show()
    again.set_model_files("dinolizer", [files["release"]])
    again.open_paths([str(folder)])
    qtbot.waitUntil(
        lambda: again.batch.worker is None and all(i.status != "queued" for i in again.batch.items),
        timeout=60000,
    )
    assert all(m.cached for i in again.batch.items for m in i.models.values())
    assert len(again.workspace.localizers) == 0  # every map was stored: the weights were never read
    target = next(i for i in again.batch.items if i.path.endswith("img2.png"))
    with qtbot.waitSignal(again.view.analysisFinished, timeout=10000):
        again.select_path(target.path)
    assert again.view.current.path == target.path and "dinolizer" in again.view.current.models
    assert len(again.workspace.localizers) == 0


def test_next_flagged_skips_unflagged_rows_and_pause_holds_the_batch(qtbot, window, weights, tmp_path):
    files, _ = weights
    window.set_model_files("dinolizer", [files["release"]])
    drop(window, _case_folder(tmp_path))
    qtbot.waitUntil(lambda: window.batch.worker is not None, timeout=10000)
    window.actions_by_id[ActionId.PAUSE].trigger()
    assert window.actions_by_id[ActionId.PAUSE].isChecked()
    qtbot.wait(300)
    done_while_paused = sum(1 for i in window.batch.items if i.status == "done")
    qtbot.wait(500)
    assert sum(1 for i in window.batch.items if i.status == "done") == done_while_paused
    window.actions_by_id[ActionId.PAUSE].trigger()
    qtbot.waitUntil(lambda: window.batch.worker is None, timeout=60000)
    window.triage_dock.table.setCurrentIndex(window.triage_dock.proxy.index(0, 0))
    window.actions_by_id[ActionId.NEXT_FLAGGED].trigger()
    current = window.batch.items[
        window.triage_dock.proxy.mapToSource(window.triage_dock.table.currentIndex()).row()
    ]
    assert current.flagged


def test_weights_changed_after_installation_are_refused_in_the_banner_and_the_models_dialog(
    qtbot, weights, tmp_path, monkeypatch, photo
):
    from dinolizer_gui.core.models import manager

    files, _ = weights
    folder = tmp_path / "weights"
    monkeypatch.setenv("DINOLIZER_GUI_WEIGHTS", str(folder))
    target = manager.import_file(files["declip"], folder)
    with open(target, "r+b") as handle:
        handle.seek(-300, 2)
        handle.write(b"\0" * 200)
    window = MainWindow(config_folder=tmp_path / "config")
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.view.analysisFailed, timeout=30000) as signal:
        window.open_paths([str(photo)])
    assert "changed since it was installed" in signal.args[0] and window.central.banner.isVisible()
    dialog = window.dialogs.manage_models()
    qtbot.addWidget(dialog)
    dialog.select("declip-vit-cocosd")
    assert dialog.table.item(dialog.table.currentRow(), 0).text() == "corrupt"


def test_the_card_and_the_score_say_which_weights_made_the_map(qtbot, window, weights, photo):
    analysed(qtbot, window, weights, photo)
    tip = window.panels[1].score.toolTip()
    assert (
        "given for this run only" in tip
        and "official"
        not in window.controls.scores_label.text()
        .lower()
        .replace("independent adapter of the official release", "")
    )
    from dinolizer_gui.core.models.registry import REGISTRY
    from dinolizer_gui.ui.widgets import card_html

    html = card_html(REGISTRY["dinolizer"].card, window.view.current.models["dinolizer"].localizer.describe())
    assert "Weights:</b> given for this run only" in html


def test_the_export_folder_defaults_to_the_last_one_never_beside_the_evidence(
    qtbot, window, weights, photo, tmp_path
):
    analysed(qtbot, window, weights, photo)
    dialog = window.dialogs.export_report()
    qtbot.addWidget(dialog)
    first_default = Path(dialog.folder.text())
    assert photo.parent not in (first_default, *first_default.parents)
    dialog.folder.setText(str(photo.parent))  # the evidence folder itself: refused
    dialog.buttons.accepted.emit()
    assert "holds the evidence" in dialog.message.text()
    assert Path(window.dialogs.export_report().folder.text()) == first_default  # a refused folder is not kept
    chosen = tmp_path / "reports"
    dialog.folder.setText(str(chosen))
    with qtbot.waitSignal(dialog.exported, timeout=30000):
        dialog.buttons.accepted.emit()
    again = window.dialogs.export_report()
    qtbot.addWidget(again)
    assert again.folder.text() == str(chosen)


def test_bfree_shows_an_image_level_line_a_column_and_a_filter_but_no_panel(qtbot, window, weights, photo):
    files, _ = weights
    window.set_model_files("bfree", [files["bfree"]])
    document = analysed(qtbot, window, weights, photo)
    assert set(document.models) == {"dinolizer", "declip", "bfree"}
    assert [panel.key for panel in window.panel_grid.model_panels] == ["dinolizer", "declip"]
    text = window.controls.scores_label.text()
    level = document.models["bfree"].run.image_level
    assert f"B-Free: {level.probability:.2f}" in text and "this model does not localise" in text
    assert f"{level.indication} that the whole image" in text
    headers = [window.triage_dock.proxy.headerData(c, Qt.Orientation.Horizontal) for c in range(10)]
    assert "B-Free" in headers and "B-Free marked" not in headers
    window.triage_dock.filter_combo.setCurrentText("Flagged by B-Free")
    assert window.triage_dock.proxy.rowCount() == int(level.flagged)


def test_a_running_analysis_shows_labelled_previews_then_the_result(
    qtbot, window, weights, tmp_path, monkeypatch
):
    from dinolizer_gui.core.engine import inference

    monkeypatch.setattr(inference, "PREVIEW_SECONDS", 0.0)
    files, _ = weights
    window.set_model_files("dinolizer", [files["release"]])
    wide = tmp_path / "wide.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (504, 2400, 3), dtype=np.uint8)).save(wide)
    labels = []
    window.view.displayed.connect(lambda _: labels.append(window.panels[1].score.text()))
    with qtbot.waitSignal(window.view.analysisFinished, timeout=60000):
        window.open_paths([str(wide)])
    previews = [text for text in labels if "preview — " in text]
    assert (
        previews and "of 16 windows" in previews[0] and "score" in labels[-1] and "preview" not in labels[-1]
    )


def _truth_pixels(panel) -> np.ndarray:
    image = panel.view.truth.pixmap().toImage().convertToFormat(QImage.Format.Format_RGBA8888)
    return np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.width(), 4).copy()


def test_a_mask_beside_the_image_is_outlined_on_every_panel_with_each_models_scores(
    qtbot, window, weights, photo
):
    from dinolizer_gui.core.evaluation.evaluator import localization_scores
    from dinolizer_gui.core.evaluation.ground_truth import read_mask

    truth = np.zeros((512, 640), np.uint8)
    truth[100:300, 200:500] = 255
    Image.fromarray(truth).save(photo.parent / "suspect_mask.png")
    document = analysed(qtbot, window, weights, photo)
    qtbot.waitUntil(lambda: document.ground_truth is not None, timeout=10000)
    qtbot.waitUntil(lambda: "GT IoU" in window.panels[1].score.text(), timeout=20000)
    for panel in window.panels:  # the input and both models
        outline = _truth_pixels(panel)[..., 3] > 0
        assert outline.shape == (512, 640) and outline[99, 250] and outline[200, 199]  # a ring just outside
        assert not outline[200, 350] and not outline[50, 50]  # the outline, not the area
    expected, _ = localization_scores(
        document.models["dinolizer"].probability, read_mask(photo.parent / "suspect_mask.png", 512, 640), 0.5
    )
    text = window.panels[1].score.text()
    assert f"IoU {expected['iou']:.2f} F1 {expected['f1']:.2f} AP {expected['ap']:.2f}" in text
    assert "Ground truth" in window.controls.scores_label.text()

    window.workspace.thresholds.move("dinolizer", 0.9)  # IoU and F1 follow the threshold, AP does not
    at_09, _ = localization_scores(document.models["dinolizer"].probability, document.ground_truth, 0.9)
    qtbot.waitUntil(lambda: f"IoU {at_09['iou']:.2f} F1 {at_09['f1']:.2f}" in window.panels[1].score.text())


def test_a_ground_truth_loaded_by_hand_replaces_none_and_a_bad_one_says_why(
    qtbot, window, weights, photo, tmp_path
):
    document = analysed(qtbot, window, weights, photo)
    assert document.ground_truth is None and "GT" not in window.panels[1].score.text()
    elsewhere = tmp_path / "truths"
    elsewhere.mkdir()
    Image.fromarray(np.zeros((256, 320), np.uint8)).save(elsewhere / "any_name.png")  # authentic, half size
    window.view.load_ground_truth(str(elsewhere / "any_name.png"))
    qtbot.waitUntil(lambda: "GT authentic" in window.panels[1].score.text(), timeout=20000)
    assert "authentic (no manipulated pixel)" in window.controls.scores_label.text()
    (elsewhere / "broken.png").write_bytes(b"not a png")
    with qtbot.waitSignal(window.view.analysisFailed, timeout=10000) as failure:
        window.view.load_ground_truth(str(elsewhere / "broken.png"))
    assert "ground-truth mask broken.png" in failure.args[0]
