"""A C2PA manifest store's bytes found without the C2PA library: the JUMBF box types C2PA uses, and two
questions, each answered in one linear pass and bounded whatever the file claims:
- `find_traces`: does the file hold a manifest store, however damaged — its container (JPEG APP11 JUMBF
  segments, a PNG `caBX` chunk, a RIFF `C2PA` chunk, a GIF `C2PA_GIF` extension, a TIFF C2PA tag) or its
  JUMBF description boxes of a C2PA type? Only real box structures count (a box type, a length that fits,
  the C2PA type UUID), never a label written as text anywhere. A file with one is never said to have no
  Content Credentials.
- `declared_in_bytes`: the IPTC digital source types written in a store's bytes, for a store the library
  cannot read or found invalid (its declarations are still said, marked as from it).
`locate_stores` (the stores by their container's own structure) is shared with `unsigned`, which checks the
bytes of a store no signature covers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..names import with_article
from .containers import (
    JPEG_SOI,
    PNG_SIGNATURE,
    Part,
    bmff_boxes,
    gif_blocks,
    gif_sub_blocks,
    jpeg_layout,
    png_chunks,
    riff_chunks,
    tiff_tag_place,
)

UUID_TAIL = bytes.fromhex("00110010800000aa00389b71")  # the tail of every ISO/IEC 19566-5 type UUID
# the C2PA box types with a label of their own (the store, assertion store, claim, signature, credentials…)
FIXED_LABELS = {
    b"c2pa": ("c2pa",),
    b"c2as": ("c2pa.assertions",),
    b"c2cl": ("c2pa.claim", "c2pa.claim.v2"),
    b"c2cs": ("c2pa.signature",),
    b"c2vc": ("c2pa.credentials",),
    b"c2db": ("c2pa.databoxes",),
}
MANIFEST_TYPES = (b"c2ma", b"c2um")  # a manifest and an update manifest: labelled by their own URN
C2PA_KINDS = {*FIXED_LABELS, *MANIFEST_TYPES}
JPEG_INSTANCE = b"\x02\x11"  # the box instance number C2PA writers give their APP11 segments
GIF_C2PA = "app:C2PA_GIF\x01\x00\x00"  # the application identifier and authentication code C2PA writes
TIFF_C2PA = 0xCD41
BMFF_C2PA = "uuid:d8fec3d61b0e483c92975828877ec481"  # the C2PA box of ISO media (HEIF, AVIF, …)
MAX_FOUND = 10_000  # occurrences of a pattern looked at most
SOURCE_TYPE_URI = re.compile(rb"https?://cv\.iptc\.org/newscodes/digitalsourcetype/", re.IGNORECASE)
SOURCE_TYPE_NAME = re.compile(rb"[A-Za-z]{1,64}")


def is_c2pa_uuid(uuid: bytes) -> bool:
    return uuid[:2] == b"c2" and uuid[4:] == UUID_TAIL


# --- where a store is -----------------------------------------------------------------------------------


@dataclass
class Located:
    """The manifest stores a file's container carries, put together, what in the container's framing is not
    as a C2PA writer leaves it, and the container's name (None: a format this reader does not walk)."""

    stores: list[bytes] = field(default_factory=list)
    framing: list[str] = field(default_factory=list)
    container: str | None = None
    parts: list[Part] = field(default_factory=list)  # the segments, chunks or blocks that carry them
    # the byte ranges [start, end) those parts take in the file, framing included: what a data hash may skip
    spans: list[tuple[int, int]] = field(default_factory=list)


def locate_stores(data: bytes) -> Located:
    """The embedded manifest stores by the container's own structure (ValueError when the container cannot
    be walked)."""
    if data[:2] == JPEG_SOI:
        return _jpeg_stores(data)
    if data[:8] == PNG_SIGNATURE:
        chunks = [c for c in png_chunks(data) if c.kind == "caBX"]
        framing = [f"the PNG caBX chunk at byte {c.start:,} fails its CRC" for c in chunks if not c.intact]
        spans = [(c.start, c.end + 4) for c in chunks]
        return Located([c.payload(data) for c in chunks], framing, "PNG", chunks, spans)
    if data[:4] == b"RIFF":
        chunks = [c for c in riff_chunks(data) if c.kind == "C2PA"]
        framing = [
            f"the padding byte after the RIFF C2PA chunk at byte {c.start:,} is not zero"
            for c in chunks
            if (c.end - c.body) % 2 and data[c.end : c.end + 1] not in (b"\0", b"")
        ]
        spans = [(c.start, c.end + (c.end - c.body) % 2) for c in chunks]
        return Located([c.payload(data) for c in chunks], framing, "RIFF", chunks, spans)
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return _gif_stores(data)
    if data[:4] in (b"II*\0", b"MM\0*"):
        if (place := tiff_tag_place(data, TIFF_C2PA)) is None:
            return Located(container="TIFF")
        entry, start, size = place  # the entry's count and offset, and the value: what writers leave out
        spans = [(entry + 4, entry + 12), (start, start + size)]
        return Located([data[start : start + size]], [], "TIFF", [], spans)
    if data[4:8] == b"ftyp":
        return _bmff_stores(data)
    return Located()


def _bmff_stores(data: bytes) -> Located:
    """The manifest stores of ISO media: each C2PA `uuid` box whose purpose is "manifest" holds, after its
    version and flags (zero), the purpose and an offset (zero for a still image), the store."""
    located = Located(container="ISO media")
    for box in bmff_boxes(data):
        if box.kind != BMFF_C2PA:
            continue
        content = box.payload(data)
        purpose, _, rest = content[4:].partition(b"\0")
        if purpose != b"manifest":
            continue
        located.parts.append(box)
        located.stores.append(rest[8:])
        located.spans.append((box.start, box.end))
        if content[:4] != b"\0\0\0\0" or rest[:8] != b"\0" * 8:
            located.framing.append(f"the C2PA box at byte {box.start:,} has a version, flags or offset set")
    return located


def _gif_stores(data: bytes) -> Located:
    blocks = [b for b in gif_blocks(data) if b.kind.startswith("app:C2PA_GIF")]
    located = Located(container="GIF", parts=blocks)
    for block in blocks:
        store, sizes = gif_sub_blocks(data, block)
        located.stores.append(store)
        located.spans.append((block.start, block.end))
        if block.kind != GIF_C2PA:
            located.framing.append(f"the GIF C2PA extension at byte {block.start:,} has another identifier")
        if any(size != 255 for size in sizes[:-1]):
            located.framing.append(
                f"the GIF C2PA extension at byte {block.start:,} is split into sub-blocks as no writer splits"
            )
    return located


def _jpeg_stores(data: bytes) -> Located:
    """The JUMBF superboxes the APP11 segments carry, put together, and what in their headers (common
    identifier "JP", box instance, sequence numbers, the box header each segment repeats) is amiss."""
    located = Located(container="JPEG")
    groups: dict[bytes, list[Part]] = {}
    for segment in jpeg_layout(data).segments:
        if segment.kind != "APP11":
            continue
        payload = segment.payload(data)
        if payload[:2] != b"JP":
            located.framing.append(f"the APP11 segment at byte {segment.start:,} has no JUMBF identifier")
        elif payload[12:16] == b"jumb":
            groups.setdefault(payload[2:4], []).append(segment)
    for instance, segments in groups.items():
        payloads = [segment.payload(data) for segment in segments]
        if not _of_c2pa(payloads):
            continue  # JUMBF of another kind (e.g. JPEG 360)
        located.parts += segments
        located.spans += [(segment.start, segment.end) for segment in segments]
        header = payloads[0][8:16]
        numbers = [int.from_bytes(payload[4:8], "big") for payload in payloads]
        if numbers != list(range(1, len(payloads) + 1)):
            located.framing.append(f"APP11 JUMBF segments numbered {numbers[:8]} where 1, 2, … are written")
        if any(payload[8:16] != header for payload in payloads[1:]):
            located.framing.append("an APP11 JUMBF segment repeats another box header than the first")
        if instance != JPEG_INSTANCE:
            located.framing.append(f"APP11 box instance 0x{instance.hex()} where C2PA writers put 0x0211")
        located.stores.append(payloads[0][8:] + b"".join(payload[16:] for payload in payloads[1:]))
    return located


def _of_c2pa(payloads: list[bytes]) -> bool:
    """Whether APP11 JUMBF segments carry a C2PA store: a C2PA description box in one of them, or a first
    box whose description box (where the box header puts it) starts a C2PA type."""
    first = payloads[0][8:]
    header = 16 if first[:4] == b"\0\0\0\1" else 8  # an XLBox length
    described = first[header + 4 : header + 8] == b"jumd" and first[header + 8 : header + 12] in C2PA_KINDS
    return described or any(_description_boxes(payload) for payload in payloads)


# --- traces of a store, however damaged ----------------------------------------------------------------


@dataclass
class Traces:
    words: list[str]  # where the file holds parts of a manifest store, in words ([] when none)
    regions: list[bytes]  # the bytes those parts span (the stores, or the span of the description boxes)
    # the span of the C2PA description boxes outside the stores the container carries (a second store the
    # file's structure does not hold: appended, or in a chunk no reader looks at); empty when none
    outside: list[bytes] = field(default_factory=list)


def find_traces(data: bytes) -> Traces:
    """Where the file holds parts of a C2PA manifest store: its container's parts and its JUMBF description
    boxes of a C2PA type (a `jumd` box whose length fits the file and whose type is a C2PA UUID)."""
    try:
        located = locate_stores(data)
    except ValueError:
        located = Located()  # a damaged container: the boxes themselves are looked for below
    words = [_container_words(located)] if located.parts or located.stores else []
    boxes = _description_boxes(data)
    if boxes:
        words.append(f"{_counted(boxes, 'C2PA JUMBF description box')}, the first at byte {boxes[0][0]:,}")
    regions = located.stores or ([data[boxes[0][0] : boxes[-1][1]]] if boxes else [])
    outside = [box for box in boxes if not any(start <= box[0] < end for start, end in located.spans)]
    if not located.spans or not outside:
        return Traces(words, regions)
    words.append(
        f"{_counted(outside, 'C2PA JUMBF description box')} outside the file's manifest store, the first at "
        f"byte {outside[0][0]:,}: a second store the file's structure does not carry"
    )
    return Traces(words, regions, [data[outside[0][0] : outside[-1][1]]])


def _container_words(located: Located) -> str:
    names = {"JPEG": "JPEG APP11 JUMBF segment", "PNG": "PNG caBX chunk", "RIFF": "RIFF C2PA chunk",
             "GIF": "GIF C2PA_GIF extension", "TIFF": "TIFF C2PA tag",
             "ISO media": "ISO media C2PA box"}  # fmt: skip
    noun = names.get(located.container or "", "C2PA store")
    where = f" from byte {located.parts[0].start:,}" if located.parts else ""
    return f"{_counted(located.parts or located.stores, noun)}{where}"


def _description_boxes(data: bytes) -> list[tuple[int, int]]:
    """(start, end) of each JUMBF description box of a C2PA type: the box type `jumd`, a length from its
    header to its label that fits, and a C2PA type UUID (the first MAX_FOUND looked at)."""
    boxes: list[tuple[int, int]] = []
    at, looked = data.find(UUID_TAIL), 0
    while at >= 0 and looked < MAX_FOUND:
        looked += 1
        start = at - 12
        length = int.from_bytes(data[start : start + 4], "big") if start >= 0 else 0
        if (
            start >= 0
            and data[start + 4 : start + 8] == b"jumd"
            and data[at - 4 : at - 2] == b"c2"
            and 25 <= length <= len(data) - start
        ):
            boxes.append((start, start + length))
        at = data.find(UUID_TAIL, at + 1)
    return boxes


def _counted(items: list, noun: str) -> str:
    if len(items) == 1:
        return with_article(noun)
    plural = f"{noun}es" if noun.endswith("x") else f"{noun}s"
    return f"{'at least ' if len(items) >= MAX_FOUND else ''}{len(items):,} {plural}"


def declared_in_bytes(regions: list[bytes]) -> list[str]:
    """The IPTC digital source types (their names) written in these bytes as a CBOR or JSON text string
    (the URI over http or https, in any case), in order, each once."""
    found: dict[str, None] = {}
    for region in regions:
        for looked, match in enumerate(SOURCE_TYPE_URI.finditer(region)):
            if looked >= MAX_FOUND:
                break
            if (text := _text_at(region, match.start())) is not None:
                name = text[match.end() - match.start() :].strip().rstrip(b"/")
                if SOURCE_TYPE_NAME.fullmatch(name):
                    found.setdefault(name.decode("ascii"))
    return list(found)


def _text_at(region: bytes, at: int) -> bytes | None:
    """The text string that starts at `at`: CBOR (its head, one byte of length, just before) or JSON (between
    quotes); None when it is neither."""
    if at >= 2 and region[at - 2] == 0x78:
        return region[at : at + region[at - 1]]
    if at >= 1 and region[at - 1 : at] == b'"':
        end = region.find(b'"', at)
        return region[at:end] if end > 0 else None
    return None
