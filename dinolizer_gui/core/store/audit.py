"""A tamper-evident audit log: `audit.jsonl`, one JSON object per line, appended and fsynced, never rewritten.

Each entry is {"seq", "time", "actor": {"user", "examiner"}, "kind", "data", "prev", "hash"}. `hash` is the
SHA-256 (hex) of the UTF-8 bytes of `prev + "\\n" + canonical`, where `canonical` is the entry without its
`hash` serialised with sorted keys, separators (",", ":") and ensure_ascii=False; a line is exactly the
whole entry serialised the same way, then "\\n". The first entry's `prev` is 64 zeros, every other's the
previous entry's `hash`; `seq` counts 1, 2, 3, … Numbers other than integers are written as decimal strings,
so that any JSON library re-serialises an entry to the same bytes.

A log is read line by line from its bytes: a line that is not its entry's canonical form, holds a key twice,
or does not chain is a break, reported with its line; the entries after it are still read (and shown, and
their evidence checked). Nothing more is written after a break until the examiner records a repair: a
`log-repaired` entry whose `prev` is the SHA-256 of every byte of the log before it, so the damage it
acknowledges is fixed in place. Such a log never verifies intact again — it says "repaired".

A last line that a crash cut short (not a complete entry) is moved aside by the next write into
`audit.torn-<time>.jsonl` and recorded; a complete last entry that only lacks its newline is kept. Nothing
tells a crash from bytes cut off on purpose (which removes the last entry): such a log verifies "repaired"
too, never intact.

Appends take a lock file and read what other processes appended since, so two processes writing the same
log (the viewer and `analyze`) never interleave the chain. The log and its lock are opened only as regular
files: never through a symbolic link.
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import os
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from ..errors import OutputError
from ..io.outputs import held, write_atomic
from ..io.regular import NotRegular, open_regular, regular_or_absent
from .chain import GENESIS, REPAIRED, Chain, entry_hash, parse_entry, read_chain, serialise

LOCK_SECONDS = 60.0  # the longest an append waits for another writer (each holds the lock for one append)


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (a service account, a container): still say who ran it as what
        return f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"


class AuditReadOnly(OutputError):
    """The log cannot be written (a case opened read-only)."""


class LogBroken(OutputError):
    """The log has a break: nothing is appended after it until a repair is recorded."""


@dataclass
class _Known:
    """The state of the log as this process last checked it: what lets an append read only what others
    appended since, instead of the whole log each time."""

    size: int
    head: tuple[int, str]
    unterminated: bool


class AuditLog:
    def __init__(self, path: Path, examiner: str = "", read_only: bool = False):
        self.path = Path(path)
        self.lock_path = self.path.with_name(f".{self.path.name}.lock")
        self.examiner = examiner
        self.read_only = read_only
        self._known: _Known | None = None
        self.set_aside: list[str] = []  # torn last lines this object set aside, in words, for the examiner

    def read(self) -> Chain:
        try:
            with os.fdopen(open_regular(self.path), "rb") as handle:
                return read_chain(handle.read())
        except FileNotFoundError:
            return Chain()
        except NotRegular:
            raise
        except OSError as exc:
            raise OutputError.of(self.path, exc) from None

    def append(self, kind: str, data: dict) -> dict:
        """Add an entry after the last one, under the log's lock; returns it."""
        with self.writing() as record:
            return record(kind, data)

    @contextlib.contextmanager
    def writing(self) -> Iterator[Callable[[str, dict], dict]]:
        """Hold the log's lock for a block that records one or more entries (with the function it yields) and
        may change what they describe meanwhile (case.json). A torn last line is first set aside and
        recorded; a log with a break refuses (LogBroken)."""
        if self.read_only:
            raise AuditReadOnly(self.path, "the case is open read-only: nothing can be recorded")
        if not regular_or_absent(self.lock_path):
            raise NotRegular(self.lock_path, "is not a regular file: the log's lock is not taken through it")
        try:
            with held(self.lock_path, LOCK_SECONDS):
                self._ready()
                yield self._write
        except TimeoutError as exc:
            raise OutputError(self.path, f"another process holds the log ({exc})") from None

    def repair(self, reason: str) -> dict:
        """Record that the examiner saw the log's breaks: a `log-repaired` entry naming them, whose `prev` is
        the SHA-256 of every byte before it. The log never verifies intact again; writing can go on."""
        if not reason.strip():
            raise LogBroken(self.path, "a repair needs the reason (what happened to the log)")
        if self.read_only:
            raise AuditReadOnly(self.path, "the case is open read-only: nothing can be recorded")
        with held(self.lock_path, LOCK_SECONDS):
            chain = read_chain(self._bytes())
            if not chain.breaks:
                raise LogBroken(self.path, "has no break to repair")
            details: dict = {"reason": reason, "problems": chain.breaks}
            if chain.torn_tail:
                details["torn_kept_in"] = self._cut_torn(chain.torn_tail)
                details["torn_sha256"] = hashlib.sha256(chain.torn_tail).hexdigest()
            if chain.unterminated:
                self._append_raw(b"\n")
            data = self._bytes()
            digest = hashlib.sha256(data).hexdigest()
            seq = max([data.count(b"\n") + 1, *(entry["seq"] + 1 for entry in chain.entries)])
            entry = self._entry(
                seq, digest, REPAIRED, {**details, "log_sha256": digest, "log_bytes": len(data)}
            )
            self._append_raw(serialise(entry).encode("utf-8") + b"\n")
            self._known = None
            return entry

    # --- the state before a write --------------------------------------------------------------
    def _ready(self) -> None:
        """Know the log's head, reading only what was appended since this process last looked; set a torn
        tail aside; refuse a log with a break."""
        size = self._size()
        known = self._known
        if known is None or size < known.size or not self._continues(known, size):
            self._check_whole()

    def _continues(self, known: _Known, size: int) -> bool:
        """Whether the bytes appended since `known` are whole entries that continue its head."""
        if size == known.size:
            return True
        with os.fdopen(open_regular(self.path), "rb") as handle:
            handle.seek(known.size)
            added = handle.read()
        if known.unterminated or not added.endswith(b"\n"):
            return False
        seq, prev = known.head
        for raw in added.split(b"\n")[:-1]:
            try:
                entry = parse_entry(raw)
            except ValueError:
                return False
            if entry_hash(entry) != entry["hash"] or entry["prev"] != prev or entry["seq"] != seq + 1:
                return False
            seq, prev = entry["seq"], entry["hash"]
        self._known = _Known(size, (seq, prev), False)
        return True

    def _check_whole(self) -> None:
        chain = read_chain(self._bytes())
        if chain.breaks:
            raise LogBroken(
                self.path,
                f"is broken ({chain.breaks[0]}): nothing more is recorded until the examiner records a "
                "repair (dinolizer-gui case repair CASE --reason TEXT)",
            )
        self._known = _Known(chain.size - len(chain.torn_tail), chain.head, chain.unterminated)
        if chain.torn_tail:
            kept = self._cut_torn(chain.torn_tail)
            digest = hashlib.sha256(chain.torn_tail).hexdigest()
            self._write(REPAIRED, {"torn_bytes": len(chain.torn_tail), "kept_in": kept, "sha256": digest})
            self.set_aside.append(
                f"the log's last line was torn ({len(chain.torn_tail)} bytes: a write cut short by a crash, "
                f"or bytes cut off the log): set aside in {kept} and recorded: the case now verifies REPAIRED"
            )

    # --- writing -------------------------------------------------------------------------------
    def _write(self, kind: str, data: dict) -> dict:
        entry, payload = self.pending(kind, data)
        self.commit(entry, payload)
        return entry

    def pending(self, kind: str, data: dict) -> tuple[dict, bytes]:
        """The next entry and the bytes that append it, not yet written: inside `writing()`, or, for a log
        that cannot be written (a package made from read-only media), after what the log holds now."""
        known = self._known if self._known is not None else self._known_unlocked()
        seq, prev = known.head
        entry = self._entry(seq + 1, prev, kind, data)
        return entry, (b"\n" if known.unterminated else b"") + serialise(entry).encode("utf-8") + b"\n"

    def commit(self, entry: dict, payload: bytes) -> None:
        """Append a pending entry (inside `writing()`)."""
        known = self._known or _Known(0, (0, GENESIS), False)
        self._append_raw(payload)
        self._known = _Known(known.size + len(payload), (entry["seq"], entry["hash"]), False)

    def _known_unlocked(self) -> _Known:
        chain = self.read()
        if chain.breaks or chain.torn_tail:
            raise LogBroken(self.path, f"is broken ({chain.problems[0]}): nothing can be added to it")
        return _Known(chain.size, chain.head, chain.unterminated)

    def _entry(self, seq: int, prev: str, kind: str, data: dict) -> dict:
        _no_floats(data, kind)
        entry = {
            "seq": seq,
            "time": utc_now(),
            "actor": {"user": os_user(), "examiner": self.examiner},
            "kind": kind,
            "data": data,
            "prev": prev,
        }
        entry["hash"] = entry_hash(entry)
        return entry

    def _append_raw(self, payload: bytes) -> None:
        """Append bytes and fsync them: once this returns, they survive a crash."""
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT
        try:
            with os.fdopen(open_regular(self.path, flags), "wb") as handle:
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
        except NotRegular:
            raise
        except OSError as exc:
            raise OutputError.of(self.path, exc) from None

    def _cut_torn(self, torn: bytes) -> str:
        """Keep the incomplete last bytes in a file of their own, cut them from the log; returns its name."""
        stamp = f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{secrets.token_hex(3)}"
        kept = self.path.with_name(f"audit.torn-{stamp}.jsonl")
        write_atomic(kept, torn)
        descriptor = open_regular(self.path, os.O_RDWR)
        try:
            os.ftruncate(descriptor, os.fstat(descriptor).st_size - len(torn))
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        return kept.name

    def _bytes(self) -> bytes:
        try:
            with os.fdopen(open_regular(self.path), "rb") as handle:
                return handle.read()
        except FileNotFoundError:
            return b""

    def _size(self) -> int:
        try:
            descriptor = open_regular(self.path)
        except FileNotFoundError:
            return 0
        try:
            return os.fstat(descriptor).st_size
        finally:
            os.close(descriptor)


def _no_floats(value: object, where: str) -> None:
    """ValueError for a float anywhere in an entry's data: its spelling differs between JSON libraries, so
    the entry's bytes would not be re-made from its values; such numbers go in as decimal strings."""
    if isinstance(value, float):
        raise ValueError(f"{where}: {value!r} is not an integer: an entry holds it as a decimal string")
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    for child in children:
        _no_floats(child, where)
