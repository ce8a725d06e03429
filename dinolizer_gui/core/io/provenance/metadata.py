"""EXIF in full (every IFD, GPS included; a MakerNote noted, not decoded; UserComment decoded; a damaged
block said), read from the EXIF block itself — not through an opened picture —, and the text its fields
hold; values made printable."""

from __future__ import annotations

from PIL import ExifTags, Image

from ..names import for_terminal

MAX_EXIF_ENTRIES = 2000
MAX_VALUE_CHARS = 300
USER_COMMENT = 0x9286
# UserComment's 8-byte character code (EXIF 2.3, table 9) and how the rest is decoded
COMMENT_CODES = {b"ASCII\0\0\0": "ascii", b"JIS\0\0\0\0\0": "shift_jis", b"\0" * 8: "utf-8"}
DATE_TAGS = ("DateTimeOriginal", "DateTimeDigitized", "DateTime", "OffsetTimeOriginal", "OffsetTime")


def printable(value: object) -> str:
    """A metadata value as text a report can print: bytes decoded when they are text, else in hex; every
    character that does not print as itself escaped, as on the terminal (controls, bidirectional overrides,
    zero-width characters); long values cut (with their length)."""
    if isinstance(value, bytes):
        stripped = value.rstrip(b"\0")
        readable = all(32 <= byte < 127 or byte in (9, 10, 13) for byte in stripped)
        text = stripped.decode("ascii") if readable else stripped.hex(" ")
    elif isinstance(value, tuple):
        text = ", ".join(printable(v) for v in value)
    else:
        text = str(value)
    text = for_terminal(text)
    return text if len(text) <= MAX_VALUE_CHARS else f"{text[:MAX_VALUE_CHARS]}… ({len(text)} characters)"


def exif_of(block: bytes) -> Image.Exif:
    """The EXIF of a TIFF block (an "Exif\\0\\0" header allowed), as Pillow reads it; empty without one."""
    exif = Image.Exif()
    if block:
        exif.load(block)
    return exif


def exif_table(exif: Image.Exif) -> tuple[dict[str, str], list[str]]:
    """Every EXIF entry as {name: text} (IFD0, Exif, GPS, Interop, IFD1 prefixed), and notes."""
    table: dict[str, str] = {}
    notes: list[str] = []
    sources = [("", dict(exif))]
    ifds = (
        (ExifTags.IFD.Exif, ""),
        (ExifTags.IFD.GPSInfo, "GPS"),
        (ExifTags.IFD.Interop, "Interop"),
        (ExifTags.IFD.IFD1, "Thumbnail"),
    )
    for ifd, prefix in ifds:
        try:
            sources.append((prefix, dict(exif.get_ifd(ifd))))
        except Exception as exc:  # a damaged IFD: said, the others read
            notes.append(f"EXIF {prefix or 'Exif'} IFD unreadable: {exc}")
    count = sum(len(entries) for _, entries in sources)
    for prefix, entries in sources:
        names = ExifTags.GPSTAGS if prefix == "GPS" else ExifTags.TAGS
        for tag, value in entries.items():
            if len(table) >= MAX_EXIF_ENTRIES:
                notes.append(f"EXIF: {count} entries, the first {MAX_EXIF_ENTRIES} listed")
                return table, notes
            name = names.get(tag, f"0x{tag:04x}")
            if tag in (ExifTags.IFD.Exif, ExifTags.IFD.GPSInfo, ExifTags.IFD.Interop):
                continue  # pointers to the IFDs read above
            if tag == 0x927C:
                table["MakerNote"] = (
                    f"present ({len(value) if isinstance(value, bytes) else '?'} bytes, not decoded)"
                )
                continue
            if tag == USER_COMMENT and isinstance(value, bytes):
                value = user_comment(value)
            table[f"{prefix}{'.' if prefix else ''}{name}"] = printable(value)
    return table, notes


def user_comment(raw: bytes) -> str:
    """UserComment as text: its 8-byte character code says how the rest is encoded — UNICODE is UTF-16 in
    either byte order (writers differ: a byte-order mark, else the order whose high bytes are the zeros),
    ASCII, JIS, or undefined (read as UTF-8)."""
    code, body = raw[:8], raw[8:]
    if code == b"UNICODE\0":
        if body[:2] in (b"\xfe\xff", b"\xff\xfe"):
            text = body.decode("utf-16", "replace")
        else:
            big = body[0::2].count(0) >= body[1::2].count(0)
            text = body[: len(body) // 2 * 2].decode("utf-16-be" if big else "utf-16-le", "replace")
    elif code in COMMENT_CODES:
        text = body.decode(COMMENT_CODES[code], "replace")
    else:  # no character code: the whole value
        text = raw.decode("utf-8", "replace")
    return text.rstrip("\0 ")


TIFF_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}
IFD_POINTERS = (0x8769, 0x8825, 0xA005)  # Exif, GPS, Interop
MAX_IFDS = 16


def exif_damage(block: bytes | None) -> list[str]:
    """What is wrong in an EXIF (TIFF) block, walked once from its header through every IFD it points to:
    an IFD or a value outside the block, an entry of no TIFF type ([] when it is whole, or absent)."""
    if not block:
        return []
    tiff = block[6:] if block[:6] == b"Exif\0\0" else block
    if tiff[:4] not in (b"II*\0", b"MM\0*"):
        return [f"EXIF block of {len(block):,} bytes damaged: no TIFF header, nothing in it could be read"]
    little = tiff[:2] == b"II"

    def number(at: int, size: int) -> int:
        return int.from_bytes(tiff[at : at + size], "little" if little else "big")

    problems: list[str] = []
    queue, seen = [("IFD0", number(4, 4))], set[int]()
    while queue and len(seen) < MAX_IFDS:
        name, offset = queue.pop(0)
        if offset in seen:
            continue
        seen.add(offset)
        count = number(offset, 2)
        if offset < 8 or offset + 2 + 12 * count > len(tiff):
            problems.append(f"the {name} at offset {offset:,} runs past the block's end")
            continue
        for index in range(count):
            at = offset + 2 + 12 * index
            tag, kind, items = number(at, 2), number(at + 2, 2), number(at + 4, 4)
            size = TIFF_TYPE_SIZES.get(kind, 0) * items
            if kind not in TIFF_TYPE_SIZES:
                problems.append(f"{name} entry 0x{tag:04x} has no TIFF type ({kind})")
            elif size > 4 and number(at + 8, 4) + size > len(tiff):
                problems.append(f"{name} entry 0x{tag:04x} points past the block's end")
            elif tag in IFD_POINTERS:
                queue.append((f"IFD 0x{tag:04x}", number(at + 8, 4)))
        following = number(offset + 2 + 12 * count, 4)
        if following and name == "IFD0":
            queue.append(("IFD1", following))
    listed = problems[:3] + ([f"and {len(problems) - 3} more"] if len(problems) > 3 else [])
    return [f"EXIF damaged: {'; '.join(listed)}"] if problems else []


# the text fields generators and their front-ends write into, by tag: IFD0's, then the Exif IFD's
TEXT_TAGS = {0x010E: "ImageDescription", 0x010F: "Make", 0x0110: "Model", 0x0131: "Software",
             0x013B: "Artist", 0x8298: "Copyright", 0x9C9B: "XPTitle", 0x9C9C: "XPComment",
             0x9C9D: "XPAuthor", 0x9C9E: "XPKeywords", 0x9C9F: "XPSubject"}  # fmt: skip


XML_PACKET = 0x02BC  # IFD0's XMP (TIFF files, and EXIF blocks written the TIFF way)


def exif_xmp(exif: Image.Exif) -> bytes:
    """The XMP packet IFD0's XMLPacket tag holds (b"" without one)."""
    value = exif.get(XML_PACKET)
    if isinstance(value, tuple):  # Pillow gives BYTE values as a tuple
        value = bytes(value)
    if isinstance(value, str):
        value = value.encode("utf-8")
    return value if isinstance(value, bytes) else b""


def exif_texts(exif: Image.Exif) -> list[tuple[str, str]]:
    """The EXIF's text fields as (name, text): ImageDescription, Make, Model, Software, the Windows XP
    fields (UCS-2), UserComment (by its character code)."""
    texts = []
    for tag, name in TEXT_TAGS.items():
        value = exif.get(tag)
        if isinstance(value, tuple) and name.startswith("XP"):  # Pillow gives BYTE values as a tuple
            value = bytes(value)
        if isinstance(value, bytes):
            value = value.decode("utf-16-le" if name.startswith("XP") else "utf-8", "replace")
        if isinstance(value, str) and value.strip("\0 "):
            texts.append((name, value.rstrip("\0")))
    comment = _exif_ifd(exif).get(USER_COMMENT)
    if isinstance(comment, bytes):
        texts.append(("UserComment", user_comment(comment)))
    return texts


def _exif_ifd(exif: Image.Exif) -> dict:
    try:
        return dict(exif.get_ifd(ExifTags.IFD.Exif))
    except Exception:  # a damaged IFD: said by exif_table
        return {}
