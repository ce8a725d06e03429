import hashlib
import json
import zipfile
from dataclasses import replace

import pytest

from dinolizer_gui.core.models import manager
from dinolizer_gui.core.models.weights_folder import installed_files, load_manifest
from dinolizer_gui.core.progress import run_to_end
from tests.cli_run import analyze_args, run_cli
from tests.factories import CheckpointServer


@pytest.fixture()
def server():
    srv = CheckpointServer()
    yield srv
    srv.close()


@pytest.fixture()
def release_bytes(weights):
    files, _ = weights
    return files["release"].read_bytes()


def _entry(sha256):
    entry = manager.find_entry("dinolizer-release")
    return replace(entry, sha256=sha256, size=None)


def _accepted(folder, entry):
    manager.accept_licence(folder, entry, "2026-11-22T00:00:00+00:00")
    return entry


def test_a_full_download_verifies_and_installs(server, release_bytes, tmp_path):
    server.files["/r.ckpt"] = release_bytes
    folder = tmp_path / "weights"
    entry = _accepted(folder, _entry(hashlib.sha256(release_bytes).hexdigest()))
    progress = []
    target = run_to_end(manager.download(entry, folder, server.url("r.ckpt")), progress.append)
    assert target.read_bytes() == release_bytes and target.name == entry.file
    assert progress[-1].stage == "verifying" and progress[-2].done == len(release_bytes)
    assert [row.state for row in manager.status(folder, [entry], check_hashes=True)] == ["verified"]
    assert installed_files("dinolizer", folder) == [target]


def test_an_interrupted_download_resumes_where_it_stopped(server, release_bytes, tmp_path):
    server.files["/r.ckpt"] = release_bytes
    folder = tmp_path / "weights"
    entry = _accepted(folder, _entry(hashlib.sha256(release_bytes).hexdigest()))
    server.cut_after = 100_000
    with pytest.raises(manager.ModelManagerError, match="interrupted at 100,000"):
        run_to_end(manager.download(entry, folder, server.url("r.ckpt")))
    assert not (folder / entry.file).exists()  # no half file is ever in place
    assert [row.state for row in manager.status(folder, [entry])] == ["partial"]
    run_to_end(manager.download(entry, folder, server.url("r.ckpt")))
    assert server.requests[-1] == "bytes=100000-"
    assert (folder / entry.file).read_bytes() == release_bytes


def test_a_corrupted_download_is_rejected_and_not_installed(server, release_bytes, tmp_path):
    server.files["/r.ckpt"] = release_bytes[:-10] + b"0123456789"
    folder = tmp_path / "weights"
    entry = _accepted(folder, _entry(hashlib.sha256(release_bytes).hexdigest()))
    with pytest.raises(manager.ModelManagerError, match="does not match the published"):
        run_to_end(manager.download(entry, folder, server.url("r.ckpt")))
    assert not (folder / entry.file).exists() and not list(folder.glob("*.part"))
    assert installed_files("dinolizer", folder) == []


def test_without_a_published_hash_the_first_download_records_it(server, weights, tmp_path):
    files, _ = weights
    body = files["declip"].read_bytes()
    server.files["/d.pth"] = body
    folder = tmp_path / "weights"
    entry = _accepted(folder, manager.find_entry("declip-vit-cocosd"))
    run_to_end(manager.download(entry, folder, server.url("d.pth")))
    assert manager.recorded_hashes(folder)[entry.file] == hashlib.sha256(body).hexdigest()
    assert manager.status(folder, [entry], check_hashes=True)[0].state == "recorded"
    (folder / entry.file).write_bytes(body[:-1] + b"!")  # changed after install
    assert manager.status(folder, [entry], check_hashes=True)[0].state == "corrupt"


def test_download_needs_the_licence_accepted_first(server, tmp_path):
    with pytest.raises(manager.ModelManagerError, match="accept its licence"):
        run_to_end(manager.download(manager.find_entry("dinolizer-release"), tmp_path, server.url("x")))
    assert server.requests == []


def test_the_bfree_zip_is_checked_by_md5_and_its_member_installed(server, weights, tmp_path):
    files, _ = weights
    archive = tmp_path / "BFREE_dino2reg4.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.write(files["bfree"], "BFREE_dino2reg4/model_epoch_best.pth")
        zipped.writestr("BFREE_dino2reg4/config.yaml", "arch: dinov2\n")
    entry = replace(manager.find_entry("bfree"), md5=hashlib.md5(archive.read_bytes()).hexdigest())
    server.files["/b.zip"] = archive.read_bytes()
    folder = tmp_path / "weights"
    _accepted(folder, entry)
    target = run_to_end(manager.download(entry, folder, server.url("b.zip")))
    assert target.read_bytes() == files["bfree"].read_bytes()
    assert manager.status(folder, [entry], check_hashes=True)[0].state == "verified"
    server.files["/b.zip"] = archive.read_bytes()[:-3] + b"xyz"
    with pytest.raises(manager.ModelManagerError, match="MD5 does not match"):
        run_to_end(manager.download(replace(entry, file="other.pth"), folder, server.url("b.zip")))


def test_cli_import_then_analyze_without_weights_option(weights, tmp_path):
    files, _ = weights
    folder = tmp_path / "weights"
    code, _, err = run_cli("models", "--weights-dir", folder, "import", files["release"])
    assert code == 0
    assert "unofficial" in err  # a test file is not the published release
    assert run_cli("models", "--weights-dir", folder, "import", files["declip"]).code == 0
    assert run_cli("models", "--weights-dir", folder, "import", files["bfree"]).code == 0
    image = tmp_path / "x.png"
    from PIL import Image

    Image.new("RGB", (80, 60), (120, 30, 200)).save(image)
    out = tmp_path / "out"
    assert run_cli(*analyze_args(None, image, out, "--weights-dir", folder, models=())).code == 0
    models = json.loads((out / "results.json").read_text())["models"]
    assert set(models) == {"dinolizer", "declip", "bfree"}  # the B-Free file makes the image-level model
    assert models["dinolizer"]["checkpoints"][0]["path"] == str(folder / "epoch=36_val_loss=0.2130.ckpt")


def test_cli_import_refuses_a_file_that_is_not_weights(tmp_path):
    junk = tmp_path / "ViT_layer20_conv-20_lama.pth"
    junk.write_bytes(b"not a checkpoint")
    code, _, err = run_cli("models", "--weights-dir", tmp_path / "w", "import", junk)
    assert code == 2
    assert "not a readable PyTorch" in err
    assert not (tmp_path / "w" / junk.name).exists()


def test_active_declip_training_set_is_chosen(weights, tmp_path):
    files, _ = weights
    folder = tmp_path / "weights"
    for training_set in ("lama", "cocosd"):
        manager.import_file(files["declip"], folder, as_entry=f"declip-vit-{training_set}")
    assert installed_files("declip", folder)[0].name == "ViT_layer20_conv-20_cocosd.pth"
    assert run_cli("models", "--weights-dir", folder, "activate", "lama").code == 0
    assert installed_files("declip", folder)[0].name == "ViT_layer20_conv-20_lama.pth"
    assert run_cli("models", "--weights-dir", folder, "activate", "celeba").code == 2


def test_remove_deletes_the_file_and_its_record(weights, tmp_path):
    files, _ = weights
    folder = tmp_path / "weights"
    manager.import_file(files["release"], folder)
    assert run_cli("models", "--weights-dir", folder, "remove", "dinolizer-release").code == 0
    assert installed_files("dinolizer", folder) == []
    assert "epoch=36_val_loss=0.2130.ckpt" not in manager.recorded_hashes(folder)


def test_manifest_lists_every_official_checkpoint():
    manifest = {e.id: e for e in load_manifest()}
    assert (
        manifest["dinolizer-release"].sha256
        == "96cb26f2536919d67b75a5aff195b683a1d8590fe596e6f1260ab7950883e2a2"
    )
    assert manifest["dinolizer-release"].size == 386_800_693
    assert {
        e.training_set for e in manifest.values() if e.id.startswith("declip-vit-") and "rn50" not in e.id
    } == {"pluralistic", "lama", "repaint-p2-9k", "ldm", "cocosd"}
    fusion = manifest["declip-vit-rn50-lama"]
    assert "%2B" in fusion.url and fusion.supported and ("openai-rn50",) in fusion.requires
    for key, digest in (
        ("openai-rn50", "afeb0e10f9e5a86da6080e35cf09123aca3b358a0c3e3b6c78a7b63bc04b6762"),
        ("openai-vit-l14", "b8cca3fd41ae0c99ba7e8951adf17d267cdb84cd88be6f7c2e0eca1737a03836"),
    ):
        assert (
            manifest[key].sha256 == digest and digest in manifest[key].url and "MIT" in manifest[key].licence
        )
    assert manifest["bfree"].md5 == "f3f53fa647848b16cf81c913f148a198"
    assert manifest["declip-vit-cocosd"].domain == "general photographs"
    assert all(e.licence for e in manifest.values())
