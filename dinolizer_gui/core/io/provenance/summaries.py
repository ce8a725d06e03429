"""What a provenance object says in words: hedged sentences on what was found and what it does not prove,
each declaration of how the image was made with who made it, and the few words the triage table shows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..names import with_article

Provenance = dict[str, Any]  # the object docs/provenance.md describes
# declarations that a generative model made or edited the image
AI_SOURCE_TYPES = {
    "trainedAlgorithmicMedia",
    "compositeWithTrainedAlgorithmicMedia",
    "algorithmicMedia",
    "compositeSynthetic",
}
_AI_NAMES = {source.lower() for source in AI_SOURCE_TYPES}  # as compared: case aside
SOURCE_TYPE_WORDS = {
    "trainedAlgorithmicMedia": "made by a trained algorithm — generative AI",
    "compositeWithTrainedAlgorithmicMedia": "edited with generative AI — a composite with AI-made parts",
    "algorithmicMedia": "made by an algorithm (not from a camera)",
    "digitalCapture": "captured by a camera",
}


def declaration_short(declared: dict[str, Any]) -> str:
    """A declaration in a few words: "trainedAlgorithmicMedia (signed: action c2pa.created, valid)"."""
    if declared["signed"]:
        return f"{declared['value']} (signed: {declared['where']}, {declared['state']} manifest)"
    if declared["from"] == "c2pa":
        return f"{declared['value']} (in {with_article(declared['state'])} manifest store, not verified)"
    return f"{declared['value']} (unsigned XMP)"


def declaration_text(declared: dict[str, Any]) -> str:
    """One declaration in words, saying who made it and how much it is worth."""
    kind = declared["value"]
    meaning = SOURCE_TYPE_WORDS.get(kind, kind)
    if declared["signed"]:
        return (
            f"The Content Credentials declare the image {meaning} ({kind}; {declared['where']}, in "
            f"{with_article(declared['state'])} manifest): signed by its maker, a declaration, not a proof "
            "either way."
        )
    if declared["from"] == "c2pa":
        return (
            f"The {declared['state']} Content Credentials' bytes declare the image {meaning} ({kind}): read "
            "from a manifest store that does not verify, so nothing vouches for it — a declaration, not a "
            "proof either way."
        )
    return (
        f"The XMP declares the image {meaning} ({kind}): unsigned, anyone can write it — a declaration, not "
        "a proof either way."
    )


def indications(provenance: Provenance, thumbnail_note: str) -> list[str]:
    """Short hedged sentences: what was found, and what it does not prove."""
    said = []
    c2pa = provenance["c2pa"]
    if c2pa["message"] == "no Content Credentials in the file":
        said.append(
            "No Content Credentials: most cameras and editors write none — this is not evidence of "
            "manipulation."
        )
    elif c2pa["state"] == "none":
        said.append(
            f"{c2pa['message'][0].upper()}{c2pa['message'][1:]} — this is not evidence of manipulation."
        )
    else:
        said.append(c2pa["message"][0].upper() + c2pa["message"][1:] + ".")
    said += [declaration_text(declared) for declared in provenance["digital_source_types"]]
    if len(packets := provenance.get("xmp_packets") or []) > 1:
        said.append(
            f"The file holds {len(packets)} XMP packets ({'; '.join(packets)}): every one was read; a reader "
            "that keeps one shows only part of what the file says."
        )
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
    said += _jpeg_indications(provenance["jpeg"])
    return said


def _jpeg_indications(jpeg: dict[str, Any] | None) -> list[str]:
    said = []
    if jpeg and jpeg["mpf_images"]:
        listed = "; ".join(
            f"{image['type']}, {image.get('width')} x {image.get('height')} pixels, {image['size']:,} bytes "
            f"at byte {image['offset']:,}"
            for image in jpeg["mpf_images"]
        )
        said.append(
            f"The JPEG's multi-picture (MPF) index lists {len(jpeg['mpf_images'])} more image(s) after the "
            f"picture ({listed}). The index is written by the file itself, and anyone can write one: phones "
            "list their depth and gain maps so, but the listed images may as well be anything added to "
            "the file later and declared by whoever added it; viewers do not show them."
        )
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


def declares_ai(provenance: Provenance | None) -> bool:
    """Whether any declaration — signed or not — says a generative model made or edited the image."""
    declared = (provenance or {}).get("digital_source_types") or []
    return any(is_ai_source(item.get("value")) for item in declared)


def is_ai_source(value: object) -> bool:
    """Whether a declared source type names AI, its case and surrounding space aside (and a URI's path): a
    declaration written "TrainedAlgorithmicMedia " is still a declaration of AI."""
    name = str(value).strip().rstrip("/").rsplit("/", 1)[-1].strip().lower()
    return name in _AI_NAMES


@dataclass(frozen=True)
class ProvenanceSummary:
    """What the triage table says of a file's provenance."""

    c2pa: str  # the Content Credentials' state
    declares_ai: bool
    thumbnail_differs: bool
    partly_checked: bool = False  # something of the credentials could not be checked (their NOT CHECKED)

    @property
    def text(self) -> str:
        state = C2PA_SHORT.get(self.c2pa, self.c2pa) + (" (not all checked)" if self.partly_checked else "")
        parts = [] if self.c2pa == "none" else [f"C2PA {state}"]
        parts += ["declares AI"] * self.declares_ai + ["thumbnail differs"] * self.thumbnail_differs
        return ", ".join(parts)


C2PA_SHORT = {"valid": "valid", "invalid": "INVALID", "damaged": "DAMAGED", "remote": "remote",
              "error": "unreadable"}  # fmt: skip


def summarise(provenance: Provenance) -> ProvenanceSummary:
    """What the triage table says of a provenance object."""
    thumbnail = provenance.get("thumbnail") or {}
    c2pa = provenance["c2pa"]
    return ProvenanceSummary(
        c2pa["state"], declares_ai(provenance), thumbnail.get("matches") is False, bool(c2pa.get("unchecked"))
    )
