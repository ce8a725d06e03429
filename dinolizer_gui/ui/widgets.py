"""Small widgets of the viewer: a model panel, a threshold control, the welcome page."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QColor, QKeyEvent, QLinearGradient, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..core.models.cards import ModelCard
from ..core.models.integrity import stated
from ..core.models.weights_folder import load_manifest
from ..core.session.thresholds import on_step
from ..core.store.verdicts import VERDICTS, Verdict
from .image_view import ImageView

SLIDER_STEPS = 1000


class Panel(QWidget):
    """A titled image view; model panels also show the image-level score."""

    cardRequested = Signal(str)

    def __init__(self, key: str, title: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.key = key
        self.title_text = title
        self.title = QLabel(f"<b>{title}</b>")
        self.score = QLabel("")
        self.score.setTextFormat(Qt.TextFormat.RichText)
        header_widget = QWidget()
        header_widget.setFixedHeight(26)
        header = QHBoxLayout(header_widget)
        header.setContentsMargins(6, 0, 4, 0)
        header.addWidget(self.title)
        header.addStretch(1)
        header.addWidget(self.score)
        if key != "input":
            info = QToolButton()
            info.setText("Card")
            info.setToolTip("Model card: training data, paper, known failure modes")
            info.setAutoRaise(True)
            info.clicked.connect(lambda: self.cardRequested.emit(self.key))
            header.addWidget(info)
        self.view = ImageView(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(header_widget)
        layout.addWidget(self.view, 1)

    def set_active(self, on: bool) -> None:
        """Marks the model panel that `]` and `[` act on."""
        self.title.setText(
            f"<b style='color:#2e86c1'>▸ {self.title_text}</b>" if on else f"<b>{self.title_text}</b>"
        )
        self.title.setToolTip("] and [ move this model's threshold (click a panel to choose)" if on else "")


class Legend(QWidget):
    """The colour scale of the heat map from 0 to 1, with each model's threshold marked on it."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.colours: list[tuple[int, int, int]] = []
        self.marks: dict[str, float] = {}
        self.swatches: dict[str, tuple[int, int, int]] = {}
        self.setFixedHeight(34)
        self.setMinimumWidth(240)
        self.setToolTip(
            "Probability that a pixel was inpainted, 0 to 1, as coloured in the heat maps; "
            "the marks are the current pixel thresholds"
        )

    def set_scale(self, colours: Iterable[Iterable[int]], marks: dict[str, float]) -> None:
        self.colours = [(int(r), int(g), int(b)) for r, g, b in colours]
        self.marks, self.swatches = dict(marks), {}
        self.update()

    def set_swatches(self, swatches: dict[str, tuple[int, int, int]]) -> None:
        """Named colours instead of the scale (the agreement view)."""
        self.swatches = dict(swatches)
        self.update()

    def paintEvent(self, _event: QPaintEvent) -> None:
        painter = QPainter(self)
        if self.swatches:
            x = 8
            for name, colour in self.swatches.items():
                painter.fillRect(x, 6, 22, 16, QColor(*colour))
                painter.setPen(self.palette().text().color())
                painter.drawText(x + 28, 19, name)
                x += 40 + painter.fontMetrics().horizontalAdvance(name)
            painter.end()
            return
        bar = self.rect().adjusted(8, 2, -8, -16)
        gradient = QLinearGradient(bar.left(), 0, bar.right(), 0)
        for index in range(0, len(self.colours), 8):
            gradient.setColorAt(index / 255, QColor(*self.colours[index]))
        if self.colours:
            gradient.setColorAt(1.0, QColor(*self.colours[-1]))
        painter.fillRect(bar, gradient)
        painter.setPen(self.palette().text().color())
        metrics = painter.fontMetrics()
        for value in (0.0, 0.25, 0.5, 0.75, 1.0):
            text = f"{value:g}"
            centred = bar.left() + value * bar.width() - metrics.horizontalAdvance(text) / 2
            left = min(
                max(centred, 0.0), float(self.width() - metrics.horizontalAdvance(text))
            )  # 0 and 1 whole
            painter.drawText(int(left), self.height() - 2, text)
        for index, (_name, value) in enumerate(sorted(self.marks.items())):
            mark = int(bar.left() + value * bar.width())
            painter.setPen(QPen(QColor("#00e5ff" if index == 0 else "#ffffff"), 2))
            painter.drawLine(mark, bar.top() - 1, mark, bar.bottom() + 1)
        painter.end()


class ThresholdControl(QWidget):
    """A slider and a spin box for one model's pixel threshold."""

    changed = Signal(str, float)

    def __init__(self, key: str, title: str, value: float, parent: QWidget | None = None):
        super().__init__(parent)
        self.key = key
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, SLIDER_STEPS)
        self.spin = QDoubleSpinBox(decimals=3, minimum=0.0, maximum=1.0, singleStep=0.01)
        tip = (
            f"{title}: pixels whose probability is at or above this value form the mask. 0.5 is the value "
            "used by both papers for IoU/F1. Moving it never re-runs the model."
        )
        for widget in (self.slider, self.spin):
            widget.setToolTip(tip)
        self.marked = QLabel("")
        self.marked.setToolTip("Marked area: fraction of the image's pixels at or above the threshold")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel(title), 0)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.spin)
        layout.addWidget(self.marked)
        self.slider.valueChanged.connect(lambda v: self.set_value(v / SLIDER_STEPS))
        self.spin.valueChanged.connect(self.set_value)
        self._value = -1.0
        self.set_value(value)

    def value(self) -> float:
        return self._value

    def set_value(self, value: float, notify: bool = True) -> None:
        value = on_step(value)  # as the thresholds' owner keeps it
        if value == self._value:
            return
        self._value = value
        for widget in (self.slider, self.spin):
            widget.blockSignals(True)
        self.slider.setValue(round(value * SLIDER_STEPS))
        self.spin.setValue(value)
        for widget in (self.slider, self.spin):
            widget.blockSignals(False)
        if notify:
            self.changed.emit(self.key, value)


class VerdictBar(QWidget):
    """The analyst's verdict on the image on screen and a note, saved as they change."""

    verdictChosen = Signal(str)
    noteEdited = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.choice = QComboBox()
        self.choice.setToolTip(
            "Your verdict on this image (Alt+1 … Alt+4); reports print it apart from the models' output, "
            "under the analyst's name"
        )
        self.choice.addItems(list(VERDICTS))
        self.note = QLineEdit(
            placeholderText="Your note on this image (N); saved when you press Enter or leave"
        )
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("<b>Analyst's verdict</b>"))
        layout.addWidget(self.choice)
        layout.addWidget(self.note, 1)
        self.choice.activated.connect(lambda index: self.verdictChosen.emit(VERDICTS[index]))
        self.note.editingFinished.connect(lambda: self.noteEdited.emit(self.note.text()))
        self.show_verdict(None, enabled=False)

    def show_verdict(self, verdict: Verdict | None, enabled: bool = True) -> None:
        verdict = verdict or Verdict()
        self.choice.setCurrentIndex(VERDICTS.index(verdict.verdict))
        self.note.setText(verdict.note)
        self.note.setToolTip(f"recorded {verdict.recorded_at}" if verdict.recorded_at else "")
        self.setEnabled(enabled)


def card_html(card: ModelCard, describe: dict | None) -> str:
    rows = [
        f"<h3>{card.title}</h3>",
        f"<p><b>Paper:</b> {card.paper}</p>",
        f"<p><b>Architecture:</b> {card.architecture}</p>",
        f"<p><b>Training data:</b> {card.training_data}</p>",
        "<p><b>Known failure modes:</b></p><ul>"
        + "".join(f"<li>{m}</li>" for m in card.failure_modes)
        + "</ul>",
        f"<p><b>Licence:</b> {card.licence}</p>",
    ]
    if describe:
        rows.append(
            f"<p><b>Loaded variant:</b> {describe['variant']}<br><b>Image-level threshold:</b> "
            f"{describe['score_threshold']:.4f} — {describe['score_threshold_source']}</p>"
        )
        rows += [
            f"<p><b>Checkpoint:</b> {c['file']}<br><b>Weights:</b> {stated(c)}<br>"
            f"<small>SHA-256 {c['sha256']}</small></p>"
            for c in describe["checkpoints"]
        ]
    return "".join(rows)


class WelcomePage(QWidget):
    """Shown at first start, when no model has weights: which files are needed and how to get them."""

    def __init__(self, weights_folder: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setOpenExternalLinks(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.manage_models = QPushButton("Get the weights…")
        self.choose_folder = QPushButton("Choose weights folder…")
        self.load_checkpoint = QPushButton("Load a checkpoint file…")
        self.open_image = QPushButton("Open an image to view it…")
        buttons = QHBoxLayout()
        for button in (self.manage_models, self.choose_folder, self.load_checkpoint, self.open_image):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(40, 30, 40, 30)
        layout.addWidget(self.text)
        layout.addLayout(buttons)
        layout.addStretch(1)
        self.set_folder(weights_folder)

    def set_folder(self, weights_folder: str) -> None:
        rows = "".join(
            f"<tr><td>{e.title}</td><td><code>{e.file}</code></td><td>{e.domain}</td>"
            f"<td><a href='{e.url}'>download</a></td><td>{e.licence}</td></tr>"
            for e in load_manifest()
            if e.supported
        )
        self.text.setText(
            "<h2>Welcome to DinoLizer GUI</h2>"
            "<p>No model weights are installed yet. The app never bundles or downloads weights by itself: "
            "their licences are non-commercial, and you must accept them. Put one or more of these files in "
            f"the weights folder <code>{weights_folder}</code>, or load a checkpoint file for this "
            "session.</p>"
            "<p><b>Get the weights…</b> shows each licence, downloads and verifies the files, or imports "
            "them from disk for machines without internet.</p>"
            "<table cellspacing=6><tr><th align=left>Model</th><th align=left>File</th>"
            "<th align=left>Trained on</th>"
            f"<th></th><th align=left>Licence</th></tr>{rows}</table>"
            "<p>DinoLizer needs the release checkpoint. DeCLIP needs one of the ViT files; COCO-SD suits "
            "general photographs, the Dolos ones faces.</p>"
        )


class HeldKey(QObject):
    """Calls `held(True)` while a key is held down anywhere in `window`, `held(False)` when it is released."""

    def __init__(self, window: QWidget, key: Qt.Key, held: Callable[[bool], None]):
        super().__init__(window)
        self.window, self.key, self.held = window, key, held
        app = QApplication.instance()
        assert app is not None, "a held key needs the running application"
        app.installEventFilter(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if (
            isinstance(event, QKeyEvent)
            and event.type() in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease)
            and event.key() == self.key
            and not event.isAutoRepeat()
            and self.window.isActiveWindow()
        ):
            self.held(event.type() == QEvent.Type.KeyPress)
            return True
        return False
