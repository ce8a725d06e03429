"""What a file says about itself, on real files: Content Credentials signed by c2pa-python with a chain made
here (valid, trusted only with the user's anchor, invalid after a pixel change, remote and never fetched),
XMP, EXIF and thumbnails written by exiftool, generator text, JPEG structure, hostile files, and `inspect`."""

import io
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import threading
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from dinolizer_gui.core.io.provenance import provenance_from_bytes, read_provenance, signing
from dinolizer_gui.core.io.provenance.credentials import trust_anchors
from dinolizer_gui.core.io.provenance.signing import AI_MADE
from tests import factories
from tests.cli_run import analyze_args, run_process

ROOT = Path(__file__).resolve().parents[3]
EXIFTOOL = shutil.which("exiftool")
# exiftool writes the metadata an independent tool would: .ci/run installs it (CI never skips this)
needs_exiftool = pytest.mark.skipif(
    EXIFTOOL is None and not os.environ.get("CI"), reason="needs exiftool (Debian: libimage-exiftool-perl)"
)


def _photo(path: Path, seed: int = 0, size=(240, 320), **save) -> Path:
    y, x = np.mgrid[0 : size[0], 0 : size[1]]
    rgb = np.stack([x * 0.7 + seed * 20, y * 0.9, (x + y) * 0.4], -1) % 256
    Image.fromarray(rgb.astype(np.uint8)).save(path, **save)
    return path


@pytest.fixture(scope="module")
def signed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("c2pa")
    chain = signing.make_chain()
    source = _photo(folder / "source.jpg", quality=92)
    good = signing.sign(source, folder / "signed.jpg", chain)
    anchors = folder / "anchors"
    anchors.mkdir()
    (anchors / "lab-ca.pem").write_bytes(chain.ca_pem)
    other = folder / "other-anchors"
    other.mkdir()
    (other / "someone-else.pem").write_bytes(signing.make_chain("Someone Else").ca_pem)
    return folder, good, chain, anchors, other


def test_valid_content_credentials_with_their_signer_actions_and_source_type(signed):
    _, good, _, _, _ = signed
    provenance = read_provenance(good)
    c2pa = provenance["c2pa"]
    assert c2pa["state"] == "valid" and c2pa["trusted_signer"] is False  # on no list and no anchor of yours
    assert (
        c2pa["signer"] == "Test Signer (issued by Test Lab)"
        and c2pa["claim_generator"] == "TestGenerator 2.1"
    )
    assert c2pa["actions"] == [
        {"action": "c2pa.created", "digital_source_type": "trainedAlgorithmicMedia", "software_agent": None}
    ]
    assert "NOT on the C2PA Trust List (issued 2026-08-05) and you gave no trust anchors" in c2pa["message"]
    assert provenance["digital_source_types"] == [
        {"value": "trainedAlgorithmicMedia", "from": "c2pa", "where": "action c2pa.created", "signed": True,
         "state": "valid"}
    ]  # fmt: skip
    assert any(
        "Content Credentials declare the image made by a trained algorithm" in s
        for s in provenance["indications"]
    )


def test_a_signer_is_trusted_only_through_an_anchor_the_user_gave(signed):
    _, good, _, anchors, other = signed
    assert read_provenance(good, trust_anchors(anchors))["c2pa"]["trusted_signer"] is True
    elsewhere = read_provenance(good, trust_anchors(other))["c2pa"]
    assert elsewhere["trusted_signer"] is False
    assert (
        "NOT on the C2PA Trust List (issued 2026-08-05) nor among your trust anchors" in elsewhere["message"]
    )


def test_pixels_changed_after_signing_make_the_credentials_invalid_with_the_data_hash_code(signed, tmp_path):
    _, good, _, _, _ = signed
    changed = factories.change_pixels_after_signing(good, tmp_path / "changed.jpg")
    c2pa = read_provenance(changed)["c2pa"]
    assert c2pa["state"] == "invalid" and "assertion.dataHash.mismatch" in c2pa["validation_codes"]
    assert "INVALID (assertion.dataHash.mismatch)" in c2pa["message"] and c2pa["unsigned_changes"] == []


def test_an_edit_of_a_signed_file_lists_its_ingredient_with_the_ingredients_own_state(signed, tmp_path):
    folder, good, chain, _, _ = signed
    composite = "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"
    tampered = factories.change_pixels_after_signing(good, tmp_path / "tampered.jpg")
    for parent, state in ((good, "valid"), (tampered, "invalid")):
        edit = signing.edit_of(
            parent, folder / "source.jpg", tmp_path / f"edit-{state}.jpg", chain, composite
        )
        provenance = read_provenance(edit)
        c2pa = provenance["c2pa"]
        assert c2pa["state"] == "valid"  # the edit's own manifest is intact
        assert [a["action"] for a in c2pa["actions"]] == ["c2pa.opened", "c2pa.edited"]
        (ingredient,) = c2pa["ingredients"]
        assert ingredient["title"] == parent.name and ingredient["relationship"] == "parentOf"
        assert ingredient["state"] == state
        assert ("assertion.dataHash.mismatch" in ingredient["validation_codes"]) == (state == "invalid")
        declared = [
            (item["value"], item["where"], item["state"]) for item in provenance["digital_source_types"]
        ]
        assert declared == [
            ("compositeWithTrainedAlgorithmicMedia", "action c2pa.edited", "valid"),
            ("trainedAlgorithmicMedia", f"ingredient {parent.name}, action c2pa.created", state),
        ]  # the parent's own declaration is kept, with the parent's state


def test_a_remote_manifest_is_never_fetched(signed, tmp_path):
    folder, _, chain, _, _ = signed
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    connections = []
    stop = threading.Event()

    def accept():
        while not stop.is_set():
            try:
                connections.append(server.accept())
            except OSError:
                continue

    watcher = threading.Thread(target=accept, daemon=True)
    watcher.start()
    url = f"http://127.0.0.1:{server.getsockname()[1]}/manifest.c2pa"
    remote = signing.sign(folder / "source.jpg", tmp_path / "remote.jpg", chain, remote_url=url)
    try:
        provenance = read_provenance(remote)
        run_process("inspect", remote, timeout=120)
    finally:
        stop.set()
        watcher.join(timeout=5)
        server.close()
    assert provenance["c2pa"]["state"] == "remote" and url in provenance["c2pa"]["message"]
    assert "not fetched" in provenance["c2pa"]["message"]
    assert connections == []  # neither the app nor the library reached for it


def test_a_file_without_credentials_says_so_and_what_that_does_not_mean(tmp_path):
    provenance = read_provenance(_photo(tmp_path / "plain.jpg", quality=80))
    assert provenance["c2pa"]["state"] == "none"
    assert provenance["indications"][0].startswith(
        "No Content Credentials: most cameras and editors write none"
    )


@needs_exiftool
def test_xmp_source_type_exif_and_a_thumbnail_of_another_picture_written_by_exiftool(tmp_path):
    image = _photo(tmp_path / "edited.jpg", seed=0, quality=90)
    thumbnail = _photo(tmp_path / "thumb.jpg", seed=5, size=(120, 160))
    Image.open(thumbnail).transpose(Image.Transpose.FLIP_TOP_BOTTOM).save(thumbnail)
    subprocess.run(
        [EXIFTOOL, "-q", "-overwrite_original", "-Make=Canon", "-Model=EOS R6", "-Software=PhotoFixer 9",
         "-DateTimeOriginal=2026:05:01 10:00:00", "-ModifyDate=2026:06:02 11:00:00", "-GPSLatitude=48.85",
         "-GPSLatitudeRef=N", "-MakerNote=abc",
         "-XMP-iptcExt:DigitalSourceType=http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia",
         "-XMP-xmp:CreatorTool=PhotoFixer 9", "-XMP-xmpMM:DocumentID=xmp.did:1234",
         f"-ThumbnailImage<={thumbnail}", str(image)],
        check=True, timeout=60,
    )  # fmt: skip
    provenance = read_provenance(image)
    where = "Iptc4xmpExt:DigitalSourceType"
    assert provenance["digital_source_types"] == [
        {"value": "compositeWithTrainedAlgorithmicMedia", "from": "xmp", "where": where, "signed": False,
         "state": None}
    ]  # fmt: skip
    assert (
        provenance["xmp"]["CreatorTool"] == "PhotoFixer 9"
        and provenance["xmp"]["DocumentID"] == "xmp.did:1234"
    )
    exif = provenance["exif"]
    assert (
        exif["Make"] == "Canon" and exif["Software"] == "PhotoFixer 9" and exif["GPS.GPSLatitudeRef"] == "N"
    )
    assert provenance["dates"]["DateTimeOriginal"] == "2026:05:01 10:00:00"
    assert provenance["thumbnail"]["present"] and provenance["thumbnail"]["matches"] is False
    assert any("thumbnail shows another picture" in said for said in provenance["indications"])
    assert any("edited with generative AI" in said for said in provenance["indications"])
    same = _photo(tmp_path / "camera.jpg", seed=0, quality=90)
    small = tmp_path / "small.jpg"
    Image.open(same).resize((160, 120)).save(small)
    subprocess.run(
        [EXIFTOOL, "-q", "-overwrite_original", f"-ThumbnailImage<={small}", str(same)], check=True
    )
    kept = read_provenance(same)["thumbnail"]
    assert kept["matches"] is True and kept["distance"] < 0.08
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(b"\xff\xd8 this is no picture" * 50)
    subprocess.run(
        [EXIFTOOL, "-q", "-overwrite_original", f"-ThumbnailImage<={garbage}", str(same)], check=True
    )
    broken = read_provenance(same)
    assert broken["thumbnail"]["present"] and broken["thumbnail"]["matches"] is None
    assert any("thumbnail could not be decoded" in said for said in broken["indications"])
    assert broken["jpeg"]["quality"] == 90  # the rest is read


def test_generator_text_and_jpeg_structure(tmp_path):
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "a lighthouse at dusk\nSteps: 30, Sampler: Euler a, CFG scale: 7, Seed: 42")
    info.add_text(
        "Comment", "holiday photo"
    )  # anyone writes a comment: not a generator's unless it reads like one
    generated = read_provenance(_photo(tmp_path / "gen.png", pnginfo=info))
    assert list(generated["generator_text"]) == ["parameters"]
    assert generated["generator_text"]["parameters"].startswith("a lighthouse at dusk\\x0aSteps: 30")
    assert generated["jpeg"] is None
    jpeg = _photo(tmp_path / "q.jpg", quality=67, subsampling=1, progressive=True)
    jpeg.write_bytes(jpeg.read_bytes() + b"hidden payload")
    facts = read_provenance(jpeg)["jpeg"]
    expected = {"quality": 67, "standard_tables": True, "progressive": True, "subsampling": "4:2:2"}
    assert facts == {**expected, "trailing_bytes": 14, "mpf_images": [], "icc_profile": None}
    from PIL import ImageCms

    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    profiled = _photo(tmp_path / "icc.jpg", quality=90, icc_profile=srgb)
    assert "sRGB" in read_provenance(profiled)["jpeg"]["icc_profile"]
    custom = _photo(tmp_path / "custom.jpg", qtables=[[3] * 64, [5] * 64])
    assert read_provenance(custom)["jpeg"]["standard_tables"] is False


def test_hostile_metadata_is_refused_part_by_part_and_the_rest_is_read(tmp_path):
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><x:xmpmeta xmlns:x="adobe:ns:meta/">&c;</x:xmpmeta>'
    )
    image = Image.fromarray(np.zeros((32, 32, 3), np.uint8))
    buffer = io.BytesIO()
    exif = image.getexif()
    exif[0x0131] = "Editor 1"
    image.save(buffer, "JPEG", exif=exif, xmp=bomb.encode())
    path = tmp_path / "bomb.jpg"
    path.write_bytes(buffer.getvalue())
    provenance = read_provenance(path)
    assert any(problem.startswith("XMP could not be read (") for problem in provenance["problems"])
    assert provenance["exif"]["Software"] == "Editor 1"  # the rest is read
    assert provenance["jpeg"]["quality"] == 75
    png = io.BytesIO()
    image.save(png, "PNG")
    data = png.getvalue()
    inflating = b"parameters\0\0" + zlib.compress(b"a" * 300_000_000, 9)  # 300 MB of text in ~300 KB
    chunk = struct.pack(">I", len(inflating)) + b"zTXt" + inflating
    chunk += struct.pack(">I", zlib.crc32(b"zTXt" + inflating))
    (tmp_path / "text-bomb.png").write_bytes(data[:33] + chunk + data[33:])
    bombed = read_provenance(tmp_path / "text-bomb.png")
    assert bombed["problems"] == [
        "text chunk parameters: inflates beyond 1,048,576 bytes, the first read",
        "the picture opened again without its text chunks (Decompressed data too large for "
        "PngImagePlugin.MAX_TEXT_CHUNK)",
    ]
    assert bombed["c2pa"]["state"] == "none" and bombed["generator_text"]["parameters"].startswith("aaaa")
    description = b"jumd" + b"c2pa" + bytes.fromhex("00110010800000aa00389b71") + b"\x03c2pa\0"
    jumbf = b"JP\0\0\0\0\0\1" + struct.pack(">I", 1) + b"jumb" + struct.pack(">Q", 1 << 40)
    jumbf += struct.pack(">I", 4 + len(description)) + description
    segment = b"\xff\xeb" + struct.pack(">H", len(jumbf) + 2) + jumbf  # a JUMBF box claiming 1 TB
    (tmp_path / "jumbf.jpg").write_bytes(buffer.getvalue()[:2] + segment + buffer.getvalue()[2:])
    claimed = read_provenance(tmp_path / "jumbf.jpg")
    assert claimed["c2pa"]["state"] == "damaged" and claimed["jpeg"]["quality"] == 75
    many = Image.Exif()
    for tag in range(0xC000, 0xC000 + 3000):  # no IFD pointer among them
        many[tag] = 1
    crowded = tmp_path / "crowded.jpg"
    image.save(crowded, exif=many)
    listed = read_provenance(crowded)
    assert len(listed["exif"]) == 2000 and any("the first 2000 listed" in p for p in listed["problems"])


def test_inspect_reads_files_and_folders_without_pytorch(signed, tmp_path):
    _, good, _, _, _ = signed
    folder = tmp_path / "drop"
    folder.mkdir()
    shutil.copy(good, folder / "signed.jpg")
    _photo(folder / "plain.png")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 not really")
    script = (
        "import sys, io, contextlib, json\n"
        "from dinolizer_gui.cli import main\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        "    code = main(['inspect', sys.argv[1], '--json'])\n"
        "loaded = 'torch' in sys.modules\n"
        "print(json.dumps({'code': code, 'torch': loaded, 'doc': json.loads(out.getvalue())}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(folder)], cwd=ROOT, capture_output=True, text=True
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["torch"] is False and result["code"] == 3  # one file could not be read in full
    images = {Path(entry["path"]).name: entry for entry in result["doc"]["images"]}
    assert images["signed.jpg"]["provenance"]["c2pa"]["state"] == "valid" and images["signed.jpg"]["sha256"]
    assert images["plain.png"]["provenance"]["c2pa"]["state"] == "none"
    broken = images["broken.jpg"]["provenance"]  # read: what could be is said, and what could not
    assert broken["c2pa"]["state"] == "error" and broken["problems"][0].startswith(
        "the picture could not be opened"
    )


def test_the_native_library_is_never_taken_from_the_current_folder(signed, tmp_path):
    """c2pa-python looks in the current folder first: a library of that name in an evidence folder would be
    loaded (and its code run). Here a copy of the real one stands in the current folder; plain `import c2pa`
    loads it, the app's reader never does."""
    _, good, _, _, _ = signed
    import c2pa.c2pa

    genuine = Path(c2pa.c2pa._lib._name)
    shutil.copy(genuine, tmp_path / genuine.name)
    script = (
        "import sys; sys.path.insert(0, sys.argv[2])\n"
        "if sys.argv[3] == 'app':\n"
        "    from dinolizer_gui.core.io.provenance import read_provenance\n"
        "    print(read_provenance(sys.argv[1])['c2pa']['state'])\n"
        "import c2pa.c2pa\n"
        "print(c2pa.c2pa._lib._name)\n"
    )

    def loaded(how: str) -> list[str]:
        command = [sys.executable, "-c", script, str(good), str(ROOT), how]
        env = {key: value for key, value in os.environ.items() if key != "C2PA_LIBRARY_NAME"}
        done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, env=env)
        return done.stdout.split()

    assert Path(loaded("plain")[-1]).parent == tmp_path  # the hazard the reader avoids
    state, library = loaded("app")
    assert state == "valid" and Path(library) == genuine


def test_analyze_and_its_reports_carry_each_files_provenance(signed, weights, tmp_path):
    import jsonschema
    from pypdf import PdfReader

    _, good, _, _, _ = signed
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(good, folder / "signed.jpg")
    factories.change_pixels_after_signing(good, folder / "changed.jpg")
    _photo(folder / "plain.png")
    out = tmp_path / "out"
    reports = ("--report", "json", "--report", "pdf", "--report", "html")
    done = run_process(*analyze_args(weights, folder, out, *reports, models=("declip",)))
    assert done.returncode == 0, done.stderr
    images = {Path(e["path"]).name: e for e in json.loads((out / "results.json").read_text())["images"]}
    assert images["signed.jpg"]["provenance"]["c2pa"]["state"] == "valid"
    assert images["changed.jpg"]["provenance"]["c2pa"]["state"] == "invalid"
    assert images["plain.png"]["provenance"]["c2pa"]["state"] == "none"
    report = json.loads((out / "report.json").read_text())
    schema = json.loads((ROOT / "dinolizer_gui" / "core" / "report" / "schema.json").read_text())
    jsonschema.validate(report, schema)
    assert report["summary"]["content_credentials"] == {
        "valid": 1,
        "invalid": 1,
        "damaged": 0,
        "remote": 0,
        "error": 0,
        "none": 1,
    }
    assert report["summary"]["declare_ai"] == 2  # both signed copies declare trainedAlgorithmicMedia
    text = " ".join(" ".join(page.extract_text() for page in PdfReader(out / "report.pdf").pages).split())
    assert "File and provenance" in text and "INVALID" in text and "assertion.dataHash.mismatch" in text
    assert "Content Credentials: 1 valid, 1 INVALID, 1 none" in text
    assert "File and provenance" in (out / "report.html").read_text()


JXL_CONTAINER = bytes.fromhex("0000000c4a584c200d0a870a00000014667479706a786c20000000006a786c20")


@needs_exiftool
def test_the_metadata_of_heif_avif_and_jpeg_xl_is_read_from_the_container(tmp_path):
    avif = _photo(tmp_path / "made.avif")
    jxl = tmp_path / "made.jxl"
    jxl.write_bytes(JXL_CONTAINER + (210).to_bytes(4, "big") + b"jxlc" + b"\xff\x0a" + bytes(200))
    for path in (avif, jxl):
        subprocess.run(
            [EXIFTOOL, "-q", "-overwrite_original", f"-XMP-iptcExt:DigitalSourceType={AI_MADE}",
             "-XMP-xmp:CreatorTool=Midjourney v6", "-EXIF:Software=Stable Diffusion", str(path)],
            check=True,
        )  # fmt: skip
    data = avif.read_bytes()
    codec = data.find(b"av1C")
    broken = data[:codec] + b"av1X" + data[codec + 4 :]  # Pillow can no longer open the picture
    for file in (data, broken, jxl.read_bytes()):
        provenance = provenance_from_bytes(file)[0]
        assert [d["value"] for d in provenance["digital_source_types"]] == ["trainedAlgorithmicMedia"]
        assert provenance["exif"]["Software"] == "Stable Diffusion"
        assert provenance["generator_text"]["XMP CreatorTool"] == "Midjourney v6"


@needs_exiftool
def test_generator_text_in_iptc_iim_is_found(tmp_path):
    photo = _photo(tmp_path / "iim.jpg", quality=90)
    caption = "a cat on the moon. Negative prompt: blurry. Steps: 30, Sampler: Euler a, CFG scale: 7, Seed: 1"
    subprocess.run(
        [EXIFTOOL, "-q", "-overwrite_original", "-IPTC:OriginatingProgram=Midjourney",
         f"-IPTC:Caption-Abstract={caption}", "-IPTC:Credit=Press Agency", str(photo)],
        check=True,
    )  # fmt: skip
    found = read_provenance(photo)["generator_text"]
    assert found["IPTC OriginatingProgram"] == "Midjourney" and found["IPTC Caption-Abstract"] == caption
    assert "IPTC Credit" not in found  # a credit that names no generator is not generator text
