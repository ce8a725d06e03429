"""XMP, every packet the file holds (a JPEG's standard and Extended XMP, each PNG text chunk that carries
one, a WebP chunk, a GIF extension, a TIFF tag) and every `x:xmpmeta` in each, parsed without DTDs or
entities (defusedxml) and walked once: the fields an examiner asks about, merged in the file's order."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element

from defusedxml import ElementTree

from .metadata import printable

MAX_XMP_BYTES = 4 << 20  # a packet read at most this long
MAX_XMP_VALUES = 50  # values kept per XMP field (beyond it, only the IPTC digital source types' own names)
MAX_ROOTS = 16  # x:xmpmeta elements read per packet, at most
MAX_PACKETS = 256  # packets read per file, at most
# the IPTC digital source type vocabulary: a value named here is kept whatever the cap (it is bounded)
IPTC_SOURCE_TYPES = {
    "digitalCapture", "computationalCapture", "negativeFilm", "positiveFilm", "print", "humanEdits",
    "minorHumanEdits", "compositeCapture", "algorithmicallyEnhanced", "digitalCreation", "dataDrivenMedia",
    "digitalArt", "virtualRecording", "screenCapture", "composite", "compositeSynthetic",
    "trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia", "algorithmicMedia", "softwareImage",
}  # fmt: skip

NAMESPACES = {
    "Iptc4xmpExt": "http://iptc.org/std/Iptc4xmpExt/2008-02-29/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "xmpMM": "http://ns.adobe.com/xap/1.0/mm/",
    "stEvt": "http://ns.adobe.com/xap/1.0/sType/ResourceEvent#",
    "dcterms": "http://purl.org/dc/terms/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "exif": "http://ns.adobe.com/exif/1.0/",
    "photoshop": "http://ns.adobe.com/photoshop/1.0/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
}
XMP_FIELDS = {  # the provenance object's key: the XMP property
    "DigitalSourceType": ("Iptc4xmpExt", "DigitalSourceType"),
    "CreatorTool": ("xmp", "CreatorTool"),
    "DocumentID": ("xmpMM", "DocumentID"),
    "InstanceID": ("xmpMM", "InstanceID"),
    "provenance": ("dcterms", "provenance"),
    "UserComment": ("exif", "UserComment"),
    "description": ("dc", "description"),
}
RDF = NAMESPACES["rdf"]
CONTAINERS = {f"{{{RDF}}}{kind}" for kind in ("Bag", "Seq", "Alt")}
RESOURCE, VALUE, DESCRIPTION = f"{{{RDF}}}resource", f"{{{RDF}}}value", f"{{{RDF}}}Description"
XMPMETA_OPEN, XMPMETA_CLOSE = b"<x:xmpmeta", b"</x:xmpmeta>"
UTF16 = {b"\xff\xfe": "utf-16", b"\xfe\xff": "utf-16", b"<\0": "utf-16-le", b"\0<": "utf-16-be"}


@dataclass
class Packet:
    where: str  # e.g. "JPEG APP1 at byte 20", "PNG iTXt XML:com.adobe.xmp"
    data: bytes


@dataclass
class XmpReading:
    fields: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # a packet not read, a cap hit
    packets: list[str] = field(default_factory=list)  # where each packet read is


def read_xmp(packets: list[Packet]) -> XmpReading:
    """The fields of every packet, merged in order (each value once), what could not be read, and where the
    packets are."""
    reading = XmpReading()
    found: dict[str, list[str]] = {key: [] for key in XMP_FIELDS}
    history: list[dict[str, str]] = []
    if len(packets) > MAX_PACKETS:
        reading.problems.append(f"XMP: {len(packets):,} packets, the first {MAX_PACKETS} read")
    for packet in packets[:MAX_PACKETS]:
        if len(packet.data) > MAX_XMP_BYTES:
            reading.problems.append(
                f"XMP ({packet.where}) of {len(packet.data):,} bytes: not read (more than {MAX_XMP_BYTES:,})"
            )
            continue
        roots = _roots(packet.data)
        if len(roots) > MAX_ROOTS:
            reading.problems.append(f"XMP ({packet.where}): over {MAX_ROOTS} x:xmpmeta, {MAX_ROOTS} read")
        for body in roots[:MAX_ROOTS]:
            try:
                root = ElementTree.fromstring(body, forbid_dtd=True)
            except Exception as exc:  # defusedxml's refusals (entities, DTD) and malformed XML alike
                reason = f"{type(exc).__name__}: {printable(str(exc))[:120]}"
                reading.problems.append(f"XMP could not be read ({reason}; {packet.where})")
                continue
            _walk(root, found, history)
        reading.packets.append(packet.where)
    reading.fields = _kept(found, reading.problems)
    if history:
        reading.fields["History"] = history[:MAX_XMP_VALUES]
        if len(history) > MAX_XMP_VALUES:
            reading.problems.append(f"XMP History: {len(history):,} events, the first {MAX_XMP_VALUES} kept")
    return reading


def _roots(raw: bytes) -> list[bytes]:
    """Each x:xmpmeta element of a packet (UTF-16 read as such), or the packet itself when it has none."""
    if (encoding := UTF16.get(raw[:2])) is not None:
        raw = raw.decode(encoding, "replace").encode("utf-8")
        if raw.startswith(b"<?xml"):  # its encoding is no longer the one it names
            raw = raw[raw.find(b"?>") + 2 :]
    roots: list[bytes] = []
    at = raw.find(XMPMETA_OPEN)
    while at >= 0 and len(roots) <= MAX_ROOTS:
        end = raw.find(XMPMETA_CLOSE, at)
        if end < 0:
            break
        roots.append(raw[at : end + len(XMPMETA_CLOSE)])
        at = raw.find(XMPMETA_OPEN, end)
    return roots or [raw.strip(b"\0 \n\r\t")]


def _walk(root: Element, found: dict[str, list[str]], history: list[dict[str, str]]) -> None:
    """The fields, in one walk of the tree (each element looked at once, with its children and theirs: a
    property's value is its text, its rdf:resource or rdf:value, or every item of the Bag, Seq or Alt it
    holds)."""
    wanted = {f"{{{NAMESPACES[prefix]}}}{name}": key for key, (prefix, name) in XMP_FIELDS.items()}
    event_keys = {key: f"{{{NAMESPACES['stEvt']}}}{key}" for key in ("action", "softwareAgent", "when")}
    for element in root.iter():
        if (key := wanted.get(element.tag)) is not None:
            found[key] += _property_values(element)
        for tag, value in element.attrib.items():
            if (key := wanted.get(tag)) is not None:
                found[key].append(value.strip())
        if event_keys["action"] in element.attrib and len(history) <= MAX_XMP_VALUES:
            history.append({key: printable(element.attrib.get(tag, "")) for key, tag in event_keys.items()})


def _property_values(element: Element) -> list[str]:
    values = _node_values(element)
    for child in element:
        if child.tag in CONTAINERS:
            values += [value for item in child for value in _node_values(item)]
    return values


def _node_values(node: Element) -> list[str]:
    """A node's own value: its text, rdf:resource or rdf:value attribute, or an rdf:value child (its own, or
    an rdf:Description's: rdf:parseType="Resource")."""
    values = [node.text.strip()] if node.text and node.text.strip() else []
    values += [node.attrib[name].strip() for name in (RESOURCE, VALUE) if name in node.attrib]
    for child in node:
        if child.tag == VALUE and child.text and child.text.strip():
            values.append(child.text.strip())
        elif child.tag == DESCRIPTION:
            values += [v.text.strip() for v in child if v.tag == VALUE and v.text and v.text.strip()]
            values += [child.attrib[VALUE].strip()] if VALUE in child.attrib else []
    return values


def _kept(found: dict[str, list[str]], problems: list[str]) -> dict[str, Any]:
    """Each field's distinct values, at most MAX_XMP_VALUES (but every IPTC digital source type's own name,
    a bounded vocabulary), a cut said; one value as itself, several as a list."""
    fields: dict[str, Any] = {}
    for key, values in found.items():
        distinct = list(dict.fromkeys(value for value in values if value))
        kept = distinct[:MAX_XMP_VALUES]
        if len(distinct) > MAX_XMP_VALUES:
            if key == "DigitalSourceType":
                kept += [v for v in distinct[MAX_XMP_VALUES:] if _source_name(v) in IPTC_SOURCE_TYPES]
            problems.append(
                f"XMP {key}: {len(distinct):,} values, the first {MAX_XMP_VALUES} kept"
                + (" (and every IPTC source type among the rest)" if key == "DigitalSourceType" else "")
            )
        if kept:
            fields[key] = kept[0] if len(kept) == 1 else kept
    return fields


def _source_name(value: str) -> str:
    return value.rstrip("/").rsplit("/", 1)[-1]
