"""The parts of the containers a file's metadata lives in — JPEG segments, PNG chunks, RIFF (WebP) chunks —
found by walking their lengths once: linear in the file's size whatever the file claims, and nothing
decoded."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SOI = b"\xff\xd8"
MAX_PARTS = 100_000  # segments or chunks walked at most: a file of tiny ones is said, not listed in full


@dataclass(frozen=True)
class Part:
    """A segment or chunk: its kind (a JPEG marker as "APP11", a PNG or RIFF chunk type as "caBX"), where
    it starts, where its payload starts and where it ends (exclusive)."""

    kind: str
    start: int
    body: int
    end: int
    intact: bool = True  # a PNG chunk whose CRC checks out; always True elsewhere

    def payload(self, data: bytes) -> bytes:
        return data[self.body : self.end]


@dataclass(frozen=True)
class JpegLayout:
    segments: list[Part]  # every marker segment, in order (the entropy-coded data between scans left out)
    end_of_image: int | None  # where the first end-of-image marker of the primary image is (None: none)


MARKER_NAMES = {0xC4: "DHT", 0xDA: "SOS", 0xDB: "DQT", 0xDD: "DRI", 0xFE: "COM"}
SOF_MARKERS = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def marker_name(marker: int) -> str:
    if 0xE0 <= marker <= 0xEF:
        return f"APP{marker - 0xE0}"
    if marker in SOF_MARKERS:
        return f"SOF{marker - 0xC0}"
    return MARKER_NAMES.get(marker, f"FF{marker:02X}")


def jpeg_layout(data: bytes) -> JpegLayout:
    """The primary image's segments, from its start-of-image to its end-of-image marker; ValueError when the
    stream is not a JPEG one or a segment runs past the end."""
    if data[:2] != JPEG_SOI:
        raise ValueError("no JPEG start-of-image marker")
    segments: list[Part] = []
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            raise ValueError(f"no marker at byte {position}")
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker == 0xD9:
            return JpegLayout(segments, position)
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # markers without a length
            position += 2
            continue
        length = int.from_bytes(data[position + 2 : position + 4], "big")
        end = position + 2 + length
        if length < 2 or end > len(data):
            raise ValueError(f"the {marker_name(marker)} segment at byte {position} runs past the file's end")
        segments.append(Part(marker_name(marker), position, position + 4, end))
        _check_count(segments, "JPEG segments")
        position = _after_scan(data, end) if marker == 0xDA else end
    return JpegLayout(segments, None)


def _after_scan(data: bytes, position: int) -> int:
    """The next marker after entropy-coded data: not a restart marker, a stuffed byte or a fill byte."""
    while True:
        position = data.find(b"\xff", position)
        if position < 0 or position + 1 >= len(data):
            return len(data)
        following = data[position + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7 or following == 0xFF:
            position += 1 if following == 0xFF else 2
            continue
        return position


def png_chunks(data: bytes) -> list[Part]:
    """The chunks of a PNG, in order, each with whether its CRC checks out; the walk stops at IEND or at a
    chunk that runs past the end (ValueError when the file is not a PNG)."""
    if data[:8] != PNG_SIGNATURE:
        raise ValueError("no PNG signature")
    chunks, position = [], 8
    while position + 12 <= len(data):
        length = int.from_bytes(data[position : position + 4], "big")
        end = position + 12 + length
        if end > len(data):
            break
        kind = data[position + 4 : position + 8]
        crc = int.from_bytes(data[end - 4 : end], "big")
        intact = zlib.crc32(data[position + 4 : end - 4]) == crc
        chunks.append(Part(kind.decode("latin-1"), position, position + 8, end - 4, intact))
        _check_count(chunks, "PNG chunks")
        position = end
        if kind == b"IEND":
            break
    return chunks


def riff_chunks(data: bytes) -> list[Part]:
    """The top-level chunks of a RIFF file (WebP), in order; ValueError when it is not RIFF."""
    if data[:4] != b"RIFF" or len(data) < 12:
        raise ValueError("no RIFF header")
    end_of_riff = min(len(data), 8 + int.from_bytes(data[4:8], "little"))
    chunks, position = [], 12
    while position + 8 <= end_of_riff:
        size = int.from_bytes(data[position + 4 : position + 8], "little")
        end = position + 8 + size
        if end > end_of_riff:
            break
        chunks.append(Part(data[position : position + 4].decode("latin-1"), position, position + 8, end))
        _check_count(chunks, "RIFF chunks")
        position = end + (size & 1)  # chunks are padded to an even length
    return chunks


def _check_count(parts: list[Part], what: str) -> None:
    if len(parts) > MAX_PARTS:
        raise ValueError(f"more than {MAX_PARTS:,} {what}: not walked further")
