"""Saving pixels again as JPEG with the standard encoder, a band of rows at a time, exactly as a whole image.

The encoder is libjpeg-turbo as OpenCV bundles it (IJG quality tables, the
accurate integer DCT, libjpeg's default chroma downsampling and "fancy"
upsampling): its output is the same, bit for bit, as Pillow's (the tests check
it), it is twice as fast and it releases the GIL, so bands run on two threads.
(simplejpeg's TurboJPEG path quantises differently, by up to 7 levels on a
greyscale image, so it is not used here.)

A band is compressed with 16 rows more above and below (one MCU row, aligned to
the file's grid): the decoder's upsampling of chroma looks one chroma row across
each MCU boundary, and with that margin every row of the band decodes as it
would in the whole image.
"""

from __future__ import annotations

import cv2
import numpy as np

MCU = 16  # the largest MCU height (4:2:0, 4:4:0); bands start on multiples of it
SUBSAMPLINGS = {
    "4:4:4": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444,
    "4:2:2": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_422,
    "4:2:0": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_420,
    "4:4:0": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_440,
    "4:1:1": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_411,
}
GREYSCALE = "greyscale"
DEFAULT_SUBSAMPLING = "4:2:0"


def resave_subsampling(file_subsampling: str, is_jpeg: bool, notes: list[str]) -> str:
    """The subsampling to re-save with: the JPEG's own, else 4:2:0 (said in the notes when the file's own
    cannot be used)."""
    if not is_jpeg:
        return DEFAULT_SUBSAMPLING
    if file_subsampling in SUBSAMPLINGS or file_subsampling == GREYSCALE:
        return file_subsampling
    notes.append(
        f"the file's chroma subsampling ({file_subsampling or 'unknown'}) has no standard equivalent: "
        f"re-saved at {DEFAULT_SUBSAMPLING}"
    )
    return DEFAULT_SUBSAMPLING


def round_trip(pixels: np.ndarray, quality: int, subsampling: str) -> np.ndarray:
    """The pixels (H x W x 3 RGB, or H x W grey for a greyscale JPEG) saved as JPEG and decoded again."""
    if subsampling == GREYSCALE:
        ok, data = cv2.imencode(".jpg", np.ascontiguousarray(pixels), [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            raise RuntimeError("the JPEG encoder failed")
        return _decoded(data, cv2.IMREAD_GRAYSCALE)
    bgr = cv2.cvtColor(np.ascontiguousarray(pixels), cv2.COLOR_RGB2BGR)
    options = [cv2.IMWRITE_JPEG_QUALITY, quality, cv2.IMWRITE_JPEG_SAMPLING_FACTOR, SUBSAMPLINGS[subsampling]]
    ok, data = cv2.imencode(".jpg", bgr, options)
    if not ok:
        raise RuntimeError("the JPEG encoder failed")
    return cv2.cvtColor(_decoded(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def _decoded(data: np.ndarray, flags: int) -> np.ndarray:
    pixels = cv2.imdecode(data, flags)
    if pixels is None:
        raise RuntimeError("the JPEG decoder failed on the encoder's own output")
    return np.asarray(pixels)


def band_round_trip(
    pixels: np.ndarray, top: int, bottom: int, quality: int, subsampling: str
) -> tuple[np.ndarray, np.ndarray]:
    """Rows top..bottom of the pixels (`top` a multiple of 16) and those rows of the image saved again."""
    above, below = max(0, top - MCU), min(pixels.shape[0], bottom + MCU)
    resaved = round_trip(pixels[above:below], quality, subsampling)
    return pixels[top:bottom], resaved[top - above : bottom - above]


def as_coded(rgb: np.ndarray, subsampling: str) -> np.ndarray:
    """What the encoder codes: the RGB image, or one channel of a greyscale JPEG (its three are equal)."""
    return rgb[..., 0] if subsampling == GREYSCALE else rgb
