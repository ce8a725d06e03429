"""A case package's zip, member by member, read as an adversary may have made it: the members safe to read
(no unsafe, repeated or folder name, no link, no encryption, stored not compressed, no bytes shared), every
byte outside their data compared with the bytes a package of these contents has, each member read at most
once for its digest, and the manifest, which must be exactly the members' manifest."""

from __future__ import annotations

import hashlib
import itertools
import stat
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable
from typing import BinaryIO

from ..io.names import for_terminal
from ..io.stored_zip import canonical_layout
from .case_entries import safe_member_name
from .case_package import MANIFEST, package_order


# --- verification ------------------------------------------------------------------------------------
class Unchecked(Exception):
    """A file that is there but cannot be checked (a link, unreadable, damaged in the package)."""


Digest = Callable[[str], "str | None"]  # a name's SHA-256, None when absent; raises Unchecked


def check_layout(
    problems: list[str], handle: BinaryIO, members: dict[str, zipfile.ZipInfo], size: int
) -> None:
    """Every byte of the package outside its members' data (their CRC and the log check those) must be the
    byte a package of these contents has: headers, order, timestamps, comments, anything appended."""
    names = package_order(list(members))
    entries = [(name, members[name].file_size, members[name].CRC) for name in names]
    placed, headers, tail = canonical_layout(entries)
    same = all(info.compress_type == zipfile.ZIP_STORED for info in members.values())
    for member, header in zip(placed, headers, strict=True):
        same = same and members[member.name].header_offset == member.offset
        same = same and _bytes_at(handle, member.offset, len(header)) == header
    end = placed[-1].offset + len(headers[-1]) + placed[-1].size if placed else 0
    same = same and size == end + len(tail) and _bytes_at(handle, end, len(tail)) == tail
    if not same:
        problems.append(
            "the package's bytes are not those DinoLizer GUI writes for these contents: its zip structure "
            "(headers, order, times, comments, appended bytes) was changed, or an earlier version made it"
        )


def _bytes_at(handle: BinaryIO, offset: int, count: int) -> bytes:
    handle.seek(offset)
    return handle.read(count)


class PackageMembers:
    """The sound members of a package, each read at most once for its digest."""

    def __init__(self, problems: list[str], package: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo]):
        self.problems, self.package, self.members = problems, package, members
        self.digests: dict[str, str] = {}

    def digest(self, name: str) -> str | None:
        if name not in self.members:
            return None
        if name not in self.digests:
            digest = hashlib.sha256()
            try:
                with self.package.open(self.members[name]) as handle:
                    while chunk := handle.read(1 << 20):
                        digest.update(chunk)
            except DAMAGED as exc:
                self.digests[name] = f"damaged in the package ({exc})"
            else:
                self.digests[name] = digest.hexdigest()
        if self.digests[name].startswith("damaged"):
            raise Unchecked(self.digests[name])
        return self.digests[name]

    def read(self, name: str) -> bytes | None:
        if name not in self.members:
            return None
        try:
            return self.package.read(self.members[name])
        except DAMAGED as exc:
            self.problems.append(f"{for_terminal(name)}: damaged in the package ({exc})")
            return b""


# what reading a damaged member raises: a bad CRC or header, a name that is not text, a cut stream
DAMAGED = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, OSError, ValueError)


def sound_members(problems: list[str], package: zipfile.ZipFile, size: int) -> dict[str, zipfile.ZipInfo]:
    """The members safe to read, by name; each other one is a problem: an unsafe or repeated name, a link,
    encryption, an unknown method, a size it cannot have, or bytes shared with another member."""
    infos = package.infolist()
    counts = Counter(info.filename for info in infos)
    sound: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        if why := member_problem(info, counts):
            problems.append(f"{for_terminal(info.filename)}: {why}")
        else:
            sound[info.filename] = info
    if sum(info.compress_size for info in sound.values()) > size:
        problems.append("the members claim more compressed bytes than the package holds: not read")
        return {}
    ordered = sorted(sound.values(), key=lambda info: info.header_offset)
    for first, second in itertools.pairwise(ordered):
        end = first.header_offset + 30 + len(first.filename.encode()) + first.compress_size
        if end > second.header_offset:
            problems.append(
                f"{for_terminal(second.filename)} shares bytes with {for_terminal(first.filename)}: not read"
            )
            return {}
    return sound


def member_problem(info: zipfile.ZipInfo, counts: Counter) -> str:
    if info.is_dir():
        return "a folder entry: a package DinoLizer GUI writes holds none"
    if not safe_member_name(info.filename):
        return "an unsafe name (absolute, with .. or a drive): not read"
    if counts[info.filename] > 1:
        return "appears more than once in the package"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "a symbolic link in the package: not followed"
    if info.flag_bits & 0x1:
        return "encrypted: cannot be checked"
    if info.compress_type != zipfile.ZIP_STORED or info.file_size != info.compress_size:
        return (
            f"compressed (method {info.compress_type}): a package DinoLizer GUI writes stores its members; "
            "not inflated"
        )
    return ""


def check_manifest(problems: list[str], package: PackageMembers) -> None:
    """The package's own manifest: a check of transport only (anyone can recompute it); it must be exactly
    the manifest of the package's members."""
    text = package.read(MANIFEST)
    if text is None:
        problems.append(f"{MANIFEST} is missing: the package's files cannot be checked")
        return
    listed = _manifest(text.decode("utf-8", "replace"))
    said = len(problems)
    actual: dict[str, str] = {}
    for name in sorted(set(listed) | set(package.members) - {MANIFEST}):
        shown = for_terminal(name)
        try:
            now = package.digest(name)
        except Unchecked as exc:
            problems.append(f"{shown}: {exc}")
            continue
        if now is None:
            problems.append(f"{shown}: listed in the manifest, missing from the package")
            continue
        actual[name] = now
        if name not in listed:
            problems.append(f"{shown}: in the package but not in the manifest")
        elif now != listed[name]:
            problems.append(f"{shown}: its SHA-256 differs from the manifest's: the file was changed")
    expected = "".join(f"{digest}  {name}\n" for name, digest in sorted(actual.items())).encode()
    if len(problems) == said and text != expected:
        problems.append(f"{MANIFEST} is not the manifest of the package's files (lines added or changed)")


def _manifest(text: str) -> dict[str, str]:
    listed = {}
    for line in text.splitlines():
        digest, _, name = line.partition("  ")
        if name:
            listed[name] = digest.strip()
    return listed
