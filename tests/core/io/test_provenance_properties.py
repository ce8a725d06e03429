"""Attacks on real signed files (JPEG, PNG and WebP, signed here with c2pa-python's builder): Hypothesis
flips, cuts, duplicates and reorders their bytes, anywhere, and the reader must never say `none` (no Content
Credentials) or `valid` for a file that changed — and must answer each time within bounded time."""

import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from PIL import Image

from dinolizer_gui.core.io.provenance import provenance_from_bytes, signing
from tests import factories

MAX_SECONDS = 3.0  # one reading of a 40 KB file, whatever was done to it (about 0.05 s on an intact one)
ATTACK = settings(
    max_examples=100,
    deadline=None,  # time is asserted below, with the reason
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def signed(tmp_path_factory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("attacked")
    y, x = np.mgrid[0:120, 0:160]
    picture = Image.fromarray((np.stack([x * 1.5, y * 2.0, x + y], -1) % 256).astype(np.uint8))
    picture.save(folder / "source.jpg", quality=90)
    picture.save(folder / "source.png")
    picture.save(folder / "source.webp")
    chain = signing.make_chain()
    files = {
        "jpeg": signing.sign(folder / "source.jpg", folder / "signed.jpg", chain),
        "png": factories.sign_manifest(folder / "source.png", folder / "signed.png", chain),
        "webp": factories.sign_manifest(folder / "source.webp", folder / "signed.webp", chain),
    }
    return {kind: Path(path).read_bytes() for kind, path in files.items()}


def _never_none_nor_valid(original: bytes, changed: bytes) -> None:
    assume(changed != original)
    started = time.monotonic()
    c2pa = provenance_from_bytes(changed)[0]["c2pa"]
    seconds = time.monotonic() - started
    assert c2pa["state"] not in ("none", "valid"), c2pa["message"]
    assert seconds < MAX_SECONDS


KINDS = st.sampled_from(["jpeg", "png", "webp"])


def _span(data: st.DataObject, size: int, longest: int) -> tuple[int, int]:
    start = data.draw(st.integers(0, size - 1), label="start")
    return start, start + data.draw(st.integers(1, min(longest, size - start)), label="length")


@ATTACK
@given(kind=KINDS, data=st.data())
def test_a_flipped_byte_is_never_read_as_intact_or_absent(signed, kind, data):
    original = signed[kind]
    changed = bytearray(original)
    for _ in range(data.draw(st.integers(1, 3), label="flips")):
        changed[data.draw(st.integers(0, len(original) - 1), label="at")] ^= data.draw(st.integers(1, 255))
    _never_none_nor_valid(original, bytes(changed))


@ATTACK
@given(kind=KINDS, data=st.data())
def test_a_cut_is_never_read_as_intact_or_absent(signed, kind, data):
    original = signed[kind]
    start, end = _span(data, len(original), 4096)
    _never_none_nor_valid(original, original[:start] + original[end:])


@ATTACK
@given(kind=KINDS, data=st.data())
def test_a_duplicated_run_is_never_read_as_intact_or_absent(signed, kind, data):
    original = signed[kind]
    start, end = _span(data, len(original), 4096)
    at = data.draw(st.integers(0, len(original)), label="inserted at")
    _never_none_nor_valid(original, original[:at] + original[start:end] + original[at:])


@ATTACK
@given(kind=KINDS, data=st.data())
def test_two_runs_swapped_are_never_read_as_intact_or_absent(signed, kind, data):
    original = signed[kind]
    first, first_end = _span(data, len(original), 2048)
    assume(first_end < len(original))
    second, second_end = _span(data, len(original) - first_end, 2048)
    second, second_end = second + first_end, second_end + first_end
    changed = (
        original[:first]
        + original[second:second_end]
        + original[first_end:second]
        + original[first:first_end]
        + original[second_end:]
    )
    _never_none_nor_valid(original, changed)


@ATTACK
@given(kind=KINDS, data=st.data())
def test_a_byte_of_the_claim_signature_box_changed_is_never_read_as_intact_or_absent(signed, kind, data):
    """The claim signature's box — its description, its CBOR framing, the unprotected header and padding
    that no signature covers — changed anywhere, to anything."""
    original = signed[kind]
    start = original.rfind(b"c2pa.signature\0") - 25  # the superbox's header, before its description
    end = start + int.from_bytes(original[start : start + 4], "big")
    changed = bytearray(original)
    changed[data.draw(st.integers(start, end - 1), label="at")] ^= data.draw(st.integers(1, 255), label="xor")
    _never_none_nor_valid(original, bytes(changed))
