"""Evidence where it is: each listed file looked for at every place it can be (where it was added, beside a
moved case, its copy in the case, the folder the examiner gives) and hashed there — never through a link,
never blocking on a pipe; a copy's name; an evidence file hashed once as it is listed."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import OutputError
from ..io.names import is_exact
from ..io.outputs import inside
from ..io.regular import NotRegular, check_file_target, open_regular, sha256_regular
from .case_entries import Evidence


@dataclass(frozen=True)
class Place:
    """One place an evidence file was looked for and found: the original, the case's copy, or the folder the
    examiner pointed at; with its SHA-256 now."""

    role: str  # "original", "copy", "given folder"
    path: str
    sha256: str


@dataclass(frozen=True)
class EvidenceState:
    evidence: Evidence
    state: str  # "intact" (every place found matches), "changed" (one does not), "missing" (none found)
    found: tuple[Place, ...] = ()
    not_found: tuple[str, ...] = ()  # places looked at in vain that the examiner asked for

    @property
    def found_at(self) -> str | None:
        """A place whose bytes are the evidence's (None when none is)."""
        return next((place.path for place in self.found if place.sha256 == self.evidence.sha256), None)

    def describe(self) -> str:
        name = self.evidence.path
        if self.state == "missing":
            return f"{name}: MISSING (not found at {', '.join(self.not_found) or self.evidence.absolute})"
        if self.state == "changed":
            changed = [place for place in self.found if place.sha256 != self.evidence.sha256]
            where = "; ".join(
                f"{p.role} {p.path} " + (p.sha256 if p.sha256 == UNREADABLE else f"has SHA-256 {p.sha256}")
                for p in changed
            )
            return f"{name}: CHANGED since it was added (SHA-256 {self.evidence.sha256} then; {where})"
        places = ", ".join(f"{place.role} {place.path}" for place in self.found)
        absent = f"; not found: {', '.join(self.not_found)}" if self.not_found else ""
        return f"{name}: intact ({places}){absent}"


@dataclass
class Listing:
    """What `add_evidence` did: the files listed, and each entry it could not list with the reason."""

    added: list[Evidence] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    in_case: int = 0  # files inside the case folder itself (its copies and outputs are not evidence)


def check_evidence(
    evidence: list[Evidence], base: Path | None = None, elsewhere: Path | None = None, copies: bool = True
) -> list[EvidenceState]:
    """Each evidence file's state now, from every place it can be: the original (where it was added, or
    where it lies relative to the case folder `base`), its copy in the case (unless not `copies`), and its
    name in the folder `elsewhere` the examiner gave. Every place found is hashed: one that differs is a
    change."""
    return [_state(item, base, elsewhere, copies) for item in evidence]


def _state(item: Evidence, base: Path | None, elsewhere: Path | None, copies: bool) -> EvidenceState:
    groups = [("original", _originals(item, base))]
    if copies and item.copy and base is not None:
        groups.append(("copy", [base / item.copy]))
    if elsewhere is not None:
        given = Path(item.path)
        groups.append(("given folder", _unique([elsewhere / given.name, *_inside_folder(elsewhere, given)])))
    found: list[Place] = []
    not_found: list[str] = []
    for role, paths in groups:
        here = [_place(role, path) for path in paths if _present(path)]
        found += here
        if not here and role != "original":  # an original moved is common; a copy or a file asked for not
            not_found.append(" or ".join(map(str, paths)))
    if not found:
        return EvidenceState(item, "missing", (), tuple(str(path) for _, paths in groups for path in paths))
    intact = all(place.sha256 == item.sha256 for place in found)
    return EvidenceState(item, "intact" if intact else "changed", tuple(found), tuple(not_found))


def _place(role: str, path: Path) -> Place:
    """A place where something is, hashed; a link, a pipe or an unreadable file is said as such."""
    return Place(role, str(path), file_digest(path) or UNREADABLE)


UNREADABLE = "not readable as a regular file (a link, a pipe, no permission)"


def _unique(paths: list[Path]) -> list[Path]:
    return list(dict.fromkeys(paths))


def _present(path: Path) -> bool:
    try:
        os.lstat(path)
    except (OSError, ValueError):  # ValueError: a NUL in a name no system takes
        return False
    return True


def _originals(item: Evidence, base: Path | None) -> list[Path]:
    """Every place the original may be: where it was added, where it lies relative to the case folder (the
    case and its evidence moved together), the path as given read from the case folder."""
    paths = [Path(item.absolute)]
    if base is not None:
        paths += [base / item.from_case] if item.from_case else []
        paths += [] if Path(item.path).is_absolute() else [base / item.path]
    return _unique([Path(os.path.normpath(path)) for path in paths])


def _inside_folder(folder: Path, given: Path) -> list[Path]:
    return [] if given.is_absolute() else [folder / given]


@dataclass(frozen=True)
class Protected:
    """What an output must never replace: anything inside the case folder (its log, case.json, store, runs),
    the files it was made from, and every listed evidence file (where it was added, its copies, its
    content)."""

    case_folder: Path | None
    places: list[Path]
    digests: set[str]

    def check(self, out: Path, replace: bool) -> None:
        """OutputError unless `out` may be written (see `check_file_target`)."""
        if self.case_folder is not None and inside(self.case_folder, out):
            raise OutputError(out, "is inside the case: its own files are never written by an export")
        check_file_target(Path(out), replace, self.places, self.digests)


def protected(
    items: list[Evidence], folder: Path, inputs: list[Path] | None = None, digests: set[str] | None = None
) -> Protected:
    """What no output written for the case in `folder`, with these evidence `items`, from these `inputs`
    (of these `digests`), may overwrite."""
    places = [*(inputs or []), *(Path(item.absolute) for item in items)]
    places += [folder / item.from_case for item in items if item.from_case]
    places += [folder / item.copy for item in items if item.copy]
    return Protected(folder, places, set(digests or ()) | {item.sha256 for item in items})


def file_digest(path: Path) -> str:
    """The SHA-256 of a regular file, "" when there is none to read (a link is not followed)."""
    try:
        return sha256_regular(path)
    except (OSError, ValueError, NotRegular):  # ValueError: a NUL in a name no system takes
        return ""


def copy_name(path: Path, sha256: str) -> str:
    """The name of an evidence file's copy: its SHA-256's start, then its own name when that is plain text
    a package can carry (else its extension alone)."""
    name = path.name
    plain = is_exact(name) and "\\" not in name and len(name.encode()) <= 120
    suffix = path.suffix if is_exact(path.suffix) and path.suffix.isascii() else ""
    return f"{sha256[:12]}_{name}" if plain else f"{sha256[:16]}{suffix}"


def hash_regular(path: Path) -> tuple[str, int]:
    """SHA-256 and size of an evidence file, read once, only if it is a regular file (never blocking on a
    pipe named like an image)."""
    digest, size = hashlib.sha256(), 0
    with os.fdopen(open_regular(path), "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size
