"""What a file says about itself, read offline and bounded: Content Credentials (valid, invalid, damaged…),
every digital source type declared and by whom, EXIF in full, the EXIF thumbnail against the image, generator
text, the JPEG's structure, and hedged sentences saying what was found and what it does not prove.

Never writes to the file, never fetches anything, never runs anything in it; each part that cannot be read
says why, and the others are read all the same. docs/provenance.md is the manual; `summaries` says what a
reading means in words.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from PIL import Image, UnidentifiedImageError

from ..images import ImageLoadError, read_regular_file
from ..names import for_terminal
from .claims import source_name
from .containers import PNG_SIGNATURE, png_chunks
from .credentials import credentials_result, read_credentials
from .jpeg import jpeg_facts
from .metadata import DATE_TAGS, exif_damage, exif_of, exif_table, exif_texts, exif_xmp, printable
from .parts import WALKED, FileParts, file_parts
from .summaries import Provenance, indications
from .texts import generator_text
from .thumbnail import ThumbnailCheck, thumbnail_check
from .trust_list import TrustList, c2pa_trust_list
from .xmp import Packet, XmpReading, read_xmp

MAX_BYTES = 1 << 30  # a file read for its metadata at most this far
READER_VERSION = 3  # what a stored reading was made by: older readings are read again
T = TypeVar("T")


def reading_key() -> str:
    """What a stored reading depends on besides the file and the user's anchors: this reader and the trust
    list (its issue, and whether it has gone stale)."""
    listed = c2pa_trust_list()
    return f"provenance reader {READER_VERSION}; {listed.name} {listed.issued}; stale {listed.stale()}"


class FileNotRead(OSError):
    """A file that could not be read for its provenance, and why (missing, a folder, a pipe, too large)."""


def read_file(path: Path | str) -> bytes:
    """The file's bytes for its metadata: only from a regular file (a pipe, device or socket is refused
    without waiting on it), at most MAX_BYTES; FileNotRead saying why otherwise."""
    try:
        return read_regular_file(Path(path), MAX_BYTES)
    except ImageLoadError as exc:
        raise FileNotRead(exc.reason) from None


def read_provenance(path: Path | str, anchors: str = "") -> Provenance:
    """The provenance object of one file (docs/provenance.md); `anchors`: the user's own PEM trust anchors,
    added to the C2PA trust list."""
    return read_with_thumbnail(path, anchors)[0]


def read_with_thumbnail(path: Path | str, anchors: str = "") -> tuple[Provenance, Image.Image | None]:
    """The provenance object, and the EXIF thumbnail decoded and oriented as the image (None: none, or not
    decodable) for the viewer and the reports to show beside the image."""
    return provenance_from_bytes(read_file(path), anchors)


def provenance_from_bytes(
    data: bytes, anchors: str = "", trust_list: TrustList | None = None
) -> tuple[Provenance, Image.Image | None]:
    """The provenance object of a file's bytes and its EXIF thumbnail; `trust_list`: the shipped C2PA trust
    list when None. Every text in it is printable: characters that do not print as themselves escaped."""
    problems: list[str] = []
    parts = _guarded(lambda: file_parts(data), FileParts(), "the file's structure", problems)
    problems += parts.notes
    image = _opened(data, problems)
    file_format = (image.format or parts.format) if image is not None else parts.format
    if image is not None and parts.format not in WALKED:
        _from_pillow(image, parts)
    exif, thumbnail, exif_text = _exif_parts(parts, data, problems)
    xmp = _guarded(lambda: read_xmp(parts.xmp), XmpReading(), "XMP", problems)
    problems += xmp.problems
    texts = parts.texts + exif_text + [(f"XMP {key}", value) for key, value in _xmp_texts(xmp.fields)]
    nothing: tuple[dict[str, str], list[str]] = ({}, [])
    generated, notes = _guarded(lambda: generator_text(texts), nothing, "generator text", problems)
    problems += notes
    jpeg = _jpeg(data, image, problems) if data[:2] == b"\xff\xd8" else None
    if image is not None:
        image.close()
    unread = credentials_result("error", "the Content Credentials could not be read (see the problems)")
    credentials = _guarded(
        lambda: read_credentials(data, anchors, trust_list, file_format),
        unread,
        "Content Credentials",
        problems,
    )
    c2pa = _with_xmp_reference(credentials, xmp.fields)
    provenance = {
        "c2pa": c2pa,
        "digital_source_types": c2pa["declarations"] + _xmp_declarations(xmp.fields),
        "exif": exif,
        "dates": {tag: exif[key] for tag in DATE_TAGS for key in (tag, f"Exif.{tag}") if key in exif},
        "xmp": xmp.fields,
        "xmp_packets": xmp.packets,
        "thumbnail": thumbnail.as_dict() if thumbnail is not None else None,
        "generator_text": generated or None,
        "jpeg": jpeg,
        "problems": problems,
    }
    provenance["indications"] = indications(provenance, thumbnail.note if thumbnail else "")
    return _shown(provenance), thumbnail.picture if thumbnail is not None else None


def _from_pillow(image: Image.Image, parts: FileParts) -> None:
    """The EXIF and XMP Pillow found in a format whose container this reader does not walk (HEIF, AVIF…)."""
    exif, xmp = image.info.get("exif"), image.info.get("xmp")
    if isinstance(exif, bytes) and not parts.exif:
        parts.exif = exif[6:] if exif[:6] == b"Exif\0\0" else exif
    if isinstance(xmp, (bytes, str)) and not parts.xmp:
        parts.xmp.append(Packet(f"{image.format} XMP", xmp.encode() if isinstance(xmp, str) else xmp))


def _exif_parts(
    parts: FileParts, data: bytes, problems: list[str]
) -> tuple[dict[str, str], ThumbnailCheck | None, list[tuple[str, str]]]:
    """EXIF, the thumbnail's check and the EXIF's text fields, from the EXIF block itself; the XMP its IFD0
    holds (a TIFF's, or an EXIF block written the TIFF way) joins the file's XMP packets."""
    if not parts.exif:
        return {}, None, []
    exif_data = _guarded(lambda: exif_of(parts.exif), None, "EXIF", problems)
    problems += _guarded(lambda: exif_damage(parts.exif), [], "EXIF", problems)
    if exif_data is None:
        return {}, None, []
    nothing: tuple[dict[str, str], list[str]] = ({}, [])
    exif, notes = _guarded(lambda: exif_table(exif_data), nothing, "EXIF", problems)
    problems += notes
    thumbnail = _guarded(lambda: thumbnail_check(exif_data, parts.exif, data), None, "thumbnail", problems)
    no_texts: list[tuple[str, str]] = []
    texts = _guarded(lambda: exif_texts(exif_data), no_texts, "EXIF", problems)
    if packet := _guarded(lambda: exif_xmp(exif_data), b"", "EXIF", problems):
        parts.xmp.append(Packet("the EXIF's XMLPacket tag", packet))
    return exif, thumbnail, texts


def _xmp_texts(fields: dict[str, Any]) -> list[tuple[str, str]]:
    """The XMP's text fields generators write into (CreatorTool, exif:UserComment, dc:description)."""
    texts = []
    for key in ("CreatorTool", "UserComment", "description"):
        value = fields.get(key)
        texts += [(key, item) for item in ([value] if isinstance(value, str) else value or [])]
    return texts


def _jpeg(data: bytes, image: Image.Image | None, problems: list[str]) -> dict[str, Any] | None:
    facts = _guarded(lambda: jpeg_facts(data), None, "JPEG structure", problems)
    if facts is None:
        return None
    problems += facts.notes
    described = facts.as_dict()
    profile = image.info.get("icc_profile") if image is not None else None
    described["icc_profile"] = _guarded(lambda: icc_name(profile), None, "ICC", problems)
    return described


def icc_name(profile: bytes | None) -> str | None:
    """The ICC profile's description (e.g. "sRGB IEC61966-2.1"), None without one."""
    if not profile:
        return None
    from PIL import ImageCms

    return printable(ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(profile))).strip())


PNG_TEXT_CHUNKS = ("tEXt", "zTXt", "iTXt")


def _is_png(data: bytes) -> bool:
    return data[:8] == PNG_SIGNATURE


def _opened(data: bytes, problems: list[str]) -> Image.Image | None:
    """The picture opened (nothing decoded yet): whether Pillow can, and the JPEG's ICC profile; a PNG whose
    text chunks inflate beyond Pillow's limits is opened again without them; a file Pillow cannot open is
    said (None), and what does not need it (everything but the ICC profile) is read all the same."""
    try:
        return Image.open(io.BytesIO(data))
    except ValueError as exc:
        if not _is_png(data):
            problems.append(f"the picture could not be opened ({printable(str(exc))[:160]})")
            return None
        problems.append(f"the picture opened again without its text chunks ({printable(str(exc))[:120]})")
        kept = [
            data[:8],
            *(data[c.start : c.end + 4] for c in png_chunks(data) if c.kind not in PNG_TEXT_CHUNKS),
        ]
        return _opened(b"".join(kept), problems)
    except UnidentifiedImageError:
        problems.append("the picture could not be opened (not in a format Pillow knows, or damaged)")
    except Exception as exc:  # a decompression bomb, a damaged header
        problems.append(
            f"the picture could not be opened ({type(exc).__name__}: {printable(str(exc))[:160]})"
        )
    return None


def _shown(value: Any) -> Any:
    """Every text in the object, keys too, with the characters that do not print as themselves escaped (as
    the terminal shows them): a signer's name, a claim generator, an XMP field can hold C1 controls or
    bidirectional overrides."""
    if isinstance(value, str):
        return for_terminal(value)
    if isinstance(value, dict):
        return {_shown(key): _shown(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shown(item) for item in value]
    return value


def unreadable(reason: str) -> Provenance:
    """The provenance object of a file that could not be read for it: every part empty, and why."""
    return {
        "c2pa": credentials_result("error", reason),
        "digital_source_types": [],
        "exif": {},
        "dates": {},
        "xmp": {},
        "xmp_packets": [],
        "thumbnail": None,
        "generator_text": None,
        "jpeg": None,
        "problems": [reason],
        "indications": [],
    }


def _guarded(read: Callable[[], T], fallback: T, part: str, problems: list[str]) -> T:
    """One part of the reading: a part that fails (a hostile or damaged file) is said, the rest goes on."""
    try:
        return read()
    except (MemoryError, RecursionError) as exc:
        problems.append(f"{part}: not read ({type(exc).__name__}: the file asks for too much)")
    except Exception as exc:
        problems.append(f"{part}: not read ({type(exc).__name__}: {printable(str(exc))[:160]})")
    return fallback


def _with_xmp_reference(c2pa: dict[str, Any], xmp: dict[str, Any]) -> dict[str, Any]:
    """A file without an embedded manifest whose XMP points to one (dcterms:provenance) is `remote`."""
    reference = xmp.get("provenance")
    if c2pa["state"] != "none" or not reference:
        return c2pa
    url = reference if isinstance(reference, str) else reference[0]
    return credentials_result(
        "remote", f"the file points to Content Credentials at {url}; not fetched (the app is offline)"
    )


def _xmp_declarations(xmp: dict[str, Any]) -> list[dict[str, Any]]:
    """Every IPTC digital source type the XMP declares (each value of a Bag or Seq, in every packet):
    unsigned."""
    values = xmp.get("DigitalSourceType") or []
    values = [values] if isinstance(values, str) else values
    where = "Iptc4xmpExt:DigitalSourceType"
    return [
        {"value": source_name(value), "from": "xmp", "where": where, "signed": False, "state": None}
        for value in values
    ]


def provenance_of(path: Path | str, anchors: str = "") -> Provenance:
    """The provenance object, or the one that says why the file could not be read for it."""
    try:
        return read_provenance(path, anchors)
    except (OSError, ValueError) as exc:
        return unreadable(f"the file could not be read for its provenance: {exc}")
