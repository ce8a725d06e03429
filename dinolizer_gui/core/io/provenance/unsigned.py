"""The bytes of an embedded C2PA manifest store that no signature and no hash covers, checked without the
C2PA library: in a store the library read, are they as a C2PA writer leaves them? The container's framing
(APP11 headers, a PNG chunk's CRC, GIF sub-blocks), the boxes' lengths, labels, description toggles and the
boxes each superbox holds, and the claim signature's encoding and unprotected header are outside what the
signer signs: the library reads the manifest the same with them changed, so a change there is looked for
here. One linear pass, bounded whatever the file claims.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .containers import bmff_boxes
from .cose import CborError, CborMap, claim_signature_check, decode
from .jumbf import FIXED_LABELS, MANIFEST_TYPES, UUID_TAIL, is_c2pa_uuid, locate_stores

MANIFEST_PARTS = (b"c2as", b"c2cl", b"c2cs", b"c2vc", b"c2db")
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
MAX_DEPTH = 16
MAX_LISTED = 5
MAX_BOXES = 100_000  # boxes walked in a store at most


@dataclass
class Unsigned:
    """What in the embedded stores' unsigned bytes is not as a writer leaves it ([] when all is), the
    unprotected signature fields only the library can bind to their signature (manifest label, field), and
    the container walked (None: a format this reader does not walk, nothing was checked)."""

    changes: list[str] = field(default_factory=list)
    needs_library: list[tuple[str, str]] = field(default_factory=list)
    container: str | None = None
    signers: dict[str, bytes] = field(default_factory=dict)  # manifest label: its signer's certificate
    top_level: list[tuple[str, int, int]] = field(default_factory=list)  # ISO media: (kind, start, size)


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
    signers: dict[str, bytes] = {}
    for store in located.stores:
        check = StoreCheck(store)
        problems += check.problems
        needs += check.needs_library
        signers.update(check.signers)
        problems += _left_out(check.excluded(), located.spans)
    boxes = bmff_boxes(data) if located.container == "ISO media" else []
    top_level = [(box.kind, box.start, box.end - box.start) for box in boxes]
    return Unsigned(list(dict.fromkeys(problems))[:MAX_LISTED], needs, located.container, signers, top_level)


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
    signers: dict[str, bytes] = field(default_factory=dict)  # a manifest's signer's certificate (DER)

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
                if check.signer is not None:
                    self.signers[self.manifest] = check.signer
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
