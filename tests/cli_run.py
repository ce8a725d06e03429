"""The command line in tests: run in this process (`run_cli`), or as a user starts it, in a process of its
own (`run_process`, `command`) where a test kills it, runs it elsewhere or checks the entry point; and the
`analyze` arguments with the session's test checkpoints (`analyze_args`, `weights_args`)."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from dinolizer_gui.cli import main

ROOT = Path(__file__).resolve().parents[1]
CHECKPOINTS = {"dinolizer": "release", "declip": "declip", "bfree": "bfree"}  # its file in `weights`


class CliRun(NamedTuple):
    code: int
    out: str
    err: str

    @property
    def shown(self) -> str:
        """All it printed: stdout, then stderr."""
        return self.out + self.err


class _Terminal(io.BytesIO):
    def isatty(self) -> bool:
        return True


def run_cli(*args: object, terminal: bool = False) -> CliRun:
    """`dinolizer-gui ARGS` in this process: its exit code and what it wrote. The output is also passed on
    to the test's own streams (shown when a test fails). With `terminal`, stderr says it is a terminal."""
    buffers = {"out": io.BytesIO(), "err": _Terminal() if terminal else io.BytesIO()}
    streams = {
        name: io.TextIOWrapper(buffer, encoding="utf-8", newline="", write_through=True)
        for name, buffer in buffers.items()
    }
    try:
        with contextlib.redirect_stdout(streams["out"]), contextlib.redirect_stderr(streams["err"]):
            code = main([str(arg) for arg in args])
    finally:
        out, err = (buffers[name].getvalue().decode("utf-8") for name in ("out", "err"))
        sys.stdout.write(out)
        sys.stderr.write(err)
    return CliRun(code, out, err)


def command(*args: object) -> list[str]:
    """`python -m dinolizer_gui ARGS`, as a user's shell would start it."""
    return [sys.executable, "-m", "dinolizer_gui", *map(str, args)]


def run_process(
    *args: object, cwd: Path = ROOT, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """`python -m dinolizer_gui ARGS` in a process of its own, to its end; its output as text."""
    return subprocess.run(command(*args), capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout)


def weights_args(weights, models: Iterable[str] = ("dinolizer", "declip")) -> list[str]:
    """`--weights MODEL=FILE` for each model, its file from the `weights` fixture."""
    return [arg for model in models for arg in ("--weights", f"{model}={weights[0][CHECKPOINTS[model]]}")]


def analyze_args(
    weights,
    inputs: object | Iterable[object],
    out: object | None,
    *extra: object,
    models: Iterable[str] = ("dinolizer", "declip"),
    device: str = "cpu",
    quiet: bool = True,
) -> list[str]:
    """`analyze INPUTS --out OUT --device DEVICE [--quiet] --weights MODEL=FILE… EXTRA…`, each model given
    its file from the `weights` fixture (none with `models=()`: then `weights` may be None); no `--out`
    when `out` is None (a run into a case)."""
    paths = [inputs] if isinstance(inputs, (str, os.PathLike)) else list(inputs)
    args = [
        "analyze",
        *map(str, paths),
        *(["--out", str(out)] if out is not None else []),
        "--device",
        device,
    ]
    return [*args, *(["--quiet"] if quiet else []), *weights_args(weights, models), *map(str, extra)]
