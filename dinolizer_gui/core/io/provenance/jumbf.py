"""A C2PA manifest store's bytes, read without the C2PA library.

Three questions, each answered in one linear pass and bounded whatever the file claims:
- `find_traces`: does the file hold a manifest store, however damaged — its container (JPEG APP11 JUMBF
  segments, a PNG `caBX` chunk, a RIFF `C2PA` chunk, a GIF `C2PA_GIF` extension, a TIFF C2PA tag) or its
  JUMBF description boxes of a C2PA type? Only real box structures count (a box type, a length that fits,
  the C2PA type UUID), never a label written as text anywhere. A file with one is never said to have no
  Content Credentials.
- `unsigned_check`: in a store the library read, are the bytes that no signature and no hash covers as a
  C2PA writer leaves them? The container's framing (APP11 headers, a PNG chunk's CRC, GIF sub-blocks), the
  boxes' lengths, labels, description toggles and the boxes each superbox holds, and the claim signature's
  encoding and unprotected header are outside what the signer signs: the library reads the manifest the same
  with them changed, so a change there is looked for here.
- `declared_in_bytes`: the IPTC digital source types written in a store's bytes, for a store the library
  cannot read or found invalid (its declarations are still said, marked as from it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

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
from .cose import CborError, CborMap, claim_signature_check, decode

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
MANIFEST_PARTS = (b"c2as", b"c2cl", b"c2cs", b"c2vc", b"c2db")
BOX_STORES = (b"c2as", b"c2vc", b"c2db")  # superboxes of assertions (or credentials, data boxes)
ONE_CBOR = (b"c2cl", b"c2cs")  # the claim and its signature: one CBOR box each
EMBEDDED_FILE = bytes.fromhex("40cb0c32bb8a489da70b2ad6f47f4369")
CODESTREAM = bytes.fromhex("6579d6fbdba2446bb2ac1b82feeb89d1")
# what an assertion box holds after its description, by its content type (ISO/IEC 19566-5)
CONTENT_BOXES = {
    b"cbor" + UUID_TAIL: (b"cbor",),
    b"json" + UUID_TAIL: (b"json",),
    b"xml " + UUID_TAIL: (b"xml ",),
    b"uuid" + UUID_TAIL: (b"uuid",),
    EMBEDDED_FILE: (b"bfdb", b"bidb"),
    CODESTREAM: (b"jp2c",),
}
JPEG_INSTANCE = b"\x02\x11"  # the box instance number C2PA writers give their APP11 segments
GIF_C2PA = "app:C2PA_GIF\x01\x00\x00"  # the application identifier and authentication code C2PA writes
TIFF_C2PA = 0xCD41
BMFF_C2PA = "uuid:d8fec3d61b0e483c92975828877ec481"  # the C2PA box of ISO media (HEIF, AVIF, …)
MAX_DEPTH = 16
MAX_LISTED = 5
MAX_FOUND = 10_000  # occurrences of a pattern looked at most
MAX_BOXES = 100_000  # boxes walked in a store at most
SOURCE_TYPE_URI = b"http://cv.iptc.org/newscodes/digitalsourcetype/"
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
    return Traces(words, regions)


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
        return f"a {noun}"
    plural = f"{noun}es" if noun.endswith("x") else f"{noun}s"
    return f"{'at least ' if len(items) >= MAX_FOUND else ''}{len(items):,} {plural}"


def declared_in_bytes(regions: list[bytes]) -> list[str]:
    """The IPTC digital source types (their names) written in these bytes as a CBOR or JSON text string, in
    order, each once."""
    found: dict[str, None] = {}
    for region in regions:
        at, looked = region.find(SOURCE_TYPE_URI), 0
        while at >= 0 and looked < MAX_FOUND:
            looked += 1
            if (text := _text_at(region, at)) is not None:
                name = text[len(SOURCE_TYPE_URI) :].rstrip(b"/")
                if SOURCE_TYPE_NAME.fullmatch(name):
                    found.setdefault(name.decode("ascii"))
            at = region.find(SOURCE_TYPE_URI, at + 1)
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


# --- the bytes no signature covers ---------------------------------------------------------------------


@dataclass
class Unsigned:
    """What in the embedded stores' unsigned bytes is not as a writer leaves it ([] when all is), the
    unprotected signature fields only the library can bind to their signature (manifest label, field), and
    the container walked (None: a format this reader does not walk, nothing was checked)."""

    changes: list[str] = field(default_factory=list)
    needs_library: list[tuple[str, str]] = field(default_factory=list)
    container: str | None = None


def unsigned_check(data: bytes) -> Unsigned:
    try:
        located = locate_stores(data)
    except ValueError as exc:
        return Unsigned([f"the container could not be walked ({exc})"], [], "unwalkable")
    if located.container is None:
        return Unsigned()
    problems = list(located.framing)
    if len(located.stores) > 1:
        problems.append(f"{len(located.stores)} manifest stores where a file holds one")
    needs: list[tuple[str, str]] = []
    for store in located.stores:
        check = StoreCheck(store)
        problems += check.problems
        needs += check.needs_library
        problems += _left_out(check.excluded(), located.spans)
    return Unsigned(list(dict.fromkeys(problems))[:MAX_LISTED], needs, located.container)


def _left_out(exclusions: list[tuple[int, int]], spans: list[tuple[int, int]]) -> list[str]:
    """What the active manifest's data hash leaves out of the file beyond the parts that carry the store:
    bytes no signature covers (e.g. a segment slipped in between the store's, the store shrunk to make
    room)."""
    if not spans:
        return []
    outside = [
        (start, start + length)
        for start, length in exclusions
        if not any(first <= start and start + length <= last for first, last in _merged(spans))
    ]
    return [
        f"the data hash leaves out bytes {start:,} to {end:,}, beyond the parts that carry the manifest store"
        for start, end in outside[:MAX_LISTED]
    ]


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Adjacent or overlapping ranges joined."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


Box = tuple[bytes, int, int]  # a box's type, where its content starts and where it ends, in the store


@dataclass
class StoreCheck:
    """A manifest store's JUMBF boxes walked strictly: every superbox exactly tiled by the boxes its type
    holds (the store: manifests; a manifest: its assertion store, claim, signature…; an assertion: its
    content box), each description box well formed — a C2PA one (covered by no hash) with exactly the
    requestable and label toggles and the label its type has —, every manifest's label named by its signed
    claim, lengths in their shortest form, and the claim signature's unsigned bytes as written."""

    store: bytes
    problems: list[str] = field(default_factory=list)
    needs_library: list[tuple[str, str]] = field(default_factory=list)  # (manifest label, field)
    boxes: int = 0
    manifest: str = ""  # the label of the manifest being walked
    manifests: list[str] = field(default_factory=list)  # every manifest's label, in order: the last is active
    exclusions: dict[str, list[tuple[int, int]]] = field(default_factory=dict)  # a manifest's data hash's

    def excluded(self) -> list[tuple[int, int]]:
        """(start, length) of each range the active manifest's data hash leaves out ([] without one)."""
        return self.exclusions.get(self.manifests[-1], []) if self.manifests else []

    def __post_init__(self) -> None:
        boxes = self._boxes(0, len(self.store))
        if len(boxes) != 1 or boxes[0][0] != b"jumb":
            self.problems.append("the manifest store is not one JUMBF superbox")
        elif (kind := self._superbox(boxes[0], 0, "")) != b"c2pa":
            self.problems.append(f"the manifest store's box is of type {kind!r}, not c2pa")

    def _boxes(self, start: int, end: int) -> list[Box]:
        """The boxes tiling [start, end); a box that does not fit, or a long length for a short box, is
        said."""
        boxes: list[Box] = []
        position = start
        while position < end and self.boxes <= MAX_BOXES:
            if end - position < 8:
                self.problems.append(f"{end - position} stray bytes at byte {position:,} of the store")
                break
            length = int.from_bytes(self.store[position : position + 4], "big")
            kind = self.store[position + 4 : position + 8]
            content = position + 8
            if length == 1 and end - position >= 16:  # XLBox: the length in the next 8 bytes
                length = int.from_bytes(self.store[position + 8 : position + 16], "big")
                content = position + 16
                if length < 1 << 32:
                    self.problems.append(f"a {kind!r} box at byte {position:,} with a needless long length")
            if length < content - position or position + length > end:
                self.problems.append(f"a {kind!r} box at byte {position:,} of the store has a wrong length")
                break
            boxes.append((kind, content, position + length))
            position += length
            self.boxes += 1
        if self.boxes > MAX_BOXES:
            self.problems.append(f"more than {MAX_BOXES:,} boxes, more than a manifest store holds")
            return []
        return boxes

    def _superbox(self, box: Box, depth: int, parent: bytes | str) -> bytes | None:
        """Check one superbox and what it holds (`parent`: the C2PA type of the box holding it, "" for the
        store itself); its C2PA type (None: a content-typed box, e.g. an assertion)."""
        _, start, end = box
        if depth > MAX_DEPTH:
            self.problems.append("JUMBF boxes nested deeper than a manifest store's")
            return None
        children = self._boxes(start, end)
        if not children or children[0][0] != b"jumd":
            self.problems.append(f"a superbox at byte {start:,} of the store without a description box")
            return None
        uuid, label = self._description(children[0])
        kind = uuid[:4] if is_c2pa_uuid(uuid) else None
        self._check_place(kind, uuid, parent, start)
        if kind in FIXED_LABELS and label not in FIXED_LABELS[kind]:
            self.problems.append(f"a {kind.decode()} box labelled {label!r}, not {FIXED_LABELS[kind][0]!r}")
        contents = children[1:]
        if kind is None:
            self._check_content(uuid, contents, start)
            if (label or "").startswith("c2pa.hash.data") and contents and contents[0][0] == b"cbor":
                self.exclusions[self.manifest] = _exclusions(self.store[contents[0][1] : contents[0][2]])
        elif kind in ONE_CBOR:
            if [child[0] for child in contents] != [b"cbor"]:
                self.problems.append(f"the {kind.decode()} box at byte {start:,} holds more than a CBOR box")
            elif kind == b"c2cs":
                check = claim_signature_check(self.store[contents[0][1] : contents[0][2]])
                self.problems += check.problems
                self.needs_library += [(self.manifest, key) for key in check.needs_library]
        else:
            if kind in MANIFEST_TYPES:
                self.manifest = label or ""
                self.manifests.append(self.manifest)
            for child in contents:
                self._child_superbox(child, kind, depth, label, start)
        return kind

    def _child_superbox(self, child: Box, kind: bytes, depth: int, label: str | None, start: int) -> None:
        if child[0] != b"jumb":
            self.problems.append(f"a {child[0]!r} box in the {kind.decode()} box at byte {start:,}")
            return
        child_kind = self._superbox(child, depth + 1, kind)
        if kind in MANIFEST_TYPES and child_kind == b"c2cl":
            self._check_manifest_label(label, child)

    def _check_place(self, kind: bytes | None, uuid: bytes, parent: bytes | str, start: int) -> None:
        """A box of a type its parent holds: manifests in the store, a manifest's parts in a manifest,
        content-typed boxes (assertions, credentials) in an assertion store (the store itself: checked by
        the caller)."""
        if parent == "":
            return
        if parent == b"c2pa":
            expected: tuple[bytes | None, ...] = MANIFEST_TYPES
        elif parent in MANIFEST_TYPES:
            expected = MANIFEST_PARTS
        else:
            expected = (None,)
        if kind not in expected:
            named = kind.decode() if kind else f"content-typed ({uuid[:4].hex()}…)"
            where = parent.decode() if isinstance(parent, bytes) else parent
            self.problems.append(f"a {named} box at byte {start:,} of the store inside a {where} box")

    def _check_content(self, uuid: bytes, contents: list[Box], start: int) -> None:
        """An assertion holds its content box(es) and nothing else (boxes after them are covered by no
        hash)."""
        kinds = tuple(child[0] for child in contents)
        expected = CONTENT_BOXES.get(uuid)
        if (expected is not None and kinds != expected) or (expected is None and len(kinds) != 1):
            self.problems.append(f"an assertion box at byte {start:,} holds {_kinds(kinds)}")
        for child in contents:
            if child[0] == b"bfdb":
                self._file_description(child)

    def _description(self, box: Box) -> tuple[bytes, str | None]:
        """A description box: its type UUID and label; what in it is not as written is said. A C2PA one is
        covered by no hash: requestable and labelled (toggles 0x03), nothing more."""
        _, start, end = box
        body = self.store[start:end]
        uuid, toggles = body[:16], body[16] if len(body) > 16 else 0
        if is_c2pa_uuid(uuid) and toggles != 0x03:
            self.problems.append(f"a C2PA description box at byte {start:,} with toggles 0x{toggles:02x}")
        position, label = 17, None
        if toggles & 0x02:
            stop = body.find(b"\0", position)
            if stop < 0:
                self.problems.append(f"a description box label at byte {start:,} without its end")
                return uuid, None
            label = body[position:stop].decode("utf-8", "replace")
            position = stop + 1
        position += 4 * bool(toggles & 0x04) + 32 * bool(toggles & 0x08)
        if toggles & 0x10:  # private boxes: they tile the rest
            self._boxes(start + position, end)
            position = len(body)
        if toggles & ~0x1F or position != len(body):
            self.problems.append(f"a description box at byte {start:,} whose toggles do not fit its content")
        return uuid, label

    def _file_description(self, box: Box) -> None:
        """An embedded file's description: toggles (bit 0: a file name follows), media type, file name."""
        _, start, end = box
        body = self.store[start:end]
        parts = body[1:].split(b"\0")
        names = 2 if body[:1] == b"\x01" else 1
        if body[:1] not in (b"\0", b"\x01") or len(parts) != names + 1 or parts[-1]:
            self.problems.append(f"an embedded file description at byte {start:,} not as written")

    def _check_manifest_label(self, label: str | None, claim: Box) -> None:
        """A v2 claim names its own manifest in its signature's address: a label no signed claim references
        was changed after signing."""
        claim_bytes = self.store[claim[1] : claim[2]]
        if b"c2pa.claim.v2\0" in claim_bytes[:64] and (not label or label.encode() not in claim_bytes):
            self.problems.append(f"a manifest labelled {label!r}, a label its signed claim does not name")


def _exclusions(content: bytes) -> list[tuple[int, int]]:
    """(start, length) of each exclusion of a data hash assertion ([] when it holds none it can say)."""
    try:
        item, _ = decode(content)
    except CborError:
        return []
    listed = item.get("exclusions") if isinstance(item, CborMap) else None
    entries = [entry for entry in listed if isinstance(entry, CborMap)] if isinstance(listed, list) else []
    ranges = [(entry.get("start"), entry.get("length")) for entry in entries]
    return [(start, length) for start, length in ranges if isinstance(start, int) and isinstance(length, int)]


def _kinds(kinds: tuple[bytes, ...]) -> str:
    return ", ".join(kind.decode("latin-1") for kind in kinds) or "nothing"
