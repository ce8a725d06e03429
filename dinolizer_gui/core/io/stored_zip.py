"""A zip whose bytes follow from its contents alone: members stored (not compressed) in an order the caller
fixes, with fixed metadata (time 1980-01-01 00:00, Unix mode 0644, UTF-8 names, no comments, no extra
fields but Zip64 where a size or offset needs it). The same contents give the same bytes with any Python or
zlib, so a reader can rebuild the bytes a package must have and compare: a change anywhere in the file —
a header, a timestamp, the order of members, a comment — is seen, not only a change of a member's content.

Any zip tool opens it (the format is plain PKZIP 2.0, Zip64 when large).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import BinaryIO

LIMIT = 0xFFFFFFFF  # from here on a size or offset needs Zip64
UTF8_NAMES = 0x0800
DOS_DATE = (0 << 9) | (1 << 5) | 1  # 1980-01-01
UNIX_FILE = (0o100644 << 16) & 0xFFFFFFFF
MADE_BY = (3 << 8) | 45  # Unix, format 4.5


@dataclass(frozen=True)
class Member:
    name: str
    size: int
    crc: int
    offset: int  # of its local header


def _version(zip64: bool) -> int:
    return 45 if zip64 else 20


def local_header(name: str, size: int, crc: int) -> bytes:
    encoded = name.encode("utf-8")
    zip64 = size >= LIMIT
    extra = struct.pack("<HHQQ", 1, 16, size, size) if zip64 else b""
    shown = LIMIT if zip64 else size
    fixed = struct.pack(
        "<IHHHHHIIIHH", 0x04034B50, _version(zip64), UTF8_NAMES, 0, 0, DOS_DATE, crc, shown, shown,
        len(encoded), len(extra),
    )  # fmt: skip
    return fixed + encoded + extra


def central_directory(members: list[Member], start: int) -> bytes:
    """The central directory and its end records, for members whose data ends at `start`."""
    entries = b"".join(_central_entry(member) for member in members)
    count, size = len(members), len(entries)
    tail = b""
    if count >= 0xFFFF or size >= LIMIT or start >= LIMIT:
        record = struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, MADE_BY, 45, 0, 0, count, count, size, start)
        locator = struct.pack("<IIQI", 0x07064B50, 0, start + size, 1)
        tail = record + locator
    end = struct.pack(
        "<IHHHHIIH", 0x06054B50, 0, 0, min(count, 0xFFFF), min(count, 0xFFFF), min(size, LIMIT),
        min(start, LIMIT), 0,
    )  # fmt: skip
    return entries + tail + end


def _central_entry(member: Member) -> bytes:
    encoded = member.name.encode("utf-8")
    large = [value for value in (member.size, member.size, member.offset) if value >= LIMIT]
    sizes_large = member.size >= LIMIT
    extra = struct.pack(f"<HH{len(large)}Q", 1, 8 * len(large), *large) if large else b""
    shown_size = LIMIT if sizes_large else member.size
    fixed = struct.pack(
        "<IHHHHHHIIIHHHHHII", 0x02014B50, MADE_BY, _version(bool(large)), UTF8_NAMES, 0, 0, DOS_DATE,
        member.crc, shown_size, shown_size, len(encoded), len(extra), 0, 0, 0, UNIX_FILE,
        min(member.offset, LIMIT),
    )  # fmt: skip
    return fixed + encoded + extra


class StoredZipWriter:
    """Write members in the order given (the caller's canonical order) to a seekable binary file, then
    `close()` for the central directory."""

    def __init__(self, handle: BinaryIO):
        self.handle = handle
        self.members: list[Member] = []

    def add(self, name: str, chunks: Iterable[bytes], size: int) -> None:
        """A member of `size` bytes from `chunks`; ValueError when they are not that many (a file that changed
        while it was packed). Its CRC is written into the header once the data is through."""
        offset = self.handle.tell()
        self.handle.write(local_header(name, size, 0))
        crc, written = 0, 0
        for chunk in chunks:
            crc = zlib.crc32(chunk, crc)
            written += len(chunk)
            self.handle.write(chunk)
        if written != size:
            raise ValueError(f"{name}: {written} bytes read where {size} were expected: it changed meanwhile")
        end = self.handle.tell()
        self.handle.seek(offset + 14)
        self.handle.write(struct.pack("<I", crc))
        self.handle.seek(end)
        self.members.append(Member(name, size, crc, offset))

    def close(self) -> None:
        self.handle.write(central_directory(self.members, self.handle.tell()))


def canonical_layout(entries: list[tuple[str, int, int]]) -> tuple[list[Member], list[bytes], bytes]:
    """For members (name, size, crc) in their order: where each starts, its local header, and the closing
    central directory — the bytes a stored zip of these contents has around the members' data."""
    offset, headers, members = 0, [], []
    for name, size, crc in entries:
        header = local_header(name, size, crc)
        headers.append(header)
        members.append(Member(name, size, crc, offset))
        offset += len(header) + size
    return members, headers, central_directory(members, offset)
