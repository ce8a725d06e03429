"""What a hostile tester found the file's own evidence saying untruly (issue 29), one test per class of
defect, on files signed here with c2pa-python's builder or written byte by byte: damaged Content Credentials
called `none`, bytes no signature covers changed and still `valid`, declarations of AI lost, trust taken from
the wrong codes, thumbnails misjudged, generator settings and formats missed, walks that lock out."""

import io
import json
import os
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from dinolizer_gui.core.io.provenance import (
    provenance_from_bytes,
    provenance_of,
    read_provenance,
    reading_key,
    signing,
)
from dinolizer_gui.core.io.provenance import trust_list as trust_lists
from dinolizer_gui.core.io.provenance.summaries import declares_ai, summarise
from dinolizer_gui.core.io.provenance.trust_list import c2pa_trust_list, trust_anchors, trust_list_from
from tests import factories
from tests.cli_run import run_process

ROOT = Path(__file__).resolve().parents[3]
AI = factories.source_type("trainedAlgorithmicMedia")
COMPOSITE = factories.source_type("compositeWithTrainedAlgorithmicMedia")
CAPTURE = factories.source_type("digitalCapture")


def _photo(path: Path, size=(240, 360), seed=0, **save) -> Path:
    y, x = np.mgrid[0 : size[0], 0 : size[1]]
    rgb = np.stack([x * 0.7 + seed * 40, y * 0.9, (x + y) * 0.4 + seed * 10], -1) % 256
    Image.fromarray(rgb.astype(np.uint8)).save(path, **save)
    return path


@pytest.fixture(scope="module")
def chain():
    return signing.make_chain()


@pytest.fixture(scope="module")
def files(tmp_path_factory, chain):
    folder = tmp_path_factory.mktemp("signed")
    jpeg = _photo(folder / "source.jpg", quality=90)
    png = _photo(folder / "source.png")
    return {
        "folder": folder,
        "jpeg": signing.sign(jpeg, folder / "signed.jpg", chain),
        "png": factories.sign_manifest(png, folder / "signed.png", chain),
        "large": factories.sign_manifest(jpeg, folder / "large.jpg", chain, filler=90_000),
    }


def _changed(path: Path, at: int, mask: int = 0x01) -> bytes:
    data = bytearray(path.read_bytes())
    data[at] ^= mask
    return bytes(data)


def _c2pa(data: bytes, anchors: str = "", trust_list=None) -> dict:
    return provenance_from_bytes(data, anchors, trust_list)[0]["c2pa"]


def _app11(data: bytes) -> list[tuple[int, int]]:
    """(start, end) of each APP11 segment."""
    found, position = [], 2
    while data[position + 1] != 0xDA:
        end = position + 2 + int.from_bytes(data[position + 2 : position + 4], "big")
        if data[position + 1] == 0xEB:
            found.append((position, end))
        position = end
    return found


# --- 11: damaged Content Credentials are `damaged`, never `none`; unsigned bytes changed never `valid` ---


def test_a_changed_label_a_cut_or_a_dropped_segment_reads_damaged_never_none(files):
    data = files["jpeg"].read_bytes()
    store_label = data.find(b"jumdc2pa") + 4  # the store's type UUID: the library no longer sees a store
    cases = {
        "store type changed": _changed(files["jpeg"], store_label),
        "APP11 marker changed": _changed(files["jpeg"], _app11(data)[0][0] + 1),
        "segment cut in half": data[: _app11(data)[0][1] - 15000] + data[_app11(data)[0][1] :],
    }
    large = files["large"].read_bytes()
    (first, _), (second, second_end) = _app11(large)[:2]
    cases["second segment dropped"] = large[:second] + large[second_end:]
    cases["first segment dropped"] = large[:first] + large[second:]
    png = files["png"].read_bytes()
    label = png.find(b"c2pa\0", png.find(b"caBX"))
    cases["PNG store label changed"] = png[:label] + b"b" + png[label + 1 :]
    cases["PNG caBX chunk type changed"] = png.replace(b"caBX", b"caBY", 1)
    for name, changed in cases.items():
        c2pa = _c2pa(changed)
        assert c2pa["state"] == "damaged", (name, c2pa["message"])
        assert c2pa["traces"] and "DAMAGED" in c2pa["message"], name
        assert "not the same as a file without Content Credentials" in c2pa["message"]
    provenance = provenance_from_bytes(cases["store type changed"])[0]
    assert summarise(provenance).text == "C2PA DAMAGED, declares AI"  # read from the damaged store's bytes
    assert not provenance["indications"][0].startswith("No Content Credentials")
    plain = _photo(files["folder"] / "plain.jpg", quality=90).read_bytes()
    assert _c2pa(plain)["state"] == "none" and _c2pa(plain)["traces"] == []  # no trace at all: none


def test_bytes_no_signature_covers_changed_make_the_credentials_invalid(files):
    """The library reads these files as valid: the APP11 header, box labels, an embedded file's description
    and the claim signature's padding are outside what the signer signs."""
    data = files["jpeg"].read_bytes()
    segment = _app11(data)[0][0]
    pad = data.find(b"cpad", data.find(b"c2pa.signature\0")) + 7  # the COSE header's padding: zeros
    places = {
        "JUMBF identifier": segment + 5,
        "box instance": segment + 7,
        "store label": data.find(b"\x03c2pa\0") + 1,
        "assertion store label": data.find(b"c2pa.assertions\0") + 5,
        "claim label": data.find(b"c2pa.claim.v2\0") + 6,
        "signature label": data.find(b"c2pa.signature\0") + 6,
        "embedded file description": data.find(b"bfdb") + 4,
        "signature padding": pad + 100,
        "the manifest's box length": data.find(b"jumb", data.find(b"jumdc2pa")) - 1,
    }
    for name, at in places.items():
        c2pa = _c2pa(_changed(files["jpeg"], at))
        if c2pa["state"] == "damaged":  # a length the library sometimes cannot parse at all
            continue
        assert c2pa["state"] == "invalid", (name, c2pa["message"])
        assert c2pa["unsigned_changes"] and "no signature covers" in c2pa["message"], name
    assert _c2pa(data)["state"] == "valid" and _c2pa(data)["unsigned_changes"] == []
    png = files["png"].read_bytes()
    crc = png.find(b"IDAT") - 8  # the caBX chunk's CRC, just before the next chunk's length
    assert _c2pa(png[:crc] + bytes([png[crc] ^ 1]) + png[crc + 1 :])["state"] == "invalid"


# --- 12: every declared digital source type is kept, with where it comes from -------------------------------


def test_every_declaration_counts_signed_ones_first_and_an_ai_parent_is_not_forgotten(files, chain, tmp_path):
    source = files["folder"] / "source.jpg"
    both = factories.sign_manifest(
        source,
        tmp_path / "captured-then-inpainted.jpg",
        chain,
        [{"action": "c2pa.created", "digitalSourceType": CAPTURE},
         {"action": "c2pa.edited", "digitalSourceType": COMPOSITE}],
    )  # fmt: skip
    provenance = read_provenance(both)
    assert [d["value"] for d in provenance["digital_source_types"]] == [
        "digitalCapture",
        "compositeWithTrainedAlgorithmicMedia",
    ]
    assert declares_ai(provenance) and summarise(provenance).declares_ai
    capture_xmp = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/">'
        "<Iptc4xmpExt:DigitalSourceType><rdf:Bag><rdf:li>{}</rdf:li>{}</rdf:Bag></Iptc4xmpExt:DigitalSourceType>"
        "</rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    with_xmp = _photo(tmp_path / "xmp.jpg", quality=90, xmp=capture_xmp.format(CAPTURE, "").encode())
    signed = signing.sign(with_xmp, tmp_path / "signed-ai-xmp-capture.jpg", chain)
    declared = read_provenance(signed)["digital_source_types"]
    assert [(d["value"], d["signed"]) for d in declared] == [
        ("trainedAlgorithmicMedia", True),  # the signed declaration first, never replaced
        ("digitalCapture", False),
    ]
    assert declares_ai(read_provenance(signed))
    bag = capture_xmp.format(CAPTURE, f"<rdf:li>{AI}</rdf:li>")
    two = read_provenance(_photo(tmp_path / "bag.jpg", quality=90, xmp=bag.encode()))
    assert [d["value"] for d in two["digital_source_types"]] == ["digitalCapture", "trainedAlgorithmicMedia"]
    assert declares_ai(two)
    crop = factories.sign_manifest(
        source,
        tmp_path / "crop.jpg",
        chain,
        [{"action": "c2pa.opened", "parameters": {"ingredientIds": ["parent"]}}, {"action": "c2pa.cropped"}],
        parent=files["jpeg"],
    )
    cropped = read_provenance(crop)
    where = "ingredient signed.jpg, action c2pa.created"  # the parent's own declaration, through the crop
    assert cropped["digital_source_types"] == [
        {"value": "trainedAlgorithmicMedia", "from": "c2pa", "where": where, "signed": True, "state": "valid"}
    ]
    assert declares_ai(cropped)


# --- 13: trust from the signing-credential codes alone ----------------------------------------------------


def test_a_trusted_signer_stays_trusted_when_the_manifest_is_invalid_for_another_reason(
    files, chain, tmp_path
):
    folder = tmp_path / "anchors"
    folder.mkdir()
    (folder / "lab.pem").write_bytes(chain.ca_pem)
    changed = factories.change_pixels_after_signing(files["jpeg"], tmp_path / "changed.jpg")
    c2pa = _c2pa(changed.read_bytes(), trust_anchors(folder))
    assert c2pa["state"] == "invalid" and "assertion.dataHash.mismatch" in c2pa["validation_codes"]
    assert c2pa["trusted_signer"] is True and c2pa["trusted_by"] == "your_anchors"
    assert "reaches one of your trust anchors" in c2pa["message"] and "NOT" not in c2pa["message"]


def test_the_shipped_c2pa_trust_list_is_the_default_and_says_its_date_and_when_it_is_stale(
    files, chain, monkeypatch
):
    shipped = c2pa_trust_list()
    assert (shipped.name, shipped.certificates, str(shipped.issued)) == ("C2PA Trust List", 30, "2026-08-05")
    folder = ROOT / "dinolizer_gui" / "resources" / "c2pa-trust-list"
    source = Path("/work/shared/data/c2pa-trust-list")
    for name in ("C2PA-TRUST-LIST.pem", "C2PA-TRUST-LIST.json", "C2PA-TSA-TRUST-LIST.pem", "LICENSE"):
        assert (folder / name).is_file()
        if source.is_dir():
            assert (folder / name).read_bytes() == (source / name).read_bytes()  # copied unchanged
    assert "CC BY 4.0" in (folder / "README.md").read_text()
    document = json.loads((folder / "C2PA-TRUST-LIST.json").read_text())
    lab_list = trust_list_from(shipped.pem + chain.ca_pem.decode(), document)  # as if the lab were on it
    data = files["jpeg"].read_bytes()
    monkeypatch.setattr(trust_lists, "today", lambda: trust_lists.datetime.date(2027, 8, 5))
    c2pa = _c2pa(data, trust_list=lab_list)
    assert c2pa["state"] == "valid" and c2pa["trusted_signer"] is True and c2pa["trusted_by"] == "c2pa_list"
    assert c2pa["message"] == (
        "valid Content Credentials, signed by Test Signer (issued by Test Lab), the signer is on the C2PA "
        "Trust List (issued 2026-08-05)"
    )
    assert c2pa["trust_list"] == {
        "name": "C2PA Trust List", "issued": "2026-08-05", "next_update": "2027-08-05", "stale": False
    }  # fmt: skip
    fresh_key = reading_key()
    monkeypatch.setattr(trust_lists, "today", lambda: trust_lists.datetime.date(2027, 8, 6))
    stale = _c2pa(data, trust_list=lab_list)
    assert stale["trust_list"]["stale"] is True
    assert "(issued 2026-08-05; STALE: a newer list was due by 2027-08-05)" in stale["message"]
    assert reading_key() != fresh_key  # a reading kept in the store is made again once the list is stale
    untrusted = _c2pa(data)
    assert untrusted["trusted_signer"] is False and "NOT on the C2PA Trust List" in untrusted["message"]


# --- 14: thumbnails judged on their picture, from the EXIF block that holds them -------------------------


def _jpeg_bytes(picture: Image.Image, **save) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", **save)
    return buffer.getvalue()


def _letterboxed(image: Image.Image, size=(160, 120)) -> bytes:
    """The thumbnail a camera writes for a wider picture: the picture fitted in, black bars above, below."""
    fitted = image.copy()
    fitted.thumbnail(size)
    canvas = Image.new("RGB", size)
    canvas.paste(fitted, (0, (size[1] - fitted.height) // 2))
    return _jpeg_bytes(canvas, quality=90)


def test_letterboxed_camera_thumbnails_match_their_picture(tmp_path):
    for name, size in (("3-2", (240, 360)), ("16-9", (270, 480))):
        path = _photo(tmp_path / f"{name}.jpg", size=size, seed=3, quality=92)
        image = Image.open(path)
        exif = b"Exif\0\0" + factories.exif_with_thumbnail(_letterboxed(image))
        image.save(path, quality=92, exif=exif)
        thumbnail = read_provenance(path)["thumbnail"]
        assert thumbnail["present"] and thumbnail["matches"] is True, (name, thumbnail)
    other = Image.open(_photo(tmp_path / "other.jpg", seed=0, size=(240, 360)))
    other = other.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    path = _photo(tmp_path / "edited.jpg", size=(240, 360), seed=3, quality=92)
    Image.open(path).save(
        path, quality=92, exif=b"Exif\0\0" + factories.exif_with_thumbnail(_letterboxed(other))
    )
    assert read_provenance(path)["thumbnail"]["matches"] is False  # a letterboxed other picture still differs


def test_thumbnail_offsets_count_from_the_block_that_holds_them(tmp_path):
    image = Image.open(_photo(tmp_path / "image.jpg", seed=3))
    flipped = image.transpose(Image.Transpose.FLIP_TOP_BOTTOM).resize((160, 107))
    other, same = _jpeg_bytes(flipped), _jpeg_bytes(image.resize((160, 107)))
    length = max(len(other), len(same))  # both the same length (zeros after the end of the picture)…
    real = factories.exif_with_thumbnail(other.ljust(length, b"\0"))  # the EXIF's own: another picture
    decoy = factories.exif_with_thumbnail(same.ljust(length, b"\0"))  # the image's, in a comment before
    assert len(real) == len(decoy)  # …so the real offsets, counted from the decoy, land on the image's
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=92, exif=b"Exif\0\0" + real)
    data = buffer.getvalue()
    comment = b"Exif\0\0" + decoy
    decoyed = data[:2] + b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment + data[2:]
    assert decoyed.find(b"Exif\0\0") < decoyed.find(b"\xff\xe1")  # the decoy comes first
    assert provenance_from_bytes(decoyed)[0]["thumbnail"]["matches"] is False
    for fmt in ("PNG", "WEBP"):
        buffer = io.BytesIO()
        image.save(buffer, fmt, exif=factories.exif_with_thumbnail(_jpeg_bytes(image.resize((160, 107)))))
        provenance, picture = provenance_from_bytes(buffer.getvalue())
        assert provenance["thumbnail"] == {
            "present": True,
            "matches": True,
            "distance": pytest.approx(0, abs=0.04),
        }
        assert picture is not None and picture.size == (160, 107)


def test_a_thumbnail_is_turned_as_the_image_is_shown_when_only_the_xmp_says_how(tmp_path):
    image = Image.open(_photo(tmp_path / "image.jpg", seed=5))
    xmp = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description xmlns:tiff="http://ns.adobe.com/tiff/1.0/" tiff:Orientation="6"/></rdf:RDF>'
        "</x:xmpmeta>"
    )
    buffer = io.BytesIO()  # the EXIF holds the thumbnail as stored and no orientation; the XMP turns both
    exif = b"Exif\0\0" + factories.exif_with_thumbnail(_jpeg_bytes(image.resize((160, 107))))
    image.save(buffer, "JPEG", quality=92, exif=exif, xmp=xmp.encode())
    provenance, picture = provenance_from_bytes(buffer.getvalue())
    assert provenance["thumbnail"]["matches"] is True and picture.size == (107, 160)


# --- 15: generator settings, formats, multi-picture JPEGs, damaged EXIF -----------------------------------

SETTINGS = (
    "a lighthouse at dusk\nNegative prompt: blurry\nSteps: 30, Sampler: Euler a, CFG scale: 7, Seed: 42"
)


def test_generator_settings_in_exif_user_comment_are_read_in_every_encoding(tmp_path):
    encodings = {
        "UNICODE big-endian": b"UNICODE\0" + SETTINGS.encode("utf-16-be"),
        "UNICODE little-endian": b"UNICODE\0" + SETTINGS.encode("utf-16-le"),
        "ASCII": b"ASCII\0\0\0" + SETTINGS.encode("ascii"),
    }
    for name, comment in encodings.items():
        for fmt in ("JPEG", "WEBP"):
            exif = Image.Exif()
            exif.get_ifd(0x8769)[0x9286] = comment
            buffer = io.BytesIO()
            Image.open(_photo(tmp_path / "p.png")).save(buffer, fmt, exif=exif)
            provenance = provenance_from_bytes(buffer.getvalue())[0]
            assert provenance["generator_text"]["UserComment"].startswith(
                "a lighthouse at dusk\\x0aNegative"
            ), (
                name,
                fmt,
            )
            assert provenance["exif"]["UserComment"].endswith("Seed: 42"), (name, fmt)


def test_formats_without_content_credentials_say_so_and_bmp_reads(tmp_path):
    for fmt, suffix in (("BMP", "bmp"), ("GIF", "gif")):
        path = _photo(tmp_path / f"plain.{suffix}", format=fmt)
        provenance = read_provenance(path)
        assert provenance["c2pa"]["state"] == "none", (fmt, provenance["c2pa"])
        assert provenance["problems"] == [] and summarise(provenance).text == ""
    assert read_provenance(tmp_path / "plain.bmp")["c2pa"]["message"] == (
        "no Content Credentials: BMP files cannot carry them"
    )


def test_a_phones_multi_picture_jpeg_lists_its_images_and_real_appended_data_is_still_said(tmp_path):
    primary = Image.open(_photo(tmp_path / "p.png", seed=1))
    depth = primary.convert("L").convert("RGB").resize((120, 80))
    path = tmp_path / "phone.jpg"
    primary.save(path, "MPO", save_all=True, append_images=[depth], quality=90)
    jpeg = read_provenance(path)["jpeg"]
    assert jpeg["trailing_bytes"] == 0 and len(jpeg["mpf_images"]) == 1
    said = " ".join(read_provenance(path)["indications"])
    assert "multi-picture (MPF) index lists 1 more image" in said and "data appended" not in said
    path.write_bytes(path.read_bytes() + b"hidden payload")
    assert read_provenance(path)["jpeg"]["trailing_bytes"] == 14


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")  # Pillow's own word, when it reads the block
def test_a_damaged_exif_block_is_said_not_taken_for_no_exif(tmp_path):
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    buffer = io.BytesIO()
    Image.open(_photo(tmp_path / "p.png")).save(buffer, "JPEG", exif=exif)
    data = buffer.getvalue()
    tiff = data.find(b"Exif\0\0") + 6
    damaged = data[: tiff + 4] + b"\xff\xff\x00\x00" + data[tiff + 8 :]  # IFD0 beyond the block
    provenance = provenance_from_bytes(damaged)[0]
    assert provenance["exif"] == {}
    assert any(p.startswith("EXIF damaged: the IFD0 at offset") for p in provenance["problems"])
    assert provenance_from_bytes(data)[0]["problems"] == []


# --- 16: bounded and linear; never blocked -----------------------------------------------------------------


def test_a_png_of_deeply_nested_xmp_is_read_in_linear_time(tmp_path):
    depth = 22_000  # about 1 MB of XML: within what Pillow inflates
    nested = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/" xmlns:I="http://iptc.org/std/Iptc4xmpExt/2008-02-29/">'
        + "<I:DigitalSourceType>x" * depth
        + "</I:DigitalSourceType>" * depth
        + "</x:xmpmeta>"
    )
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", nested, zip=True)
    path = tmp_path / "nested.png"
    Image.new("RGB", (8, 8)).save(path, pnginfo=info)
    assert path.stat().st_size < 30_000 and len(nested) > 950_000
    started = time.monotonic()
    provenance = read_provenance(path)
    assert time.monotonic() - started < 5  # was 176 s: each nested element walked its whole subtree again
    assert provenance["xmp"]["DigitalSourceType"] == "x"


def test_a_file_of_countless_tiny_parts_is_walked_within_bounds(tmp_path):
    image = io.BytesIO()
    Image.new("RGB", (16, 16)).save(image, "JPEG")
    data = image.getvalue()
    comments = b"\xff\xfe\x00\x02" * 300_000  # 300,000 empty comment segments
    started = time.monotonic()
    provenance = provenance_from_bytes(data[:2] + comments + data[2:])[0]
    assert time.monotonic() - started < 10
    assert "not read (ValueError: more than 100,000 JPEG segments" in provenance["problems"][-1]
    assert provenance["c2pa"]["state"] == "none"


def test_the_image_is_compared_at_a_reduced_size_not_decoded_whole(tmp_path):
    path = tmp_path / "large.jpg"
    thumbnail = _jpeg_bytes(Image.new("RGB", (160, 120), (90, 90, 90)))
    Image.new("RGB", (6000, 6000), (90, 90, 90)).save(
        path, quality=50, exif=b"Exif\0\0" + factories.exif_with_thumbnail(thumbnail)
    )
    script = (
        "import resource, sys\n"
        "from dinolizer_gui.core.io.provenance import read_provenance\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "present = read_provenance(sys.argv[1])['thumbnail']['present']\n"
        "print(present, (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(path)], cwd=ROOT, capture_output=True, text=True)
    present, grown_mb = done.stdout.split()
    assert present == "True" and int(grown_mb) < 60, done.stdout  # a whole decode is 108 MB, copies more


def _inspect(folder: Path) -> tuple[subprocess.CompletedProcess, dict]:
    done = run_process("inspect", folder, "--json", timeout=60)
    return done, {Path(entry["path"]).name: entry for entry in json.loads(done.stdout)["images"]}


def test_inspect_refuses_a_named_pipe_without_waiting_on_it(tmp_path):
    folder = tmp_path / "drop"
    folder.mkdir()
    _photo(folder / "a.jpg", quality=90)
    os.mkfifo(folder / "x.jpg")  # nothing ever writes to it: opening it to read would wait for ever
    done, images = _inspect(folder)
    assert done.returncode == 3  # one file could not be read; the others were
    assert "not a regular file" in images["x.jpg"]["error"]
    assert images["a.jpg"]["provenance"] == read_provenance(folder / "a.jpg")
    with pytest.raises(OSError, match="not a regular file"):  # what the results writer and the batch catch
        read_provenance(folder / "x.jpg")
    assert provenance_of(folder / "x.jpg")["problems"][0].startswith("the file could not be read")


def test_a_saved_trust_anchor_folder_that_has_gone_is_a_warning_not_a_failure(tmp_path):
    from dinolizer_gui.core.session.settings import Settings, save_settings

    folder = tmp_path / "drop"
    folder.mkdir()
    _photo(folder / "a.jpg", quality=90)
    save_settings(Settings(trust_anchors=str(tmp_path / "gone")), Path(os.environ["DINOLIZER_GUI_CONFIG"]))
    done, images = _inspect(folder)
    assert done.returncode == 0 and images["a.jpg"]["provenance"]["c2pa"]["state"] == "none"
    assert f"the trust-anchor folder {tmp_path / 'gone'} is not there" in done.stderr


def test_a_text_chunk_after_the_pixels_is_read_without_decoding_them(tmp_path):
    path = _photo(tmp_path / "late.png")
    data = path.read_bytes()
    body = b"parameters\0" + SETTINGS.encode()
    chunk = struct.pack(">I", len(body)) + b"tEXt" + body + struct.pack(">I", zlib.crc32(b"tEXt" + body))
    end = data.rfind(b"IEND") - 4
    (tmp_path / "late.png").write_bytes(data[:end] + chunk + data[end:])
    assert "parameters" in read_provenance(tmp_path / "late.png")["generator_text"]


# --- round four: held-out variants of classes 11-15 ---------------------------------------------------------

REMOTE_XMP = (
    b"http://ns.adobe.com/xap/1.0/\0"
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:dcterms="http://purl.org/dc/terms/" '
    b'dcterms:provenance="https://example.invalid/m.c2pa"/></rdf:RDF></x:xmpmeta>'
)


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload


def _label_changed(data: bytes) -> bytes:
    """The store's own label changed by one byte: the library no longer finds the store."""
    at = data.find(b"jumdc2pa") + 4
    return data[:at] + bytes((data[at] ^ 0x01,)) + data[at + 1 :]


def test_a_pointer_to_remote_credentials_never_hides_a_damaged_store_or_its_declaration(files):
    data = files["jpeg"].read_bytes()  # signed, declaring trainedAlgorithmicMedia
    pointed = data[:2] + _segment(0xE1, REMOTE_XMP) + data[2:]  # anyone can add such an XMP
    c2pa = _c2pa(_label_changed(pointed))
    assert c2pa["state"] == "damaged"
    assert [(d["value"], d["signed"], d["state"]) for d in c2pa["declarations"]] == [
        ("trainedAlgorithmicMedia", False, "damaged")
    ]
    assert "example.invalid" in c2pa["message"] and "not fetched" in c2pa["message"]


@pytest.mark.parametrize(
    "written",
    [
        "https://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia",
        "HTTP://CV.IPTC.ORG/newscodes/digitalsourcetype/trainedAlgorithmicMedia",
        "http://cv.iptc.org/newscodes/digitalsourcetype/TrainedAlgorithmicMedia ",
        "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia\n",
    ],
)
def test_ai_declared_in_any_spelling_counts_signed_and_in_a_damaged_store(files, chain, tmp_path, written):
    actions = [{"action": "c2pa.created", "digitalSourceType": written}]
    signed = factories.sign_manifest(files["folder"] / "source.jpg", tmp_path / "ai.jpg", chain, actions)
    provenance = read_provenance(signed)
    assert provenance["c2pa"]["state"] == "valid" and declares_ai(provenance)
    damaged = provenance_from_bytes(_label_changed(signed.read_bytes()))[0]
    assert damaged["c2pa"]["state"] == "damaged" and declares_ai(damaged)


def _png_chunk(data: bytes, kind: bytes) -> bytes:
    at = data.find(kind) - 4
    return data[at : at + 12 + int.from_bytes(data[at : at + 4], "big")]


def test_a_second_store_outside_the_files_structure_is_said_and_its_declaration_kept(files, chain, tmp_path):
    capture = [{"action": "c2pa.created", "digitalSourceType": CAPTURE}]
    source_png, source_jpeg = files["folder"] / "source.png", files["folder"] / "source.jpg"
    png = factories.sign_manifest(source_png, tmp_path / "capture.png", chain, capture).read_bytes()
    jpeg = factories.sign_manifest(source_jpeg, tmp_path / "capture.jpg", chain, capture).read_bytes()
    ai_png, ai_jpeg = files["png"].read_bytes(), files["jpeg"].read_bytes()
    for data in (png + _png_chunk(ai_png, b"caBX"), jpeg + ai_jpeg):
        c2pa = _c2pa(data)
        declared = [(d["value"], d["signed"]) for d in c2pa["declarations"]]
        assert ("digitalCapture", True) in declared and ("trainedAlgorithmicMedia", False) in declared
        assert any("outside the file's manifest store" in trace for trace in c2pa["traces"])
        assert "a second store, not read, not verified" in c2pa["message"]
        assert declares_ai(provenance_from_bytes(data)[0])


def test_an_mpf_entry_inside_the_primary_image_never_hides_appended_data(tmp_path):
    picture = Image.open(_photo(tmp_path / "p.png"))
    main, thumbnail = _jpeg_bytes(picture, quality=90), _jpeg_bytes(picture.resize((40, 30)), quality=80)
    exif = _segment(0xE1, b"Exif\0\0" + factories.exif_with_thumbnail(thumbnail))
    junk = b"\xff\xd8" + b"HIDDEN-PAYLOAD" * 200 + b"\xff\xd9"

    def mpf(size: int, offset: int) -> bytes:
        entries = struct.pack("<IIIHH", 0x030000, 0, 0, 0, 0) + struct.pack("<IIIHH", 0, size, offset, 0, 0)
        index = struct.pack("<H", 1) + struct.pack("<HHII", 0xB002, 7, 32, 26) + struct.pack("<I", 0)
        return _segment(0xE2, b"MPF\0II*\0" + struct.pack("<I", 8) + index + entries)

    head = main[:2] + mpf(0, 0) + exif
    thumbnail_at = head.find(b"\xff\xd8", 4)
    total = len(head) + len(main) - 2 + len(junk)
    header = 2 + 4 + 4  # MPF offsets count from the TIFF header after "MPF\0"
    data = main[:2] + mpf(total - thumbnail_at, thumbnail_at - header) + exif + main[2:] + junk
    provenance = provenance_from_bytes(data)[0]
    assert provenance["jpeg"]["trailing_bytes"] == len(junk) and provenance["jpeg"]["mpf_images"] == []
    assert any("points inside the primary image" in problem for problem in provenance["problems"])
    assert any("data appended" in said for said in provenance["indications"])


def test_a_quantisation_table_cut_short_is_said_and_the_rest_of_the_jpeg_still_read(tmp_path):
    main = _jpeg_bytes(Image.open(_photo(tmp_path / "p.png")), quality=90)
    cut = _segment(0xDB, bytes((0x12,)) + b"\x01" * 41)  # a 16-bit table of 128 bytes, cut at 41
    provenance = provenance_from_bytes(main[:2] + cut + main[2:] + b"\0" * 1400)[0]
    assert provenance["jpeg"] is not None and provenance["jpeg"]["trailing_bytes"] == 1400
    assert any("table 2 cut short (41 of 128 bytes)" in problem for problem in provenance["problems"])


def test_a_signer_whose_certificate_may_not_make_signatures_is_never_trusted(tmp_path):
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, utils
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    from dinolizer_gui.core.io.provenance.credentials import import_c2pa

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Lab Root")])
    usage = dict(content_commitment=False, key_encipherment=False, data_encipherment=False,
                 key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False,
                 decipher_only=False)  # fmt: skip

    def certificate(subject, public_key, ca: bool, extra=()):
        builder = (
            x509.CertificateBuilder().subject_name(subject).issuer_name(ca_name).public_key(public_key)
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, **usage), critical=True)
        )  # fmt: skip
        for extension in extra:
            builder = builder.add_extension(extension, critical=False)
        return builder.sign(ca_key, hashes.SHA256())

    root = certificate(
        ca_name, ca_key.public_key(), True, [x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())]
    )
    eku = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION])
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Not A Signer")])
    identifiers = [
        x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
        x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
    ]
    leaf = certificate(subject, key.public_key(), False, [eku, *identifiers])  # usage: certificates, CRLs
    pem = serialization.Encoding.PEM

    def sign(data: bytes) -> bytes:
        r, s = utils.decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    c2pa = import_c2pa()
    chain_pem = (leaf.public_bytes(pem) + root.public_bytes(pem)).decode()
    signer = c2pa.Signer.from_callback(sign, c2pa.C2paSigningAlg.ES256, chain_pem)
    source, target = _photo(tmp_path / "s.jpg", quality=90), tmp_path / "signed.jpg"
    with c2pa.Builder(signing.manifest()) as builder, open(source, "rb") as src, open(target, "wb") as dst:
        builder.sign(signer, "image/jpeg", src, dst)
    credentials = _c2pa(target.read_bytes(), root.public_bytes(pem).decode())
    assert credentials["state"] == "invalid" and credentials["trusted_signer"] is False
    assert "key usage without digitalSignature" in credentials["message"]
    assert "reaches one of your trust anchors" not in credentials["message"]


# --- round five: the second held-out pass -------------------------------------------------------------------


def test_a_signer_certificate_that_cannot_be_read_is_invalid_and_the_rest_still_read(files):
    data = bytearray(files["jpeg"].read_bytes())
    at = data.find(b"\xa0\x03\x02\x01\x02")  # the certificate's version: [0] { INTEGER 2 } (X.509 v3)
    data[at + 4] = 0x0A  # a version no parser knows
    provenance = provenance_from_bytes(bytes(data))[0]  # never a traceback: a batch goes on
    assert (
        provenance["c2pa"]["state"] in ("invalid", "damaged")
        and provenance["c2pa"]["trusted_signer"] is not True
    )
    assert declares_ai(provenance) and provenance["exif"] is not None


def test_a_declaration_whose_claim_signature_does_not_verify_is_never_called_signed(files):
    data = bytearray(files["jpeg"].read_bytes())
    start = data.find(b"c2pa.signature")
    last = max(i for i in range(start, len(data) - 66) if data[i] == 0x58 and data[i + 1] == 0x40)
    data[last + 10] ^= 0x01  # one bit of the ES256 signature
    provenance = provenance_from_bytes(bytes(data))[0]
    (declared,) = provenance["digital_source_types"]
    assert declared["value"] == "trainedAlgorithmicMedia" and declared["signed"] is False
    said = " ".join(provenance["indications"])
    assert "signed by its maker" not in said and "nothing vouches for it" in said
    assert "in a invalid" not in said


def test_the_triage_words_keep_what_was_not_checked():
    checked = {"c2pa": {"state": "valid", "unchecked": []}, "digital_source_types": []}
    unchecked = {"c2pa": {"state": "valid", "unchecked": ["the bytes no signature covers"]},
                 "digital_source_types": []}  # fmt: skip
    assert summarise(checked).text == "C2PA valid"
    assert summarise(unchecked).text == "C2PA valid (not all checked)"
