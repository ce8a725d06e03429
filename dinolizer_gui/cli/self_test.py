"""`dinolizer-gui self-test`: does this installation analyse? (never reaches the network)"""

from __future__ import annotations

import argparse

from .common import EXIT_OK, say

EXIT_SELF_TEST_FAILED = 1


def add_parser(commands) -> None:
    from ..core.engine.analysis import DEVICE_CHOICES, PRECISION_CHOICES

    test = commands.add_parser(
        "self-test",
        help="check the installation: a small checkpoint in an official layout analyses a bundled sample",
    )
    test.add_argument("--device", choices=DEVICE_CHOICES, default="auto")
    test.add_argument("--precision", choices=PRECISION_CHOICES, default="auto")


def run(args: argparse.Namespace) -> int:
    from ..core.session.selftest import run_self_test

    report = run_self_test(args.device, args.precision, on_step=lambda step: None)
    for line in report.text().splitlines():
        say(line)
    return EXIT_OK if report.ok else EXIT_SELF_TEST_FAILED
