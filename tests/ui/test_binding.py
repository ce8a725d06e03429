"""The Qt binding installed keeps Python's reference counts: PySide6 6.12.0 took a reference from None on
each QTableWidgetItem.setData and on signals carrying None, so a day of threshold moves (the regions table
is refilled at each) ended with the viewer killed by "Fatal Python error: none_dealloc"."""

import sys

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QTableWidgetItem


class _Emitter(QObject):
    carried = Signal(object)
    pair = Signal(object, object)


def _drift(call, times: int = 300) -> dict[str, int]:
    call()
    before = {
        name: sys.getrefcount(value) for name, value in (("None", None), ("True", True), ("False", False))
    }
    for _ in range(times):
        call()
    return {
        name: sys.getrefcount(value) - before[name]
        for name, value in (("None", None), ("True", True), ("False", False))
    }


def test_calls_the_viewer_makes_all_day_keep_reference_counts(qapp):
    item = QTableWidgetItem("1")
    emitter = _Emitter()
    emitter.carried.connect(lambda value: None)
    emitter.pair.connect(lambda first, second: None)
    calls = {
        "setData": lambda: item.setData(Qt.ItemDataRole.UserRole, (1, 2, 3, 4)),
        "data of a role never set": lambda: item.data(Qt.ItemDataRole.UserRole + 7),
        "a signal carrying None": lambda: emitter.carried.emit(None),
        "a signal carrying None and a dict": lambda: emitter.pair.emit(None, {}),
        "a signal carrying a bool": lambda: emitter.carried.emit(True),
    }
    drifts = {name: _drift(call) for name, call in calls.items()}
    assert all(abs(change) < 30 for drift in drifts.values() for change in drift.values()), drifts
