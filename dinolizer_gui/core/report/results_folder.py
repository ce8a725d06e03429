"""The results folder of an analysis: masks, overlays and heat maps per model, results.jsonl and results.json.

Each model's files are written as soon as it finishes, and each image's entry is appended to results.jsonl
(one JSON line, fsynced) as it ends, so an interrupted batch keeps everything that finished. results.json,
the whole document, is rewritten atomically at checkpoints — after 1, 2, 4, 8, … images, at least every
CHECKPOINT_SECONDS, and at the end — so a batch costs time linear in its size.
"""

from __future__ import annotations

import io
import json
import re
import struct
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np
from PIL import Image

from ... import __version__
from ..engine.analysis import ImageOutcome
from ..errors import OutputError
from ..io.images import OUTPUT_PNG_KEY, LoadedImage
from ..io.names import path_record, readable
from ..io.outputs import append_line, make_folder, mark_output_folder, write_atomic, write_json_atomic
from ..io.provenance import read_with_thumbnail, unreadable
from ..maps.outcome import ModelOutcome
from ..maps.postprocess import binary_mask
from ..maps.render import (
    DEFAULT_COLORMAP,
    agreement_layer,
    colormap_rgb,
    composite,
    heat_layer,
    mask_image,
    probability_levels,
    stability_layer,
)
from ..maps.stability import StabilityAt
from ..store.decisions import RegionState, confirmed_regions, region_states
from ..store.findings import Findings
from .findings import findings_figure, findings_record
from .run_record import iso_time
from .views import view_records

CHECKPOINT_SECONDS = 30.0
RESULTS_SCHEMA = "dinolizer-gui/analyze-results"
RESULTS_VERSION = 1
OUTPUT_NOTE = f"written by DinoLizer GUI {__version__}; an output, not evidence"
# zlib's fastest level: a 50 MP overlay encodes about 6x faster than at 6, for ~15 % more bytes
PNG_COMPRESSION = 1
STABILITY_OPACITY = 0.8


def write_png(path: Path, pixels: np.ndarray, palette: np.ndarray | None = None) -> None:
    """An H x W (grey, or indexed with `palette`) or H x W x 3 RGB uint8 array as a PNG marked as an output.

    RGB goes through OpenCV, which encodes from the array itself (PIL would first copy it at 4 bytes a pixel:
    200 MB on a 50 MP image), so the array is reordered to BGR in place: pass only one you own. Every PNG
    carries a text chunk that `load_image` refuses, so an output is never analysed as evidence.
    """
    if pixels.ndim == 3:
        cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR, dst=pixels)
        ok, encoded = cv2.imencode(".png", pixels, [cv2.IMWRITE_PNG_COMPRESSION, PNG_COMPRESSION])
        if not ok:
            raise OutputError(path, "could not be encoded as PNG")
        write_atomic(path, _with_output_mark(encoded.tobytes()))
        return
    picture = Image.fromarray(pixels)  # shares the array's memory for one byte a pixel
    if palette is not None:
        picture.putpalette(palette.tobytes())
    buffer = io.BytesIO()
    picture.save(buffer, "PNG", compress_level=PNG_COMPRESSION)
    write_atomic(path, _with_output_mark(buffer.getvalue()))


def _with_output_mark(png: bytes) -> bytes:
    """The PNG with a tEXt chunk naming it an output, placed right after the IHDR chunk (bytes 8 to 33)."""
    body = OUTPUT_PNG_KEY.encode("latin-1") + b"\0" + OUTPUT_NOTE.encode("latin-1")
    chunk = struct.pack(">I", len(body)) + b"tEXt" + body + struct.pack(">I", zlib.crc32(b"tEXt" + body))
    return png[:33] + chunk + png[33:]


def _safe_stem(path: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", Path(path).stem)[:60] or "image"


class _Served(Protocol):
    @property
    def cached(self) -> bool: ...


class FinishedItem(Protocol):
    """What the writer reads of a finished batch item (session/batch's BatchItem)."""

    @property
    def path(self) -> str: ...

    @property
    def duplicate_of(self) -> str | None: ...

    @property
    def models(self) -> Mapping[str, _Served]: ...


@dataclass
class _ImageFiles:
    folder: str
    models: dict[str, dict] = field(default_factory=dict)  # results.json entries of the models written
    # bit-packed masks, for the agreement image
    masks: dict[str, tuple[np.ndarray, tuple[int, int]]] = field(default_factory=dict)
    findings: Findings | None = None  # the examiner's, read once from the store
    states: dict[str, list[RegionState]] = field(default_factory=dict)  # each model's regions, decided
    confirmed: list[np.ndarray] = field(default_factory=list)  # each carried confirmed region's pixels


class ResultsWriter:
    """Writes masks, overlays and maps per model as it finishes, and rewrites results.json after each image.

    `add_model` writes a model's files at once and keeps only its mask, bit-packed, so a huge image never
    holds two probability maps; `add` then writes the agreement image and the image's entry.
    """

    def __init__(
        self,
        out_dir: Path,
        run_info: dict,
        save_probability: bool = False,
        overlay_opacity: float = 0.5,
        positions: dict[str, int] | None = None,
        trust_anchors: str = "",
        findings_of: Callable[[str], Findings] | None = None,
        views: Mapping[str, Mapping[str, Any]] | None = None,
    ):
        """`positions` numbers the images (folders, order in results.json) when they finish out of order;
        `trust_anchors` (PEM) are the Content Credentials signers the user trusts; `findings_of` gives the
        examiner's marks and decisions on an image by its SHA-256 (the results store's); `views`, the
        classic instruments' views to add (name -> parameters, see views.py)."""
        self.out_dir = make_folder(out_dir)
        mark_output_folder(self.out_dir)
        self.document = {"schema": RESULTS_SCHEMA, "version": RESULTS_VERSION, **run_info, "images": []}
        self.save_probability = save_probability
        self._by_path: dict[str, dict] = {}
        self._pending: dict[str, _ImageFiles] = {}
        self.overlay_opacity = overlay_opacity
        self.positions = positions or {}
        self._order = {readable(path): number for path, number in self.positions.items()}
        self._counts = dict.fromkeys(("images", "ok", "error", "skipped"), 0)
        self.journal = self.out_dir / "results.jsonl"
        self.trust_anchors = trust_anchors
        self.findings_of = findings_of
        self.views = dict(views or {})
        self._written_at = time.monotonic()

    def add_model(self, item: FinishedItem, image: LoadedImage, name: str, model: ModelOutcome) -> None:
        files = self._files(item.path)
        files.models[name], mask = self._save_model(files.folder, name, image, model)
        if mask is not None:
            files.masks[name] = (np.packbits(mask), mask.shape)
            self._decided(files, image.sha256, name, model)

    def _files(self, path: str) -> _ImageFiles:
        """The image's folder of files (made on first use)."""
        files = self._pending.get(path)
        if files is None:
            number = self.positions.get(path, len(self.document["images"]) + 1)
            files = self._pending[path] = _ImageFiles(f"{number:04d}_{_safe_stem(path)}")
            make_folder(self.out_dir / files.folder)
        return files

    def _findings(self, files: _ImageFiles, sha256: str) -> Findings | None:
        if files.findings is None and self.findings_of is not None:
            files.findings = self.findings_of(sha256)
        return files.findings

    def _decided(self, files: _ImageFiles, sha256: str, name: str, model: ModelOutcome) -> None:
        """The examiner's decisions on this model's regions, on its map at the run's threshold."""
        findings = self._findings(files, sha256)
        probability, threshold = model.run.probability, model.summary.threshold
        if findings is None or probability is None or threshold is None:
            return
        if any(decision.model == name for decision in findings.decisions):
            files.states[name] = region_states(findings, name, probability, threshold)
            files.confirmed += confirmed_regions(files.states[name], probability, threshold)

    def add(self, item: FinishedItem, outcome: ImageOutcome | None) -> dict:
        """Finish one batch item; a duplicate (no outcome) points at its first copy's files."""
        if item.duplicate_of is not None:
            first = {
                k: v for k, v in self._by_path[item.duplicate_of].items() if k not in ("path", "path_bytes")
            }
            entry = {
                **path_record(item.path),
                **first,
                "status": "skipped",
                "duplicate_of": readable(item.duplicate_of),
                "error": None,
            }
        elif outcome is None:
            raise ValueError(f"{item.path}: only a duplicate finishes without an outcome")
        else:
            if outcome.ok and outcome.image is not None and self.findings_of is not None:
                self._findings(self._files(item.path), outcome.image.sha256)
            if outcome.image is not None and self.views:
                self._files(item.path)  # the views' pictures go in the image's folder
            entry = self._entry(outcome, self._pending.pop(item.path, None))
            for name, summary in item.models.items():
                if name in entry["models"]:
                    entry["models"][name]["cached"] = summary.cached
        verdict = getattr(item, "verdict", None)
        entry["analyst_verdict"] = verdict.as_dict() if verdict is not None and verdict.reviewed else None
        self._by_path[item.path] = entry
        self.document["images"].append(entry)
        self._counts["images"] += 1
        self._counts[entry["status"]] += 1
        self._append_journal(entry)
        count = self._counts["images"]
        if count & (count - 1) == 0 or time.monotonic() - self._written_at >= CHECKPOINT_SECONDS:
            self.finish()
        return entry

    def finish(self) -> None:
        """Write results.json whole (a checkpoint, or the end of the run)."""
        if self.positions:
            self.document["images"].sort(key=lambda e: self._order.get(e["path"], 0))
        self.document["summary"] = dict(self._counts)
        self._write_json()
        self._written_at = time.monotonic()

    def _append_journal(self, entry: dict) -> None:
        append_line(self.journal, json.dumps(entry, allow_nan=False, ensure_ascii=False))

    def _entry(self, outcome: ImageOutcome, files: _ImageFiles | None) -> dict:
        """The image's entry; a model that finished before another failed keeps its files and figures."""
        image = outcome.image
        entry: dict[str, Any] = {
            **path_record(outcome.path),
            "sha256": image.sha256 if image else None,
            "file_size": image.file_size if image else None,
            "width": image.width if image else None,
            "height": image.height if image else None,
            "format": image.format if image else None,
            "status": "ok" if outcome.ok else "error",
            "error": outcome.error or None,
            "warnings": image.warnings if image else [],
            "exif": image.exif if image else {},
            "provenance": self._provenance(outcome.path, files) if image else None,
            "models": dict(files.models) if files else {},
        }
        if outcome.ok and image is not None and files is not None and len(files.masks) == 2:
            first, second = (
                np.unpackbits(bits, count=shape[0] * shape[1]).reshape(shape).view(bool)
                for bits, shape in files.masks.values()
            )
            agreement_rel = f"{files.folder}/agreement.png"
            write_png(
                self.out_dir / agreement_rel, composite(image.rgb, agreement_layer(first, second), 0.75)
            )
            entry["agreement"] = {
                "image": agreement_rel,
                "models": list(files.masks),
                "colours": {"first only": "orange", "second only": "blue", "both": "magenta"},
            }
        if outcome.ok and image is not None and files is not None and files.findings is not None:
            entry.update(self._findings_entry(image, files, files.findings))
        if self.views and image is not None and files is not None:  # also when a model refused the image
            entry["views"] = view_records(image, self.views, files.folder, self._write_view)
        return entry

    def _write_view(self, relative: str, picture: np.ndarray) -> None:
        write_png(self.out_dir / relative, picture)

    def _findings_entry(self, image: LoadedImage, files: _ImageFiles, findings: Findings) -> dict:
        """`annotations` and `region_decisions` as results.json carries them, and the findings figure (when
        there is something to draw)."""
        entry: dict[str, Any] = findings_record(findings, files.states, (image.width, image.height))
        if findings.marks or files.confirmed:
            relative = f"{files.folder}/findings.png"
            write_png(self.out_dir / relative, findings_figure(image.rgb, findings.marks, files.confirmed))
            entry["findings_figure"] = relative
        return entry

    def _provenance(self, path: str, files: _ImageFiles | None) -> dict:
        """What the file says about itself (Content Credentials, XMP, EXIF, thumbnail, JPEG), read again
        from the file; its EXIF thumbnail saved beside the maps (for the reports)."""
        try:
            provenance, thumbnail = read_with_thumbnail(path, self.trust_anchors)
        except (OSError, ValueError) as exc:
            return unreadable(f"the file could not be read again for its provenance: {exc}")
        if thumbnail is not None and files is not None and provenance["thumbnail"] is not None:
            relative = f"{files.folder}/exif_thumbnail.png"
            write_png(self.out_dir / relative, np.asarray(thumbnail.convert("RGB")).copy())
            provenance["thumbnail"]["picture"] = relative
        return provenance

    def _save_model(
        self, folder: str, name: str, image: LoadedImage, model: ModelOutcome
    ) -> tuple[dict, np.ndarray | None]:
        """Write one model's files; returns its results.json entry and its mask (None without a map)."""
        run, summary = model.run, model.summary
        result: dict[str, Any] = {}
        mask = None
        if run.probability is not None and summary.threshold is not None:
            mask = binary_mask(run.probability, summary.threshold)
            result = self._save_map(folder, name, image, run.probability, mask)
        result.update(
            {
                **summary.to_record(),
                **run.record(),
                "computed_at": iso_time(run.computed_at) if run.computed_at else None,
            }
        )
        if model.stability is not None and summary.threshold is not None:
            check = model.stability.at(summary.threshold)
            result["stability"] = self._save_stability(folder, name, image, check)
        del result["seconds"]  # a timing: the same inputs must give the same results.json
        if result["image_level"] is None:
            del result["image_level"]  # only an image-level detector's entry has one (see schema.json)
        return result, mask

    def _save_map(
        self, folder: str, name: str, image: LoadedImage, probability: np.ndarray, mask: np.ndarray
    ) -> dict[str, str]:
        """The mask, overlay and heat map PNGs (and the .npy map if asked); their entries in results.json."""
        mask_rel, overlay_rel = f"{folder}/{name}_mask.png", f"{folder}/{name}_overlay.png"
        heatmap_rel = f"{folder}/{name}_heatmap.png"
        write_png(self.out_dir / mask_rel, mask_image(mask))
        levels = probability_levels(probability)
        write_png(self.out_dir / overlay_rel, composite(image.rgb, heat_layer(levels), self.overlay_opacity))
        # indexed colour: a third of RGB's bytes
        write_png(self.out_dir / heatmap_rel, levels, palette=colormap_rgb(DEFAULT_COLORMAP))
        files = {"mask": mask_rel, "overlay": overlay_rel, "heatmap": heatmap_rel}
        if self.save_probability:
            prob_rel = f"{folder}/{name}_probability.npy"
            map32 = probability.astype(np.float32, copy=False)
            write_atomic(self.out_dir / prob_rel, lambda handle: np.save(handle, map32))
            files["probability_map"] = prob_rel
        return files

    def _save_stability(self, folder: str, name: str, image: LoadedImage, check: StabilityAt) -> dict:
        """The stability map PNG (0-255: the fraction 0-1 of the analyses marking a pixel), the same in colour
        over the image (for reports), and its entry."""
        map_rel, overlay_rel = f"{folder}/{name}_stability.png", f"{folder}/{name}_stabilityoverlay.png"
        levels = check.levels()
        write_png(self.out_dir / map_rel, levels)
        write_png(
            self.out_dir / overlay_rel, composite(image.rgb, stability_layer(levels), STABILITY_OPACITY)
        )
        return {
            "variants": [variant.as_dict() for variant in check.variants],
            "regions": [region.as_dict() for region in check.regions],
            "map": map_rel,
            "overlay": overlay_rel,
            "analyses": check.analyses,
        }

    def _write_json(self) -> None:
        write_json_atomic(self.out_dir / "results.json", self.document, indent=2, ensure_ascii=False)
