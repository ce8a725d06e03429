"""The audit log's format, and reading it: each line must be its entry's canonical form, hashed and chained
to the line before; a break is named with its line and the entries after it are still read; a recorded
repair acknowledges the breaks before it. (The definition, and a verifier in a few lines: docs/cases.md.)

`hash` is the SHA-256 (hex) of the UTF-8 bytes of `prev + "\\n" + canonical`, where `canonical` is the entry
without its `hash` serialised with sorted keys, separators (",", ":") and ensure_ascii=False; a line is
exactly the whole entry serialised the same way, then "\\n".
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field

from ..io.strict_json import loads_strict

GENESIS = "0" * 64
ENTRY_KEYS = frozenset({"seq", "time", "actor", "kind", "data", "prev", "hash"})
HEX64 = re.compile(r"[0-9a-f]{64}")
REPAIRED = "log-repaired"


def serialise(entry: dict) -> str:
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical(entry: dict) -> str:
    return serialise({key: value for key, value in entry.items() if key != "hash"})


def entry_hash(entry: dict) -> str:
    return hashlib.sha256(f"{entry['prev']}\n{canonical(entry)}".encode()).hexdigest()


def parse_entry(raw: bytes) -> dict:
    """One line's entry; ValueError saying why it is not a well-formed entry in its canonical form (its hash
    and its link are checked by the caller)."""
    entry = loads_strict(raw.decode("utf-8"))
    if not isinstance(entry, dict) or set(entry) != ENTRY_KEYS:
        raise ValueError("not an audit entry (its fields are not seq, time, actor, kind, data, prev, hash)")
    seq, kind = entry["seq"], entry["kind"]
    if type(seq) is not int or seq < 1 or not isinstance(kind, str) or not isinstance(entry["time"], str):
        raise ValueError("not an audit entry (seq, time or kind of the wrong type)")
    if not isinstance(entry["data"], dict) or not isinstance(entry["actor"], dict):
        raise ValueError("not an audit entry (data or actor not an object)")
    if not all(isinstance(entry[key], str) and HEX64.fullmatch(entry[key]) for key in ("prev", "hash")):
        raise ValueError("not an audit entry (prev or hash not 64 hex digits)")
    if serialise(entry).encode("utf-8") != raw:
        raise ValueError("its bytes are not the entry's canonical form: the line was edited")
    return entry


@dataclass
class Chain:
    """A log read and checked: every readable entry in order, and what is wrong with it."""

    entries: list[dict] = field(default_factory=list)  # every readable entry, those after a break too
    breaks: list[str] = field(default_factory=list)  # breaks no repair acknowledges, the first first
    repaired: list[str] = field(default_factory=list)  # breaks a recorded repair acknowledges
    torn_tail: bytes = b""  # an incomplete last line (a crash while writing), set aside by the next write
    last_line: int = 0  # the number of the last line, when it lacks its newline
    unterminated: bool = False  # the last entry is complete but lacks its newline
    size: int = 0  # the bytes read

    @property
    def problems(self) -> list[str]:
        """The breaks, and a last line that is not whole (the next write sets it aside or completes it)."""
        if self.torn_tail:
            last = [
                f"line {self.last_line}: torn (incomplete, {len(self.torn_tail)} bytes): a write interrupted"
            ]
        elif self.unterminated:
            last = [
                f"line {self.last_line}: the last entry lacks its newline: the "
                "log's end was changed or a write cut short (the entry is kept; the next write completes it)"
            ]
        else:
            last = []
        return self.breaks + last

    @property
    def intact(self) -> bool:
        return not self.problems and not self.repaired

    @property
    def head(self) -> tuple[int, str]:
        """(seq, hash) of the last entry; (0, 64 zeros) for an empty log."""
        return (self.entries[-1]["seq"], self.entries[-1]["hash"]) if self.entries else (0, GENESIS)


def read_chain(data: bytes) -> Chain:
    """Parse and check a whole log in one pass: each line's form and hash, `prev` linking to the line before,
    `seq` 1, 2, 3, …; a recorded repair acknowledges the breaks before it."""
    chain = Chain(size=len(data))
    lines = data.split(b"\n")
    last = lines.pop()  # b"" when the log ends with a newline
    checker = _Linker(chain)
    for number, raw in enumerate(lines, 1):
        checker.line(number, raw)
        checker.read(raw + b"\n")
    if last:
        try:
            entry = parse_entry(last)
        except ValueError:
            chain.torn_tail, chain.last_line = last, len(lines) + 1
        else:
            chain.unterminated, chain.last_line = True, len(lines) + 1
            checker.entry(len(lines) + 1, entry)
    return chain


class _Linker:
    """Checks each line of a log in turn against the one before, keeping the SHA-256 of the bytes read so
    far (what a repair must name)."""

    def __init__(self, chain: Chain):
        self.chain = chain
        self.before = hashlib.sha256()  # of every byte before the line being checked
        self.prev: str | None = GENESIS  # the hash the next entry must name; None after an unreadable line
        self.seq: int | None = 0
        self.highest = 0  # the highest seq seen (a repair takes the next one, or its line's number)

    def read(self, raw: bytes) -> None:
        self.before.update(raw)

    def line(self, number: int, raw: bytes) -> None:
        if not raw:
            self._break(f"line {number}: empty")
            return
        try:
            entry = parse_entry(raw)
        except ValueError as exc:
            self._break(f"line {number}: not a readable entry ({exc})")
            return
        self.entry(number, entry)

    def entry(self, number: int, entry: dict) -> None:
        where = f"line {number} (seq {entry['seq']}, {_printable(entry['kind'])})"
        sound = entry_hash(entry) == entry["hash"]
        if not sound:
            self._break(f"{where}: its hash does not match its content: the entry was changed")
        elif entry["kind"] == REPAIRED and "log_sha256" in entry["data"]:
            self._repair(where, number, entry)
        elif self.prev is not None and entry["prev"] != self.prev:
            self._break(
                f"{where}: its prev is not the hash of the entry before: entries were removed, reordered "
                "or inserted"
            )
        elif self.seq is not None and entry["seq"] != self.seq + 1:
            self._break(f"{where}: seq {self.seq + 1} was expected: entries are missing or reordered")
        self.chain.entries.append(entry)
        self.highest = max(self.highest, entry["seq"])
        # the next entry links to this one when its hash holds (a break is named once, not on every line)
        self.prev, self.seq = (entry["hash"], entry["seq"]) if sound else (None, None)

    def _repair(self, where: str, number: int, entry: dict) -> None:
        before = self.before.hexdigest()
        if entry["data"]["log_sha256"] != before or entry["prev"] != before:
            self._break(f"{where}: a repair that does not hold the log's bytes before it: changed since")
            return
        if entry["seq"] != max(number, self.highest + 1):
            self._break(f"{where}: seq {max(number, self.highest + 1)} was expected for a repair")
            return
        pending = list(self.chain.breaks)  # every break not acknowledged by an earlier repair
        if not pending:
            self._break(f"{where}: a repair with no break before it to acknowledge")
            return
        who = _printable(entry["actor"].get("examiner") or entry["actor"].get("user") or "")
        reason = _printable(entry["data"].get("reason", ""))
        self.chain.repaired += [
            f"{problem} (repair recorded at seq {entry['seq']} by {who}: {reason})" for problem in pending
        ]
        self.chain.breaks.clear()

    def _break(self, problem: str) -> None:
        self.chain.breaks.append(problem)
        self.prev = self.seq = None


def _printable(value: object) -> str:
    return json.dumps(value, ensure_ascii=True)[1:-1] if isinstance(value, str) else repr(value)
