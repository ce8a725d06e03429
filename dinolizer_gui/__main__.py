"""Entry point: `dinolizer-gui` / `python -m dinolizer_gui`."""

import sys

import torch  # noqa: F401  - loaded before PySide6: on Windows the DLL search order matters


def main() -> int:
    from .cli import main as cli_main

    return cli_main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
