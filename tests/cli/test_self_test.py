"""`dinolizer-gui self-test`: the whole analysis path on the bundled sample, and a clear failing step."""

import socket
import subprocess
import sys

import pytest

from dinolizer_gui.core.session import selftest
from tests.cli_run import run_cli


@pytest.fixture()
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the self-test tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_self_test_analyses_the_sample_and_says_where_everything_lives(no_network):
    code, _, text = run_cli("self-test", "--device", "cpu", "--precision", "float32")
    assert code == 0
    assert "FAIL" not in text and text.rstrip().endswith("Everything works.")
    assert "windows, score" in text and "results.json written" in text
    for place in ("weights folder", "results store", "settings", "log file", "CUDA", "precision"):
        assert f"  {place}: " in text


def test_a_failing_step_is_named_and_the_exit_status_says_so(no_network, monkeypatch):
    def broken(context, report):
        raise OSError("disk full")

    steps = [(name, broken if name.startswith("analyse") else step) for name, step in selftest.STEPS]
    monkeypatch.setattr(selftest, "STEPS", steps)
    code, _, text = run_cli("self-test", "--device", "cpu")
    assert code == 1
    assert "FAIL analyse the sample" in text and "OSError: disk full" in text
    assert "FAILED at: analyse the sample" in text and "check the map" not in text


def test_without_stdout_and_stderr_the_app_runs_and_logs_to_its_file(tmp_path):
    log = tmp_path / "logs"
    script = (
        "import sys; sys.stdout = None; sys.stderr = None; sys.argv = ['dinolizer-gui', 'models', 'list']\n"
        "from dinolizer_gui.__main__ import main\n"
        "import warnings; code = main(); warnings.warn('written to the log')\n"
        "raise SystemExit(code)\n"
    )
    env = {"DINOLIZER_GUI_LOGS": str(log), "DINOLIZER_GUI_WEIGHTS": str(tmp_path / "w"), "PATH": ""}
    done = subprocess.run([sys.executable, "-c", script], env=env, timeout=120, capture_output=True)
    assert done.returncode == 0, done
    assert "written to the log" in (log / "dinolizer-gui.log").read_text()
