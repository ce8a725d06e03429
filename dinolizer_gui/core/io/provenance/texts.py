"""Text a file carries — PNG text chunks (those after the pixels too, read without decoding them), comments,
EXIF and XMP text fields — and, among it, the text image generators and their front-ends write."""

from __future__ import annotations

import re
import zlib

from .containers import PNG_SIGNATURE, png_chunks
from .metadata import printable

MAX_TEXT_CHARS = 1 << 20  # a compressed text chunk inflated to this at most…
MAX_XMP_CHARS = 4 << 20  # …an XMP one to this
MAX_TEXT_TOTAL = 8 << 20  # text kept from all of a file's chunks together, at most
XMP_KEYWORD = "XML:com.adobe.xmp"
MAX_GENERATOR_TEXTS = 32
MAX_EXAMINED = 8 << 20  # characters of text looked at for generator text, at most (64 KB of each)
# keys only generators write (compared in lower case)
GENERATOR_KEYS = {
    "parameters",
    "prompt",
    "workflow",
    "negative_prompt",
    "sd_metadata",
    "invokeai_metadata",
    "dream",
    "generation_data",
}  # fmt: skip  (in lower case, "_" for a space or a hyphen)
# fields that name the software that made the file: kept when they name a generator
TOOL_KEYS = {"software", "creatortool", "source", "make", "model", "originatingprogram", "credit"}
GENERATOR_NAMES = re.compile(
    r"novelai|midjourney|stable[ -]?diffusion|comfyui|automatic1111|invokeai|draw things|dall[-·‧ ]?e|"
    r"fooocus|dreamstudio|nightcafe|leonardo\.ai|adobe firefly|imagen|flux\.1",
    re.IGNORECASE,
)
# what settings look like: any one of the first, or two of the others
SETTINGS_SURE = re.compile(
    r'"class_type"|negative prompt\s*:|model hash\s*:|"noise_schedule"|^\s*(prompt|workflow)\s*:\s*\{|'
    r"\bjob id:\s*[0-9a-f]{8}-",
    re.IGNORECASE | re.MULTILINE,
)
SETTINGS_WORDS = [
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        r'\bsteps"?\s*[:=]\s*\d',
        r'\bsampler(_name)?"?\s*[:=]',
        r'\bcfg[ _]scale"?\s*[:=]|"scale"\s*:\s*\d',
        r'\bseed"?\s*[:=]\s*\d',
        r"--(v|niji|ar|stylize|chaos)\s+\d",
        r'\bscheduler"?\s*[:=]|\bdenoising strength\s*:',
        r'"uc"\s*:|"n_samples"\s*:',
    )
]


def png_texts(data: bytes) -> tuple[list[tuple[str, str]], list[str]]:
    """The PNG's tEXt, zTXt and iTXt chunks as (keyword, text), in order — those after the pixels too,
    read without decoding them —, compressed ones inflated to MAX_TEXT_CHARS each (an XMP one to
    MAX_XMP_CHARS), MAX_TEXT_TOTAL in all (what is cut is said)."""
    texts: list[tuple[str, str]] = []
    notes: list[str] = []
    if data[:8] != PNG_SIGNATURE:
        return texts, notes
    left, skipped = MAX_TEXT_TOTAL, 0
    for chunk in png_chunks(data):
        if chunk.kind not in ("tEXt", "zTXt", "iTXt"):
            continue
        if left <= 0:
            skipped += 1
            continue
        keyword, _, rest = chunk.payload(data).partition(b"\0")
        name = keyword.decode("latin-1")
        most = min(left, MAX_XMP_CHARS if name == XMP_KEYWORD else MAX_TEXT_CHARS)
        if chunk.kind == "tEXt":
            raw, encoding = rest[:most], "latin-1"
        elif chunk.kind == "zTXt":
            raw, encoding = _inflated(rest[1:], name, most, notes), "latin-1"
        else:
            compressed, body = rest[:1] == b"\1", rest[2:]
            _language, _, body = body.partition(b"\0")
            _translated, _, body = body.partition(b"\0")
            raw, encoding = (_inflated(body, name, most, notes) if compressed else body[:most]), "utf-8"
        left -= len(raw)
        texts.append((name, raw.decode(encoding, "replace")))
    if skipped:
        notes.append(
            f"text chunks: more than {MAX_TEXT_TOTAL:,} bytes of text, {skipped:,} more chunk(s) not read"
        )
    return texts, notes


def _inflated(compressed: bytes, name: str, most: int, notes: list[str]) -> bytes:
    inflater = zlib.decompressobj()
    try:
        text = inflater.decompress(compressed, most)
    except zlib.error as exc:
        notes.append(f"text chunk {printable(name)}: not inflated ({exc})")
        return b""
    if inflater.unconsumed_tail:
        notes.append(f"text chunk {printable(name)}: inflates beyond {most:,} bytes, the first read")
    return text


def generator_text(texts: list[tuple[str, str]]) -> tuple[dict[str, str], list[str]]:
    """Among (key, text) pairs, those image generators write: a key only they use (`parameters`, `prompt`,
    `workflow`…, in any case), text that reads like their settings (steps, sampler, seed, a node graph's
    class types, a Midjourney job), or a software field naming one; the first 500 characters of each, at
    most MAX_GENERATOR_TEXTS of them (a cut said)."""
    found: dict[str, str] = {}
    counts: dict[str, int] = {}
    matched, left, unread = 0, MAX_EXAMINED, 0
    for key, text in texts:
        if left <= 0:
            unread += 1
            continue
        left -= min(len(text), 1 << 16)
        named = key.lower().replace(" ", "_").replace("-", "_")
        tool = named.split("_")[-1] in TOOL_KEYS and GENERATOR_NAMES.search(text[:1000])
        if not (named in GENERATOR_KEYS or tool or reads_like_settings(text)):
            continue
        matched += 1
        if len(found) < MAX_GENERATOR_TEXTS:
            shown = printable(key)
            counts[shown] = counts.get(shown, 0) + 1
            found[shown if counts[shown] == 1 else f"{shown} ({counts[shown]})"] = printable(text[:500])
    notes = []
    if len(found) < matched:
        notes.append(f"generator text: {matched:,} texts, the first {MAX_GENERATOR_TEXTS} kept")
    if unread:
        notes.append(
            f"generator text: {unread:,} texts not looked at (more than {MAX_EXAMINED:,} characters)"
        )
    return found, notes


def reads_like_settings(text: str) -> bool:
    """Whether text reads like a generator's settings (its first 64 KB looked at)."""
    head = text[: 1 << 16]
    return bool(SETTINGS_SURE.search(head)) or sum(bool(word.search(head)) for word in SETTINGS_WORDS) >= 2
