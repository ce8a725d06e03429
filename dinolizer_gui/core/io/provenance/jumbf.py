"""A C2PA manifest store's bytes, read without the C2PA library.

Two questions, each answered in one linear pass and bounded whatever the file claims:
- `manifest_traces`: does the file hold any trace of a manifest store — its container (JPEG APP11 JUMBF
  segments, a PNG `caBX` chunk, a RIFF `C2PA` chunk) or its JUMBF boxes (their C2PA type UUIDs, their
  `c2pa…` labels) — however damaged? A file with one is never said to have no Content Credentials.
- `unsigned_changes`: in a store the library read, are the bytes that no signature and no hash covers as a
  C2PA writer leaves them? The container's framing (APP11 headers, a PNG chunk's CRC), the boxes' lengths and
  labels, and the claim signature's padding are outside what the signer signs: the library reads the
  manifest the same with them changed, so a change there is looked for here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .containers import JPEG_SOI, PNG_SIGNATURE, Part, jpeg_layout, png_chunks, riff_chunks

UUID_TAIL = bytes.fromhex("00110010800000aa00389b71")  # the tail of every ISO/IEC 19566-5 type UUID
# the C2PA box types with a label of their own (the store, assertion store, claim, signature, credentials)
FIXED_LABELS = {
    b"c2pa": ("c2pa",),
    b"c2as": ("c2pa.assertions",),
    b"c2cl": ("c2pa.claim", "c2pa.claim.v2"),
    b"c2cs": ("c2pa.signature",),
    b"c2vc": ("c2pa.credentials",),
}
MANIFEST_TYPES = (b"c2ma", b"c2um")  # a manifest and an update manifest: labelled by their own URN
JPEG_INSTANCE = b"\x02\x11"  # the box instance number C2PA writers give their APP11 segments
C2PA_LABELS = (b"c2pa\0", b"c2pa.assertions\0", b"c2pa.claim\0", b"c2pa.claim.v2\0", b"c2pa.signature\0")
# the claim signature's unprotected COSE header: what C2PA writers put there (nothing in it is signed)
UNPROTECTED_KEYS = {"pad", "pad2", "sigTst", "sigTst2", "rVals", "x5chain", 33}
MAX_DEPTH = 16
MAX_LISTED = 5
MAX_FOUND = 10_000  # occurrences of a pattern counted at most
MAX_BOXES = 100_000  # boxes walked in a store at most


def is_c2pa_uuid(uuid: bytes) -> bool:
    return uuid[:2] == b"c2" and uuid[4:] == UUID_TAIL


def manifest_traces(data: bytes) -> list[str]:
    """Where the file holds parts of a C2PA manifest store, in words ([] when nothing at all is found)."""
    traces = _container_traces(data)
    uuids = _positions(data, UUID_TAIL, lambda at: data[at - 4 : at - 2] == b"c2")
    if uuids:
        traces.append(f"{_counted(uuids, 'JUMBF box')} of a C2PA type, the first at byte {uuids[0] - 4:,}")
    labels = sorted(
        at
        for label in C2PA_LABELS
        for at in _positions(data, label, lambda at: at > 0 and data[at - 1] & 0x02 != 0)
    )
    if labels:
        traces.append(f"{_counted(labels, 'C2PA box label')}, the first at byte {labels[0]:,}")
    return traces


def _container_traces(data: bytes) -> list[str]:
    try:
        if data[:2] == JPEG_SOI:
            segments = [s for s in jpeg_layout(data).segments if s.kind == "APP11"]
            jumbf = [s for s in segments if _jumbf_group(data, s) is not None]
            if jumbf:
                return [f"{_counted(jumbf, 'JPEG APP11 JUMBF segment')} from byte {jumbf[0].start:,}"]
            return []
        if data[:8] == PNG_SIGNATURE:
            chunks = [c for c in png_chunks(data) if c.kind == "caBX"]
            return [f"{_counted(chunks, 'PNG caBX chunk')} at byte {chunks[0].start:,}"] if chunks else []
        if data[:4] == b"RIFF":
            chunks = [c for c in riff_chunks(data) if c.kind == "C2PA"]
            return [f"{_counted(chunks, 'RIFF C2PA chunk')} at byte {chunks[0].start:,}"] if chunks else []
    except ValueError:
        pass  # a damaged container: the boxes themselves are looked for below
    return []


def _jumbf_group(data: bytes, segment: Part) -> bytes | None:
    """The box instance number of an APP11 segment that carries JUMBF of C2PA's (None: not JUMBF, or a first
    segment with no C2PA label or type anywhere in it — JUMBF of another kind, e.g. JPEG 360)."""
    payload = segment.payload(data)
    if payload[:2] != b"JP" and payload[12:16] != b"jumb":
        return None
    continued = int.from_bytes(payload[4:8], "big") != 1
    if (
        continued
        or b"c2pa" in payload
        or _positions(payload, UUID_TAIL, lambda at: payload[at - 4 : at - 2] == b"c2")
    ):
        return payload[2:4]
    return None


def _positions(data: bytes, pattern: bytes, accept) -> list[int]:
    """Where `pattern` occurs and `accept(position)` holds, found in one pass (the first MAX_FOUND)."""
    found: list[int] = []
    at = data.find(pattern)
    while at >= 0 and len(found) < MAX_FOUND:
        if accept(at):
            found.append(at)
        at = data.find(pattern, at + 1)
    return found


def _counted(items: list, noun: str) -> str:
    if len(items) == 1:
        return f"a {noun}"
    plural = f"{noun}es" if noun.endswith("x") else f"{noun}s"
    return f"{'at least ' if len(items) >= MAX_FOUND else ''}{len(items):,} {plural}"


# --- the bytes no signature covers ---------------------------------------------------------------------


def unsigned_changes(data: bytes) -> list[str]:
    """What in the embedded manifest store's unsigned bytes is not as a writer leaves it ([] when all is;
    also [] for containers this reader does not walk: TIFF, HEIF, GIF, … — the library's word stands)."""
    try:
        if data[:2] == JPEG_SOI:
            stores, problems = _jpeg_stores(data)
        elif data[:8] == PNG_SIGNATURE:
            stores, problems = _chunk_stores([c for c in png_chunks(data) if c.kind == "caBX"], data, "PNG")
        elif data[:4] == b"RIFF":
            stores, problems = _chunk_stores([c for c in riff_chunks(data) if c.kind == "C2PA"], data, "RIFF")
        else:
            return []
    except ValueError as exc:
        return [f"the container could not be walked ({exc})"]
    if len(stores) > 1:
        problems.append(f"{len(stores)} manifest stores where a file holds one")
    for store in stores:
        problems += StoreCheck(store).problems
    return problems[:MAX_LISTED]


def _chunk_stores(chunks: list[Part], data: bytes, container: str) -> tuple[list[bytes], list[str]]:
    problems = [
        f"the {container} {c.kind} chunk at byte {c.start:,} fails its CRC" for c in chunks if not c.intact
    ]
    return [c.payload(data) for c in chunks], problems


def _jpeg_stores(data: bytes) -> tuple[list[bytes], list[str]]:
    """The JUMBF superboxes the APP11 segments carry, put together, and what in their headers (common
    identifier "JP", box instance, sequence numbers, the box header each segment repeats) is amiss."""
    problems: list[str] = []
    groups: dict[bytes, list[Part]] = {}
    for segment in jpeg_layout(data).segments:
        if segment.kind != "APP11":
            continue
        payload = segment.payload(data)
        if payload[:2] != b"JP":
            problems.append(f"the APP11 segment at byte {segment.start:,} has no JUMBF identifier (JP)")
        if (instance := _jumbf_group(data, segment)) is not None:
            groups.setdefault(instance, []).append(segment)
    stores = []
    for segments in groups.values():
        payloads = [segment.payload(data) for segment in segments]
        header = payloads[0][8:16]
        numbers = [int.from_bytes(payload[4:8], "big") for payload in payloads]
        if numbers != list(range(1, len(payloads) + 1)):
            problems.append(f"APP11 JUMBF segments numbered {numbers[:8]} where 1, 2, … are written")
        if any(payload[8:16] != header for payload in payloads[1:]):
            problems.append("an APP11 JUMBF segment repeats another box header than the first")
        store = payloads[0][8:] + b"".join(payload[16:] for payload in payloads[1:])
        if is_c2pa_uuid(store[16:32]) or b"c2pa" in store[:64]:
            stores.append(store)
            if payloads[0][2:4] != JPEG_INSTANCE:
                written = payloads[0][2:4].hex()
                problems.append(f"APP11 box instance 0x{written} where C2PA writers put 0x0211")
    return stores, problems


@dataclass
class StoreCheck:
    """A manifest store's JUMBF boxes walked strictly: every superbox exactly tiled by its boxes, each
    description box well formed with a C2PA label where its type has one, every manifest's label referenced
    by its signed claim, and the claim signature's unsigned header holding zeros for padding."""

    store: bytes
    problems: list[str] = field(default_factory=list)
    boxes: int = 0

    def __post_init__(self) -> None:
        boxes = self._boxes(0, len(self.store))
        if len(boxes) != 1 or boxes[0][0] != b"jumb":
            self.problems.append("the manifest store is not one JUMBF superbox")
        elif (kind := self._superbox(boxes[0], 0)) != b"c2pa":
            self.problems.append(f"the manifest store's box is of type {kind!r}, not c2pa")

    def _boxes(self, start: int, end: int) -> list[tuple[bytes, int, int]]:
        """The boxes tiling [start, end) as (type, content start, end); a box that does not fit is said."""
        boxes: list[tuple[bytes, int, int]] = []
        position = start
        if self.boxes > MAX_BOXES:
            return boxes
        while position < end:
            if end - position < 8:
                self.problems.append(f"{end - position} stray bytes at byte {position:,} of the store")
                break
            length = int.from_bytes(self.store[position : position + 4], "big")
            kind = self.store[position + 4 : position + 8]
            content = position + 8
            if length == 1 and end - position >= 16:  # XLBox: the length in the next 8 bytes
                length = int.from_bytes(self.store[position + 8 : position + 16], "big")
                content = position + 16
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

    def _superbox(self, box: tuple[bytes, int, int], depth: int) -> bytes | None:
        """Check one superbox and what it holds; its C2PA type (None: not a C2PA one)."""
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
        if kind in FIXED_LABELS and label not in FIXED_LABELS[kind]:
            self.problems.append(f"a {kind.decode()} box labelled {label!r}, not {FIXED_LABELS[kind][0]!r}")
        for child in children[1:]:
            if child[0] == b"jumb":
                child_kind = self._superbox(child, depth + 1)
                if kind in MANIFEST_TYPES and child_kind == b"c2cl":
                    self._check_manifest_label(label, child)
            elif child[0] == b"bfdb":
                self._file_description(child)
            elif child[0] == b"cbor" and kind == b"c2cs":
                self.problems += cose_unsigned_problems(self.store[child[1] : child[2]])
        return kind

    def _description(self, box: tuple[bytes, int, int]) -> tuple[bytes, str | None]:
        """A description box: its type UUID and label; what in it is not as written is said."""
        _, start, end = box
        body = self.store[start:end]
        uuid, toggles = body[:16], body[16] if len(body) > 16 else 0
        c2pa = is_c2pa_uuid(uuid)
        if c2pa and toggles & 0x03 != 0x03:
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

    def _file_description(self, box: tuple[bytes, int, int]) -> None:
        """An embedded file's description: toggles (bit 0: a file name follows), media type, file name."""
        _, start, end = box
        body = self.store[start:end]
        parts = body[1:].split(b"\0")
        names = 2 if body[:1] == b"\x01" else 1
        if body[:1] not in (b"\0", b"\x01") or len(parts) != names + 1 or parts[-1]:
            self.problems.append(f"an embedded file description at byte {start:,} not as written")

    def _check_manifest_label(self, label: str | None, claim: tuple[bytes, int, int]) -> None:
        """A v2 claim names its own manifest in its signature's address: a label no signed claim references
        was changed after signing."""
        claim_bytes = self.store[claim[1] : claim[2]]
        if b"c2pa.claim.v2\0" in claim_bytes[:64] and (not label or label.encode() not in claim_bytes):
            self.problems.append(f"a manifest labelled {label!r}, a label its signed claim does not name")


# --- the claim signature's unsigned header (COSE_Sign1, CBOR) ---------------------------------------------


class CborError(ValueError):
    pass


def cose_unsigned_problems(content: bytes) -> list[str]:
    """What in a COSE_Sign1 claim signature's unprotected header is not as written: a field C2PA does not
    put there, or padding that is not zeros; a signature box that is not exactly one CBOR item."""
    try:
        item, end = _cbor(content, 0, 0)
    except (CborError, IndexError, UnicodeDecodeError) as exc:
        return [f"the claim signature is not well-formed CBOR ({exc})"]
    problems = [f"{len(content) - end} bytes after the claim signature"] if end != len(content) else []
    if isinstance(item, _Tagged) and item.tag == 18:
        item = item.value
    if not (isinstance(item, list) and len(item) == 4 and isinstance(item[1], dict)):
        return [*problems, "the claim signature is not a COSE_Sign1 structure"]
    for key, value in item[1].items():
        if key not in UNPROTECTED_KEYS:
            problems.append(f"an unsigned field {key!r} in the claim signature's header")
        elif key in ("pad", "pad2") and (not isinstance(value, bytes) or value.strip(b"\0")):
            problems.append("the claim signature's padding holds something else than zeros")
    return problems


@dataclass(frozen=True)
class _Tagged:
    tag: int
    value: object


def _cbor(data: bytes, at: int, depth: int) -> tuple[object, int]:
    """One CBOR item at `at` and where it ends; bounded by `data` (every item takes a byte) and MAX_DEPTH."""
    if depth > MAX_DEPTH:
        raise CborError("nested too deep")
    initial = data[at]
    major, info = initial >> 5, initial & 0x1F
    at += 1
    if info < 24:
        argument = info
    elif info <= 27:
        size = 1 << (info - 24)
        if at + size > len(data):
            raise CborError("cut short")
        argument, at = int.from_bytes(data[at : at + size], "big"), at + size
    elif info == 31 and major in (2, 3, 4, 5):
        return _indefinite(data, at, major, depth)
    else:
        raise CborError(f"reserved additional information {info}")
    if major in (0, 1):
        return (argument if major == 0 else -1 - argument), at
    if major in (2, 3):
        if at + argument > len(data):
            raise CborError("a string runs past the end")
        raw = data[at : at + argument]
        return (raw if major == 2 else raw.decode("utf-8")), at + argument
    if major == 4:
        items = []
        for _ in range(argument):
            item, at = _cbor(data, at, depth + 1)
            items.append(item)
        return items, at
    if major == 5:
        mapping: dict = {}
        for _ in range(argument):
            key, at = _cbor(data, at, depth + 1)
            mapping[_hashable(key)], at = _cbor(data, at, depth + 1)
        return mapping, at
    if major == 6:
        value, at = _cbor(data, at, depth + 1)
        return _Tagged(argument, value), at
    return {20: False, 21: True, 22: None}.get(argument, argument), at


def _indefinite(data: bytes, at: int, major: int, depth: int) -> tuple[object, int]:
    parts: list = []
    while data[at] != 0xFF:
        item, at = _cbor(data, at, depth + 1)
        parts.append(item)
    at += 1
    if major == 2:
        return b"".join(parts), at
    if major == 3:
        return "".join(parts), at
    if major == 4:
        return parts, at
    if len(parts) % 2:
        raise CborError("a map with a key and no value")
    return {_hashable(parts[i]): parts[i + 1] for i in range(0, len(parts), 2)}, at


def _hashable(key: object) -> object:
    return key if isinstance(key, (int, str, bytes, bool)) or key is None else repr(key)
