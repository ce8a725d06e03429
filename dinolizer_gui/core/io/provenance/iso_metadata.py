"""The EXIF and XMP of ISO media (HEIF, HEIC, AVIF) and JPEG XL, read from the container — not through a
picture Pillow opened (it cannot open HEIC, nor a file with one damaged byte in its codec's boxes).

ISO media keeps them as items of the `meta` box: `iinf` names each item (type `Exif`, or `mime` with the
content type `application/rdf+xml` for XMP), `iloc` says where its bytes are (in the file, or in the `idat`
box). JPEG XL's container keeps them in top-level `Exif` and `xml ` boxes (`brob` boxes, Brotli-compressed,
are said and not read). An EXIF item or box starts with the offset of its TIFF header."""

from __future__ import annotations

from dataclasses import dataclass, field

from .containers import Part, iso_boxes

MAX_ITEMS = 4096  # item entries read at most
MAX_EXTENTS = 64  # extents of one item read at most
MAX_ITEM_BYTES = 16 << 20  # an EXIF or XMP item larger than this is not one (said, not read)
XMP_TYPES = (b"application/rdf+xml", b"application/xmp+xml")


@dataclass
class Metadata:
    exif: bytes = b""  # the first EXIF's TIFF bytes
    xmp: list[tuple[str, bytes]] = field(default_factory=list)  # (where, packet)
    notes: list[str] = field(default_factory=list)


def iso_metadata(data: bytes) -> Metadata:
    """The EXIF and XMP items of an ISO media file's `meta` box."""
    found = Metadata()
    meta = next((box for box in iso_boxes(data, 0, len(data)) if box.kind == "meta"), None)
    if meta is None:
        return found
    children = {box.kind: box for box in iso_boxes(data, meta.body + 4, meta.end)}  # after version, flags
    if "iinf" not in children or "iloc" not in children:
        return found
    idat = children.get("idat")
    places = _locations(data, children["iloc"], idat)
    for item, kind in _items(data, children["iinf"]).items():
        extents = places.get(item)
        if kind not in ("Exif", "xmp"):
            continue
        if extents is None:
            found.notes.append(f"ISO media item {item} ({kind}): no location")
        elif sum(length for _, length in extents) > MAX_ITEM_BYTES:
            found.notes.append(f"ISO media item {item} ({kind}): over {MAX_ITEM_BYTES >> 20} MB, not read")
        else:
            payload = b"".join(data[start : start + length] for start, length in extents)
            _take(found, kind, payload, f"ISO media item {item}")
    return found


def jxl_metadata(data: bytes) -> Metadata:
    """The EXIF and XMP boxes of a JPEG XL container (a bare codestream has none)."""
    found = Metadata()
    if data[4:8] != b"JXL ":
        return found
    for box in iso_boxes(data, 0, len(data)):
        if box.kind == "Exif":
            _take(found, "Exif", box.payload(data), f"JPEG XL Exif box at byte {box.start:,}")
        elif box.kind == "xml ":
            _take(found, "xmp", box.payload(data), f"JPEG XL xml box at byte {box.start:,}")
        elif box.kind == "brob":
            found.notes.append(f"a Brotli-compressed JPEG XL box at byte {box.start:,}: not read")
    return found


def _take(found: Metadata, kind: str, payload: bytes, where: str) -> None:
    if kind == "Exif" and not found.exif:
        offset = int.from_bytes(payload[:4], "big")
        if 4 + offset > len(payload):
            found.notes.append(f"{where}: its EXIF header offset points past its end")
        else:
            found.exif = payload[4 + offset :]
    elif kind == "xmp":
        found.xmp.append((where, payload))


def _items(data: bytes, iinf: Part) -> dict[int, str]:
    """Item id: "Exif", "xmp" or the item's type, from the `infe` entries (version 2 and 3)."""
    version = data[iinf.body]
    first = iinf.body + (6 if version == 0 else 8)
    items: dict[int, str] = {}
    for entry in iso_boxes(data, first, iinf.end)[:MAX_ITEMS]:
        if entry.kind != "infe" or data[entry.body] < 2:
            continue
        width = 2 if data[entry.body] == 2 else 4
        at = entry.body + 4
        item = int.from_bytes(data[at : at + width], "big")
        kind = data[at + width + 2 : at + width + 6]
        name_end = data.find(b"\0", at + width + 6, entry.end)
        content_type = (
            data[name_end + 1 : entry.end].split(b"\0")[0] if kind == b"mime" and name_end >= 0 else b""
        )
        items[item] = "xmp" if content_type in XMP_TYPES else kind.decode("latin-1")
    return items


def _locations(data: bytes, iloc: Part, idat: Part | None) -> dict[int, list[tuple[int, int]]]:
    """Item id: its extents (start in the file, length), for items stored in the file or in `idat`."""
    version, at = data[iloc.body], iloc.body + 4
    offset_size, length_size = data[at] >> 4, data[at] & 15
    base_size, index_size = data[at + 1] >> 4, (data[at + 1] & 15) if version in (1, 2) else 0
    at += 2

    def number(size: int) -> int:
        nonlocal at
        value = int.from_bytes(data[at : at + size], "big")
        at += size
        return value

    count = number(4 if version == 2 else 2)
    places: dict[int, list[tuple[int, int]]] = {}
    for _ in range(min(count, MAX_ITEMS)):
        item = number(4 if version == 2 else 2)
        method = number(2) & 15 if version in (1, 2) else 0
        number(2)  # the data reference: 0, this file
        base = number(base_size)
        extents = []
        for _ in range(min(number(2), MAX_EXTENTS)):
            number(index_size)
            start, length = base + number(offset_size), number(length_size)
            extents.append((start + (idat.body if method == 1 and idat is not None else 0), length))
        if at > iloc.end:
            break  # the table runs past its box: what follows is not read
        if method in (0, 1):
            places[item] = extents
    return places
