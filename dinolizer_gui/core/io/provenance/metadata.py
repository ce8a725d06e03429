"""EXIF in full (every IFD, GPS included; a MakerNote noted, not decoded), the EXIF thumbnail and how it
compares with the image, XMP (parsed without entity expansion) and text written by image generators."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from defusedxml import ElementTree
from PIL import ExifTags, Image, ImageOps

MAX_EXIF_ENTRIES = 2000
MAX_VALUE_CHARS = 300
MAX_XMP_BYTES = 4 << 20
MAX_THUMBNAIL_PIXELS = 2_000_000
THUMBNAIL_MATCH = (
    0.08  # mean |difference| of the two pictures at 32 x 32 grey, 0..1: at most this = the same picture
)
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
            table[f"{prefix}{'.' if prefix else ''}{name}"] = printable(value)
    return table, notes


@dataclass(frozen=True)
class ThumbnailCheck:
    present: bool
    matches: bool | None = None
    distance: float | None = None
    note: str = ""
    picture: Image.Image | None = None  # decoded, as oriented as the image (for the viewer and reports)

    def as_dict(self) -> dict:
        return {"present": self.present, "matches": self.matches, "distance": self.distance}


def thumbnail_check(image: Image.Image, data: bytes) -> ThumbnailCheck:
    """The EXIF thumbnail (IFD1), decoded within bounds, compared with the oriented image at its size."""
    exif = image.getexif()
    try:
        ifd1 = exif.get_ifd(ExifTags.IFD.IFD1)
    except Exception:
        ifd1 = {}
    offset, length = ifd1.get(0x0201), ifd1.get(0x0202)
    if not offset or not length:
        return ThumbnailCheck(False)
    blob = _thumbnail_bytes(data, int(offset), int(length))
    if blob is None:
        return ThumbnailCheck(True, note="the thumbnail's offset and length point outside the EXIF data")
    try:
        with Image.open(io.BytesIO(blob)) as thumbnail:
            if thumbnail.width * thumbnail.height > MAX_THUMBNAIL_PIXELS:
                return ThumbnailCheck(
                    True, note=f"a thumbnail of {thumbnail.width} x {thumbnail.height}: not decoded"
                )
            picture = _oriented(thumbnail.convert("RGB"), exif.get(0x0112, 1))
    except Exception as exc:  # not a JPEG, truncated: said
        return ThumbnailCheck(True, note=f"the thumbnail could not be decoded ({type(exc).__name__})")
    main = ImageOps.exif_transpose(image).convert("RGB")
    distance = round(_distance(main, picture), 4)
    return ThumbnailCheck(True, distance <= THUMBNAIL_MATCH, distance, picture=picture)


def _thumbnail_bytes(data: bytes, offset: int, length: int) -> bytes | None:
    """The thumbnail's bytes: offsets count from the TIFF header inside the APP1 Exif segment."""
    start = data.find(b"Exif\0\0")
    if start < 0:
        return None
    tiff = start + 6
    blob = data[tiff + offset : tiff + offset + length]
    return blob if len(blob) == length else None


ORIENTATIONS = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _oriented(picture: Image.Image, orientation: int) -> Image.Image:
    method = ORIENTATIONS.get(int(orientation))
    return picture.transpose(method) if method is not None else picture


def _distance(first: Image.Image, second: Image.Image) -> float:
    """Mean |difference| of the two pictures as 32 x 32 grey, each stretched to its own range (0..1)."""

    def grey(picture: Image.Image) -> np.ndarray:
        small = np.asarray(picture.convert("L").resize((32, 32), Image.Resampling.BOX), dtype=np.float32)
        low, high = small.min(), small.max()
        return (small - low) / max(high - low, 1.0)

    return float(np.abs(grey(first) - grey(second)).mean())


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


def _xmp_fields(root) -> dict:
    def values(prefix: str, name: str) -> list[str]:
        tag = f"{{{NAMESPACES[prefix]}}}{name}"
        found = [element.text.strip() for element in root.iter(tag) if element.text and element.text.strip()]
        found += [element.attrib[tag] for element in root.iter() if tag in element.attrib]
        found += [
            li.text.strip()
            for element in root.iter(tag)
            for li in element.iter()
            if li.text and li.text.strip()
        ]
        return list(dict.fromkeys(found))

    event_keys = {key: f"{{{NAMESPACES['stEvt']}}}{key}" for key in ("action", "softwareAgent", "when")}
    history = [
        {key: printable(event.attrib.get(tag, "")) for key, tag in event_keys.items()}
        for event in root.iter()
        if event_keys["action"] in event.attrib
    ]
    fields = {
        "DigitalSourceType": values("Iptc4xmpExt", "DigitalSourceType"),
        "CreatorTool": values("xmp", "CreatorTool"),
        "DocumentID": values("xmpMM", "DocumentID"),
        "InstanceID": values("xmpMM", "InstanceID"),
        "provenance": values("dcterms", "provenance"),
        "History": history,
    }
    return {key: value[0] if isinstance(value, list) and len(value) == 1 and key != "History" else value
            for key, value in fields.items() if value}  # fmt: skip


def generator_text(image: Image.Image, exif: dict[str, str]) -> dict[str, str]:
    """Text written by image generators and their front-ends: PNG/WebP text chunks and JPEG comments with the
    keys they use, or text that reads like their settings; the first 500 characters of each."""
    found: dict[str, str] = {}
    texts = {
        key: value for key, value in image.info.items() if isinstance(value, (str, bytes)) and key != "xmp"
    }
    texts.update(getattr(image, "text", {}) or {})
    if "Exif.UserComment" in exif:
        texts["UserComment"] = exif["Exif.UserComment"]
    for key, value in texts.items():
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        if key in GENERATOR_KEYS or (key in COMMENT_KEYS and any(word in text for word in GENERATOR_WORDS)):
            found[str(key)] = printable(text[:500])
    return found
