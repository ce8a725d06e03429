"""Writing output files so that a reader never sees half of one."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to a temporary name beside `path`, then rename it into place."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def write_json_atomic(path: Path, document: Any, **dump_options: Any) -> None:
    write_atomic(path, json.dumps(document, **dump_options).encode("utf-8"))
