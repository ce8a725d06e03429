"""Real Content Credentials for tests: files signed with c2pa-python's builder and a chain made on the spot
(dinolizer_gui.core.io.provenance.signing, which the self-test uses too), and a copy whose pixels change
after signing."""

from __future__ import annotations

from pathlib import Path

from dinolizer_gui.core.io.provenance.signing import AI_MADE, Chain, edit_of, make_chain, sign

__all__ = ["AI_MADE", "Chain", "change_pixels_after_signing", "edit_of", "make_chain", "sign"]


def change_pixels_after_signing(signed: Path, target: Path) -> Path:
    """A copy of a signed JPEG with one byte of its image data changed (its manifest kept as it was)."""
    data = bytearray(signed.read_bytes())
    end = data.rfind(b"\xff\xd9")
    data[end - 40] ^= 0x10  # inside the last scan's entropy-coded data
    target.write_bytes(bytes(data))
    return target
