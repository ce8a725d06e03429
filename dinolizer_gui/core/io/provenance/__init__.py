"""What a file says about itself, read offline and bounded: Content Credentials (found, not yet validated),
the IPTC digital source type, EXIF in full, the EXIF thumbnail against the image, generator text, the JPEG's
structure, and hedged sentences saying what was found and what it does not prove.

Never writes to the file, never fetches anything, never runs anything in it; each part that cannot be read
says why, and the others are read all the same.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from .credentials import credentials_result, read_credentials
from .jpeg import jpeg_facts
from .metadata import DATE_TAGS, exif_table, generator_text, printable, thumbnail_check, xmp_facts

MAX_BYTES = 1 << 30  # the loader's own floor: a file read for its metadata at most this far
SOURCE_TYPE_PREFIX = "http://cv.iptc.org/newscodes/digitalsourcetype/"
# declarations that a generative model made or edited the image
AI_SOURCE_TYPES = {
    "trainedAlgorithmicMedia",
    "compositeWithTrainedAlgorithmicMedia",
    "algorithmicMedia",
    "compositeSynthetic",
}


def read_provenance(path: Path | str, anchors: str = "") -> dict:
    """The provenance object of one file (see the README's "What the file says about itself"); `anchors`:
    the PEM trust anchors the user configured (none: no signer is called trusted)."""
    return read_with_thumbnail(path, anchors)[0]


def read_with_thumbnail(path: Path | str, anchors: str = "") -> tuple[dict, Image.Image | None]:
    """The provenance object, and the EXIF thumbnail decoded and oriented as the image (None: none, or not
    decodable) for the viewer and the reports to show beside the image."""
    path = Path(path)
    with open(path, "rb") as handle:
        data = handle.read(MAX_BYTES)
    problems: list[str] = []
    with _opened(data, problems) as image:
        exif, notes = _guarded(lambda: exif_table(image), ({}, []), "EXIF", problems)
        problems += notes
        xmp, notes = _guarded(lambda: xmp_facts(image.info.get("xmp")), ({}, []), "XMP", problems)
        problems += notes
        thumbnail = _guarded(lambda: thumbnail_check(image, data), None, "thumbnail", problems)
        texts = _guarded(lambda: generator_text(image, exif), {}, "text chunks", problems)
        jpeg = (
            _guarded(lambda: jpeg_facts(data).as_dict(), None, "JPEG structure", problems)
            if data[:2] == b"\xff\xd8"
            else None
        )
        if jpeg is not None:
            jpeg["icc_profile"] = _guarded(
                lambda: icc_name(image.info.get("icc_profile")), None, "ICC", problems
            )
    c2pa = read_credentials(data, anchors)
    source_type = digital_source_type(xmp, c2pa)
    provenance = {
        "c2pa": c2pa,
        "digital_source_type": source_type,
        "exif": exif,
        "dates": {tag: exif[key] for tag in DATE_TAGS for key in (tag, f"Exif.{tag}") if key in exif},
        "xmp": xmp,
        "thumbnail": thumbnail.as_dict() if thumbnail is not None else None,
        "generator_text": texts or None,
        "jpeg": jpeg,
        "problems": problems,
    }
    provenance["indications"] = indications(provenance, thumbnail.note if thumbnail else "")
    return provenance, thumbnail.picture if thumbnail is not None else None


def icc_name(profile: bytes | None) -> str | None:
    """The ICC profile's description (e.g. "sRGB IEC61966-2.1"), None without one."""
    if not profile:
        return None
    from PIL import ImageCms

    return printable(ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(profile))).strip())


PNG_TEXT_CHUNKS = (b"tEXt", b"zTXt", b"iTXt")


def _opened(data: bytes, problems: list[str]) -> Image.Image:
    """The picture for its metadata; a PNG whose text chunk inflates beyond Pillow's limit is opened again
    without its text chunks (said), so that the rest is read."""
    try:
        return Image.open(io.BytesIO(data))
    except ValueError as exc:
        if data[:8] != b"\x89PNG\r\n\x1a\n":
            raise
        problems.append(f"text chunks: not read ({printable(str(exc))[:120]})")
        return Image.open(io.BytesIO(_without_png_chunks(data, PNG_TEXT_CHUNKS)))


def _without_png_chunks(data: bytes, kinds: tuple[bytes, ...]) -> bytes:
    kept, position = [data[:8]], 8
    while position + 8 <= len(data):
        length = int.from_bytes(data[position : position + 4], "big")
        end = position + 12 + length
        if data[position + 4 : position + 8] not in kinds:
            kept.append(data[position:end])
        position = end
    return b"".join(kept)


def unreadable(reason: str) -> dict:
    """The provenance object of a file that could not be read for it: every part empty, and why."""
    return {
        "c2pa": credentials_result("error", reason),
        "digital_source_type": None,
        "exif": {},
        "dates": {},
        "xmp": {},
        "thumbnail": None,
        "generator_text": None,
        "jpeg": None,
        "problems": [reason],
        "indications": [],
    }


def _guarded(read, fallback, part: str, problems: list[str]):
    """One part of the reading: a part that fails (a hostile or damaged file) is said, the rest goes on."""
    try:
        return read()
    except (MemoryError, RecursionError) as exc:
        problems.append(f"{part}: not read ({type(exc).__name__}: the file asks for too much)")
    except Exception as exc:
        problems.append(f"{part}: not read ({type(exc).__name__}: {printable(str(exc))[:160]})")
    return fallback


def digital_source_type(xmp: dict, c2pa: dict) -> dict | None:
    """The IPTC digital source type declared, named by the last segment of its URI: from the XMP, else from
    the Content Credentials' actions; saying where it came from."""
    value = xmp.get("DigitalSourceType")
    if isinstance(value, list):
        value = value[0] if value else None
    if value:
        return {
            "value": str(value).removeprefix(SOURCE_TYPE_PREFIX).rstrip("/").rsplit("/", 1)[-1],
            "from": "xmp",
        }
    declared = [action["digital_source_type"] for action in c2pa["actions"] if action["digital_source_type"]]
    return {"value": declared[0], "from": "c2pa"} if declared else None


SOURCE_TYPE_WORDS = {
    "trainedAlgorithmicMedia": "made by a trained algorithm (generative AI)",
    "compositeWithTrainedAlgorithmicMedia": "edited with generative AI (a composite with AI-made parts)",
    "algorithmicMedia": "made by an algorithm (not from a camera)",
    "digitalCapture": "captured by a camera",
}


def indications(provenance: dict, thumbnail_note: str) -> list[str]:
    """Short hedged sentences: what was found, and what it does not prove."""
    said = []
    c2pa = provenance["c2pa"]
    if c2pa["state"] == "none":
        said.append(
            "No Content Credentials: most cameras and editors write none — this is not evidence of "
            "manipulation."
        )
    else:
        said.append(c2pa["message"][0].upper() + c2pa["message"][1:] + ".")
    if (source := provenance["digital_source_type"]) is not None:
        kind = source["value"]
        meaning = SOURCE_TYPE_WORDS.get(kind, kind)
        where = "XMP declares" if source["from"] == "xmp" else "Content Credentials declare"
        said.append(f"The {where} the image {meaning} ({kind}): a declaration, not a proof either way.")
    thumbnail = provenance["thumbnail"]
    if thumbnail and thumbnail["matches"] is False:
        said.append(
            f"The EXIF thumbnail shows another picture than the image (distance {thumbnail['distance']}): "
            "the image was likely changed after the thumbnail was made, e.g. by an editor that kept the "
            "camera's."
        )
    if thumbnail_note:
        said.append(f"EXIF thumbnail: {thumbnail_note}.")
    if provenance["generator_text"]:
        keys = ", ".join(provenance["generator_text"])
        said.append(f"The file holds text image generators write ({keys}): likely made or edited by one.")
    jpeg = provenance["jpeg"]
    if jpeg and jpeg["trailing_bytes"]:
        said.append(
            f"{jpeg['trailing_bytes']:,} bytes follow the end of the JPEG image: data appended to the file, "
            "which viewers do not show."
        )
    if jpeg and jpeg["quality"] is not None and not jpeg["standard_tables"]:
        said.append(
            f"The JPEG tables are not the standard IJG ones (closest quality {jpeg['quality']}): an encoder "
            "of its own, e.g. a camera's or an editor's."
        )
    return said


def declares_ai(provenance: dict | None) -> bool:
    """Whether the file declares itself made or edited by generative AI (XMP or Content Credentials)."""
    source = (provenance or {}).get("digital_source_type") or {}
    return source.get("value") in AI_SOURCE_TYPES


@dataclass(frozen=True)
class ProvenanceSummary:
    """What the triage table says of a file's provenance."""

    c2pa: str  # the Content Credentials' state
    declares_ai: bool
    thumbnail_differs: bool

    @property
    def text(self) -> str:
        parts = [] if self.c2pa == "none" else [f"C2PA {C2PA_SHORT.get(self.c2pa, self.c2pa)}"]
        parts += ["declares AI"] * self.declares_ai + ["thumbnail differs"] * self.thumbnail_differs
        return ", ".join(parts)


C2PA_SHORT = {"valid": "valid", "invalid": "INVALID", "remote": "remote", "error": "unreadable"}


def summarise(provenance: dict) -> ProvenanceSummary:
    thumbnail = provenance.get("thumbnail") or {}
    return ProvenanceSummary(
        provenance["c2pa"]["state"], declares_ai(provenance), thumbnail.get("matches") is False
    )


def provenance_of(path: Path | str, anchors: str = "") -> dict:
    """The provenance object, or the one that says why the file could not be read for it."""
    try:
        return read_provenance(path, anchors)
    except (OSError, ValueError) as exc:
        return unreadable(f"the file could not be read for its provenance: {exc}")
