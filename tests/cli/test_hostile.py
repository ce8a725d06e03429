"""Hostile inputs and faults: nothing misleads, nothing hangs, nothing is lost (see README, Promises)."""

import base64
import io
import json
import os
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from pypdf import PdfReader

from dinolizer_gui.core.engine.analysis import AnalysisOptions, ModelRun
from dinolizer_gui.core.io.images import ImageLoadError, load_image
from dinolizer_gui.core.io.outputs import OUTPUT_MARKER
from dinolizer_gui.core.models import manager
from dinolizer_gui.core.models.layouts import CheckpointError
from dinolizer_gui.core.models.registry import load_localizer
from dinolizer_gui.core.progress import run_to_end
from dinolizer_gui.core.report.results_folder import ResultsWriter
from dinolizer_gui.core.store.results import ResultStore
from tests import factories
from tests.cli_run import analyze_args, command, run_cli

ROOT = Path(__file__).resolve().parents[2]


def _results(out):
    text = (Path(out) / "results.json").read_text(encoding="utf-8")
    return json.loads(text, parse_constant=lambda name: pytest.fail(f"results.json holds {name}"))


# --- nothing misleads ----------------------------------------------------------------------------


def test_unofficial_weights_are_never_called_official_in_any_output(weights, tmp_path):
    files, _ = weights
    folder = tmp_path / "weights"
    manager.import_file(files["release"], folder)  # a test file: not the published release
    image = factories.blocky_photo(tmp_path / "x.png", 120, 96)
    out = tmp_path / "out"
    reports = ("--report", "json", "--report", "pdf", "--report", "html")
    assert run_cli(*analyze_args(None, image, out, "--weights-dir", folder, *reports, models=())).code == 0
    results = _results(out)
    model = results["models"]["dinolizer"]
    assert model["checkpoints"][0]["verification"]["state"] == "unofficial"
    assert "official" not in model["variant"].lower()
    report = json.loads((out / "report.json").read_text())
    assert report["models"]["dinolizer"]["checkpoints"][0]["verification"]["state"] == "unofficial"
    pdf = " ".join(page.extract_text() for page in PdfReader(out / "report.pdf").pages)
    html = (out / "report.html").read_text()
    for text in (" ".join(pdf.split()), html):
        assert "UNOFFICIAL: not the published file" in text


def test_a_file_given_for_the_run_says_so(weights, tmp_path):
    out = tmp_path / "out"
    image = factories.blocky_photo(tmp_path / "x.png", 120, 96)
    assert run_cli(*analyze_args(weights, image, out, models=("declip",))).code == 0
    verification = _results(out)["models"]["declip"]["checkpoints"][0]["verification"]
    assert verification["state"] == "session" and "given for this run only" in verification["meaning"]


def test_an_installed_file_changed_after_installation_is_refused(weights, tmp_path):
    files, _ = weights
    folder = tmp_path / "weights"
    target = manager.import_file(files["declip"], folder)
    image = factories.blocky_photo(tmp_path / "x.png", 120, 96)
    installed = ("--weights-dir", folder)
    assert run_cli(*analyze_args(None, image, tmp_path / "first", *installed, models=())).code == 0
    with open(target, "r+b") as handle:  # damaged on disk, same size
        handle.seek(-200, os.SEEK_END)
        handle.write(b"\0" * 100)
    code, _, err = run_cli(*analyze_args(None, image, tmp_path / "second", *installed, models=()))
    assert code == 2
    assert "changed since it was installed" in err and "corrupt" in err and "Traceback" not in err
    assert [row.state for row in manager.status(folder, check_hashes=True) if row.path == target] == [
        "corrupt"
    ]


def _nan_release(path):
    factories.make_dinolizer_release(path)
    content = torch.load(path, weights_only=True)
    content["state_dict"]["net.model.cls_head.bias"] = torch.tensor([float("nan"), 0.0, 0.0])
    torch.save(content, path)
    return path


def test_a_model_that_outputs_nan_gives_an_error_never_a_score(tmp_path):
    release = _nan_release(tmp_path / "nan.ckpt")
    image = factories.blocky_photo(tmp_path / "x.png", 120, 96)
    for extra in ((), ("--no-cache",)):
        out = tmp_path / f"out{len(extra)}"
        given = ("--weights", f"dinolizer={release}", *extra)
        assert run_cli(*analyze_args(None, image, out, *given, models=())).code == 3
        entry = _results(out)["images"][0]
        assert entry["status"] == "error" and "non-finite values" in entry["error"]
        assert entry["models"] == {}


def test_all_json_the_app_writes_is_strict(tmp_path):
    from dinolizer_gui.core.engine.analysis import ImageOutcome
    from dinolizer_gui.core.session.batch import BatchItem

    writer = ResultsWriter(tmp_path / "out", {"parameters": {"odd": float("nan")}})
    with pytest.raises(ValueError, match="JSON"):
        writer.add(BatchItem("x.png"), ImageOutcome("x.png", error="e"))


def test_outputs_are_never_analysed_as_evidence(weights, tmp_path):
    case = tmp_path / "case"
    case.mkdir()
    for seed in range(2):
        factories.blocky_photo(case / f"img{seed}.png", 120, 96, seed=seed)
    out = case / "analysis"  # inside the evidence folder
    for _ in range(2):  # the second run replaces the first's outputs
        assert run_cli(*analyze_args(weights, case, out, "--replace", models=("dinolizer",))).code == 0
        assert [Path(e["path"]).name for e in _results(out)["images"]] == ["img0.png", "img1.png"]
    assert (out / OUTPUT_MARKER).is_file()
    mask = next(out.rglob("dinolizer_mask.png"))
    copied = tmp_path / "elsewhere.png"
    copied.write_bytes(mask.read_bytes())  # an output copied out of its folder is still recognised
    for path in (mask, copied):
        with pytest.raises(ImageLoadError, match=r"output (folder )?of DinoLizer GUI"):
            load_image(path)


def test_out_must_not_be_an_input_folder(weights, tmp_path):
    case = tmp_path / "case"
    case.mkdir()
    factories.blocky_photo(case / "a.png", 120, 96)
    code, _, err = run_cli(*analyze_args(weights, case, case, models=("dinolizer",)))
    assert code == 2
    assert "must not be mixed with the evidence" in err
    assert not (case / OUTPUT_MARKER).exists()


def _lying_jpeg(path):
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(
        buffer, "JPEG"
    )
    data = bytearray(buffer.getvalue())
    start = data.find(b"\xff\xc0")
    data[start + 5 : start + 9] = (9000).to_bytes(2, "big") * 2  # the header now claims 9000 x 9000
    path.write_bytes(bytes(data))
    return path


def test_a_jpeg_whose_header_claims_more_than_its_data_holds_is_an_error(tmp_path):
    path = _lying_jpeg(tmp_path / "lying.jpg")
    with pytest.raises(ImageLoadError, match=r"JPEG data ends before the image does") as info:
        load_image(path)
    assert "cannot hold it" in info.value.reason
    truncated = tmp_path / "half.jpg"
    factories.blocky_photo(tmp_path / "full.png", 400, 300)
    Image.open(tmp_path / "full.png").save(tmp_path / "full.jpg", quality=95)
    full = (tmp_path / "full.jpg").read_bytes()
    truncated.write_bytes(full[: len(full) // 2] + b"\xff\xd9")  # cut, with an end marker appended
    with pytest.raises(ImageLoadError, match="ends before the image does"):
        load_image(truncated)


def _png_claiming(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    idat = zlib.compress(b"\x00" * 100)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _cut(fmt: str, shape: tuple[int, ...], keep: int) -> bytes:
    buffer = io.BytesIO()
    pixels = np.random.default_rng(0).integers(0, 255, shape, dtype=np.uint8)
    Image.fromarray(pixels).save(buffer, fmt)
    return buffer.getvalue()[:keep]


@pytest.mark.parametrize(
    ("name", "build"),
    [
        ("claims.png", lambda: _png_claiming(9000, 9000)),
        ("claims.bmp", lambda: _cut("BMP", (800, 800, 3), 5000)),
        ("claims.tif", lambda: _cut("TIFF", (800, 800, 3), 2000)),
        ("cut.webp", lambda: _cut("WEBP", (500, 500, 3), 3000)),
        ("cut.gif", lambda: _cut("GIF", (500, 500), 3000)),
    ],
    ids=["png", "bmp", "tiff", "webp", "gif"],
)
def test_other_formats_whose_data_ends_early_are_errors_never_images(tmp_path, name, build):
    path = tmp_path / name
    path.write_bytes(build())
    with pytest.raises(ImageLoadError, match="truncated or corrupt") as info:
        load_image(path)
    assert str(path) in str(info.value)


# --- nothing hangs or explodes ---------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are a POSIX feature")
def test_only_regular_files_are_read(tmp_path):
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    found = {}

    def read(path):
        try:
            load_image(path)
        except ImageLoadError as exc:
            found[str(path)] = exc.reason

    for path in (fifo, Path("/dev/zero")):
        worker = threading.Thread(target=read, args=(path,), daemon=True)
        worker.start()
        worker.join(timeout=10)
        assert not worker.is_alive(), f"{path} hung the reader"
        assert "not a regular file" in found[str(path)]


def test_a_file_above_the_read_limit_is_refused_before_it_is_read(tmp_path, monkeypatch):
    from dinolizer_gui.core.io import images as imageio

    monkeypatch.setattr(imageio, "MIN_READ_LIMIT", 1000)
    path = factories.blocky_photo(tmp_path / "big.png", 200, 200)
    with pytest.raises(ImageLoadError, match="larger than the read limit of 1,000 bytes"):
        load_image(path, max_pixels=10)


def _declip_with(tmp_path, mutate):
    content, _ = factories.make_declip_vit(None)
    mutate(content)
    path = tmp_path / "ViT_layer20_conv-20_lama.pth"
    torch.save(content, path)
    return path


def _release_with(tmp_path, mutate):
    path = tmp_path / "epoch=36_val_loss=0.2130.ckpt"
    factories.make_dinolizer_release(path)
    content = torch.load(path, weights_only=True)
    mutate(content["state_dict"])
    torch.save(content, path)
    return path


def _huge_block(state):
    state["net.model.lora_vit.blocks.100000000.norm1.weight"] = torch.ones(64)


def _rank_zero(state):
    for key in [k for k in state if "linear_" in k]:
        state[key] = torch.zeros((0, 64)) if "linear_a" in key else torch.zeros((64, 0))


def _expanded(state):
    state["net.model.lora_vit.blocks.0.attn.qkv.linear_a_q.weight"] = torch.ones(1, 1).expand(
        400_000, 300_000
    )


@pytest.mark.parametrize(
    "build, reason",
    [
        (
            lambda tmp: _declip_with(
                tmp, lambda c: c["model"].update({"fc.1000000000.weight": torch.ones(1)})
            ),
            "not a layer of a convolutional decoder",
        ),
        (lambda tmp: _declip_with(tmp, lambda c: c.update(feature_layer="layer99999999")), "not a ViT layer"),
        (lambda tmp: _release_with(tmp, _huge_block), "block indices"),
        (lambda tmp: _release_with(tmp, _rank_zero), "rank must lie in"),
        (lambda tmp: _release_with(tmp, _expanded), "more than the file's"),
    ],
)
def test_hostile_checkpoints_are_refused_before_anything_large_is_allocated(tmp_path, build, reason):
    import resource

    path = build(tmp_path)
    name = "declip" if "ViT_" in path.name else "dinolizer"
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    with pytest.raises(CheckpointError, match=reason):
        load_localizer(name, [path])
    assert time.perf_counter() - started < 20
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 1_000_000  # KiB: under 1 GB more
    with pytest.raises(manager.ModelManagerError, match=reason):
        manager.import_file(path, tmp_path / "weights")  # import validates before installing
    assert not (tmp_path / "weights" / path.name).exists()


def test_an_extreme_aspect_ratio_is_refused_with_the_window_count(weights, tmp_path):
    strip = tmp_path / "strip.png"
    Image.fromarray(np.zeros((3, 50_000, 3), np.uint8)).save(strip)
    wide = factories.blocky_photo(tmp_path / "wide.png", 6000, 600)
    out = tmp_path / "out"
    code = run_cli(
        *analyze_args(weights, [strip, wide], out, "--max-windows", "50", models=("dinolizer",))
    ).code
    assert code == 3
    strip_error, wide_error = (entry["error"] for entry in _results(out)["images"])
    assert "50000 x 3 px" in strip_error and "too thin to analyse" in strip_error  # before any window count
    assert "needs 88 windows" in wide_error and "--max-windows" in wide_error


def test_no_error_message_is_empty(weights, tmp_path):
    files, _ = weights
    localizer = load_localizer("dinolizer", [files["release"]])

    def silent_failure(image, options, runtime=None):
        raise RuntimeError()
        yield

    localizer.analyze = silent_failure
    from dinolizer_gui.core.session.batch import BatchRunner, make_items
    from dinolizer_gui.core.session.thresholds import Thresholds

    items = make_items([factories.blocky_photo(tmp_path / "x.png", 120, 96)])
    run_to_end(BatchRunner([localizer], AnalysisOptions(device="cpu"), None, Thresholds()).run(items))
    assert items[0].reason.startswith("dinolizer failed: ") and items[0].reason != "dinolizer failed: "


# --- nothing is lost -------------------------------------------------------------------------------


@pytest.mark.skipif(sys.platform == "win32", reason="names are UTF-16 on Windows")
def test_names_that_are_not_utf8_round_trip_and_control_characters_never_reach_the_terminal(
    weights, tmp_path, capfd
):
    folder = tmp_path / "case"
    folder.mkdir()
    raw = os.fsencode(folder) + b"/bad\xff\xfe.png"
    factories.blocky_photo(os.fsdecode(raw), 120, 96)
    factories.blocky_photo(folder / "title\x1b]0;pwned\x07.png", 120, 96, seed=1)
    out = tmp_path / "out"
    assert run_cli(*analyze_args(weights, folder, out, models=("dinolizer",), quiet=False)).code == 0
    images = _results(out)["images"]  # strict UTF-8 JSON
    bad = next(e for e in images if "path_bytes" in e)
    assert base64.b64decode(bad["path_bytes"]) == raw and bad["path"].endswith("bad\\xff\\xfe.png")
    assert not list(out.glob("*.tmp")) and all(e["status"] == "ok" for e in images)
    err = capfd.readouterr().err
    assert "\x1b" not in err and "\x07" not in err and "title\\x1b]0;pwned\\x07.png" in err


def test_concurrent_writers_never_share_a_temporary_file(tmp_path):
    store = ResultStore(tmp_path / "store")
    run = ModelRun(np.random.default_rng(0).random((300, 300), dtype=np.float32), 1, (300, 300), [], "CPU")
    errors = []

    def put(index):
        try:
            for _ in range(20):
                ResultStore(tmp_path / "store").put("k" * 64, "f" * 64, "declip", run, 0.5)
                ResultsWriter(tmp_path / "out", {"n": index})._write_json()
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=put, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and store.count() == 1
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]


def test_a_damaged_stored_map_is_dropped_recomputed_and_reported(weights, tmp_path):
    image = factories.blocky_photo(tmp_path / "x.png", 120, 96)
    store = ("--store", tmp_path / "store")
    assert run_cli(*analyze_args(weights, image, tmp_path / "first", *store, models=("declip",))).code == 0
    stored = next((tmp_path / "store" / "maps").rglob("*.f32z"))
    data = bytearray(stored.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 64] = b"\x55" * 64
    stored.write_bytes(bytes(data))
    assert run_cli(*analyze_args(weights, image, tmp_path / "second", *store, models=("declip",))).code == 0
    model = _results(tmp_path / "second")["images"][0]["models"]["declip"]
    assert model["cached"] is False and any("damaged" in note for note in model["notes"])
    first = _results(tmp_path / "first")["images"][0]["models"]["declip"]
    assert model["score"] == first["score"]
    assert run_cli(*analyze_args(weights, image, tmp_path / "third", *store, models=("declip",))).code == 0
    assert _results(tmp_path / "third")["images"][0]["models"]["declip"]["cached"] is True


DISK_FULL_SCRIPT = r"""
import json, os, subprocess, sys
small, work = sys.argv[1], sys.argv[2]
subprocess.run(["mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", small], check=True)
try:
    runs = []
    for _ in range(2):
        where = ["--out", small + "/out", "--store", small + "/store", "--replace"]
        done = subprocess.run(sys.argv[3:] + where, capture_output=True, text=True, timeout=300)
        runs.append({"code": done.returncode, "err": done.stderr})
    names = sorted(os.path.relpath(os.path.join(d, f), small) for d, _, fs in os.walk(small) for f in fs)
    results = open(small + "/out/results.json").read() if os.path.exists(small + "/out/results.json") else ""
    print(json.dumps({"runs": runs, "names": names, "results": results}))
finally:
    subprocess.run(["umount", small])
"""


def _namespace_runner():
    """A way to mount a small tmpfs: a user and mount namespace, or root itself; None where neither works."""
    probe = ["sh", "-c", "true"]
    for prefix in (["unshare", "--user", "--map-root-user", "--mount"], ["unshare", "--mount"]):
        try:
            if subprocess.run(prefix + probe, capture_output=True, timeout=20).returncode == 0:
                return prefix
        except (OSError, subprocess.TimeoutExpired):
            continue
    return None


def test_a_full_disk_gives_a_clear_error_and_loses_nothing(weights, tmp_path):
    prefix = _namespace_runner()
    if prefix is None:
        pytest.skip("this platform lets neither a user namespace nor root mount a small filesystem")
    case = tmp_path / "case"
    case.mkdir()
    for seed in range(6):
        factories.blocky_photo(case / f"img{seed}.png", 300, 260, seed=seed)
    small = tmp_path / "small"
    small.mkdir()
    analysis = command(*analyze_args(weights, case, None, models=("declip",)))  # --out given by the script
    script = tmp_path / "disk_full.py"
    script.write_text(DISK_FULL_SCRIPT)
    done = subprocess.run(
        [*prefix, sys.executable, str(script), str(small), str(tmp_path), *analysis],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    observed = json.loads(done.stdout.strip().splitlines()[-1])
    for run in observed["runs"]:
        assert run["code"] == 4, run["err"]
        assert "No space left on device" in run["err"] or "disk is full" in run["err"]
        assert "Traceback" not in run["err"]
    assert not [n for n in observed["names"] if n.endswith(".tmp")]  # no partial file under any name
    finished = json.loads(observed["results"])["images"] if observed["results"] else []
    for entry in finished:  # everything results.json lists is complete
        for model in entry["models"].values():
            for key in ("mask", "overlay", "heatmap"):
                assert f"out/{model[key]}" in observed["names"]


def test_a_very_long_exif_field_never_stops_the_reports(weights, tmp_path):
    exif = Image.Exif()
    exif[0x0110] = "X" * 5000  # camera model
    path = tmp_path / "case" / "photo.jpg"
    path.parent.mkdir()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (200, 240, 3), dtype=np.uint8)).save(
        path, exif=exif
    )
    out = tmp_path / "out"
    reports = ("--report", "pdf", "--report", "json", "--report", "html")
    assert run_cli(*analyze_args(weights, path.parent, out, *reports, models=("declip",))).code == 0
    assert all((out / f"report.{fmt}").is_file() for fmt in ("pdf", "json", "html"))
    assert json.loads((out / "report.json").read_text())["images"][0]["exif"]["Model"] == "X" * 5000
    text = " ".join(page.extract_text() for page in PdfReader(out / "report.pdf").pages)
    assert "more characters: the full text is in report.json" in " ".join(text.split())


def test_one_report_format_failing_never_stops_the_others(weights, tmp_path, monkeypatch):
    from dinolizer_gui.core.report import pdf

    def broken(*args):
        raise RuntimeError("the PDF writer broke")

    monkeypatch.setattr(pdf, "write_pdf", broken)
    out = tmp_path / "out"
    image = factories.blocky_photo(tmp_path / "x.png", 120, 96)
    reports = ("--report", "pdf", "--report", "json", "--report", "html")
    code, _, err = run_cli(*analyze_args(weights, image, out, *reports, models=("declip",)))
    assert code == 4
    assert (out / "report.json").is_file() and (out / "report.html").is_file()
    assert "PDF report could not be written: the PDF writer broke" in err


# --- errors a user can act on ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--max-pixels", "0"], "--max-pixels must be a positive number"),
        (["--max-pixels", "-1"], "--max-pixels must be a positive number"),
        (["--max-windows", "0"], "--max-windows must be at least 1"),
    ],
)
def test_options_are_validated_before_models_load(tmp_path, monkeypatch, extra, message):
    from dinolizer_gui.core.session import workspace

    monkeypatch.setattr(workspace.Workspace, "model", lambda *a: pytest.fail("a model was loaded"))
    image = factories.blocky_photo(tmp_path / "x.png", 120, 96)
    code, _, err = run_cli(*analyze_args(None, image, tmp_path / "out", *extra, models=()))
    assert code == 2 and message in err


def test_an_out_that_is_a_file_or_unwritable_is_a_usage_error_before_models_load(tmp_path, monkeypatch):
    from dinolizer_gui.core.session import workspace

    monkeypatch.setattr(workspace.Workspace, "model", lambda *a: pytest.fail("a model was loaded"))
    image = factories.blocky_photo(tmp_path / "x.png", 120, 96)
    existing = tmp_path / "results.txt"
    existing.write_text("not a folder")
    code, _, err = run_cli(*analyze_args(None, image, existing, models=()))
    assert code == 2
    assert "is a file, not a folder" in err
    if os.geteuid() != 0:  # root may write anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        code, _, err = run_cli(*analyze_args(None, image, locked / "out", models=()))
        assert code == 2
        assert "cannot write in --out" in err


def test_a_pixel_limit_above_pillows_own_really_applies(tmp_path):
    side = 13_500  # 182 MP: above Pillow's hard limit of 178,956,970 pixels
    path = tmp_path / "huge.png"
    Image.new("L", (side, side)).save(path, compress_level=1)
    with pytest.raises(ImageLoadError, match="above the limit of 100,000"):
        load_image(path, max_pixels=100_000)
    image = load_image(path, max_pixels=200_000_000)
    assert (image.width, image.height) == (side, side)


def test_cuda_asked_for_without_a_gpu_is_said_on_stderr(weights, tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    image = factories.blocky_photo(tmp_path / "x.png", 120, 96)
    code, _, err = run_cli(*analyze_args(weights, image, tmp_path / "out", models=("declip",), device="cuda"))
    assert code == 0 and "warning: --device cuda" in err


class HostileServer:
    """An HTTP server on 127.0.0.1 that stalls, resets, lies about sizes or redirects, as asked."""

    def __init__(self, body: bytes):
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.body, self.mode, self.redirect_to = body, "normal", ""
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                if server.mode == "redirect":
                    self.send_response(302)
                    self.send_header("Location", server.redirect_to)
                    self.end_headers()
                    return
                start = (
                    int(self.headers["Range"].split("=")[1].split("-")[0]) if self.headers.get("Range") else 0
                )
                payload = server.body[start:]
                self.send_response(206 if start else 200)
                if server.mode != "endless":
                    self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if server.mode == "stall":
                    self.wfile.write(payload[:5000])
                    self.wfile.flush()
                    time.sleep(5)
                elif server.mode == "reset":
                    self.wfile.write(payload[:5000])
                    self.wfile.flush()
                    self.connection.setsockopt(
                        __import__("socket").SOL_SOCKET,
                        __import__("socket").SO_LINGER,
                        b"\x01\x00\x00\x00\x00\x00\x00\x00",
                    )
                    self.connection.close()
                elif server.mode == "endless":
                    for _ in range(200):
                        self.wfile.write(b"\0" * 65536)
                else:
                    self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self, name: str = "file") -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/{name}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture()
def hostile(weights):
    files, _ = weights
    server = HostileServer(files["declip"].read_bytes())
    yield server
    server.close()


def _declip_entry(folder, **changes):
    from dataclasses import replace

    entry = replace(manager.find_entry("declip-vit-lama"), **changes)
    manager.accept_licence(folder, entry, "2026-11-23T00:00:00+00:00")
    return entry


@pytest.mark.parametrize("mode", ["stall", "reset"])
def test_a_stalled_or_reset_download_is_a_clear_error_that_keeps_the_part_for_resuming(
    hostile, tmp_path, mode
):
    hostile.mode = mode
    folder = tmp_path / "weights"
    entry = _declip_entry(folder)
    with pytest.raises(manager.ModelManagerError, match="run it again to resume"):
        run_to_end(manager.download(entry, folder, hostile.url(), timeout=1.0))
    part = folder / f"{entry.file}.part"
    assert part.is_file() and part.stat().st_size > 0 and not (folder / entry.file).exists()
    hostile.mode = "normal"
    run_to_end(manager.download(entry, folder, hostile.url(), timeout=5.0))
    assert (folder / entry.file).read_bytes() == hostile.body


def test_a_download_larger_than_published_or_endless_is_stopped(hostile, tmp_path):
    folder = tmp_path / "weights"
    small = _declip_entry(folder, size=1000)
    with pytest.raises(manager.ModelManagerError, match="more than the expected 1,000"):
        run_to_end(manager.download(small, folder, hostile.url()))
    hostile.mode = "endless"
    with pytest.raises(manager.ModelManagerError, match="more than the expected 1,000 bytes: stopped"):
        run_to_end(manager.download(small, folder, hostile.url()))
    assert not list(folder.glob("*.part")) and not (folder / small.file).exists()


@pytest.mark.parametrize(
    "target", ["http://localhost:{port}/file", "ftp://127.0.0.1/file", "https://evil.example/x"]
)
def test_redirects_go_only_to_https_on_listed_hosts(hostile, tmp_path, target):
    hostile.mode = "redirect"
    hostile.redirect_to = target.format(port=hostile.httpd.server_address[1])
    folder = tmp_path / "weights"
    with pytest.raises(manager.ModelManagerError, match="refused a redirect"):
        run_to_end(manager.download(_declip_entry(folder), folder, hostile.url(), timeout=5.0))


def test_a_zip_without_the_expected_member_says_which(tmp_path):
    import zipfile

    archive = tmp_path / "BFREE_dino2reg4.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("BFREE_dino2reg4/config.yaml", "arch: x\n")
    with pytest.raises(
        manager.ModelManagerError, match=r"does not contain BFREE_dino2reg4/model_epoch_best\.pth"
    ):
        manager.import_file(archive, tmp_path / "weights")


def test_refusals_never_pass_on_advice_to_load_unsafely(tmp_path):
    class Payload:
        def __reduce__(self):
            return (print, ("ran",))

    path = tmp_path / "evil.pth"
    torch.save({"model": Payload()}, path)
    with pytest.raises(CheckpointError) as info:
        load_localizer("declip", [path])
    assert "weights_only" not in str(info.value) and "no code is unpickled" in str(info.value)
