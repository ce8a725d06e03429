"""The parts of the containers a file's metadata lives in — JPEG segments, PNG chunks, RIFF (WebP) chunks,
GIF extensions, TIFF tags — found by walking their lengths once: linear in the file's size whatever the file
claims, and nothing decoded."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SOI = b"\xff\xd8"
MAX_PARTS = 100_000  # segments or chunks walked at most: a file of tiny ones is said, not listed in full
MAX_SUB_BLOCKS = 5_000_000  # GIF sub-blocks walked at most (a GIF of 1 GiB in 255-byte ones: 4.2 million)


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
    problem: str = ""  # why a lenient walk stopped before the end of the image ("" when it did not)


MARKER_NAMES = {0xC4: "DHT", 0xDA: "SOS", 0xDB: "DQT", 0xDD: "DRI", 0xFE: "COM"}
SOF_MARKERS = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def marker_name(marker: int) -> str:
    if 0xE0 <= marker <= 0xEF:
        return f"APP{marker - 0xE0}"
    if marker in SOF_MARKERS:
        return f"SOF{marker - 0xC0}"
    return MARKER_NAMES.get(marker, f"FF{marker:02X}")


def jpeg_layout(data: bytes, lenient: bool = False) -> JpegLayout:
    """The primary image's segments, from its start-of-image to its end-of-image marker; ValueError when the
    stream is not a JPEG one or a segment runs past the end — or, `lenient`, the segments up to there, with
    the reason (a damaged file's metadata before the damage is still read)."""
    if data[:2] != JPEG_SOI:
        raise ValueError("no JPEG start-of-image marker")
    segments: list[Part] = []
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            return _stopped(segments, f"no marker at byte {position}", lenient)
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
            problem = f"the {marker_name(marker)} segment at byte {position} runs past the file's end"
            return _stopped(segments, problem, lenient)
        segments.append(Part(marker_name(marker), position, position + 4, end))
        _check_count(segments, "JPEG segments")
        position = _after_scan(data, end) if marker == 0xDA else end
    return JpegLayout(segments, None)


def _stopped(segments: list[Part], problem: str, lenient: bool) -> JpegLayout:
    if not lenient:
        raise ValueError(problem)
    return JpegLayout(segments, None, problem)


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


def gif_blocks(data: bytes) -> list[Part]:
    """The extensions and images of a GIF, in order: an extension's kind is "ext:" and its label in hex, or
    "app:" and its application identifier (e.g. "app:C2PA_GIF", "app:XMP DataXMP"), an image's "image";
    `body` is where its data sub-blocks begin (after an application's identifier block); the walk stops at
    the trailer or at a block that runs past the end (ValueError when the file is not a GIF)."""
    if data[:6] not in (b"GIF87a", b"GIF89a") or len(data) < 13:
        raise ValueError("no GIF header")
    position = 13 + _colour_table(data[10])
    blocks: list[Part] = []
    walked = [0]
    while position < len(data):
        introducer, start = data[position], position
        if introducer == 0x3B:  # trailer
            break
        if introducer == 0x21 and position + 1 < len(data):
            label = data[position + 1]
            body, kind = position + 2, f"ext:{label:02x}"
            if label == 0xFF and position + 3 < len(data) and data[position + 2] == 11:
                kind, body = "app:" + data[position + 3 : position + 14].decode("latin-1"), position + 14
        elif introducer == 0x2C and position + 10 <= len(data):
            body, kind = position + 10 + _colour_table(data[position + 9]) + 1, "image"  # + LZW code size
        else:
            raise ValueError(f"no GIF block at byte {position:,}")
        end = _after_sub_blocks(data, body, walked)
        if end is None:
            break
        blocks.append(Part(kind, start, body, end))
        _check_count(blocks, "GIF blocks")
        position = end
    return blocks


def _colour_table(packed: int) -> int:
    return 3 * (2 << (packed & 0x07)) if packed & 0x80 else 0


def _after_sub_blocks(data: bytes, position: int, walked: list[int]) -> int | None:
    """Where a chain of data sub-blocks ends (after its zero-length terminator); None when it runs past the
    file's end."""
    while position < len(data):
        size = data[position]
        position += 1 + size
        walked[0] += 1
        if size == 0:
            return position
        if walked[0] > MAX_SUB_BLOCKS:
            raise ValueError(f"more than {MAX_SUB_BLOCKS:,} GIF data sub-blocks: not walked further")
    return None


def gif_sub_blocks(data: bytes, block: Part) -> tuple[bytes, list[int]]:
    """A GIF block's data, its sub-blocks put together, and the size of each sub-block."""
    pieces, sizes, position = [], [], block.body
    while position < block.end and (size := data[position]):
        pieces.append(data[position + 1 : position + 1 + size])
        sizes.append(size)
        position += 1 + size
    return b"".join(pieces), sizes


TIFF_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}


def tiff_tag(data: bytes, tag: int) -> bytes | None:
    """The value of a tag of a TIFF's first IFD, as bytes (None: no such tag; ValueError when the file is not
    a classic TIFF or the value lies outside it)."""
    place = tiff_tag_place(data, tag)
    return data[place[1] : place[1] + place[2]] if place is not None else None


def tiff_tag_place(data: bytes, tag: int) -> tuple[int, int, int] | None:
    """Where a tag of a TIFF's first IFD is: its 12-byte entry, its value's start and size
    (None: no such tag; ValueError when the file is not a classic TIFF or the value lies outside it)."""
    if data[:4] not in (b"II*\0", b"MM\0*"):
        raise ValueError("no TIFF header")
    little = data[:2] == b"II"

    def number(at: int, size: int) -> int:
        return int.from_bytes(data[at : at + size], "little" if little else "big")

    ifd = number(4, 4)
    count = number(ifd, 2)
    if ifd < 8 or ifd + 2 + 12 * count > len(data):
        raise ValueError("the TIFF's first IFD runs past the file's end")
    for index in range(count):
        at = ifd + 2 + 12 * index
        if number(at, 2) != tag:
            continue
        size = TIFF_TYPE_SIZES.get(number(at + 2, 2), 1) * number(at + 4, 4)
        start = at + 8 if size <= 4 else number(at + 8, 4)
        if start + size > len(data):
            raise ValueError(f"the TIFF tag {tag} points past the file's end")
        return at, start, size
    return None


def bmff_boxes(data: bytes) -> list[Part]:
    """The top-level boxes of an ISO base media file (HEIF, AVIF, …), in order (ValueError when the file
    has no `ftyp` box first); see `iso_boxes`."""
    if data[4:8] != b"ftyp":
        raise ValueError("no ISO media file type box")
    return iso_boxes(data, 0, len(data))


def iso_boxes(data: bytes, start: int, end: int) -> list[Part]:
    """The boxes that tile data[start:end] (ISO media, JPEG XL's container, a box's children), in order; a
    box's kind is its type, or "uuid:" and its UUID in hex; the walk stops at a box that runs past `end`."""
    boxes: list[Part] = []
    position = start
    while position + 8 <= end:
        size, kind = int.from_bytes(data[position : position + 4], "big"), data[position + 4 : position + 8]
        body = position + 8
        if size == 1 and position + 16 <= end:  # a 64-bit size follows
            size, body = int.from_bytes(data[position + 8 : position + 16], "big"), position + 16
        elif size == 0:  # to the end
            size = end - position
        if size < body - position or position + size > end:
            break
        name = kind.decode("latin-1")
        if kind == b"uuid":
            name, body = f"uuid:{data[body : body + 16].hex()}", body + 16
        boxes.append(Part(name, position, body, position + size))
        _check_count(boxes, "ISO media boxes")
        position += size
    return boxes
