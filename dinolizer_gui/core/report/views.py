"""The classic instruments' views of an image in a results folder and in its reports.

`analyze --views ela,noise,ghost,copymove` computes each view of every image analysed (core/instruments),
writes its pictures beside the image's maps (8-bit grey PNGs at the displayed size, brighter = more of what
the view measures; `view_ela.png`, `view_noise.png`, `view_noise_sigma.png`, `view_ghost_q50.png` ...
`view_ghost_q100.png`, `view_copymove.png`) and records in results.json, per image:

    "views": {"ela": {"title", "guide", "quality", "scale", "png", "notes", ...},
              "noise": {"filter", "block", "png", "sigma_png", "sigma_scale", ...},
              "ghost": {"qualities", "curve", "pngs", "file_quality", ...},
              "copymove": {"clusters": [{"source", "target", "matches", "affine", ...}], "png", ...}}

paths relative to the results folder. A view that cannot be computed records {"error": why}; the run goes
on. The reports draw a figure per view with its one-line reading guide (`view_figures`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import OutputError, PathError, user_message
from ..instruments import INSTRUMENTS, InstrumentResult, SourceFacts, compute
from ..io.images import ImageLoadError, LoadedImage, read_limit, read_regular_file
from ..progress import run_to_end

VIEW_NAMES = tuple(INSTRUMENTS)  # ela, noise, ghost, copymove: the order of figures in the reports
VIEWS_TITLE = "Classic instruments' views (not model outputs: each one read with its guide)"
TITLED_PICTURES = {"noise"}  # views whose pictures show different things: the title names each
PICTURE_SUFFIXES = {"png": "", "sigma_png": "_sigma"}  # any other key (ghost's "q60") is its own suffix

SavePicture = Callable[[str, np.ndarray], None]  # (path relative to the results folder, H x W uint8)


def read_source_facts(image: LoadedImage, max_pixels: int | None = None) -> SourceFacts:
    """What the image's file says about its own compression (quality, subsampling, orientation), read again
    from the file. ImageLoadError when the file is no longer the one whose pixels these are."""
    data = read_regular_file(Path(image.path), read_limit(max_pixels))
    if hashlib.sha256(data).hexdigest() != image.sha256:
        raise ImageLoadError(image.path, "changed since it was opened (its SHA-256 differs): open it again")
    return SourceFacts.from_file(image.format, data)


def picture_path(folder: str, name: str, key: str) -> str:
    """Where a view's picture goes: `folder/view_ela.png`, `folder/view_noise_sigma.png`,
    `folder/view_ghost_q60.png` (core/io/outputs.py knows these names as a run's own)."""
    return f"{folder}/view_{name}{PICTURE_SUFFIXES.get(key, f'_{key}')}.png"


def view_record(result: InstrumentResult, folder: str, save: SavePicture) -> dict[str, Any]:
    """One view's pictures saved and its results.json entry: its title, one-line reading guide and record."""
    paths = {key: picture_path(folder, result.name, key) for key in result.pictures()}
    for key, relative in paths.items():
        save(relative, result.picture(key))
    instrument = INSTRUMENTS[result.name]
    keys = result.pictures() if result.name in TITLED_PICTURES else ("",)
    return {
        "title": " · ".join(instrument.panel_title(result.params, key) for key in keys),
        "guide": instrument.guide.report_line,
        **result.to_record(paths),
    }


def view_records(
    image: LoadedImage,
    views: Mapping[str, Mapping[str, Any]],
    folder: str,
    save: SavePicture,
    max_pixels: int | None = None,
) -> dict[str, dict[str, Any]]:
    """Every view asked (instrument name -> its parameters) of one image, its pictures saved. A view that
    cannot be computed is recorded as {"error": why}; an output that cannot be written raises OutputError."""
    try:
        source = read_source_facts(image, max_pixels)
    except (OSError, PathError) as exc:
        why = f"the file could not be read again for its compression facts: {user_message(exc)}"
        return {name: {"error": why} for name in views}
    records: dict[str, dict[str, Any]] = {}
    for name, params in views.items():
        try:
            result = run_to_end(compute(name, image.rgb, params, source))
            records[name] = view_record(result, folder, save)
        except OutputError:
            raise
        except Exception as exc:  # one view failing (memory, a codec) must not stop the run or the others
            records[name] = {"error": user_message(exc)}
    return records


# --- the reports' figures -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ViewFigure:
    """One view in a report: its title, its one-line reading guide, its pictures (label, path relative to the
    results folder) and the lines of numbers and notes printed under them."""

    title: str
    guide: str
    pictures: list[tuple[str, str]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    alert: str = ""  # why the view is missing


def view_figures(entry: Mapping[str, Any]) -> list[ViewFigure]:
    """The figures of an image's views, in the instruments' order (none when it has no views)."""
    views = entry.get("views") or {}
    figures = []
    for name in [*VIEW_NAMES, *(n for n in views if n not in VIEW_NAMES)]:
        if name in views:
            figures.append(_figure(name, views[name]))
    return figures


def _figure(name: str, record: Mapping[str, Any]) -> ViewFigure:
    instrument = INSTRUMENTS.get(name)
    title = record.get("title") or (instrument.title if instrument else name)
    guide = record.get("guide") or (instrument.guide.report_line if instrument else "")
    if "error" in record:
        return ViewFigure(title, guide, alert=f"{title}: not computed — {record['error']}")
    describe = _DESCRIBERS.get(name, _plain)
    pictures, lines = describe(record)
    return ViewFigure(title, guide, pictures, lines + [f"Note: {note}." for note in record.get("notes", [])])


Described = tuple[list[tuple[str, str]], list[str]]


def _plain(record: Mapping[str, Any]) -> Described:
    return ([(record.get("title", ""), record["png"])] if record.get("png") else []), []


def _ela(record: Mapping[str, Any]) -> Described:
    mean = record.get("mean_error")
    subsampling = record.get("subsampling") or "—"
    line = f"Saved again at quality {record['quality']} ({subsampling}); error shown x{record['scale']}"
    return [(record.get("title", "ELA"), record["png"])], [
        line + (f"; mean error {mean:.2f} grey levels." if mean is not None else ".")
    ]


def _noise(record: Mapping[str, Any]) -> Described:
    size, block = record["filter"], record["block"]
    pictures = [
        (f"Residual, median {size}x{size}, gain x{record['gain']}", record["png"]),
        (
            f"Noise level sigma, {block} px blocks: white = {record['sigma_scale']:g} grey levels or more",
            record["sigma_png"],
        ),
    ]
    median, top = record.get("sigma_median"), record.get("sigma_max")
    lines = []
    if median is not None and top is not None:
        lines.append(f"Sigma per block: median {median:.2f}, largest {top:.2f} grey levels.")
    return pictures, lines


def _ghost(record: Mapping[str, Any]) -> Described:
    pictures = [
        (f"quality {quality}", path)
        for quality, path in zip(record["qualities"], record["pngs"], strict=True)
    ]
    curve = ", ".join(
        f"{q}: {value:.1f}" for q, value in zip(record["qualities"], record["curve"], strict=True)
    )
    own = record.get("file_quality")
    difference = "R, G, B mean" if record.get("difference") == "rgb" else "luminance"
    lines = [
        f"Mean squared difference ({difference}) per quality, whole image: {curve}.",
        f"The file's own estimated quality: {own if own is not None else 'unknown (not a JPEG, or unread)'}.",
    ]
    return pictures, lines


def _copymove(record: Mapping[str, Any]) -> Described:
    clusters = record.get("clusters", [])
    lines = [
        f"Cluster {number}: {cluster['matches']} matches; source box {_box(cluster['source'])} onto "
        f"target box {_box(cluster['target'])}; rotation {degrees_text(cluster.get('rotation_degrees', 0))} "
        f"degrees, scale {cluster.get('scale', 1):.3f}."
        for number, cluster in enumerate(clusters, 1)
    ]
    if not clusters:
        lines.append(
            f"No cluster of at least {record.get('min_inliers', '—')} agreeing matches "
            f"({record.get('keypoints', '—')} keypoints, {record.get('matches', '—')} matches): no copy "
            "found, which does not prove there is none."
        )
    return _plain(record)[0], lines


def degrees_text(value: float) -> str:
    """An angle to a tenth of a degree, never "-0.0"."""
    return f"{round(value, 1) + 0.0:.1f}"


def _box(box: list[int]) -> str:
    x, y, width, height = box
    return f"({x}, {y}, {width} x {height})"


_DESCRIBERS: dict[str, Callable[[Mapping[str, Any]], Described]] = {
    "ela": _ela,
    "noise": _noise,
    "ghost": _ghost,
    "copymove": _copymove,
}
