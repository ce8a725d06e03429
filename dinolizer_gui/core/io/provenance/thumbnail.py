"""The EXIF thumbnail (IFD1) and whether it shows the picture the file holds: taken from the EXIF block that
holds it (its offsets count from that block's TIFF header), decoded within bounds, compared with the image
decoded at a reduced size, on their picture areas (the black bars cameras put around 3:2 and 16:9 pictures in
4:3 thumbnails cropped first)."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import ExifTags, Image, ImageOps

MAX_THUMBNAIL_PIXELS = 2_000_000
COMPARED_SIDE = 256  # the image is decoded at about this size for the comparison (JPEG: at 1/2..1/8 scale)
MAX_COMPARED_PIXELS = 16_000_000  # a format without reduced decoding is compared only up to this size
THUMBNAIL_MATCH = 0.08  # mean |difference| at 32 x 32 grey, 0..1: at most this = the same picture
BAR_LEVEL = 32  # a row or column whose every pixel is at most this dark (0..255) is a bar…
MIN_PICTURE_SHARE = 0.5  # …as long as the picture keeps at least this share of the side


@dataclass(frozen=True)
class ThumbnailCheck:
    present: bool
    matches: bool | None = None
    distance: float | None = None
    note: str = ""
    picture: Image.Image | None = None  # decoded, as oriented as the image (for the viewer and reports)

    def as_dict(self) -> dict:
        return {"present": self.present, "matches": self.matches, "distance": self.distance}


def exif_block(image: Image.Image, data: bytes) -> bytes:
    """The EXIF's TIFF bytes as the image's reader found them: the first JPEG APP1 Exif segment, the PNG
    eXIf chunk, the WebP EXIF chunk; a TIFF file is its own."""
    block = image.info.get("exif")
    if isinstance(block, bytes):
        return block[6:] if block[:6] == b"Exif\0\0" else block
    return data if data[:4] in (b"II*\0", b"MM\0*") else b""


def thumbnail_check(image: Image.Image, data: bytes) -> ThumbnailCheck:
    exif = image.getexif()
    try:
        ifd1 = exif.get_ifd(ExifTags.IFD.IFD1)
    except Exception:
        ifd1 = {}
    offset, length = ifd1.get(0x0201), ifd1.get(0x0202)
    if not offset or not length:
        return ThumbnailCheck(False)
    tiff = exif_block(image, data)
    blob = tiff[int(offset) : int(offset) + int(length)]
    if len(blob) != int(length):
        return ThumbnailCheck(True, note="the thumbnail's offset and length point outside the EXIF data")
    try:
        with Image.open(io.BytesIO(blob)) as thumbnail:
            if thumbnail.width * thumbnail.height > MAX_THUMBNAIL_PIXELS:
                return ThumbnailCheck(
                    True, note=f"a thumbnail of {thumbnail.width} x {thumbnail.height}: not decoded"
                )
            picture = _oriented(thumbnail.convert("RGB"), exif.get(0x0112, 1))
    except Exception as exc:  # not a JPEG, truncated: said
        return ThumbnailCheck(True, note=f"the thumbnail could not be decoded ({type(exc).__name__})")
    main = reduced(data)
    if main is None:
        note = f"the image ({image.width} x {image.height}) is too large to decode for the comparison"
        return ThumbnailCheck(True, note=note, picture=picture)
    distance = round(_distance(main, picture), 4)
    return ThumbnailCheck(True, distance <= THUMBNAIL_MATCH, distance, picture=picture)


def reduced(data: bytes) -> Image.Image | None:
    """The picture, oriented, at about COMPARED_SIDE (JPEG decoded at a reduced scale; other formats decoded
    whole up to MAX_COMPARED_PIXELS, None beyond)."""
    with Image.open(io.BytesIO(data)) as picture:
        picture.draft("RGB", (COMPARED_SIDE, COMPARED_SIDE))
        if picture.width * picture.height > MAX_COMPARED_PIXELS:
            return None
        oriented = ImageOps.exif_transpose(picture)
        oriented.thumbnail((COMPARED_SIDE, COMPARED_SIDE), Image.Resampling.BOX)
        return oriented.convert("RGB")


ORIENTATIONS = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _oriented(picture: Image.Image, orientation: int) -> Image.Image:
    method = ORIENTATIONS.get(int(orientation))
    return picture.transpose(method) if method is not None else picture


def _distance(first: Image.Image, second: Image.Image) -> float:
    """Mean |difference| of the pictures' areas as 32 x 32 grey, each stretched to its own range (0..1)."""

    def grey(picture: Image.Image) -> np.ndarray:
        area = picture_area(np.asarray(picture.convert("L")))
        small = Image.fromarray(area).resize((32, 32), Image.Resampling.BOX)
        values = np.asarray(small, dtype=np.float32)
        low, high = values.min(), values.max()
        return (values - low) / max(high - low, 1.0)

    return float(np.abs(grey(first) - grey(second)).mean())


def picture_area(grey: np.ndarray) -> np.ndarray:
    """The picture without the black or near-black bars along its edges (a letterboxed thumbnail); a dark
    picture whose dark rows would take more than half a side is kept whole."""
    dark_rows = grey.max(axis=1) <= BAR_LEVEL
    dark_columns = grey.max(axis=0) <= BAR_LEVEL
    top, bottom = _run(dark_rows), _run(dark_rows[::-1])
    left, right = _run(dark_columns), _run(dark_columns[::-1])
    height, width = grey.shape
    if height - top - bottom < MIN_PICTURE_SHARE * height or width - left - right < MIN_PICTURE_SHARE * width:
        return grey
    return grey[top : height - bottom, left : width - right]


def _run(flags: np.ndarray) -> int:
    """How many flags are set from the start."""
    unset = np.flatnonzero(~flags)
    return int(unset[0]) if unset.size else len(flags)
