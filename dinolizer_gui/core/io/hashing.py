"""SHA-256 of files, read in chunks (evidence and checkpoints alike)."""

from __future__ import annotations

import hashlib
from pathlib import Path


def sha256_of_file(path: Path | str, chunk_size: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()
