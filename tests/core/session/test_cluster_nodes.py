"""`analyze --cluster ray` on a real multi-node Ray: a head and a second raylet on 127.0.0.1 (one CPU each,
token authentication as Ray 2.60 sets it up), started and stopped by these tests. The driver runs in a process
of its own, from another working directory, as a user's would; nodes are killed with SIGKILL, as when a
machine drops off the network."""

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.cli_run import command

pytest.importorskip("ray", reason="the [cluster] extra (CI installs it)")

RAY = str(Path(sys.executable).parent / "ray")
ROOT = Path(__file__).resolve().parents[3]
RUN_SECONDS = 300  # a whole driver run, its actors' start included


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


class TwoNodes:
    """A head and a worker raylet on 127.0.0.1, one CPU each."""

    def __init__(self):
        self.folder = Path(tempfile.mkdtemp(prefix="rt-", dir="/tmp"))  # short: Ray's socket paths
        gcs, self.head_manager, head_objects, self.worker_manager, worker_objects = _free_ports(5)
        self.address = f"127.0.0.1:{gcs}"
        self.env = {
            **os.environ,
            "RAY_AUTH_MODE": "token",
            "RAY_AUTH_TOKEN": secrets.token_hex(32),
            "RAY_ADDRESS": self.address,
            "RAY_USAGE_STATS_ENABLED": "0",
        }
        common = ["--node-ip-address", "127.0.0.1", "--num-cpus", "1", "--disable-usage-stats"]
        self._ray(
            "start", "--head", "--port", str(gcs), "--include-dashboard=false",
            "--temp-dir", str(self.folder), "--node-manager-port", str(self.head_manager),
            "--object-manager-port", str(head_objects), *common,
        )  # fmt: skip
        self._ray(
            "start", "--address", self.address, "--node-manager-port", str(self.worker_manager),
            "--object-manager-port", str(worker_objects), *common,
        )  # fmt: skip

    def _ray(self, *args: str) -> None:
        subprocess.run([RAY, *args], env=self.env, check=True, capture_output=True, timeout=120)

    def kill_worker(self) -> None:
        """The worker node's raylet and every process it started (its actors' workers among them)."""
        for raylet in _pids("-f", "--", f"--node_manager_port={self.worker_manager}"):
            for pid in _tree(raylet):
                _kill(pid)

    def kill_head(self) -> None:
        _kill_matching("gcs_server")
        _kill_matching(f"--node_manager_port={self.head_manager}")

    def stop(self) -> None:
        subprocess.run([RAY, "stop", "--force"], env=self.env, capture_output=True, timeout=120)
        shutil.rmtree(self.folder, ignore_errors=True)


def _pids(*pgrep: str) -> list[int]:
    return [
        int(pid) for pid in subprocess.run(["pgrep", *pgrep], capture_output=True, text=True).stdout.split()
    ]


def _tree(pid: int) -> list[int]:
    children = _pids("-P", str(pid))
    return [pid, *(descendant for child in children for descendant in _tree(child))]


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _kill_matching(text: str) -> None:
    for pid in _pids("-f", "--", text):
        _kill(pid)


@pytest.fixture()
def nodes():
    cluster = TwoNodes()
    yield cluster
    cluster.stop()


@pytest.fixture()
def workdir(tmp_path, weights):
    """A working directory with `images/` (relative to it) and the small DinoLizer checkpoint."""
    _add_images(tmp_path, 6)
    shutil.copy(weights[0]["release"], tmp_path / "epoch=36_val_loss=0.2130.ckpt")
    return tmp_path


def _add_images(workdir: Path, count: int, size: tuple[int, int] = (600, 760)) -> None:
    images = workdir / "images"
    images.mkdir(exist_ok=True)
    for index in range(count):
        pixels = np.random.default_rng(index).integers(0, 256, (*size, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(images / f"img{index}.png")


BUSY = 16, (1400, 1800)  # enough work that a node is lost with images in flight and waiting


def _start_driver(workdir: Path, out: str, env: dict, *extra: str) -> subprocess.Popen:
    """`analyze` started in `workdir` (its images and checkpoint there), as a user on the head node would."""
    analysis = command(
        "analyze", "images", "--out", out, "--no-cache",
        "--weights", "dinolizer=epoch=36_val_loss=0.2130.ckpt", "--device", "cpu", "--precision", "float32",
        *extra,
    )  # fmt: skip
    env = {**env, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        analysis, cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def _ended(run: subprocess.Popen) -> tuple[int, str]:
    output, _ = run.communicate(timeout=RUN_SECONDS)
    return run.returncode, output


def _after_first_image(workdir: Path, out: str) -> None:
    journal = workdir / out / "results.jsonl"
    deadline = time.monotonic() + RUN_SECONDS
    while not (journal.exists() and journal.stat().st_size) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert journal.exists(), "no image finished"


def _images(workdir: Path, out: str) -> list[dict]:
    return json.loads((workdir / out / "results.json").read_text())["images"]


def _figures(images: list[dict]) -> list:
    return [
        (
            Path(e["path"]).name,
            e["status"],
            e["sha256"],
            {n: (m["score"], m["marked_area"]) for n, m in e["models"].items()},
        )
        for e in images
    ]


def test_relative_inputs_on_two_nodes_give_a_local_runs_outputs(nodes, workdir):
    code, output = _ended(
        _start_driver(workdir, "ray", nodes.env, "--cluster", "ray", "--actors", "2", "--actor-threads", "1")
    )
    assert code == 0, output
    assert "no such file" not in output
    local = {k: v for k, v in nodes.env.items() if k != "RAY_ADDRESS"}
    code, output = _ended(_start_driver(workdir, "local", local))
    assert code == 0, output
    assert _figures(_images(workdir, "ray")) == _figures(_images(workdir, "local"))
    for png in sorted((workdir / "local").rglob("*.png")):
        assert (workdir / "ray" / png.relative_to(workdir / "local")).read_bytes() == png.read_bytes()


def test_a_worker_node_killed_mid_run_ends_the_run_with_every_image_once(nodes, workdir):
    _add_images(workdir, *BUSY)
    run = _start_driver(
        workdir, "out", nodes.env, "--cluster", "ray", "--actors", "2", "--actor-threads", "1"
    )
    _after_first_image(workdir, "out")
    nodes.kill_worker()
    killed = time.monotonic()
    code, output = _ended(run)
    ended_after = time.monotonic() - killed
    images = _images(workdir, "out")
    assert code in (0, 3), output
    assert sorted(Path(e["path"]).name for e in images) == sorted(f"img{i}.png" for i in range(BUSY[0]))
    assert all(e["status"] == "ok" or "was lost" in e["error"] for e in images), output
    assert ended_after < 120, ended_after
    analysed = sum(e["status"] == "ok" for e in images)
    assert "actor(s) lost — its node was lost" in output or "it died" in output, output
    print(
        f"worker node killed: the run ended {ended_after:.0f} s later; {analysed} of {len(images)} analysed; "
        + next(line for line in output.splitlines() if "lost" in line)
    )


def test_a_head_lost_mid_run_ends_with_a_clear_error_and_keeps_what_finished(nodes, workdir):
    _add_images(workdir, *BUSY)
    run = _start_driver(
        workdir, "out", nodes.env, "--cluster", "ray", "--actors", "2", "--actor-threads", "1"
    )
    _after_first_image(workdir, "out")
    nodes.kill_head()
    code, output = _ended(run)
    images = _images(workdir, "out")
    finished = [e for e in images if e["status"] == "ok"]
    lost = [e for e in images if e["status"] == "error"]
    assert code == 3 and finished and lost and "Traceback" not in output, output
    assert all("the connection to the cluster head at" in e["error"] for e in lost)
    assert len(images) == BUSY[0]
