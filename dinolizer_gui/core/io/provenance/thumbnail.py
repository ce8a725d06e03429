"""The EXIF thumbnail against the image: taken from the EXIF block that holds it (its offsets count from that
block), compared on their picture areas as small grey pictures. Cameras fit a picture of another shape into
their thumbnail by letterboxing it (bars around it), by cropping it or by stretching it; the picture area is
known from the two shapes, not guessed from dark rows (a night sky is dark too), and the thumbnail is the
image's when it matches under one of these."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import ExifTags, Image

from ..images import orientation_of
from .jpeg import too_many_scans

MAX_THUMBNAIL_PIXELS = 2_000_000
COMPARED_SIDE = 256  # the image is decoded at about this size for the comparison (JPEG: at 1/2..1/8 scale)
MAX_COMPARED_PIXELS = 16_000_000  # a format without reduced decoding is compared only up to this size
THUMBNAIL_MATCH = 0.08  # mean |difference| at 32 x 32 grey, 0..1: at most this = the same picture
SAME_SHAPE = 0.02  # aspect ratios closer than this (relative) are the same shape: compared whole


@dataclass(frozen=True)
class ThumbnailCheck:
    present: bool
    matches: bool | None = None
    distance: float | None = None
    note: str = ""
    picture: Image.Image | None = None  # decoded, as oriented as the image (for the viewer and reports)

    def as_dict(self) -> dict[str, object]:
        return {"present": self.present, "matches": self.matches, "distance": self.distance}


def thumbnail_check(exif: Image.Exif, block: bytes, data: bytes) -> ThumbnailCheck:
    """The thumbnail IFD1 points at inside `block` (the EXIF's TIFF bytes), against the picture in `data`."""
    try:
        ifd1 = exif.get_ifd(ExifTags.IFD.IFD1)
    except Exception:
        ifd1 = {}
    offset, length = ifd1.get(0x0201), ifd1.get(0x0202)
    if not offset or not length:
        return ThumbnailCheck(False)
    tiff = block[6:] if block[:6] == b"Exif\0\0" else block
    blob = tiff[int(offset) : int(offset) + int(length)]
    if len(blob) != int(length):
        return ThumbnailCheck(True, note="the thumbnail's offset and length point outside the EXIF data")
    if why := too_many_scans(blob):
        return ThumbnailCheck(True, note=f"the thumbnail was not decoded: {why}")
    try:
        with Image.open(io.BytesIO(blob)) as thumbnail:
            if thumbnail.width * thumbnail.height > MAX_THUMBNAIL_PIXELS:
                return ThumbnailCheck(
                    True, note=f"a thumbnail of {thumbnail.width} x {thumbnail.height}: not decoded"
                )
            raw = thumbnail.convert("RGB")
    except Exception as exc:  # not a JPEG, truncated: said
        return ThumbnailCheck(True, note=f"the thumbnail could not be decoded ({type(exc).__name__})")
    as_exif_says = _oriented(raw, exif.get(0x0112, 1))
    if why := too_many_scans(data):
        note = f"the image was not decoded for the comparison: {why}"
        return ThumbnailCheck(True, note=note, picture=as_exif_says)
    try:
        main, orientation = reduced(data)
    except Exception as exc:  # a picture Pillow cannot open or decode
        note = f"the image could not be decoded for the comparison ({type(exc).__name__})"
        return ThumbnailCheck(True, note=note, picture=as_exif_says)
    if main is None:
        note = "the image is too large to decode for the comparison"
        return ThumbnailCheck(True, note=note, picture=as_exif_says)
    picture = _oriented(raw, orientation)  # as the image is shown: its orientation, from EXIF or else XMP
    distance = round(_distance(main, picture), 4)
    return ThumbnailCheck(True, distance <= THUMBNAIL_MATCH, distance, picture=picture)


def reduced(data: bytes) -> tuple[Image.Image | None, int]:
    """The picture at about COMPARED_SIDE (JPEG decoded at a reduced scale; other formats decoded whole up
    to MAX_COMPARED_PIXELS, None beyond), turned by the orientation the viewer applies (EXIF's, else the
    XMP's, as Pillow reads it), and that orientation."""
    with Image.open(io.BytesIO(data)) as picture:
        orientation = orientation_of(picture)
        picture.draft("RGB", (COMPARED_SIDE, COMPARED_SIDE))
        if picture.width * picture.height > MAX_COMPARED_PIXELS:
            return None, orientation
        oriented = _oriented(picture, orientation)
        oriented.thumbnail((COMPARED_SIDE, COMPARED_SIDE), Image.Resampling.BOX)
        return oriented.convert("RGB"), orientation


ORIENTATIONS = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _oriented(picture: Image.Image, orientation: object) -> Image.Image:
    method = ORIENTATIONS.get(int(orientation)) if isinstance(orientation, int) else None
    return picture.transpose(method) if method is not None else picture


def _distance(image: Image.Image, thumbnail: Image.Image) -> float:
    """The smallest mean |difference| (32 x 32 grey, each stretched to its own range, 0..1) between the
    image and the thumbnail under each way a camera fits one shape into another: whole (the same shape, or
    stretched), the thumbnail's picture area (letterboxed: the image's shape centred in it), the image's
    centre (cropped to the thumbnail's shape)."""
    pairs = [(image, thumbnail)]
    image_shape, thumbnail_shape = image.width / image.height, thumbnail.width / thumbnail.height
    if abs(image_shape / thumbnail_shape - 1) > SAME_SHAPE:
        pairs += [(image, _centre(thumbnail, image_shape)), (_centre(image, thumbnail_shape), thumbnail)]
    return min(float(np.abs(_grey(first) - _grey(second)).mean()) for first, second in pairs)


def _centre(picture: Image.Image, shape: float) -> Image.Image:
    """The largest area of this shape (width / height) centred in the picture."""
    width, height = picture.size
    if width / height > shape:
        kept = max(1, round(height * shape))
        left = (width - kept) // 2
        return picture.crop((left, 0, left + kept, height))
    kept = max(1, round(width / shape))
    top = (height - kept) // 2
    return picture.crop((0, top, width, top + kept))


def _grey(picture: Image.Image) -> np.ndarray:
    small = picture.convert("L").resize((32, 32), Image.Resampling.BOX)
    values = np.asarray(small, dtype=np.float32)
    low, high = values.min(), values.max()
    return (values - low) / max(high - low, 1.0)
