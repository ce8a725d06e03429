"""A JPEG's structure from its markers: quantization tables and the quality they imply (IJG scaling), baseline
or progressive, chroma subsampling, and the bytes after the end-of-image marker. Nothing is decoded."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

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
SOF_PROGRESSIVE = {0xC2, 0xC6, 0xCA, 0xCE}
SOF_MARKERS = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def ijg_table(standard: np.ndarray, quality: int) -> np.ndarray:
    """libjpeg's table for a quality (1-100): the standard one scaled, rounded, clamped to 1..255."""
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    return np.clip((standard * scale + 50) // 100, 1, 255)


@dataclass
class JpegFacts:
    quality: int | None = None
    standard_tables: bool = False
    progressive: bool = False
    subsampling: str = ""
    trailing_bytes: int = 0
    tables: dict[int, list[int]] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "quality": self.quality,
            "standard_tables": self.standard_tables,
            "progressive": self.progressive,
            "subsampling": self.subsampling,
            "trailing_bytes": self.trailing_bytes,
        }


def jpeg_facts(data: bytes) -> JpegFacts:
    """Walk the markers from SOI to EOI; ValueError when the stream is not a JPEG one."""
    if data[:2] != b"\xff\xd8":
        raise ValueError("no JPEG start-of-image marker")
    facts, position = JpegFacts(), 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            raise ValueError(f"no marker at byte {position}")
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker == 0xD9:
            facts.trailing_bytes = len(data) - position - 2
            break
        length = int.from_bytes(data[position + 2 : position + 4], "big")
        segment = data[position + 4 : position + 2 + length]
        if marker == 0xDB:
            _read_tables(segment, facts)
        elif marker in SOF_MARKERS:
            facts.progressive = marker in SOF_PROGRESSIVE
            facts.subsampling = _subsampling(segment)
        position += 2 + length
        if marker == 0xDA:  # entropy-coded data: to the next marker that is not a restart or a stuffed byte
            position = _after_scan(data, position)
    _estimate_quality(facts)
    return facts


def _read_tables(segment: bytes, facts: JpegFacts) -> None:
    offset = 0
    while offset < len(segment):
        precision, table_id = segment[offset] >> 4, segment[offset] & 0x0F
        size = 128 if precision else 64
        raw = segment[offset + 1 : offset + 1 + size]
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


def _after_scan(data: bytes, position: int) -> int:
    while True:
        position = data.find(b"\xff", position)
        if position < 0 or position + 1 >= len(data):
            return len(data)
        following = data[position + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7 or following == 0xFF:
            position += 1 if following == 0xFF else 2
            continue
        return position


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
