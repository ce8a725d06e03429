"""Help › Check installation…: the same report as `dinolizer-gui self-test`."""

from __future__ import annotations

from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QPlainTextEdit, QVBoxLayout, QWidget
from superqt.utils import create_worker

from ..core.errors import user_message
from ..core.session.selftest import SelfTestReport


class CheckDialog(QDialog):
    def __init__(self, device: str, precision: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Check installation")
        self.resize(760, 420)
        self.verdict = QLabel("Checking: a small checkpoint analyses a sample picture (no network)…")
        self.report = QPlainTextEdit(readOnly=True)
        self.report.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.verdict)
        layout.addWidget(self.report, 1)
        layout.addWidget(buttons)
        self.outcome: SelfTestReport | None = None  # the check's report, once it has run
        self.worker = create_worker(_check, device, precision, _start_thread=False, _ignore_errors=True)
        self.worker.returned.connect(self._show)
        self.worker.errored.connect(
            lambda exc: self.verdict.setText(f"The check itself failed: {user_message(exc)}")
        )
        self.worker.start()

    def _show(self, report: SelfTestReport) -> None:
        self.outcome = report
        self.report.setPlainText(report.text())
        self.verdict.setText(
            "<b style='color:#2e7d32'>Everything works.</b>"
            if report.ok
            else f"<b style='color:#c0392b'>Failed at: {report.failed_step}</b>"
        )


def _check(device: str, precision: str) -> SelfTestReport:
    from ..core.session.selftest import run_self_test

    return run_self_test(device, precision, on_step=lambda step: None)
