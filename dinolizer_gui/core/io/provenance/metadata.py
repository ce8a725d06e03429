"""EXIF in full (every IFD, GPS included; a MakerNote noted, not decoded; UserComment decoded; a damaged
block said), XMP (parsed without entity expansion, walked once) and text written by image generators."""

from __future__ import annotations

import zlib

from defusedxml import ElementTree
from PIL import ExifTags, Image

from .containers import PNG_SIGNATURE, png_chunks

MAX_EXIF_ENTRIES = 2000
MAX_VALUE_CHARS = 300
MAX_XMP_BYTES = 4 << 20
MAX_XMP_VALUES = 50  # values kept per XMP field
USER_COMMENT = 0x9286
# UserComment's 8-byte character code (EXIF 2.3, table 9) and how the rest is decoded
COMMENT_CODES = {b"ASCII\0\0\0": "ascii", b"JIS\0\0\0\0\0": "shift_jis", b"\0" * 8: "utf-8"}
# keys only generators write; keys anyone writes, kept when their text reads like a generator's settings
GENERATOR_KEYS = ("parameters", "prompt", "workflow", "negative_prompt", "sd-metadata", "invokeai_metadata",
                  "dream", "generation_data")  # fmt: skip
COMMENT_KEYS = ("Comment", "comment", "Description", "UserComment")
GENERATOR_WORDS = (
    "Steps:",
    "Sampler:",
    "CFG scale",
    "Negative prompt",
    "Seed:",
    '"class_type"',
    "Model hash",
)
DATE_TAGS = ("DateTimeOriginal", "DateTimeDigitized", "DateTime", "OffsetTimeOriginal", "OffsetTime")

NAMESPACES = {
    "Iptc4xmpExt": "http://iptc.org/std/Iptc4xmpExt/2008-02-29/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "xmpMM": "http://ns.adobe.com/xap/1.0/mm/",
    "stEvt": "http://ns.adobe.com/xap/1.0/sType/ResourceEvent#",
    "dcterms": "http://purl.org/dc/terms/",
    "photoshop": "http://ns.adobe.com/photoshop/1.0/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
}


def printable(value: object) -> str:
    """A metadata value as text a report can print: bytes decoded when they are text, else in hex; control
    characters escaped; long values cut (with their length)."""
    if isinstance(value, bytes):
        stripped = value.rstrip(b"\0")
        readable = all(32 <= byte < 127 or byte in (9, 10, 13) for byte in stripped)
        text = stripped.decode("ascii") if readable else stripped.hex(" ")
    elif isinstance(value, tuple):
        text = ", ".join(printable(v) for v in value)
    else:
        text = str(value)
    text = "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in text)
    return text if len(text) <= MAX_VALUE_CHARS else f"{text[:MAX_VALUE_CHARS]}… ({len(text)} characters)"


def exif_table(image: Image.Image) -> tuple[dict[str, str], list[str]]:
    """Every EXIF entry as {name: text} (IFD0, Exif, GPS, Interop, IFD1 prefixed), and notes."""
    exif = image.getexif()
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


def xmp_facts(packet: bytes | str | None) -> tuple[dict, list[str]]:
    """The XMP fields an examiner asks about: DigitalSourceType, CreatorTool, History, document ids and a
    remote Content Credentials reference. XML is parsed without DTDs or entities (defusedxml)."""
    if not packet:
        return {}, []
    raw = packet.encode("utf-8") if isinstance(packet, str) else packet
    if len(raw) > MAX_XMP_BYTES:
        return {}, [f"XMP of {len(raw):,} bytes: not read (more than {MAX_XMP_BYTES:,})"]
    start, end = raw.find(b"<x:xmpmeta"), raw.rfind(b"</x:xmpmeta>")
    body = raw[start : end + len(b"</x:xmpmeta>")] if start >= 0 and end > start else raw.strip(b"\0 \n")
    try:
        root = ElementTree.fromstring(body, forbid_dtd=True)
    except Exception as exc:  # defusedxml's refusals (entities, DTD) and malformed XML alike
        return {}, [f"XMP could not be read ({type(exc).__name__}: {printable(str(exc))[:120]})"]
    return _xmp_fields(root), []


XMP_FIELDS = {  # the provenance object's key: the XMP property
    "DigitalSourceType": ("Iptc4xmpExt", "DigitalSourceType"),
    "CreatorTool": ("xmp", "CreatorTool"),
    "DocumentID": ("xmpMM", "DocumentID"),
    "InstanceID": ("xmpMM", "InstanceID"),
    "provenance": ("dcterms", "provenance"),
}
RDF = NAMESPACES["rdf"]
CONTAINERS = {f"{{{RDF}}}{kind}" for kind in ("Bag", "Seq", "Alt")}


def _xmp_fields(root) -> dict:
    """The fields, in one walk of the tree (each element looked at once, with its children: a property's
    value is its text, its rdf:resource, or every item of the Bag, Seq or Alt it holds)."""
    wanted = {f"{{{NAMESPACES[prefix]}}}{name}": key for key, (prefix, name) in XMP_FIELDS.items()}
    found: dict[str, list[str]] = {key: [] for key in XMP_FIELDS}
    event_keys = {key: f"{{{NAMESPACES['stEvt']}}}{key}" for key in ("action", "softwareAgent", "when")}
    history: list[dict[str, str]] = []
    for element in root.iter():
        if (key := wanted.get(element.tag)) is not None:
            found[key] += _property_values(element)
        for tag, value in element.attrib.items():
            if (key := wanted.get(tag)) is not None:
                found[key].append(value.strip())
        if event_keys["action"] in element.attrib and len(history) < MAX_XMP_VALUES:
            history.append({key: printable(element.attrib.get(tag, "")) for key, tag in event_keys.items()})
    fields: dict = {
        key: list(dict.fromkeys(v for v in values if v))[:MAX_XMP_VALUES] for key, values in found.items()
    }
    fields = {key: value[0] if len(value) == 1 else value for key, value in fields.items() if value}
    if history:
        fields["History"] = history
    return fields


def _property_values(element) -> list[str]:
    values = [element.text.strip()] if element.text and element.text.strip() else []
    if resource := element.attrib.get(f"{{{RDF}}}resource"):
        values.append(resource.strip())
    for container in element:
        if container.tag in CONTAINERS:
            values += [item.text.strip() for item in container if item.text and item.text.strip()]
    return values


def generator_text(image: Image.Image, png_text: dict[str, str]) -> dict[str, str]:
    """Text written by image generators and their front-ends: PNG text chunks, JPEG comments and EXIF
    UserComment (where Stable Diffusion front-ends put their settings in JPEG and WebP) with the keys they
    use, or text that reads like their settings; the first 500 characters of each."""
    found: dict[str, str] = {}
    texts: dict = {
        key: value for key, value in image.info.items() if isinstance(value, (str, bytes)) and key != "xmp"
    }
    texts.update(png_text)  # the PNG's text chunks, those after the pixels too (read without decoding them)
    comment = image.getexif().get_ifd(ExifTags.IFD.Exif).get(USER_COMMENT)
    if isinstance(comment, bytes):
        texts["UserComment"] = user_comment(comment)
    for key, value in texts.items():
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        if key in GENERATOR_KEYS or (key in COMMENT_KEYS and any(word in text for word in GENERATOR_WORDS)):
            found[str(key)] = printable(text[:500])
    return found


MAX_TEXT_CHARS = 1 << 20  # a text chunk inflated to this at most


def png_texts(data: bytes) -> tuple[dict[str, str], list[str]]:
    """The PNG's tEXt, zTXt and iTXt chunks as {keyword: text} — those after the pixels too, read without
    decoding them — compressed ones inflated to MAX_TEXT_CHARS at most (the rest cut, and said)."""
    texts: dict[str, str] = {}
    notes: list[str] = []
    if data[:8] != PNG_SIGNATURE:
        return texts, notes
    for chunk in png_chunks(data):
        if chunk.kind not in ("tEXt", "zTXt", "iTXt"):
            continue
        keyword, _, rest = chunk.payload(data).partition(b"\0")
        name = keyword.decode("latin-1")
        if chunk.kind == "tEXt":
            text = rest.decode("latin-1")
        elif chunk.kind == "zTXt":
            text = _inflated(rest[1:], name, notes).decode("latin-1")
        else:
            compressed, body = rest[:1] == b"\1", rest[2:]
            _language, _, body = body.partition(b"\0")
            _translated, _, body = body.partition(b"\0")
            text = (_inflated(body, name, notes) if compressed else body).decode("utf-8", "replace")
        texts.setdefault(name, text)
    return texts, notes


def _inflated(compressed: bytes, name: str, notes: list[str]) -> bytes:
    inflater = zlib.decompressobj()
    try:
        text = inflater.decompress(compressed, MAX_TEXT_CHARS)
    except zlib.error as exc:
        notes.append(f"text chunk {printable(name)}: not inflated ({exc})")
        return b""
    if inflater.unconsumed_tail:
        notes.append(
            f"text chunk {printable(name)}: inflates beyond {MAX_TEXT_CHARS:,} bytes, the first read"
        )
    return text
