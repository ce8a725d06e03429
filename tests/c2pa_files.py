"""Real Content Credentials for tests: files signed with c2pa-python's builder and a chain made on the spot
(dinolizer_gui.core.io.provenance.signing, which the self-test uses too), copies changed after signing, edits
whose ingredient is a signed parent, and EXIF blocks with a thumbnail, made byte by byte."""

from __future__ import annotations

import struct
from pathlib import Path

from dinolizer_gui.core.io.provenance.credentials import import_c2pa
from dinolizer_gui.core.io.provenance.signing import AI_MADE, Chain, edit_of, make_chain, manifest, sign

__all__ = [
    "AI_MADE",
    "Chain",
    "change_pixels_after_signing",
    "edit_of",
    "exif_with_thumbnail",
    "make_chain",
    "sign",
    "sign_manifest",
    "source_type",
]

MIME = {".jpg": "image/jpeg", ".png": "image/png", ".webp": "image/webp"}


def source_type(name: str) -> str:
    return f"http://cv.iptc.org/newscodes/digitalsourcetype/{name}"


def change_pixels_after_signing(signed: Path, target: Path) -> Path:
    """A copy of a signed JPEG with one byte of its image data changed (its manifest kept as it was)."""
    data = bytearray(signed.read_bytes())
    end = data.rfind(b"\xff\xd9")
    data[end - 40] ^= 0x10  # inside the last scan's entropy-coded data
    target.write_bytes(bytes(data))
    return target


def sign_manifest(
    source: Path,
    target: Path,
    chain: Chain,
    actions: list[dict] | None = None,
    parent: Path | None = None,
    filler: int = 0,
) -> Path:
    """Sign `source` (JPEG, PNG or WebP, by its suffix) with these actions; with `parent`, a signed file
    opened as its ingredient; with `filler`, an extra assertion of that many bytes (a store larger than one
    JPEG segment holds)."""
    c2pa = import_c2pa()
    signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(b"es256", chain.chain_pem, chain.key_pem, None))
    document = manifest(None)
    created = {"action": "c2pa.created", "digitalSourceType": AI_MADE}
    document["assertions"][0]["data"]["actions"] = actions or [created]
    if filler:
        document["assertions"].append({"label": "org.example.filler", "data": {"filler": "x" * filler}})
    with c2pa.Builder(document) as builder:
        if parent is not None:
            with open(parent, "rb") as ingredient:
                builder.add_ingredient(
                    {"title": parent.name, "relationship": "parentOf", "label": "parent"},
                    MIME[parent.suffix],
                    ingredient,
                )
        with open(source, "rb") as src, open(target, "wb") as dst:
            builder.sign(signer, MIME[source.suffix], src, dst)
    return target


def exif_with_thumbnail(thumbnail: bytes, make: str = "Canon") -> bytes:
    """An EXIF (TIFF, little-endian) block: IFD0 with Make, then IFD1 pointing at `thumbnail` (a JPEG) by
    offset and length counted from the TIFF header, as cameras write it."""
    text = make.encode() + b"\0"
    ifd0 = 8
    make_at = ifd0 + 2 + 12 + 4
    ifd1 = make_at + len(text) + len(text) % 2
    picture = ifd1 + 2 + 3 * 12 + 4
    entries0 = struct.pack("<HHII", 0x010F, 2, len(text), make_at)
    block = b"II*\0" + struct.pack("<I", ifd0) + struct.pack("<H", 1) + entries0 + struct.pack("<I", ifd1)
    block += text + b"\0" * (len(text) % 2)
    entries1 = struct.pack("<HHII", 0x0103, 3, 1, 6)  # Compression: JPEG
    entries1 += struct.pack("<HHII", 0x0201, 4, 1, picture)  # JPEGInterchangeFormat
    entries1 += struct.pack("<HHII", 0x0202, 4, 1, len(thumbnail))  # JPEGInterchangeFormatLength
    block += struct.pack("<H", 3) + entries1 + struct.pack("<I", 0)
    assert len(block) == picture
    return block + thumbnail
