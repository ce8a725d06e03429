"""The classic instruments beside the models: error level, noise, JPEG ghosts and copy-move.

One registry (`INSTRUMENTS`) says what each instrument is, its parameters and
how to read it; one entry point (`compute`) runs any of them for the viewer,
the command line and the reports alike:

    source = SourceFacts.from_file(loaded.format, data)
    result = run_to_end(compute("ghost", loaded.rgb, {"block": 16}, source))
    result.picture("q60"), result.curve, result.region_curve((x, y, w, h))
    result.to_record({key: f"views/{stem}_{key}.png" for key in result.pictures()})

Every instrument works on the image as displayed, at full resolution (copy-move
finds its keypoints on a reduced copy above `megapixels`, and says so), a band
of rows at a time, and yields Progress between bands: closing the generator
stops it. This package imports no Qt and no PyTorch.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..progress import Progress
from .base import InstrumentResult, Parameter, SourceFacts
from .copymove import MIN_INLIERS, CopyMoveResult, copy_move
from .ela import ElaResult, error_level
from .ghosts import QUALITIES, GhostResult, jpeg_ghosts
from .noise import NoiseResult, noise

__all__ = [
    "INSTRUMENTS",
    "CopyMoveResult",
    "ElaResult",
    "GhostResult",
    "Guide",
    "Instrument",
    "InstrumentResult",
    "NoiseResult",
    "Parameter",
    "SourceFacts",
    "cache_key",
    "compute",
]

ALGORITHM_VERSION = 1  # raised whenever an instrument's output changes for the same image and parameters

Runner = Callable[[np.ndarray, Mapping[str, Any], SourceFacts], Generator[Progress, None, InstrumentResult]]


@dataclass(frozen=True)
class Guide:
    """How to read an instrument: what it shows, how to read it, when it misleads; one line for reports."""

    shows: str
    read: str
    misleads: str
    report_line: str


@dataclass(frozen=True)
class Instrument:
    name: str
    title: str
    parameters: tuple[Parameter, ...]
    guide: Guide
    run: Runner
    describe: Callable[[Mapping[str, Any], str], str]  # (checked parameters, picture key) -> panel title

    def checked(self, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Every parameter's value: those given, checked against their ranges, and the defaults for the rest.
        ValueError for a value out of range or a name this instrument does not know."""
        given = dict(params or {})
        known = {parameter.name: parameter for parameter in self.parameters}
        if unknown := sorted(set(given) - set(known)):
            raise ValueError(
                f"{self.title} has no parameter {', '.join(unknown)} (it has {', '.join(known)})"
            )
        return {
            name: parameter.checked(given.get(name, parameter.default)) for name, parameter in known.items()
        }

    def panel_title(self, params: Mapping[str, Any] | None = None, picture: str = "") -> str:
        """The title of a panel showing this instrument's picture (its first when none is named)."""
        return self.describe(self.checked(params), picture)


TIMES, SIGMA = "\u00d7", "\u03c3"  # the multiplication sign and sigma, as they appear in titles and guides


def _ela_title(params: Mapping[str, Any], _picture: str) -> str:
    return f"ELA, quality {params['quality']}, scale {TIMES}{params['scale']}"


def _noise_title(params: Mapping[str, Any], picture: str) -> str:
    if picture == "sigma_png":
        return f"Noise level {SIGMA}, {params['block']} px blocks"
    size = params["filter"]
    return f"Noise residual, median {size}{TIMES}{size}, gain {TIMES}{params['gain']}"


def _ghost_title(params: Mapping[str, Any], picture: str) -> str:
    quality = picture[1:] if picture.startswith("q") else f"{QUALITIES[0]}–{QUALITIES[-1]}"
    channels = ", R G B mean" if params["rgb"] else ""
    return f"JPEG ghost, quality {quality}, {params['block']} px blocks{channels}"


def _copymove_title(params: Mapping[str, Any], _picture: str) -> str:
    return f"Copy-move, ratio {params['ratio']:g}, ≥ {params['min_inliers']} matches"


ELA = Instrument(
    name="ela",
    title="Error level (ELA)",
    parameters=(
        Parameter("quality", "ELA quality", 90, 50, 100, help="the JPEG quality the image is saved again at"),
        Parameter("scale", "ELA scale", 20, 1, 100, unit=TIMES, help="the error is multiplied by this"),
    ),
    guide=Guide(
        shows="How much each pixel changes when the image is saved once more as JPEG at the chosen quality: "
        "brighter = a larger change (the largest of the three colour channels', times the scale).",
        read="Areas with the same history and similar content look alike; an area clearly brighter or "
        "darker than similar texture around it may have been saved at another quality, or pasted. Compare "
        "like with like: edges and fine texture are always brighter than flat areas.",
        misleads="Edges, texture, saturated and very dark areas stand out in any image; how an edited area "
        "shows depends on the quality chosen and the content — near the file's own (given beside it) or well "
        "below it, brighter or darker: look at both; a file saved many "
        "times or at a low quality looks even when edited; resizing or filtering after an edit hides it; "
        "ELA of a lossless file (PNG) mostly shows edges and texture.",
        report_line="Error level: brighter = more change when saved again as JPEG; compare similar textures "
        "only (edges are always bright).",
    ),
    run=error_level,
    describe=_ela_title,
)

NOISE = Instrument(
    name="noise",
    title="Noise",
    parameters=(
        Parameter("filter", "Median filter size", 3, 3, 7, step=2, unit="px", help="3, 5 or 7"),
        Parameter("gain", "Residual gain", 10, 1, 50, unit=TIMES, help="the residual is multiplied by this"),
        Parameter(
            "block", "Noise block", 32, 16, 64, step=8, unit="px", help="the side of each estimate's block"
        ),
    ),
    guide=Guide(
        shows="The residual: what a median filter takes out of the luminance (fine noise and detail), "
        f"amplified. The noise level: the luminance's noise standard deviation {SIGMA} per block, in grey "
        "levels (a robust estimate from the finest diagonal wavelet detail); brighter = noisier.",
        read="A photograph's noise is about even across areas of similar brightness; an area smoother or "
        "grainier than comparable surroundings may come from another camera, a generator or another "
        f"processing (denoising, resizing). Read {SIGMA} against areas of similar brightness and texture.",
        misleads=f"Fine texture and sharp detail raise {SIGMA} (taken for noise); dark and saturated areas "
        "are quieter; JPEG compression removes noise unevenly (flat blocks first); denoising or resizing "
        "the whole image after an edit erases the difference.",
        report_line=f"Noise: brighter = more fine noise ({SIGMA} in grey levels per block); compare areas "
        "of similar brightness and texture.",
    ),
    run=noise,
    describe=_noise_title,
)

GHOST = Instrument(
    name="ghost",
    title="JPEG ghosts",
    parameters=(
        Parameter(
            "block", "Ghost block", 16, 8, 64, step=8, unit="px", help="the side of the averaging block"
        ),
        Parameter("rgb", "Mean over R, G, B", 0, 0, 1, help="1: the paper's difference; 0: the luminance's"),
    ),
    guide=Guide(
        shows="For each quality from 50 to 100, how far the image is from itself saved again at that "
        "quality, averaged over blocks and normalised per quality (Farid 2009): darker = closer. The curve "
        "gives the mean difference per quality for the whole image or a region.",
        read="An area once saved at a lower quality q0 than the rest turns dark at q0 while its "
        "surroundings stay bright (its ghost), and its curve dips there — and also, often deeper, at the "
        "quality whose tables are half q0's (50 and 75, 60 and 80, 70 and 85, 80 and 90): a dip at 80 "
        "may mean 60. The whole image is dark at and above the file's own quality, given beside it.",
        misleads="It needs the earlier JPEG's 8 x 8 grid: an area pasted off that grid, or an image resized "
        "or cropped off it after the edit, shows no ghost. Flat and saturated areas are dark at every "
        "quality; an area saved at a higher quality than the final one shows nothing; qualities are the "
        "standard (IJG) tables', so a camera's own tables appear at a nearby quality.",
        report_line="JPEG ghosts: darker = closer to the image saved at that quality; an area dark where "
        "the rest is bright was saved near it (or at 50, 60, 70 for 75, 80, 85).",
    ),
    run=jpeg_ghosts,
    describe=_ghost_title,
)

COPY_MOVE = Instrument(
    name="copymove",
    title="Copy-move",
    parameters=(
        Parameter(
            "ratio", "Match ratio", 0.6, 0.3, 0.9, step=0.05, help="nearest match closer than this x the next"
        ),
        Parameter("min_distance", "Minimum distance", 40, 10, 500, unit="px", help="closer matches dropped"),
        Parameter(
            "min_inliers", "Minimum matches", MIN_INLIERS, 4, 100, help="smaller clusters not reported"
        ),
        Parameter("megapixels", "Analysed size", 4, 1, 12, unit="MP", help="larger images reduced to this"),
    ),
    guide=Guide(
        shows="Areas found twice in the image, also turned or resized: two outlined areas joined by lines "
        "between their matching keypoints (SIFT), with the number of matches and the affine map from one "
        "onto the other.",
        read="A cluster with many matches and a sensible map (a rotation and scale) marks an area copied "
        "within the image: an object duplicated, or something covered with a copy of its background. Which "
        "of the two is the original cannot be told from the pixels.",
        misleads="Truly repeated things (windows, tiles, text, patterns, identical objects) match too; flat "
        "or blurred copies (sky, walls) have no keypoints and go unseen; a copy mirrored, strongly blurred "
        "or re-noised, or smaller than about 40 px, may be missed: no cluster proves no copy.",
        report_line="Copy-move: outlined pairs are areas found twice (SIFT matches, affine fit); repeated "
        "patterns match too.",
    ),
    run=copy_move,
    describe=_copymove_title,
)

INSTRUMENTS: dict[str, Instrument] = {
    instrument.name: instrument for instrument in (ELA, NOISE, GHOST, COPY_MOVE)
}


def instrument(name: str) -> Instrument:
    """The instrument of a name; ValueError naming those there are."""
    if name not in INSTRUMENTS:
        raise ValueError(f"no instrument {name!r} (there are {', '.join(INSTRUMENTS)})")
    return INSTRUMENTS[name]


def compute(
    name: str, rgb: np.ndarray, params: Mapping[str, Any] | None = None, source: SourceFacts | None = None
) -> Generator[Progress, None, InstrumentResult]:
    """Run an instrument on an H x W x 3 uint8 RGB image as displayed (LoadedImage.rgb). `source`: the file's
    facts (SourceFacts.from_file); without them the file is taken as not a JPEG. The parameters are checked
    now (ValueError); the work starts with the first next()."""
    chosen = instrument(name)
    checked = chosen.checked(params)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8 or 0 in rgb.shape:
        raise ValueError(f"an instrument needs an H x W x 3 uint8 image, not {rgb.dtype} {rgb.shape}")
    return chosen.run(rgb, checked, source or SourceFacts())


def cache_key(sha256: str, name: str, params: Mapping[str, Any] | None, source: SourceFacts | None) -> str:
    """The key of one instrument's result on one image (its file's SHA-256) with these parameters."""
    described = {
        "image": sha256,
        "instrument": name,
        "version": ALGORITHM_VERSION,
        "params": instrument(name).checked(params),
        "source": (source or SourceFacts()).as_dict(),
    }
    return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()
