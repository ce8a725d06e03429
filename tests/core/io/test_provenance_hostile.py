"""What a second hostile round found the file's own evidence saying untruly (issue 29, round two), one test
per class, on files signed here with c2pa-python's builder (JPEG, PNG, WebP, TIFF, GIF, AVIF) and then changed
byte by byte as an attacker would: a label in an EXIF string taken for a damaged store, a parent manifest
changed inside a signed edit and still valid, bytes no signature covers changed and still valid, a forged
signature still naming its signer, AI declared where the reader did not look, generator text missed, a night
picture's thumbnail misjudged, text chunks and scans that lock the reader out, an MPF index that hides
appended data, raw control characters, and a damaged store that loses its AI declaration."""

import io
import json
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from dinolizer_gui.core.io.provenance import provenance_from_bytes, read_provenance, signing
from dinolizer_gui.core.io.provenance.containers import jpeg_layout
from dinolizer_gui.core.io.provenance.credentials import import_c2pa
from dinolizer_gui.core.io.provenance.summaries import declares_ai, summarise
from dinolizer_gui.core.io.provenance.trust_list import trust_anchors
from tests import factories
from tests.cli_run import run_process

ROOT = Path(__file__).resolve().parents[3]
AI = factories.source_type("trainedAlgorithmicMedia")
CAPTURE = factories.source_type("digitalCapture")
MIMES = {".jpg": "image/jpeg", ".png": "image/png", ".webp": "image/webp", ".tif": "image/tiff",
         ".gif": "image/gif", ".avif": "image/avif"}  # fmt: skip
XMP_NS = (
    'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
    'xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"'
)


def _picture(size=(64, 48), seed=0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray((rng.random((size[1], size[0], 3)) * 255).astype(np.uint8))


def _saved(picture: Image.Image, fmt: str, **save) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, fmt, **save)
    return buffer.getvalue()


def _document(actions=None, extra=(), templates=None) -> dict:
    document = signing.manifest(None)
    data = document["assertions"][0]["data"]
    data["actions"] = actions or [{"action": "c2pa.created", "digitalSourceType": AI}]
    if templates:
        data["templates"] = templates
    document["assertions"] += list(extra)
    return document


def _sign(source: Path, target: Path, chain, document: dict) -> bytes:
    c2pa = import_c2pa()
    signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(b"es256", chain.chain_pem, chain.key_pem, None))
    with c2pa.Builder(document) as builder, open(source, "rb") as src, open(target, "wb") as dst:
        builder.sign(signer, MIMES[source.suffix], src, dst)
    return target.read_bytes()


@pytest.fixture(scope="module")
def chain():
    return signing.make_chain()


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("hostile")


@pytest.fixture(scope="module")
def signed_jpeg(folder, chain) -> bytes:
    _picture().save(folder / "plain.jpg", quality=90)
    return _sign(folder / "plain.jpg", folder / "signed.jpg", chain, _document())


def _read(data: bytes, anchors: str = "") -> dict:
    return provenance_from_bytes(data, anchors)[0]


# --- the manifest store of a signed JPEG, edited without changing its length (test helpers) ----------------


def _app11(data: bytes) -> list:
    return [segment for segment in jpeg_layout(data).segments if segment.kind == "APP11"]


def _store(data: bytes) -> bytes:
    payloads = [segment.payload(data) for segment in _app11(data)]
    return payloads[0][8:] + b"".join(payload[16:] for payload in payloads[1:])


def _with_store(data: bytes, store: bytes) -> bytes:
    """The file with its store replaced by one of the same length, spread over the same APP11 segments."""
    changed, taken = bytearray(data), 0
    for index, segment in enumerate(_app11(data)):
        head = 8 if index == 0 else 16
        size = segment.end - segment.body - head
        changed[segment.body + head : segment.end] = store[taken : taken + size]
        taken += size
    assert taken == len(store)
    return bytes(changed)


def _tree(store: bytes, start: int = 0, end: int | None = None) -> list:
    """JUMBF boxes as [type, content]: a superbox's content is its boxes, any other's its bytes."""
    boxes, position, end = [], start, len(store) if end is None else end
    while position < end:
        length, kind = (
            int.from_bytes(store[position : position + 4], "big"),
            store[position + 4 : position + 8],
        )
        inside = _tree(store, position + 8, position + length) if kind == b"jumb" else None
        boxes.append([kind, inside if inside is not None else store[position + 8 : position + length]])
        position += length
    return boxes


def _bytes(boxes: list) -> bytes:
    out = b""
    for kind, content in boxes:
        body = _bytes(content) if kind == b"jumb" else content
        out += (8 + len(body)).to_bytes(4, "big") + kind + body
    return out


def _box(boxes: list, label: str) -> list:
    """The superbox of this label (the last one, depth first)."""
    found = None
    for kind, content in boxes:
        if kind == b"jumb":
            if content[0][1][17:].split(b"\0")[0].decode() == label:
                found = [kind, content]
            found = _box(content, label) or found
    return found


def _edited(data: bytes, edit) -> bytes:
    """`edit(tree)` applied to the store, the claim signature's padding shrunk by what it added."""
    store = _store(data)
    tree = _tree(store)
    edit(tree)
    cose_box = _box(tree, "c2pa.signature")[1][1]
    pad = cose_box[1].find(b"\x63pad\x59") + 5
    grown = len(_bytes(tree)) - len(store)
    length = int.from_bytes(cose_box[1][pad : pad + 2], "big") - grown
    cose_box[1] = cose_box[1][:pad] + length.to_bytes(2, "big") + cose_box[1][pad + 2 + grown :]
    return _with_store(data, _bytes(tree))


def _slipped_in(data: bytes, extra: bytes) -> bytes:
    """A segment slipped in after the store's first APP11 segment, the store shrunk (its padding) by as much:
    the bytes the data hash leaves out stay where they were, and now hold the segment."""
    tree = _tree(_store(data))
    cose_box = _box(tree, "c2pa.signature")[1][1]
    pad = cose_box[1].find(b"\x63pad\x59") + 5
    length = int.from_bytes(cose_box[1][pad : pad + 2], "big") - len(extra)
    cose_box[1] = cose_box[1][:pad] + length.to_bytes(2, "big") + cose_box[1][pad + 2 + len(extra) :]
    store, segments = _bytes(tree), _app11(data)
    pieces, taken = [], 0
    for index, segment in enumerate(segments):
        head = segment.payload(data)[:8] + (
            store[:8] if index else b""
        )  # each repeats the store's box header
        size = segment.end - segment.body - len(head) if index < len(segments) - 1 else len(store) - taken
        payload = head + store[taken : taken + size]
        pieces.append(
            b"\xff\xeb" + struct.pack(">H", len(payload) + 2) + payload + (extra if index == 0 else b"")
        )
        taken += size
    return data[: segments[0].start] + b"".join(pieces) + data[segments[-1].end :]


def _tstr(text: bytes) -> bytes:
    return bytes([0x60 + len(text)]) + text


def _bstr(raw: bytes) -> bytes:
    return (bytes([0x40 + len(raw)]) if len(raw) < 24 else b"\x58" + bytes([len(raw)])) + raw


def _unprotected(entries: list[bytes], pad_key: bytes = b"\x63pad"):
    """An edit giving the claim signature's unsigned header these entries, then padding of zeros under
    `pad_key`, the signature as long as before."""

    def edit(tree: list) -> None:
        cose_box = _box(tree, "c2pa.signature")[1][1]
        cose = cose_box[1]
        at = cose.find(b"\xa1\x63pad\x59")
        tail = cose[at + 8 + int.from_bytes(cose[at + 6 : at + 8], "big") :]
        fixed = at + 1 + sum(map(len, entries)) + len(pad_key) + 3 + len(tail)
        zeros = len(cose) - fixed
        header = bytes([0xA0 + len(entries) + 1])
        cose_box[1] = cose[:at] + header + b"".join(entries) + pad_key + b"\x59" + struct.pack(">H", zeros)
        cose_box[1] += b"\0" * zeros + tail

    return edit


def _box_after(label: str, box: list):
    return lambda tree: _box(tree, label)[1].append(box)


def _toggles(tree: list) -> None:
    """The signature's description box given an ID (toggles 0x07): four bytes no signature covers."""
    description = _box(tree, "c2pa.signature")[1][0]
    description[1] = description[1][:16] + b"\x07" + description[1][17:] + b"ABCD"


# --- F1: a label written as text is no manifest store ------------------------------------------------------


def test_a_c2pa_label_in_exif_or_text_is_no_manifest_store(folder):
    exif = Image.Exif()
    exif[0x010E], exif[0x010F] = "Press photo, tagged #c2pa", "Canon"
    tagged = _saved(_picture(), "JPEG", exif=exif)
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "see /c2pa.claim\0 and .c2pa.signature\0 #c2pa.assertions")
    labelled = _saved(_picture(), "PNG", pnginfo=info)
    for data in (tagged, labelled):
        c2pa = _read(data)["c2pa"]
        assert c2pa["state"] == "none" and c2pa["traces"] == [], c2pa["message"]
        assert summarise(_read(data)).text == ""


# --- F2: a parent manifest changed inside a signed edit is the parent's failure -----------------------------


@pytest.fixture(scope="module")
def child(folder, chain, signed_jpeg) -> bytes:
    _picture(seed=3).save(folder / "child-source.jpg", quality=90)
    edit = [{"action": "c2pa.opened", "parameters": {"ingredientIds": ["parent"]}},
            {"action": "c2pa.edited", "digitalSourceType": CAPTURE}]  # fmt: skip
    path = factories.sign_manifest(
        folder / "child-source.jpg", folder / "child.jpg", chain, edit, parent=folder / "signed.jpg"
    )
    return path.read_bytes()


def test_a_parent_manifest_changed_inside_a_signed_edit_is_never_valid(child):
    assert _read(child)["c2pa"]["ingredients"][0]["state"] == "valid"
    relabelled = child.replace(b"trainedAlgorithmicMedia", b"algorithmicallyEnhanced")  # the same length
    parent_claim = child.find(b"c2pa.claim.v2\0")  # the parent's manifest comes first in the store
    flipped = bytearray(child)
    flipped[child.find(b"xmp.iid:", parent_claim) + 12] ^= 0x01
    label = child.find(b"c2pa.assertions\0") + 5  # the parent's assertion store label: no signature covers it
    unsigned = child[:label] + b"X" + child[label + 1 :]
    for changed in (relabelled, bytes(flipped), unsigned):
        provenance = _read(changed)
        c2pa = provenance["c2pa"]
        (ingredient,) = c2pa["ingredients"]
        assert c2pa["state"] == "invalid" and ingredient["state"] == "invalid" and ingredient["changed_since"]
        parent_said = [d for d in provenance["digital_source_types"] if d["where"].startswith("ingredient")]
        assert parent_said and all(d["state"] == "invalid" for d in parent_said)
    for changed in (relabelled, bytes(flipped)):
        c2pa = _read(changed)["c2pa"]
        assert "ingredient.manifest.mismatch" in c2pa["ingredients"][0]["validation_codes"]
        said = "the manifest of its ingredient signed.jpg changed after this file was signed"
        assert said in c2pa["message"]


# --- F3: bytes no signature covers -------------------------------------------------------------------------

SECRET = b"hidden payload: " + b"X" * 40


def test_bytes_no_signature_covers_changed_are_never_valid_in_a_jpeg(signed_jpeg):
    assert _read(_edited(signed_jpeg, lambda tree: None))["c2pa"]["state"] == "valid"  # rebuilt as it was
    assert _read(_edited(signed_jpeg, _unprotected([])))["c2pa"]["state"] == "valid"  # the edits' own control
    edits = {
        "rVals holding bytes": _unprotected([_tstr(b"rVals") + _bstr(SECRET)]),
        "sigTst2 holding bytes": _unprotected([_tstr(b"sigTst2") + _bstr(SECRET)]),
        "a second certificate chain": _unprotected([b"\x18\x21" + _bstr(SECRET)]),
        "an unknown field": _unprotected([_tstr(b"note") + _bstr(SECRET)]),
        "a key in a longer encoding": _unprotected([], pad_key=b"\x78\x03pad"),
        "a free box after the signature": _box_after("c2pa.signature", [b"free", SECRET]),
        "a free box after an assertion": _box_after("c2pa.actions.v2", [b"free", SECRET]),
        "a description box with an ID": _toggles,
    }
    for name, edit in edits.items():
        c2pa = _read(_edited(signed_jpeg, edit))["c2pa"]
        assert c2pa["state"] in ("invalid", "damaged"), (name, c2pa["message"])
        if c2pa["state"] == "invalid":
            assert c2pa["unsigned_changes"] and "no signature covers" in c2pa["message"], name
    slipped = _read(_slipped_in(signed_jpeg, _segment(0xFE, SECRET)))["c2pa"]  # a comment between segments
    assert (
        slipped["state"] == "invalid" and "the data hash leaves out bytes" in slipped["unsigned_changes"][0]
    )
    at = signed_jpeg.rfind(b"\xf6\x58\x40")  # the COSE payload: null, the claim being detached
    changed = _read(signed_jpeg[:at] + b"\xf7" + signed_jpeg[at + 1 :])["c2pa"]
    assert changed["state"] == "invalid" and "payload is not null" in changed["unsigned_changes"][0]


@pytest.mark.parametrize("suffix", [".webp", ".tif", ".gif", ".avif"])
def test_bytes_no_signature_covers_are_checked_in_webp_tiff_gif_and_avif(folder, chain, suffix):
    _picture().save(folder / f"plain{suffix}")
    data = _sign(folder / f"plain{suffix}", folder / f"signed{suffix}", chain, _document())
    intact = _read(data)["c2pa"]
    left_out = "the ISO media boxes the signed hash leaves out, covered by nothing: ftyp ("
    assert intact["state"] == "valid" and len(intact["unchecked"]) == (suffix == ".avif")
    assert all(said.startswith(left_out) for said in intact["unchecked"])
    assert ("NOT CHECKED" in intact["message"]) == (suffix == ".avif")
    padding = bytearray(data)
    padding[data.find(b"\0" * 64, data.find(b"c2pa.signature\0")) + 10] = 0x41
    payload = data.rfind(b"\xf6\x58\x40")
    label = data.find(b"c2pa.assertions\0") + 5
    for changed in (bytes(padding), data[:payload] + b"\xf7" + data[payload + 1 :],
                    data[:label] + b"X" + data[label + 1 :]):  # fmt: skip
        c2pa = _read(changed)["c2pa"]
        assert c2pa["state"] == "invalid" and c2pa["unsigned_changes"], (suffix, c2pa["message"])


def _iso_box(kind: bytes, payload: bytes) -> bytes:
    return (8 + len(payload)).to_bytes(4, "big") + kind + payload


def test_iso_media_boxes_the_hash_leaves_out_are_named_and_a_store_hidden_in_one_is_said(
    folder, chain, signed_jpeg
):
    _picture().save(folder / "plain.avif")
    data = _sign(folder / "plain.avif", folder / "signed.avif", chain, _document())
    for extra, said in ((_iso_box(b"free", b"prompt: a cat, steps 30"), "free (31 bytes"),
                        (_iso_box(b"skip", b"x" * 4000), "skip (4,008 bytes")):  # fmt: skip
        c2pa = _read(data + extra)["c2pa"]
        assert c2pa["state"] == "valid" and said in c2pa["unchecked"][0] and "NOT CHECKED" in c2pa["message"]
    hidden = _read(data + _iso_box(b"free", signed_jpeg))
    assert "a second store, not read, not verified" in hidden["c2pa"]["message"]
    assert summarise(hidden).text.startswith("C2PA valid (not all checked)")


def test_what_the_reader_cannot_check_is_said_never_a_silent_valid(signed_jpeg, monkeypatch):
    well_formed = bytes.fromhex("301106092a864886f70d010702a00430020500")  # CMS signed data
    revocation = _tstr(b"rVals") + b"\xa1" + _tstr(b"ocspVals") + b"\x81" + _bstr(well_formed)
    c2pa = _read(_edited(signed_jpeg, _unprotected([revocation])))["c2pa"]
    assert c2pa["state"] == "valid" and "NOT CHECKED: revocation values (rVals)" in c2pa["message"]
    stamp = (
        _tstr(b"sigTst2") + b"\xa1" + _tstr(b"tstTokens") + b"\x81\xa1" + _tstr(b"val") + _bstr(well_formed)
    )
    c2pa = _read(_edited(signed_jpeg, _unprotected([stamp])))["c2pa"]
    assert c2pa["state"] == "invalid" and "finds timeStamp.malformed" in c2pa["unsigned_changes"][0]
    from dinolizer_gui.core.io.provenance import credentials
    from dinolizer_gui.core.io.provenance.unsigned import Unsigned

    monkeypatch.setattr(credentials, "unsigned_check", lambda data: Unsigned())  # a container not walked
    c2pa = _read(signed_jpeg)["c2pa"]
    assert c2pa["state"] == "valid" and c2pa["message"].endswith(
        "NOT CHECKED: the bytes no signature covers were not checked in this format (JPEG)"
    )


# --- F4: a forged signature names and trusts no one --------------------------------------------------------


def test_a_claim_signature_that_does_not_verify_names_and_trusts_no_signer(signed_jpeg, chain, tmp_path):
    (tmp_path / "lab.pem").write_bytes(chain.ca_pem)
    signature = signed_jpeg.rfind(b"\xf6\x58\x40") + 3
    forged = signed_jpeg[:signature] + bytes(b ^ 0xFF for b in signed_jpeg[signature : signature + 64])
    forged += signed_jpeg[signature + 64 :]
    for anchors in ("", trust_anchors(tmp_path)):
        c2pa = _read(forged, anchors)["c2pa"]
        assert c2pa["state"] == "invalid" and "claimSignature.mismatch" in c2pa["validation_codes"]
        assert c2pa["signer"] is None and c2pa["trusted_signer"] is False and c2pa["trusted_by"] is None
        assert "signed by" not in c2pa["message"] and "trust anchors" not in c2pa["message"]
        assert "claim signature does NOT verify" in c2pa["message"]


# --- F5: AI declared in any signed assertion --------------------------------------------------------------


def test_ai_declared_in_metadata_assertions_or_action_templates_is_found(folder, chain):
    iptc = {"@context": {"Iptc4xmpExt": "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"},
            "Iptc4xmpExt:DigitalSourceType": AI}  # fmt: skip
    capture = [{"action": "c2pa.created", "digitalSourceType": CAPTURE}, {"action": "c2pa.edited"}]
    documents = {
        "stds.iptc.photo-metadata": _document(
            capture[:1], [{"label": "stds.iptc.photo-metadata", "data": iptc}]
        ),
        "c2pa.metadata": _document(capture[:1], [{"label": "c2pa.metadata", "data": iptc}]),
        "template": _document(capture, templates=[{"action": "c2pa.edited", "digitalSourceType": AI}]),
    }
    for name, document in documents.items():
        data = _sign(folder / "plain.jpg", folder / "declared.jpg", chain, document)
        provenance = _read(data)
        assert provenance["c2pa"]["state"] == "valid" and declares_ai(provenance), name
        (said,) = [d for d in provenance["digital_source_types"] if d["value"] == "trainedAlgorithmicMedia"]
        assert said["signed"] and name in said["where"], (name, said)


# --- F6: every XMP packet, in every form -------------------------------------------------------------------


def _xmp(inner: str) -> bytes:
    return (
        f'<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
        f'<rdf:RDF {XMP_NS}><rdf:Description rdf:about="">{inner}</rdf:Description></rdf:RDF></x:xmpmeta>'
        '<?xpacket end="w"?>'
    ).encode()


def _source(value: str) -> bytes:
    return _xmp(f"<Iptc4xmpExt:DigitalSourceType>{value}</Iptc4xmpExt:DigitalSourceType>")


def _segment(marker: int, body: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(body) + 2) + body


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def test_ai_declared_in_any_xmp_packet_or_form_is_found_and_caps_are_said():
    jpeg, png = _saved(_picture(), "JPEG"), _saved(_picture(), "PNG")
    plain, ai = _source(CAPTURE), _source(AI)
    xmp_id, extended_id = b"http://ns.adobe.com/xap/1.0/\0", b"http://ns.adobe.com/xmp/extension/\0"
    guid = b"0123456789ABCDEF0123456789ABCDEF"
    hexed = f"\nxmp\n{len(ai)}\n{ai.hex()}\n".encode()
    magic = bytes([1, *range(255, -1, -1), 0])
    gif = _saved(_picture().convert("P"), "GIF")
    bag = "".join(f"<rdf:li>http://example.com/x{i}</rdf:li>" for i in range(50)) + f"<rdf:li>{AI}</rdf:li>"
    xml_packet = Image.Exif()
    xml_packet[0x02BC] = ai  # IFD0's XMP, as TIFF writers put it
    resource = b"8BIM\x04\x24\0\0" + struct.pack(">I", len(ai)) + ai + b"\0" * (len(ai) % 2)
    files = {
        "two JPEG packets, AI last": jpeg[:2] + _segment(0xE1, xmp_id + plain) + _segment(0xE1, xmp_id + ai)
        + jpeg[2:],
        "Extended XMP": jpeg[:2] + _segment(0xE1, xmp_id + plain)
        + _segment(0xE1, extended_id + guid + struct.pack(">II", len(ai), 0) + ai) + jpeg[2:],
        "rdf:resource": jpeg[:2] + _segment(0xE1, xmp_id + _xmp(
            f'<Iptc4xmpExt:DigitalSourceType><rdf:Bag><rdf:li rdf:resource="{AI}"/></rdf:Bag>'
            "</Iptc4xmpExt:DigitalSourceType>")) + jpeg[2:],
        "rdf:value": jpeg[:2] + _segment(0xE1, xmp_id + _xmp(
            f'<Iptc4xmpExt:DigitalSourceType rdf:parseType="Resource"><rdf:value>{AI}</rdf:value>'
            "</Iptc4xmpExt:DigitalSourceType>")) + jpeg[2:],
        "a 51st Bag value": jpeg[:2] + _segment(0xE1, xmp_id + _source(f"<rdf:Bag>{bag}</rdf:Bag>"))
        + jpeg[2:],
        "two x:xmpmeta in a packet": jpeg[:2] + _segment(0xE1, xmp_id + plain + ai) + jpeg[2:],
        "PNG iTXt then tEXt": png[:33] + _chunk(b"iTXt", b"XML:com.adobe.xmp\0\0\0\0\0" + plain)
        + _chunk(b"tEXt", b"XML:com.adobe.xmp\0" + ai) + png[33:],
        "ImageMagick raw profile": png[:33]
        + _chunk(b"zTXt", b"Raw profile type xmp\0\0" + zlib.compress(hexed)) + png[33:],
        "GIF XMP extension": gif[:-1] + b"\x21\xff\x0bXMP DataXMP" + ai + magic + gif[-1:],
        "EXIF XMLPacket tag": _saved(_picture(), "JPEG", exif=xml_packet),
        "Photoshop resource": jpeg[:2] + _segment(0xED, b"Photoshop 3.0\0" + resource) + jpeg[2:],
    }  # fmt: skip
    for name, data in files.items():
        provenance = _read(data)
        assert declares_ai(provenance), (name, provenance["xmp"], provenance["problems"])
    said = _read(files["two JPEG packets, AI last"])
    assert [d["value"] for d in said["digital_source_types"]] == ["digitalCapture", "trainedAlgorithmicMedia"]
    assert any("holds 2 XMP packets" in sentence for sentence in said["indications"])
    capped = _read(files["a 51st Bag value"])
    assert any("51 values, the first 50 kept" in problem for problem in capped["problems"])


# --- F7: metadata read from the container, whether or not the picture opens --------------------------------


def test_metadata_is_read_when_one_changed_byte_stops_the_picture_opening():
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", _source(AI).decode())
    info.add_text("parameters", "a cat\nSteps: 20, Sampler: Euler a")
    png = bytearray(_saved(_picture(), "PNG", pnginfo=info))
    png[29] ^= 1  # the IHDR chunk's CRC
    jpeg = bytearray(_saved(_picture(), "JPEG", xmp=_source(AI), comment=b"Steps: 20, Sampler: Euler a"))
    jpeg[jpeg.find(b"\xff\xc0") + 1] = 0xC8  # the frame marker: a reserved one
    webp = bytearray(_saved(_picture(), "WEBP", xmp=_source(AI)))
    webp[webp.find(b"VP8 ") + 11] ^= 0xFF  # the VP8 start code
    for name, data in (("PNG", png), ("JPEG", jpeg), ("WebP", webp)):
        provenance = _read(bytes(data))
        assert any(p.startswith("the picture could not be opened") for p in provenance["problems"]), name
        assert declares_ai(provenance), name
        if name != "WebP":
            assert provenance["generator_text"], name


# --- F8: generator text as generators write it ------------------------------------------------------------


def _png_with(texts: list[tuple[str, str]], itxt: bool = False) -> bytes:
    info = PngImagePlugin.PngInfo()
    for key, value in texts:
        info.add_itxt(key, value) if itxt else info.add_text(key, value)
    return _saved(_picture(), "PNG", pnginfo=info)


def test_generator_text_as_novelai_midjourney_comfyui_a1111_and_draw_things_write_it():
    novelai = json.dumps({"prompt": "1girl", "steps": 28, "scale": 5.0, "seed": 3120488312,
                          "sampler": "k_euler_ancestral", "uc": "lowres", "n_samples": 1})  # fmt: skip
    comfy = Image.Exif()
    comfy[0x0110] = "prompt:" + json.dumps({"3": {"class_type": "KSampler", "inputs": {"seed": 1}}})
    comfy[0x010F] = "workflow:" + json.dumps({"nodes": [{"type": "KSampler"}]})
    settings = "a cat\nNegative prompt: dog\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1"
    description, xp = Image.Exif(), Image.Exif()
    description[0x010E] = settings
    xp[0x9C9C] = "Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1".encode("utf-16-le") + b"\0\0"
    draw_things = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" '
        'xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
        'xmp:CreatorTool="Draw Things"><exif:UserComment><rdf:Alt><rdf:li xml:lang="x-default">'
        '{"c":"a cat","sampler":"DPM++ 2M Karras","seed":1,"steps":20}</rdf:li></rdf:Alt></exif:UserComment>'
        "</rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    files = {
        "NovelAI": (_png_with([("Software", "NovelAI"), ("Comment", novelai)]), {"Software", "Comment"}),
        "Midjourney": (_png_with([("Description", "a cat --ar 3:2 --v 6.1 Job ID: 5b0e4c4f-2d27-4d0e")]),
                       {"Description"}),
        "ComfyUI WebP": (_saved(_picture(), "WEBP", exif=comfy), {"Make", "Model"}),
        "A1111 in ImageDescription": (_saved(_picture(), "JPEG", exif=description), {"ImageDescription"}),
        "A1111 in XPComment": (_saved(_picture(), "JPEG", exif=xp), {"XPComment"}),
        "Draw Things": (_png_with([("XML:com.adobe.xmp", draw_things)], itxt=True),
                        {"XMP CreatorTool", "XMP UserComment"}),
        "Parameters": (_png_with([("Parameters", "a cat\nSteps: 20, Sampler: Euler a")]), {"Parameters"}),
    }  # fmt: skip
    for name, (data, keys) in files.items():
        found = _read(data)["generator_text"] or {}
        assert keys <= set(found), (name, found)
    camera = Image.Exif()
    camera[0x010F], camera[0x0131], camera[0x010E] = "Canon", "Adobe Photoshop 25.0", "Sunset, seed pods"
    assert _read(_saved(_picture(), "JPEG", exif=camera))["generator_text"] is None


# --- F9: a thumbnail's picture area from the shapes, not from darkness ------------------------------------


def test_a_letterboxed_thumbnail_of_a_night_picture_matches_it():
    height, width = 450, 800
    night = np.zeros((height, width, 3), np.uint8)  # the top 45 % black sky
    sky = int(height * 0.45)
    y, x = np.mgrid[sky:height, 0:width]
    bands = [60 + 100 * np.sin(x / 45.0) ** 2, 50 + 80 * (y - sky) / (height - sky), 90 + 0 * x]
    night[sky:] = np.stack(bands, -1).astype(np.uint8)  # lit buildings
    for cy, cx in np.random.default_rng(1).integers([sky, 0], [height - 6, width - 6], (200, 2)):
        night[cy : cy + 5, cx : cx + 5] = 250  # lit windows
    picture = Image.fromarray(night)
    fitted = picture.copy()
    fitted.thumbnail((160, 120))
    letterboxed = Image.new("RGB", (160, 120))
    letterboxed.paste(fitted, (0, (120 - fitted.height) // 2))
    flipped = letterboxed.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    for thumbnail, same in ((letterboxed, True), (flipped, False)):
        exif = b"Exif\0\0" + factories.exif_with_thumbnail(_saved(thumbnail, "JPEG", quality=90))
        found = _read(_saved(picture, "JPEG", quality=92, exif=exif))["thumbnail"]
        assert found["matches"] is same, found


# --- F10, F11: bounded whatever the file claims -------------------------------------------------------------


def test_text_chunks_inflating_to_gigabytes_are_capped_and_said(tmp_path):
    inflating = zlib.compress(b"a" * (1 << 20), 9)
    chunks = b"".join(_chunk(b"zTXt", f"k{i}".encode() + b"\0\0" + inflating) for i in range(1000))
    png = _saved(_picture(), "PNG")
    (tmp_path / "plain.png").write_bytes(png)
    (tmp_path / "text.png").write_bytes(png[:33] + chunks + png[33:])  # 1 MB of file, 1 GB of text
    script = (
        "import resource, sys\n"
        "from dinolizer_gui.core.io.provenance import read_provenance\n"
        "read_provenance(sys.argv[1])\n"  # the libraries loaded first
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "problems = read_provenance(sys.argv[2])['problems']\n"
        "print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)\n"
        "print(problems[0])\n"
    )
    paths = [str(tmp_path / "plain.png"), str(tmp_path / "text.png")]
    done = subprocess.run([sys.executable, "-c", script, *paths], cwd=ROOT, capture_output=True, text=True)
    grown, said = done.stdout.splitlines()[:2]
    assert int(grown) < 150, done.stdout  # was 1.1 GB: every chunk inflated to 1 MB and kept
    assert said.startswith("text chunks: more than 8,388,608 bytes of text, 992 more chunk(s) not read")


def _scans(width: int, height: int, count: int) -> bytes:
    """A progressive greyscale JPEG of `count` AC scans that each skip every block (a few bytes a scan)."""

    def segment(marker: int, body: bytes) -> bytes:
        return bytes([0xFF, marker]) + struct.pack(">H", len(body) + 2) + body

    blocks = ((width + 7) // 8) * ((height + 7) // 8)
    dht = segment(0xC4, b"\x00" + bytes([1] + [0] * 15) + b"\x00\x10" + bytes([1] + [0] * 15) + b"\xe0")
    dc = segment(0xDA, b"\x01\x01\x00\x00\x00\x00") + bytes(blocks // 8)  # every DC difference 0
    bits = "".join("0" + format(32767 - (1 << 14), "014b") for _ in range((blocks + 32766) // 32767))
    bits += "1" * (-len(bits) % 8)
    runs = bytes(int(bits[i : i + 8], 2) for i in range(0, len(bits), 8))  # end-of-band runs over every block
    runs = runs.replace(b"\xff", b"\xff\x00")  # a 0xFF in entropy-coded data is followed by a zero
    ac = segment(0xDA, b"\x01\x01\x00\x01\x3f\x00") + runs
    frame = segment(0xC2, struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00")
    header = segment(0xDB, b"\x00" + bytes([1] * 64)) + frame
    return b"\xff\xd8" + header + dht + dc + ac * count + b"\xff\xd9"


def test_a_jpeg_of_thousands_of_scans_is_not_decoded_and_that_is_said():
    data = _scans(4096, 3072, 8000)
    grey = _saved(Image.new("RGB", (160, 120), "grey"), "JPEG")
    data = data[:2] + _segment(0xE1, b"Exif\0\0" + factories.exif_with_thumbnail(grey)) + data[2:]
    started = time.monotonic()
    provenance = _read(data)
    assert time.monotonic() - started < 3  # decoding it took 11 s (a scan is one more pass over every block)
    assert provenance["thumbnail"]["matches"] is None
    assert any("8,001 scans, more than the 100 decoded" in said for said in provenance["indications"])


# --- F12: an MPF index is the file's own word ---------------------------------------------------------------


def test_an_mpf_index_written_over_appended_data_is_not_taken_for_a_phones_own():
    main, hidden = _saved(_picture((640, 480), 1), "JPEG"), _saved(_picture((640, 480), 2), "JPEG")

    def index(offset: int, primary: int) -> bytes:
        entries = 8 + 2 + 3 * 12 + 4
        tiff = b"MM\0*" + struct.pack(">IH", 8, 3) + struct.pack(">HHI4s", 0xB000, 7, 4, b"0100")
        tiff += (
            struct.pack(">HHII", 0xB001, 4, 1, 2) + struct.pack(">HHII", 0xB002, 7, 32, entries) + b"\0" * 4
        )
        tiff += struct.pack(">IIIHH", 0x20030000, primary, 0, 0, 0)
        return b"MPF\0" + tiff + struct.pack(">IIIHH", 0, len(hidden), offset, 0, 0)

    primary = len(main) + 4 + len(index(0, 0))
    data = main[:2] + _segment(0xE2, index(primary - 10, primary)) + main[2:] + hidden
    provenance = _read(data)
    assert provenance["jpeg"]["mpf_images"][0]["width"] == 640
    said = " ".join(provenance["indications"])
    assert "not appended data" not in said and "written by the file itself, and anyone can write one" in said
    assert f"640 x 480 pixels, {len(hidden):,} bytes" in said


# --- F13: no raw control character in any output ----------------------------------------------------------


def test_no_text_of_the_reading_carries_a_raw_control_or_bidirectional_character(folder, tmp_path):
    hostile = "\x1b]0;pwned\x07\x1b[31mRED\u009b32mC1\u202eevil"
    chain = signing.make_chain(signer="Sig" + hostile, organisation="Org" + hostile)
    document = _document([{"action": "c2pa.created", "digitalSourceType": AI,
                           "softwareAgent": {"name": "Agent" + hostile}}])  # fmt: skip
    document["claim_generator_info"] = [{"name": "Gen" + hostile, "version": "1"}]
    path = tmp_path / "escapes.jpg"
    _sign(folder / "plain.jpg", path, chain, document)

    def raw(value) -> list:
        if isinstance(value, str):
            return [value] if not value.isprintable() else []
        if isinstance(value, dict):
            return [bad for key, item in value.items() for bad in raw(key) + raw(item)]
        return [bad for item in value for bad in raw(item)] if isinstance(value, list) else []

    provenance = read_provenance(path)
    assert raw(provenance) == [] and "\\u202eevil" in provenance["c2pa"]["signer"]
    done = run_process("inspect", path, "--json", timeout=120)
    assert raw(json.loads(done.stdout)) == []


# --- F14: a damaged store still declares what its bytes say -----------------------------------------------


def test_a_damaged_or_invalid_store_still_declares_the_ai_its_bytes_say(signed_jpeg):
    for label in (b"c2pa\0", b"c2pa.actions.v2\0"):
        at = signed_jpeg.find(label) + 3
        changed = signed_jpeg[:at] + bytes([signed_jpeg[at] ^ 1]) + signed_jpeg[at + 1 :]
        provenance = _read(changed)
        assert provenance["c2pa"]["state"] == "damaged" and declares_ai(provenance)
        assert summarise(provenance).text == "C2PA DAMAGED, declares AI"
        (said,) = provenance["digital_source_types"]
        assert (said["signed"], said["state"]) == (False, "damaged")
        assert "not verified" in said["where"] and "does not verify" in provenance["indications"][1]
