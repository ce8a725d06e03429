"""The metadata a file carries, found by walking its container — not through a picture Pillow opened, so one
changed byte that stops the picture opening (a chunk's CRC, a frame header) hides none of it: the EXIF
block, every XMP packet, every text (PNG text chunks, JPEG and GIF comments), and the file's format."""

from __future__ import annotations

from dataclasses import dataclass, field

from .containers import (
    JPEG_SOI,
    PNG_SIGNATURE,
    gif_blocks,
    gif_sub_blocks,
    jpeg_layout,
    png_chunks,
    riff_chunks,
)
from .iso_metadata import Metadata, iso_metadata, jxl_metadata
from .texts import XMP_KEYWORD, png_texts
from .xmp import MAX_XMP_BYTES, Packet

XMP_ID = b"http://ns.adobe.com/xap/1.0/\0"
PHOTOSHOP_ID = b"Photoshop 3.0\0"
EXTENDED_XMP_ID = b"http://ns.adobe.com/xmp/extension/\0"
MAX_EXTENDED = 16  # Extended XMP packets (GUIDs) put together at most
MAX_PACKETS = 64  # resources of a Photoshop block, or datasets of an IPTC block, read at most
XMP_RESOURCE, IIM_RESOURCE = 0x0424, 0x0404  # Photoshop image resources: XMP, IPTC IIM
IIM_NAMES = {5: "ObjectName", 25: "Keywords", 40: "SpecialInstructions", 65: "OriginatingProgram",
             70: "ProgramVersion", 80: "By-line", 105: "Headline", 110: "Credit", 115: "Source",
             116: "CopyrightNotice", 120: "Caption-Abstract"}  # fmt: skip


@dataclass
class FileParts:
    format: str = ""  # "JPEG", "PNG", "WEBP", "GIF", "TIFF", "BMP", … ("" when not known)
    exif: bytes = b""  # the EXIF block's TIFF bytes
    xmp: list[Packet] = field(default_factory=list)
    texts: list[tuple[str, str]] = field(default_factory=list)  # text chunks and comments, not XMP
    notes: list[str] = field(default_factory=list)  # what could not be read, and why


def file_format(data: bytes) -> str:
    """The file's format by its first bytes ("" when it is none of those known here)."""
    if data[:2] == JPEG_SOI:
        return "JPEG"
    if data[:8] == PNG_SIGNATURE:
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if data[:4] in (b"II*\0", b"MM\0*"):
        return "TIFF"
    if data[:2] == b"BM":
        return "BMP"
    if data[4:8] == b"ftyp":
        return "ISO media (HEIF, AVIF, …)"
    if data[:2] == b"\xff\x0a" or data[4:8] == b"JXL ":
        return "JPEG XL"
    return ""


def file_parts(data: bytes) -> FileParts:
    """Every metadata part of the file, by its container; a container that cannot be walked to its end
    gives what lies before the damage, and says so."""
    parts = FileParts(file_format(data))
    reader = WALKED.get(parts.format)
    if reader is not None:
        try:
            reader(data, parts)
        except ValueError as exc:
            parts.notes.append(f"the file's metadata could not all be read ({exc})")
    return parts


def _jpeg(data: bytes, parts: FileParts) -> None:
    extended: dict[bytes, dict[int, bytes]] = {}
    comments = 0
    for segment in jpeg_layout(data, lenient=True).segments:
        payload = segment.payload(data)
        if segment.kind == "APP1" and payload[:6] == b"Exif\0\0" and not parts.exif:
            parts.exif = payload[6:]  # the first, as readers take it
        elif segment.kind == "APP1" and payload.startswith(XMP_ID):
            parts.xmp.append(Packet(f"JPEG APP1 at byte {segment.start:,}", payload[len(XMP_ID) :]))
        elif segment.kind == "APP1" and payload.startswith(EXTENDED_XMP_ID):
            chunk = payload[len(EXTENDED_XMP_ID) :]
            if len(extended) < MAX_EXTENDED or chunk[:32] in extended:
                extended.setdefault(chunk[:32], {})[int.from_bytes(chunk[36:40], "big")] = chunk[40:]
        elif segment.kind == "APP13" and payload.startswith(PHOTOSHOP_ID):
            where = f"JPEG APP13 Photoshop resource at byte {segment.start:,}"
            for kind, resource in _photoshop(payload[len(PHOTOSHOP_ID) :]):
                if kind == XMP_RESOURCE:
                    parts.xmp.append(Packet(where, resource))
                elif kind == IIM_RESOURCE:
                    parts.texts += iim_texts(resource)
        elif segment.kind == "COM":
            comments += 1
            parts.texts.append((f"Comment{f' {comments}' if comments > 1 else ''}", _text(payload)))
    for guid, pieces in extended.items():
        packet = b"".join(pieces[offset] for offset in sorted(pieces))
        where = f"JPEG Extended XMP {guid.decode('latin-1')!r}"
        parts.xmp.append(Packet(where, packet[: MAX_XMP_BYTES + 1]))


def _photoshop(resources: bytes) -> list[tuple[int, bytes]]:
    """(id, data) of each resource of a Photoshop image resource block, walked once (MAX_PACKETS at most):
    each resource is "8BIM", its id, a padded Pascal name, its size and its data, padded to an even
    length."""
    found: list[tuple[int, bytes]] = []
    position = 0
    while resources[position : position + 4] == b"8BIM" and len(found) < MAX_PACKETS:
        kind = int.from_bytes(resources[position + 4 : position + 6], "big")
        name = resources[position + 6] if position + 6 < len(resources) else 0
        at = position + 6 + name + 1 + (name + 1) % 2
        size = int.from_bytes(resources[at : at + 4], "big")
        found.append((kind, resources[at + 4 : at + 4 + size]))
        position = at + 4 + size + size % 2
    return found


def iim_texts(block: bytes) -> list[tuple[str, str]]:
    """The text datasets of an IPTC IIM block (the "IPTC" Photoshop resource), named as IPTC names them:
    each dataset is 0x1C, its record and number, its length (two bytes, or more when the first bit is set)
    and its data; UTF-8 when the block says so (1:90), else Latin-1."""
    texts: list[tuple[str, str]] = []
    position, utf8 = 0, False
    while position + 5 <= len(block) and block[position] == 0x1C and len(texts) < MAX_PACKETS:
        record, number = block[position + 1], block[position + 2]
        size, position = int.from_bytes(block[position + 3 : position + 5], "big"), position + 5
        if size & 0x8000:  # an extended length: its low bits count the bytes of the length that follow
            width = size & 0x7FFF
            size, position = int.from_bytes(block[position : position + width], "big"), position + width
        value = block[position : position + size]
        position += size
        utf8 = utf8 or (record, number, value) == (1, 90, b"\x1b%G")
        if record == 2 and number in IIM_NAMES:
            texts.append(
                (f"IPTC {IIM_NAMES[number]}", value.decode("utf-8" if utf8 else "latin-1", "replace"))
            )
    return texts


def _png(data: bytes, parts: FileParts) -> None:
    texts, parts.notes = png_texts(data)
    raw_exif = b""
    for keyword, text in texts:
        if keyword == XMP_KEYWORD:
            parts.xmp.append(Packet(f"PNG text chunk {XMP_KEYWORD}", text.encode("utf-8")))
        elif keyword == "Raw profile type xmp":
            parts.xmp.append(Packet("PNG text chunk Raw profile type xmp", _raw_profile(text)))
        elif keyword in ("Raw profile type exif", "Raw profile type APP1") and not raw_exif:
            raw_exif = _raw_profile(text)
            if (header := raw_exif.find(b"Exif\0\0", 0, 16)) >= 0:
                raw_exif = raw_exif[header + 6 :]
        else:
            parts.texts.append((keyword, text))
    exif = [chunk for chunk in png_chunks(data) if chunk.kind == "eXIf"]
    parts.exif = exif[0].payload(data) if exif else raw_exif  # Pillow's order: eXIf, else ImageMagick's


def _raw_profile(text: str) -> bytes:
    """An ImageMagick "Raw profile" text: a name line, the length, then the bytes in hex."""
    lines = text.strip().split("\n", 2)
    try:
        return bytes.fromhex("".join(lines[2].split())) if len(lines) == 3 else b""
    except ValueError:
        return b""


def _riff(data: bytes, parts: FileParts) -> None:
    for chunk in riff_chunks(data):
        payload = chunk.payload(data)
        if chunk.kind == "EXIF" and not parts.exif:
            parts.exif = payload[6:] if payload[:6] == b"Exif\0\0" else payload
        elif chunk.kind == "XMP ":
            parts.xmp.append(Packet(f"WebP XMP chunk at byte {chunk.start:,}", payload))


def _gif(data: bytes, parts: FileParts) -> None:
    for block in gif_blocks(data):
        if block.kind == "app:XMP DataXMP":  # the packet written raw, then a "magic trailer"
            where = f"GIF XMP extension at byte {block.start:,}"
            parts.xmp.append(Packet(where, data[block.body : block.end]))
        elif block.kind == "ext:fe":
            parts.texts.append(("Comment", _text(gif_sub_blocks(data, block)[0])))


def _tiff(data: bytes, parts: FileParts) -> None:
    parts.exif = data  # its first IFD's XMP tag is read with the EXIF's (as in any EXIF block)


def _iso(data: bytes, parts: FileParts) -> None:
    _metadata(iso_metadata(data), parts)


def _jxl(data: bytes, parts: FileParts) -> None:
    _metadata(jxl_metadata(data), parts)


def _metadata(found: Metadata, parts: FileParts) -> None:
    parts.exif = found.exif
    parts.xmp += [Packet(where, packet) for where, packet in found.xmp]
    parts.notes += found.notes


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


WALKED = {"JPEG": _jpeg, "PNG": _png, "WEBP": _riff, "GIF": _gif, "TIFF": _tiff,
          "ISO media (HEIF, AVIF, …)": _iso, "JPEG XL": _jxl}  # fmt: skip  # the containers walked here
