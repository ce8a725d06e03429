"""A JPEG's structure from its markers: quantization tables and the quality they imply (IJG scaling), baseline
or progressive, chroma subsampling, the images a multi-picture (MPF) index lists, and the bytes after the
end-of-image marker that nothing accounts for. Nothing is decoded."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .containers import JPEG_SOI, JpegLayout, Part, jpeg_layout

# The standard tables of ITU-T T.81 Annex K (libjpeg's), in natural order; DQT stores tables in zig-zag order
_STANDARD_LUMINANCE = """
16 11 10 16 24 40 51 61
12 12 14 19 26 58 60 55
14 13 16 24 40 57 69 56
14 17 22 29 51 87 80 62
18 22 37 56 68 109 103 77
24 35 55 64 81 104 113 92
49 64 78 87 103 121 120 101
72 92 95 98 112 100 103 99
"""
_STANDARD_CHROMINANCE = (
    """
17 18 24 47 99 99 99 99
18 21 26 66 99 99 99 99
24 26 56 99 99 99 99 99
47 66 99 99 99 99 99 99
"""
    + "99 " * 32
)


def _zigzag() -> np.ndarray:
    """The natural (row-major) index of each coefficient in zig-zag order."""
    cells = sorted(
        ((i, j) for i in range(8) for j in range(8)), key=lambda c: (sum(c), c[0] if sum(c) % 2 else -c[0])
    )
    return np.array([i * 8 + j for i, j in cells])


_ZIGZAG = _zigzag()
_LUMINANCE = np.array(_STANDARD_LUMINANCE.split(), dtype=int)[_ZIGZAG]
_CHROMINANCE = np.array(_STANDARD_CHROMINANCE.split(), dtype=int)[_ZIGZAG]
SOF_PROGRESSIVE = {"SOF2", "SOF6", "SOF10", "SOF14"}


def ijg_table(standard: np.ndarray, quality: int) -> np.ndarray:
    """libjpeg's table for a quality (1-100): the standard one scaled, rounded, clamped to 1..255."""
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    return np.clip((standard * scale + 50) // 100, 1, 255)


MP_TYPES = {  # the MPF image types (CIPA DC-007), by the low 24 bits of an entry's attribute
    0x030000: "primary image",
    0x010001: "large thumbnail (VGA)",
    0x010002: "large thumbnail (full HD)",
    0x020001: "panorama frame",
    0x020002: "disparity image (stereo)",
    0x020003: "multi-angle image",
    0x000000: "undefined type (e.g. a gain map or a depth map)",
}
MAX_MP_ENTRIES = 64
MAX_SCANS = 100  # a JPEG of more scans is not decoded (each scan is one more pass over every block)


@dataclass
class JpegFacts:
    quality: int | None = None
    standard_tables: bool = False
    progressive: bool = False
    subsampling: str = ""
    trailing_bytes: int = 0  # bytes after the end-of-image marker that no MPF entry accounts for
    mpf_images: list[dict] = field(default_factory=list)  # the images a multi-picture (MPF) index lists
    tables: dict[int, list[int]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "quality": self.quality,
            "standard_tables": self.standard_tables,
            "progressive": self.progressive,
            "subsampling": self.subsampling,
            "trailing_bytes": self.trailing_bytes,
            "mpf_images": self.mpf_images,
        }


def jpeg_facts(data: bytes, layout: JpegLayout | None = None) -> JpegFacts:
    """The primary image's tables, frame and the bytes after it (ValueError when the stream is not a JPEG
    one); the images a multi-picture index (APP2 "MPF") lists after it are named, not counted as appended."""
    layout = layout or jpeg_layout(data)
    facts = JpegFacts()
    mpf: Part | None = None
    for segment in layout.segments:
        if segment.kind == "DQT":
            _read_tables(segment.payload(data), facts, segment.start)
        elif segment.kind.startswith("SOF"):
            facts.progressive = segment.kind in SOF_PROGRESSIVE
            facts.subsampling = _subsampling(segment.payload(data))
        elif segment.kind == "APP2" and mpf is None and data[segment.body : segment.body + 4] == b"MPF\0":
            mpf = segment
    if layout.end_of_image is not None:
        after = layout.end_of_image + 2
        facts.mpf_images = _mpf_images(data, mpf, after, facts.notes) if mpf is not None else []
        facts.trailing_bytes = len(data) - after - _covered(facts.mpf_images, after)
    _estimate_quality(facts)
    return facts


def _mpf_images(data: bytes, segment: Part, after: int, notes: list[str]) -> list[dict]:
    """The images of a multi-picture index, each with its type, offset in the file and size; an entry that
    does not point at a JPEG inside the file after the primary image (which ends before `after`) is noted
    and left out."""
    header = segment.body + 4  # MPF offsets count from the TIFF header after "MPF\0"
    payload = data[header : segment.end]
    if payload[:4] not in (b"II*\0", b"MM\0*"):
        notes.append("MPF index: no TIFF header")
        return []
    little = payload[:2] == b"II"

    def number(at: int, size: int) -> int:
        return int.from_bytes(payload[at : at + size], "little" if little else "big")

    ifd = number(4, 4)
    count = number(ifd, 2)
    entries = None
    for index in range(min(count, 32)):
        at = ifd + 2 + 12 * index
        if number(at, 2) == 0xB002:  # MPEntry: 16 bytes per image
            entries = (number(at + 4, 4) // 16, number(at + 8, 4))
    if entries is None:
        notes.append("MPF index without image entries")
        return []
    images = []
    for index in range(min(entries[0], MAX_MP_ENTRIES)):
        at = entries[1] + 16 * index
        if at + 16 > len(payload):
            notes.append("MPF index cut short")
            break
        kind, size, offset = number(at, 4) & 0xFFFFFF, number(at + 4, 4), number(at + 8, 4)
        if not offset:
            continue  # the primary image (offset 0): this one
        start = header + offset
        image = data[start : start + size]
        if start < after:
            notes.append(f"MPF entry {index + 1} points inside the primary image, not after it: not counted")
            continue
        if len(image) != size or image[:2] != JPEG_SOI or image[-2:] != b"\xff\xd9":
            notes.append(f"MPF entry {index + 1} does not point at a whole JPEG image inside the file")
            continue
        width, height = _frame_size(image)
        images.append(
            {"type": MP_TYPES.get(kind, f"type 0x{kind:06x}"), "offset": start, "size": size, "width": width,
             "height": height}
        )  # fmt: skip
    return images


def _frame_size(image: bytes) -> tuple[int | None, int | None]:
    """A JPEG's width and height from its frame header (None, None: none found)."""
    try:
        segments = jpeg_layout(image, lenient=True).segments
    except ValueError:
        return None, None
    for segment in segments:
        if segment.kind.startswith("SOF") and segment.end - segment.body >= 5:
            frame = image[segment.body : segment.end]
            return int.from_bytes(frame[3:5], "big"), int.from_bytes(frame[1:3], "big")
    return None, None


def _covered(images: list[dict], after: int) -> int:
    """How many bytes from `after` on the images cover (overlaps counted once)."""
    covered, reached = 0, after
    for image in sorted(images, key=lambda image: image["offset"]):
        start, end = max(image["offset"], reached), image["offset"] + image["size"]
        if end > start:
            covered, reached = covered + end - start, end
    return covered


def _read_tables(segment: bytes, facts: JpegFacts, at: int) -> None:
    """The quantisation tables of a DQT segment (at byte `at`); a table cut short is noted and not read."""
    offset = 0
    while offset < len(segment):
        precision, table_id = segment[offset] >> 4, segment[offset] & 0x0F
        size = 128 if precision else 64
        raw = segment[offset + 1 : offset + 1 + size]
        if len(raw) < size:
            facts.notes.append(
                f"DQT segment at byte {at:,}: table {table_id} cut short ({len(raw)} of {size} bytes)"
            )
            return
        width = ">u2" if precision else "u1"
        facts.tables[table_id] = np.frombuffer(raw, dtype=width).astype(int).tolist()
        offset += 1 + size


def _subsampling(segment: bytes) -> str:
    components = segment[5] if len(segment) > 5 else 0
    factors = [(segment[7 + 3 * i] >> 4, segment[7 + 3 * i] & 0x0F) for i in range(min(components, 3))]
    if len(factors) < 3:
        return "greyscale" if len(factors) == 1 else ""
    (h0, v0), (h1, v1) = factors[0], factors[1]
    ratio = (h0 // max(h1, 1), v0 // max(v1, 1))
    return {(1, 1): "4:4:4", (2, 1): "4:2:2", (2, 2): "4:2:0", (4, 1): "4:1:1", (1, 2): "4:4:0"}.get(
        ratio, f"{h0}x{v0},{h1}x{v1}"
    )


def _estimate_quality(facts: JpegFacts) -> None:
    """The IJG quality whose luminance table is closest; `standard_tables` when every table is exactly the
    IJG table of that quality (many cameras and editors use tables of their own)."""
    luminance = facts.tables.get(0)
    if luminance is None or len(luminance) != 64:
        return
    errors = {q: np.abs(ijg_table(_LUMINANCE, q) - luminance).sum() for q in range(1, 101)}
    quality = min(errors, key=errors.__getitem__)
    facts.quality = quality
    standards = {0: _LUMINANCE, 1: _CHROMINANCE}
    facts.standard_tables = all(
        table_id in standards and np.array_equal(ijg_table(standards[table_id], quality), table)
        for table_id, table in facts.tables.items()
    )


def too_many_scans(data: bytes) -> str:
    """Why a JPEG is not to be decoded: more than MAX_SCANS scans (a few dozen bytes each can make the decoder
    pass over every block thousands of times); "" for one that may be, or that is no JPEG."""
    if data[:2] != JPEG_SOI:
        return ""
    try:
        scans = sum(segment.kind == "SOS" for segment in jpeg_layout(data, lenient=True).segments)
    except ValueError as exc:  # more segments than are walked
        return f"its segments were not walked ({exc})"
    return f"{scans:,} scans, more than the {MAX_SCANS} decoded" if scans > MAX_SCANS else ""
