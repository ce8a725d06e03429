"""Entry point: `dinolizer-gui` / `python -m dinolizer_gui` / the bundle's executable."""

import multiprocessing
import sys


def main() -> int:
    multiprocessing.freeze_support()  # first: a frozen app that starts a process must not re-launch itself
    _give_stdio_a_sink()
    _log_to_file()
    from .cli import main as cli_main

    try:
        return cli_main(sys.argv[1:])
    except BrokenPipeError:  # `... | head`: the reader left; say nothing more (Python's advice)
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def _give_stdio_a_sink() -> None:
    """A windowed bundle has no stdout or stderr (None): writing progress there would crash."""
    import os

    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115 - lives as long as the app


def _log_to_file() -> None:
    """Warnings and uncaught exceptions also go to the log file (the About box names it)."""
    import logging

    from .core.session.settings import log_file

    path = log_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, encoding="utf-8", delay=True)
    except OSError:
        return  # an unwritable log folder must not stop the app
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)
    logging.captureWarnings(True)
    previous = sys.excepthook

    def log_uncaught(kind, value, traceback) -> None:
        logging.getLogger("dinolizer_gui").error("uncaught exception", exc_info=(kind, value, traceback))
        previous(kind, value, traceback)

    sys.excepthook = log_uncaught


if __name__ == "__main__":
    sys.exit(main())
