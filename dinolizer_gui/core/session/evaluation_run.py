"""One evaluation: images paired with masks, each map scored as the batch makes it, the outputs written.

Rows go to evaluation.csv as each image finishes (appended and flushed to
disk); evaluation.json, with every model's summary, and the plots are written
at the end. The maps come from the results store when it holds them, so an
interrupted evaluation resumes at the cost of re-reading them.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ..engine.analysis import ImageOutcome
from ..evaluation.evaluator import EvaluatedModel, ModelTally
from ..evaluation.ground_truth import GroundTruth, PairingError, find_mask, read_mask
from ..evaluation.plots import Series, histogram, line_chart
from ..io.images import ImageLoadError, LoadedImage
from ..io.names import path_record, readable
from ..io.outputs import make_folder, mark_output_folder, write_atomic, write_json_atomic
from ..maps.outcome import ModelOutcome
from ..report.results_folder import write_png
from .batch import BatchItem, ItemStatus

EVALUATION_SCHEMA = "dinolizer-gui/evaluation"
EVALUATION_VERSION = 1
CSV_COLUMNS = (
    "path",
    "mask",
    "status",
    "error",
    "authentic",
    "model",
    "score",
    "flagged",
    "iou",
    "f1",
    "best_f1",
    "best_f1_threshold",
    "ap",
    "precision",
    "recall",
    "marked_area",
    "warnings",
)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet would run such a cell as a formula
PLOTS = {"pr": "precision_recall.png", "iou": "iou_per_image.png", "roc": "roc.png"}


class Evaluation:
    def __init__(
        self,
        models: list[EvaluatedModel],
        images_root: Path,
        masks_root: Path,
        out_dir: Path,
        run_info: dict,
        invert_masks: bool = False,
    ):
        self.images_root, self.masks_root, self.invert = images_root, masks_root, invert_masks
        self.tallies = {model.name: ModelTally(model) for model in models}
        self.out_dir = make_folder(out_dir)
        mark_output_folder(self.out_dir)
        self.document = {
            "schema": EVALUATION_SCHEMA,
            "version": EVALUATION_VERSION,
            **{key: value for key, value in run_info.items() if key != "models"},
            "model_details": run_info[
                "models"
            ],  # which weights, thresholds, verification; `models` = results
            "ground_truth": {
                "images": readable(images_root),
                "masks": readable(masks_root),
                "inverted": invert_masks,
                "positive_from": 128,
            },
        }
        self.images: list[dict] = []
        self._masks: dict[str, Path] = {}
        self._truth: tuple[str, GroundTruth] | None = None
        self._entries: dict[str, dict] = {}
        self._csv = self.out_dir / "evaluation.csv"
        write_atomic(self._csv, _csv_line(CSV_COLUMNS).encode())

    def pair(self, items: list[BatchItem]) -> None:
        """Find each image's mask; an image without exactly one is an error and is not analysed."""
        for item in items:
            try:
                self._masks[item.path] = find_mask(Path(item.path), self.images_root, self.masks_root)
            except PairingError as exc:
                item.status, item.reason = ItemStatus.ERROR, str(exc)
                self.on_image(item, None)  # never analysed: listed with its reason now

    def on_model(self, item: BatchItem, image: LoadedImage, name: str, outcome: ModelOutcome) -> None:
        entry = self._entry(item)
        if entry["status"] == "error":
            return
        truth = self._ground_truth(item.path, image, entry)
        if truth is not None:
            entry["models"][name] = self.tallies[name].add(outcome, truth)

    def on_image(self, item: BatchItem, outcome: ImageOutcome | None) -> dict:
        """Record the image's end; returns its entry (status, error, scores)."""
        entry = self._entry(item)
        if item.status == ItemStatus.ERROR and entry["status"] != "error":
            entry.update(status="error", error=item.reason, models={})
        elif item.status == ItemStatus.SKIPPED:
            entry.update(
                status="skipped", error=f"duplicate of {readable(item.duplicate_of or '')}: not counted twice"
            )
        self._truth = None
        self.images.append(entry)
        self._append_rows(entry)
        return entry

    def finish(self) -> dict:
        """evaluation.json and the plots; returns the document."""
        self.document["summary"] = {
            status: sum(1 for entry in self.images if entry["status"] == status)
            for status in ("ok", "error", "skipped")
        }
        self.document["models"] = {name: tally.summary() for name, tally in self.tallies.items()}
        self.document["plots"] = self._plots()
        self.document["images"] = self.images
        write_json_atomic(self.out_dir / "evaluation.json", self.document)
        return self.document

    def _entry(self, item: BatchItem) -> dict:
        if item.path not in self._entries:
            mask = self._masks.get(item.path)
            self._entries[item.path] = {
                **path_record(item.path),
                "mask": readable(mask) if mask else None,
                "status": "error" if item.status == ItemStatus.ERROR else "ok",
                "error": item.reason or None,
                "authentic": None,
                "warnings": [],
                "models": {},
            }
        return self._entries[item.path]

    def _ground_truth(self, path: str, image: LoadedImage, entry: dict) -> GroundTruth | None:
        if self._truth is None or self._truth[0] != path:
            try:
                truth = read_mask(self._masks[path], image.height, image.width, self.invert)
            except ImageLoadError as exc:
                entry.update(status="error", error=f"ground-truth mask {readable(exc.path)}: {exc.reason}")
                return None
            self._truth = (path, truth)
            entry.update(authentic=truth.authentic, warnings=truth.warnings)
        return self._truth[1]

    def _append_rows(self, entry: dict) -> None:
        common = [
            entry["path"],
            entry["mask"] or "",
            entry["status"],
            entry["error"] or "",
            entry["authentic"],
        ]
        rows = [
            [
                *common,
                name,
                *(scores.get(column) for column in CSV_COLUMNS[6:-1]),
                "; ".join(entry["warnings"]),
            ]
            for name, scores in entry["models"].items()
        ] or [[*common, *[""] * (len(CSV_COLUMNS) - len(common) - 1), "; ".join(entry["warnings"])]]
        with open(self._csv, "a", encoding="utf-8", newline="") as file:
            file.write("".join(_csv_line(row) for row in rows))
            file.flush()
            os.fsync(file.fileno())

    def _plots(self) -> dict[str, str]:
        curves = {name: tally.curves() for name, tally in self.tallies.items()}
        pr = [Series(name, *c["pr"]) for name, c in curves.items() if "pr" in c]
        roc = [Series(name, *c["roc"]) for name, c in curves.items() if "roc" in c]
        iou = {name: c["iou"] for name, c in curves.items() if c["iou"]}
        charts = {}
        if pr:
            charts["pr"] = line_chart(
                pr, "Precision-recall, all pixels pooled", "recall", "precision", "top-right"
            )
        if iou:
            charts["iou"] = histogram(iou, "IoU per manipulated image", "IoU at the pixel threshold")
        if roc:
            charts["roc"] = line_chart(
                roc,
                "ROC, image level",
                "false positive rate",
                "true positive rate",
                "bottom-right",
                chance=True,
            )
        for key, chart in charts.items():
            write_png(self.out_dir / PLOTS[key], np.asarray(chart).copy())
        return {key: PLOTS[key] for key in charts}


def _csv_line(values: Iterable[object]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow([_cell(value) for value in values])
    return buffer.getvalue()


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text
