"""Safe, read-only loading of evidence images.

Every pixel transformation applied before analysis (EXIF rotation, colour
conversion, alpha removal, bit-depth reduction, frame selection) is recorded
as a warning, so that reports can state exactly what the models saw.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import ExifTags, Image, ImageOps, PngImagePlugin, UnidentifiedImageError

from ..errors import PathError
from .outputs import output_folder_of

SUPPORTED_FORMATS = {"JPEG", "MPO", "PNG", "TIFF", "WEBP", "BMP", "GIF"}
IMAGE_EXTENSIONS = {
    ".jpg",
    ".jpeg",
    ".jpe",
    ".jfif",
    ".png",
    ".tif",
    ".tiff",
    ".webp",
    ".bmp",
    ".dib",
    ".gif",
}
DEFAULT_MAX_PIXELS = int(Image.MAX_IMAGE_PIXELS or 89_478_485)  # Pillow's decompression-bomb limit (~89 MP)
# the limit is this module's own (`max_pixels`), so that raising it really applies
Image.MAX_IMAGE_PIXELS = None
# A PNG chunk (an ICC profile, text) may inflate to 16 MB (Pillow's own limit, 1 MB, refuses real files with
# large camera or printer profiles); the total stays bounded by Pillow's 64 MB.
PngImagePlugin.MAX_TEXT_CHUNK = 16 * 2**20
MIN_READ_LIMIT = 1 << 30  # a file is read only up to max(1 GiB, 8 bytes per allowed pixel)
OUTPUT_PNG_KEY = "dinolizer-gui-output"  # a text chunk in every PNG the app writes

_EXIF_SUMMARY_TAGS = {"Make": 0x010F, "Model": 0x0110, "Software": 0x0131, "DateTime": 0x0132}
_EXIF_SUB_TAGS = {"DateTimeOriginal": 0x9003}
_ORIENTATION_TAG = 0x0112
_ORIENTATION_MEANING = {
    2: "mirrored horizontally",
    3: "rotated 180°",
    4: "mirrored vertically",
    5: "transposed",
    6: "rotated 90° clockwise",
    7: "transversed",
    8: "rotated 90° counter-clockwise",
}


class ImageLoadError(PathError):
    """An input file that cannot be analysed."""


@dataclass
class LoadedImage:
    path: str
    rgb: np.ndarray  # H x W x 3 uint8, as displayed (EXIF orientation applied)
    sha256: str
    file_size: int
    format: str
    original_mode: str
    warnings: list[str] = field(default_factory=list)
    exif: dict[str, str] = field(default_factory=dict)

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])


def is_image_path(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS


def read_limit(max_pixels: int | None) -> int:
    """The largest file read, in bytes: 8 bytes per allowed pixel (16-bit RGBA), and at least 1 GiB."""
    return max(MIN_READ_LIMIT, 8 * (max_pixels or 0))


def load_image(
    path: Path | str, max_pixels: int | None = DEFAULT_MAX_PIXELS, data: bytes | None = None
) -> LoadedImage:
    """Read, hash and decode an image without ever writing to it.

    `data`: the file's bytes when they were read elsewhere (a cluster driver
    ships them): decoded in memory, so they never touch this machine's disk.
    Raises ImageLoadError with a readable reason for anything that is not a
    decodable image within the pixel limit, and for the app's own outputs.
    """
    path = Path(path)
    if (folder := output_folder_of(path)) is not None:
        raise ImageLoadError(path, f"lies in an output folder of DinoLizer GUI ({folder}), not evidence")
    limit = read_limit(max_pixels)
    data = read_regular_file(path, limit) if data is None else _checked_size(path, data, limit)
    sha256 = hashlib.sha256(data).hexdigest()
    with _open_pil(path, data, max_pixels) as image:
        notes: list[str] = []
        sixteen_bits = _has_16_bit_samples(
            image
        )  # before anything decodes the pixels and drops the tile info
        if sixteen_bits:
            notes.append(f"16-bit samples ({image.mode}) reduced to 8 bits")
        orientation = orientation_of(image)  # before loading: a TIFF decoder applies it itself
        fmt = image.format or "unknown"
        original_mode = image.mode
        exif = _exif_summary(image)
        frames = getattr(image, "n_frames", 1)
        if frames > 1:
            what = "page" if fmt == "TIFF" else "frame"
            notes.append(f"{fmt} has {frames} {what}s; only the first {what} was analysed")
        if "icc_profile" in image.info:
            notes.append("embedded ICC colour profile not applied: pixel values analysed as stored")
        try:
            image.seek(0)
            image.load()
            oriented = _apply_orientation(image, orientation, notes)
            rgb = _to_rgb_array(oriented, notes, sixteen_bits)
        except (OSError, ValueError, SyntaxError) as exc:
            raise ImageLoadError(path, f"file is truncated or corrupt ({exc})") from None
    if fmt in ("JPEG", "MPO"):
        _check_jpeg_stream(path, data, notes)
    return LoadedImage(
        path=str(path),
        rgb=rgb,
        sha256=sha256,
        file_size=len(data),
        format=fmt,
        original_mode=original_mode,
        warnings=notes,
        exif=exif,
    )


def open_as_stored(path: Path | str, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> Image.Image:
    """The image decoded as stored (its own mode and sample values), orientation applied, read with the same
    checks as evidence: for files whose values matter as they are (ground-truth masks)."""
    path = Path(path)
    limit = read_limit(max_pixels)
    with _open_pil(path, read_regular_file(path, limit), max_pixels) as image:
        orientation = orientation_of(image)
        try:
            image.seek(0)
            image.load()
            return _apply_orientation(image, orientation, []).copy()
        except (OSError, ValueError, SyntaxError) as exc:
            raise ImageLoadError(path, f"file is truncated or corrupt ({exc})") from None


def read_regular_file(path: Path, limit: int) -> bytes:
    """The whole file, read only from a regular file and only up to `limit` bytes."""
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise ImageLoadError(path, "no such file") from None
    except IsADirectoryError:
        raise ImageLoadError(path, "is a folder, not an image file") from None
    except OSError as exc:
        raise ImageLoadError(path, f"cannot be read ({exc.strerror or exc})") from None
    kind = os.fstat(descriptor).st_mode
    if not stat.S_ISREG(kind):
        os.close(descriptor)
        if stat.S_ISDIR(kind):
            raise ImageLoadError(path, "is a folder, not an image file")
        raise ImageLoadError(path, "is not a regular file (a pipe, device or socket); only files are read")
    with os.fdopen(descriptor, "rb") as handle:  # read-only: evidence is never written
        try:
            data = handle.read(limit + 1)
        except OSError as exc:
            raise ImageLoadError(path, f"cannot be read ({exc.strerror or exc})") from None
    return _checked_size(path, data, limit)


def _checked_size(path: Path, data: bytes, limit: int) -> bytes:
    if len(data) > limit:
        raise ImageLoadError(
            path, f"is larger than the read limit of {limit:,} bytes (8 bytes per allowed pixel)"
        )
    if not data:
        raise ImageLoadError(path, "file is empty (0 bytes)")
    return data


def _check_jpeg_stream(path: Path, data: bytes, notes: list[str]) -> None:
    """Ask libjpeg-turbo, strictly, whether the compressed data covers the image Pillow decoded.

    Pillow's JPEG decoder silently fills whatever the file lacks (a header that
    claims 9000 x 9000 pixels over a few hundred bytes gives an 81 MP grey
    image); a strict decode at 1/8 scale reads every coefficient and says so.
    """
    import simplejpeg

    try:
        colorspace = {"Gray": "GRAY", "CMYK": "CMYK"}.get(simplejpeg.decode_jpeg_header(data)[2], "RGB")
        simplejpeg.decode_jpeg(data, colorspace=colorspace, min_factor=8, strict=True)
    except ValueError as exc:
        problem = str(exc).strip() or type(exc).__name__
        if "premature end" in problem.lower():
            raise ImageLoadError(
                path,
                f"the JPEG data ends before the image does ({problem}): {len(data):,} bytes cannot hold "
                "it, and the decoder would invent the missing part",
            ) from None
        notes.append(
            f"JPEG decoder reported a defect in the compressed data ({problem}); "
            "pixels decoded as Pillow does"
        )


def _open_pil(path: Path, data: bytes, max_pixels: int | None) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise ImageLoadError(path, "not a recognised image format") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageLoadError(path, f"file is truncated or corrupt ({exc})") from None
    if image.format not in SUPPORTED_FORMATS:
        raise ImageLoadError(path, f"unsupported image format {image.format}")
    if image.format == "PNG" and OUTPUT_PNG_KEY in image.info:
        raise ImageLoadError(
            path, f"is an output of DinoLizer GUI ({image.info[OUTPUT_PNG_KEY]}), not evidence"
        )
    width, height = image.size
    if width == 0 or height == 0:
        raise ImageLoadError(path, "image has no pixels")
    if max_pixels is not None and width * height > max_pixels:
        raise ImageLoadError(
            path,
            f"image is {width}x{height} = {width * height:,} pixels, above the limit of "
            f"{max_pixels:,} (decompression-bomb guard); raise it with --max-pixels or the "
            "'maximum image pixels' setting if this file is trusted",
        )
    return image


def orientation_of(image: Image.Image) -> int:
    """The orientation the image is shown with: its EXIF's, else its XMP's (as Pillow reads them); 1 when
    neither says or the EXIF is malformed."""
    try:
        return int(image.getexif().get(_ORIENTATION_TAG, 1))
    except Exception:  # malformed EXIF must not make the pixels unreadable
        return 1


def _apply_orientation(image: Image.Image, orientation: int, notes: list[str]) -> Image.Image:
    """The image as displayed, the orientation said in the notes whoever applies it (Pillow's TIFF decoder
    applies a TIFF's own when it loads)."""
    if orientation not in _ORIENTATION_MEANING:
        return image
    notes.append(f"EXIF orientation {orientation} applied ({_ORIENTATION_MEANING[orientation]})")
    if orientation_of(image) != orientation:  # the decoder has applied it already
        return image
    return ImageOps.exif_transpose(image)


def _to_rgb_array(image: Image.Image, notes: list[str], sixteen_bits: bool = False) -> np.ndarray:
    """8-bit RGB; every conversion said in the notes."""
    mode = image.mode
    if mode == "RGB":
        return np.asarray(image, dtype=np.uint8).copy()
    if mode.startswith("I;16") or (mode == "I" and sixteen_bits):
        values = np.asarray(image).astype(np.float64)
        grey = np.clip(np.round(values * 255.0 / 65535.0), 0, 255).astype(np.uint8)
        notes.append("greyscale converted to RGB (channels replicated)")
        return np.repeat(grey[..., None], 3, axis=2)
    if mode in ("I", "F"):  # 32-bit samples: the range they use, to 8 bits
        values = np.nan_to_num(np.asarray(image, dtype=np.float64))
        lo, hi = float(values.min()), float(values.max())
        scaled = np.zeros_like(values) if hi <= lo else (values - lo) * 255.0 / (hi - lo)
        kind = "integer" if mode == "I" else "float"
        notes.append(f"32-bit {kind} samples rescaled from [{lo:g}, {hi:g}] to 8 bits")
        notes.append("greyscale converted to RGB (channels replicated)")
        return np.repeat(np.round(scaled).astype(np.uint8)[..., None], 3, axis=2)
    if mode in ("P", "PA"):
        has_alpha = mode == "PA" or "transparency" in image.info
        image = image.convert("RGBA" if has_alpha else "RGB")
        notes.append("palette image converted to RGB")
        mode = image.mode
    if mode in ("L", "1", "LA"):
        notes.append("greyscale converted to RGB (channels replicated)")
    if mode == "CMYK":
        notes.append("CMYK converted to RGB (Pillow's naive conversion, no colour management)")
    if mode in ("RGBA", "LA", "RGBa", "La", "RGBX"):
        notes.append(f"alpha channel discarded ({mode}); colour values kept as stored")
    if mode not in ("L", "1", "LA", "CMYK", "RGBA", "RGBa", "La", "RGBX"):
        notes.append(f"{mode} converted to RGB by Pillow (no colour management)")
    return np.asarray(image.convert("RGB"), dtype=np.uint8).copy()


def _has_16_bit_samples(image: Image.Image) -> bool:
    if image.mode.startswith("I;16"):
        return True
    rawmodes = [tile[3] if len(tile) > 3 else None for tile in (getattr(image, "tile", None) or [])]
    bits = image.info.get("bits") if image.format == "PNG" else None
    return bits == 16 or any(isinstance(r, (str, tuple)) and ";16" in str(r) for r in rawmodes)


def _exif_summary(image: Image.Image) -> dict[str, str]:
    try:
        exif = image.getexif()
    except Exception:  # malformed EXIF must not make the pixels unreadable
        return {}
    summary = {name: exif.get(tag) for name, tag in _EXIF_SUMMARY_TAGS.items()}
    try:
        sub = exif.get_ifd(ExifTags.IFD.Exif)
    except Exception:
        sub = {}
    summary.update({name: sub.get(tag) for name, tag in _EXIF_SUB_TAGS.items()})
    return {k: str(v).strip("\x00 ").strip() for k, v in summary.items() if v not in (None, "")}
