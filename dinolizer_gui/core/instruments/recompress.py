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

from dataclasses import dataclass

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


@dataclass(frozen=True)
class CodedBand:
    """Rows of the image in the encoder's own order (BGR, as OpenCV hands it to libjpeg; or one grey plane),
    with up to 16 rows more above and below: `rows` picks the band itself out of it and of it saved again."""

    pixels: np.ndarray
    rows: slice

    @property
    def original(self) -> np.ndarray:
        return self.pixels[self.rows]

    def saved_again(self, quality: int, subsampling: str) -> np.ndarray:
        """The band's rows of the image saved as JPEG at `quality` and decoded (libjpeg's defaults)."""
        if subsampling == GREYSCALE:
            options = [cv2.IMWRITE_JPEG_QUALITY, quality]
        else:
            sampling = SUBSAMPLINGS[subsampling]
            options = [cv2.IMWRITE_JPEG_QUALITY, quality, cv2.IMWRITE_JPEG_SAMPLING_FACTOR, sampling]
        ok, data = cv2.imencode(".jpg", self.pixels, options)
        if not ok:
            raise RuntimeError("the JPEG encoder failed")
        flags = cv2.IMREAD_GRAYSCALE if subsampling == GREYSCALE else cv2.IMREAD_COLOR
        decoded = cv2.imdecode(data, flags)
        if decoded is None:
            raise RuntimeError("the JPEG decoder failed on the encoder's own output")
        return np.asarray(decoded)[self.rows]


def coded_band(rgb: np.ndarray, top: int, bottom: int, subsampling: str) -> CodedBand:
    """Rows top..bottom (`top` a multiple of 16) of an RGB image, ready to save: one plane of a greyscale
    JPEG (its three channels are equal), else the channels in the encoder's order."""
    above, below = max(0, top - MCU), min(rgb.shape[0], bottom + MCU)
    if subsampling == GREYSCALE:
        pixels = np.ascontiguousarray(rgb[above:below, :, 0])
    else:
        pixels = cv2.cvtColor(np.ascontiguousarray(rgb[above:below]), cv2.COLOR_RGB2BGR)
    return CodedBand(pixels, slice(top - above, bottom - above))
