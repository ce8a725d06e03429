"""File › Export report… with the classic instruments' views: each view's pictures and record in the results
and a figure per view in the report, with the Instruments dock's parameters — and none unless asked."""

import json

import numpy as np
from PIL import Image

from dinolizer_gui.core.session.instrument_views import InstrumentViews
from tests.ui.helpers import analysed


def test_the_viewers_export_adds_the_instrument_views_when_asked(qtbot, window, weights, photo, tmp_path):
    analysed(qtbot, window, weights, photo)
    window.workspace.viewer.instruments = InstrumentViews(params={"ela": {"quality": 75}})
    for asked, folder in ((False, tmp_path / "plain"), (True, tmp_path / "with-views")):
        dialog = window.dialogs.export_report()
        qtbot.addWidget(dialog)
        dialog.folder.setText(str(folder))
        dialog.with_views.setChecked(asked)
        with qtbot.waitSignal(dialog.exported, timeout=120000):
            dialog.buttons.accepted.emit()
    assert "views" not in json.loads((tmp_path / "plain" / "results.json").read_text())["images"][0]
    entry = json.loads((tmp_path / "with-views" / "results.json").read_text())["images"][0]
    assert set(entry["views"]) == {"ela", "noise", "ghost", "copymove"}
    assert entry["views"]["ela"]["quality"] == 75  # the dock's parameter, not the default
    ela = np.array(Image.open(tmp_path / "with-views" / entry["views"]["ela"]["png"]))
    assert ela.shape == (512, 640)
    report = json.loads((tmp_path / "with-views" / "report.json").read_text())
    assert report["images"][0]["views"]["ghost"]["qualities"][0] == 50
