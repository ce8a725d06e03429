"""A tamper-evident audit log: `audit.jsonl`, one JSON object per line, appended and fsynced, never rewritten.

Each entry is {"seq", "time", "actor": {"user", "examiner"}, "kind", "data", "prev", "hash"}. `hash` is the
SHA-256 (hex) of the UTF-8 bytes of `prev + "\\n" + canonical`, where `canonical` is the entry without its
`hash` serialised with sorted keys, separators (",", ":") and ensure_ascii=False; the first entry's `prev` is
64 zeros, every other's the previous entry's `hash`. Numbers other than integers are written as decimal
strings, so that any JSON library re-serialises an entry to the same bytes.

Appends take a lock file and read the last entry again, so two processes writing the same log (the viewer
and `analyze`) never interleave the chain.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from ..errors import OutputError
from ..io.outputs import append_line, held, write_atomic

GENESIS = "0" * 64
LOCK_SECONDS = 60.0  # the longest an append waits for another writer (each holds the lock for one append)
TAIL_BYTES = 1 << 16


def canonical(entry: dict) -> str:
    body = {key: value for key, value in entry.items() if key != "hash"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(entry: dict) -> str:
    return hashlib.sha256(f"{entry['prev']}\n{canonical(entry)}".encode()).hexdigest()


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (a service account, a container): still say who ran it as what
        return f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"


class AuditReadOnly(OutputError):
    """The log cannot be written (a case opened read-only)."""


@dataclass
class Chain:
    """A log read and checked: its entries in order, and what is wrong with it (nothing, when intact)."""

    entries: list[dict] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # the first broken entry first
    torn_tail: bytes = b""  # an incomplete last line (a crash while writing)

    @property
    def intact(self) -> bool:
        return not self.problems

    @property
    def head(self) -> tuple[int, str]:
        """(seq, hash) of the last entry; (0, 64 zeros) for an empty log."""
        return (self.entries[-1]["seq"], self.entries[-1]["hash"]) if self.entries else (0, GENESIS)


def read_chain(data: bytes) -> Chain:
    """Parse and check a whole log: each line's hash, `prev` linking to the line before, `seq` 1, 2, 3, …"""
    chain = Chain()
    lines = data.split(b"\n")
    if lines and lines[-1]:  # no newline at the end: the last line was being written
        chain.torn_tail = lines[-1]
        chain.problems.append(
            f"line {len(lines)}: torn (incomplete, {len(lines[-1])} bytes): a write interrupted"
        )
    prev, expected_seq = GENESIS, 1
    for number, raw in enumerate(lines[:-1], 1):
        try:
            entry = json.loads(raw.decode("utf-8"))
            if not isinstance(entry, dict) or not {"seq", "prev", "hash", "kind", "data"} <= set(entry):
                raise ValueError("not an audit entry")
        except ValueError as exc:
            chain.problems.append(f"line {number}: not a readable entry ({exc})")
            return chain
        where = f"line {number} (seq {entry['seq']}, {entry['kind']})"
        if entry_hash(entry) != entry["hash"]:
            chain.problems.append(f"{where}: its hash does not match its content: the entry was changed")
        elif entry["prev"] != prev:
            chain.problems.append(
                f"{where}: its prev is not the hash of the entry before: entries were removed, reordered or "
                "inserted"
            )
        elif entry["seq"] != expected_seq:
            chain.problems.append(
                f"{where}: seq {expected_seq} was expected: entries are missing or reordered"
            )
        if chain.problems:
            return chain
        chain.entries.append(entry)
        prev, expected_seq = entry["hash"], expected_seq + 1
    return chain


class AuditLog:
    def __init__(self, path: Path, examiner: str = "", read_only: bool = False):
        self.path = Path(path)
        self.lock_path = self.path.with_name(f".{self.path.name}.lock")
        self.examiner = examiner
        self.read_only = read_only

    def read(self) -> Chain:
        try:
            return read_chain(self.path.read_bytes())
        except FileNotFoundError:
            return Chain()
        except OSError as exc:
            raise OutputError.of(self.path, exc) from None

    def append(self, kind: str, data: dict) -> dict:
        """Add an entry after the last one, under the log's lock; returns it. A torn last line (a crash while
        writing) is first kept aside in `audit.torn-<time>.jsonl` and recorded as a `log-repaired` entry."""
        if self.read_only:
            raise AuditReadOnly(self.path, "the case is open read-only: nothing can be recorded")
        try:
            with held(self.lock_path, LOCK_SECONDS):
                if torn := self._torn_tail():
                    self._set_aside(torn)
                return self._write(kind, data)
        except TimeoutError as exc:
            raise OutputError(self.path, f"another process holds the log ({exc})") from None

    def _write(self, kind: str, data: dict) -> dict:
        seq, prev = self._head()
        entry = {
            "seq": seq + 1,
            "time": utc_now(),
            "actor": {"user": os_user(), "examiner": self.examiner},
            "kind": kind,
            "data": data,
            "prev": prev,
        }
        entry["hash"] = entry_hash(entry)
        append_line(self.path, json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False))
        return entry

    def _tail(self) -> tuple[bytes, bool]:
        """The file's last bytes, and whether they are the whole file."""
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return b"", True
        with open(self.path, "rb") as handle:
            handle.seek(max(0, size - TAIL_BYTES))
            return handle.read(), size <= TAIL_BYTES

    def _head(self) -> tuple[int, str]:
        """The last entry's (seq, hash), read from the file's end (another process may have appended)."""
        tail, whole = self._tail()
        if not whole and tail.count(b"\n") < 2:  # one entry longer than the tail read
            tail = self.path.read_bytes()
        lines = tail.split(b"\n")[:-1]
        if not lines:
            return 0, GENESIS
        last = json.loads(lines[-1].decode("utf-8"))
        return int(last["seq"]), str(last["hash"])

    def _torn_tail(self) -> bytes:
        tail, _ = self._tail()
        if not tail or tail.endswith(b"\n"):
            return b""
        return self.path.read_bytes().rsplit(b"\n", 1)[-1]

    def _set_aside(self, torn: bytes) -> None:
        """Keep the incomplete bytes in a file of their own, cut them from the log, and say so in it."""
        kept = self.path.with_name(f"audit.torn-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}.jsonl")
        write_atomic(kept, torn)
        with open(self.path, "r+b") as handle:
            handle.truncate(self.path.stat().st_size - len(torn))
            handle.flush()
            os.fsync(handle.fileno())
        digest = hashlib.sha256(torn).hexdigest()
        self._write("log-repaired", {"torn_bytes": len(torn), "kept_in": kept.name, "sha256": digest})
