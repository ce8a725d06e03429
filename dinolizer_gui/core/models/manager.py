"""Getting, verifying and choosing the official weights.

Downloads resume from a `.part` file, are verified against the published hash
(or, where none is published, have their SHA-256 recorded at first download),
and are moved into place atomically: a half file is never used. Nothing is
downloaded unless asked, and only after the licence was accepted.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path

from ..files import make_folder, read_json, write_json_atomic
from ..imageio import sha256_of_file
from .integrity import HashCache, WeightsState, classify, forget_install, install_records, record_install
from .layouts import CheckpointError, Layout
from .weights_folder import ACTIVE_FILE, ManifestEntry, active_choices, load_manifest

LICENCES_FILE = "licences.json"
CHUNK = 1 << 20
# verified: matches a published hash (or came from the published, MD5-checked archive)
# recorded: no hash is published; unchanged since its SHA-256 was recorded at install
# unofficial: imported although it differs from the published hash
# unchecked: placed in the folder by hand and not verified yet
STATES = ("missing", "partial", "verified", "recorded", "unofficial", "unchecked", "corrupt")


class ModelManagerError(Exception):
    pass


@dataclass(frozen=True)
class EntryStatus:
    entry: ManifestEntry
    state: str  # one of STATES
    path: Path
    sha256: str | None  # recorded or published
    detail: str = ""


@dataclass(frozen=True)
class TransferProgress:
    done: int
    total: int | None
    stage: str = "downloading"


def _write_json(path: Path, data: dict) -> None:
    make_folder(path.parent)
    write_json_atomic(path, data, indent=2, sort_keys=True)


def find_entry(name: str, manifest: list[ManifestEntry] | None = None) -> ManifestEntry:
    manifest = manifest or load_manifest()
    for entry in manifest:
        if name in (entry.id, entry.file):
            return entry
    raise ModelManagerError(f"unknown checkpoint {name!r}; known: {', '.join(e.id for e in manifest)}")


def recorded_hashes(folder: Path) -> dict[str, str]:
    return {name: record["sha256"] for name, record in install_records(folder).items()}


def expected_sha256(entry: ManifestEntry, folder: Path) -> str | None:
    """The hash recorded at install time, else the published one."""
    return recorded_hashes(folder).get(entry.file) or entry.sha256


def status(
    folder: Path,
    manifest: list[ManifestEntry] | None = None,
    check_hashes: bool = False,
    recompute: bool = False,
) -> list[EntryStatus]:
    """The state of every manifest entry in the folder.

    With `check_hashes`, each installed file's SHA-256 is compared with its record (cached while the file is
    unchanged; `recompute` reads every byte again).
    """
    rows, records, cache = [], install_records(folder), HashCache()
    for entry in manifest or load_manifest():
        path = folder / entry.file
        if not path.is_file():
            state = "partial" if _part_path(folder, entry).exists() else "missing"
            rows.append(EntryStatus(entry, state, path, entry.sha256))
            continue
        record = records.get(entry.file)
        actual = cache.sha256(path, recompute) if check_hashes else None
        state, detail = classify(entry.file, actual, record, entry)
        if state is WeightsState.UNCHECKED:
            detail = "placed by hand; no install record" + (
                "" if actual is None else " and no published hash to compare with"
            )
        elif state is WeightsState.UNOFFICIAL and record is not None:
            detail = "not the published file (its hash differs, or it was placed by hand)"
        elif state is WeightsState.CORRUPT:
            detail += ": changed or damaged"
        rows.append(EntryStatus(entry, state.value, path, record["sha256"] if record else actual, detail))
    return rows


def _part_path(folder: Path, entry: ManifestEntry) -> Path:
    return folder / f"{entry.archive or entry.file}.part"


def licence_accepted(folder: Path, entry: ManifestEntry) -> bool:
    return entry.id in read_json(folder / LICENCES_FILE)


def accept_licence(folder: Path, entry: ManifestEntry, when: str) -> None:
    accepted = read_json(folder / LICENCES_FILE)
    accepted[entry.id] = {"licence": entry.licence, "accepted": when}
    _write_json(folder / LICENCES_FILE, accepted)


def download(
    entry: ManifestEntry, folder: Path, url: str | None = None, timeout: float = 30.0
) -> Generator[TransferProgress, None, Path]:
    """Download (resuming a `.part` file), verify, and install one checkpoint.

    Closing the generator stops the transfer and keeps the `.part` file for a later resume.
    """
    if not entry.supported:
        raise ModelManagerError(f"{entry.id}: {entry.unsupported_reason or 'not supported by this version'}")
    if not licence_accepted(folder, entry):
        raise ModelManagerError(f"{entry.id}: accept its licence first ({entry.licence})")
    folder.mkdir(parents=True, exist_ok=True)
    part = _part_path(folder, entry)
    yield from _transfer(url or entry.url, part, entry.size if not entry.archive else None, timeout)
    yield TransferProgress(part.stat().st_size, part.stat().st_size, "verifying")
    try:
        return _install(entry, folder, part, part.name)
    except ModelManagerError:
        part.unlink(missing_ok=True)  # a corrupt transfer is not kept for resuming
        raise


def _transfer(
    url: str, part: Path, expected_size: int | None, timeout: float
) -> Generator[TransferProgress, None, None]:
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # already complete
            yield TransferProgress(have, have)
            return
        raise ModelManagerError(f"download failed: HTTP {exc.code} {exc.reason} from {url}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise ModelManagerError(f"download failed: {getattr(exc, 'reason', exc)} ({url})") from None
    with response:
        resumed = response.status == 206
        if not resumed:
            have = 0
        length = response.headers.get("Content-Length")
        total = have + int(length) if length is not None else expected_size
        with open(part, "ab" if resumed else "wb") as handle:
            done = have
            yield TransferProgress(done, total)
            while chunk := response.read(CHUNK):
                handle.write(chunk)
                done += len(chunk)
                yield TransferProgress(done, total)
    if total is not None and done < total:
        raise ModelManagerError(
            f"download interrupted at {done:,} of {total:,} bytes; run it again to resume"
        )


def _md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _install(
    entry: ManifestEntry,
    folder: Path,
    source: Path,
    source_name: str | None = None,
    *,
    copy: bool = False,
    allow_unofficial: bool = False,
) -> Path:
    """Verify `source` for `entry` and place it atomically as `folder/entry.file`.

    A download must match the published hash; an import from disk that does not
    is installed as "unofficial" (its own SHA-256 recorded and reported).
    """
    staging = folder / f".{entry.file}.staging"
    name = source_name or source.name
    official: bool | None = None  # None: nothing published to compare with
    try:
        if entry.archive and _holds_member(source, entry.archive_member or entry.file):
            if entry.md5:
                official = _md5(source) == entry.md5
                if not official and not allow_unofficial:
                    raise ModelManagerError(
                        f"{name}: MD5 does not match the published {entry.md5}; not installed"
                    )
            _extract_member(source, entry.archive_member or entry.file, staging)
            if not copy:
                source.unlink()
        elif copy:
            shutil.copyfile(source, staging)
        else:
            os.replace(source, staging)
        actual = sha256_of_file(staging)
        if entry.sha256:
            official = actual == entry.sha256
            if not official and not allow_unofficial:
                raise ModelManagerError(
                    f"{name}: SHA-256 {actual} does not match the published {entry.sha256}; "
                    "the file is corrupt or not the official one, and was not installed"
                )
        elif entry.archive and official is None:
            official = False  # the bare member cannot be checked against the archive's MD5
        _check_layout(entry, staging)
        state = {True: WeightsState.VERIFIED, False: WeightsState.UNOFFICIAL, None: WeightsState.RECORDED}[
            official
        ]
        record_install(folder, entry.file, actual, state, name)
        target = folder / entry.file
        os.replace(staging, target)
        return target
    finally:
        staging.unlink(missing_ok=True)


def _holds_member(path: Path, member: str) -> bool:
    """True for the distributed zip (a .pth is a zip too, but without that member)."""
    try:
        with zipfile.ZipFile(path) as zipped:
            return member in zipped.namelist()
    except (zipfile.BadZipFile, OSError):
        return False


def _extract_member(archive: Path, member: str, target: Path) -> None:
    try:
        with zipfile.ZipFile(archive) as zipped, zipped.open(member) as source, open(target, "wb") as out:
            shutil.copyfileobj(source, out, CHUNK)
    except (zipfile.BadZipFile, KeyError) as exc:
        raise ModelManagerError(f"{archive.name}: not the expected archive ({exc})") from None


_EXPECTED_LAYOUTS = {
    "release": {Layout.DINOLIZER_RELEASE},
    "checkpoint": {Layout.DECLIP_VIT},
    "backbone": {Layout.BFREE_BACKBONE},
    "decoder-only": {Layout.DECLIP_VIT_RN50},
}


def _layout_of(path: Path, name: str | None = None) -> Layout:
    """The file's checkpoint layout; a file that is not one is a ModelManagerError (named `name` if given)."""
    from .checkpoints import read_checkpoint

    try:
        return read_checkpoint(path, sha256="-").layout
    except CheckpointError as exc:
        raise ModelManagerError(f"{name}: {exc.reason}" if name else str(exc)) from None


def _check_layout(entry: ManifestEntry, path: Path) -> None:
    layout = _layout_of(path, entry.file)
    if layout not in _EXPECTED_LAYOUTS.get(entry.role, {layout}):
        raise ModelManagerError(f"{entry.file}: holds a {layout.value}, not what {entry.title} should be")


def import_file(
    source: Path, folder: Path, manifest: list[ManifestEntry] | None = None, as_entry: str | None = None
) -> Path:
    """Install a checkpoint (or the B-Free zip) from disk, for machines without internet."""
    source = Path(source)
    if not source.is_file():
        raise ModelManagerError(f"{source}: no such file")
    folder.mkdir(parents=True, exist_ok=True)
    if source.name.endswith(".head.safetensors"):
        layout = _layout_of(source)
        if layout is not Layout.LINEAR_HEAD:
            raise ModelManagerError(f"{source.name}: not a linear head file ({layout.value})")
        target = folder / source.name
        shutil.copyfile(source, folder / f".{source.name}.staging")
        os.replace(folder / f".{source.name}.staging", target)
        return target
    manifest = manifest or load_manifest()
    entry = find_entry(as_entry, manifest) if as_entry else _entry_for_file(source, manifest)
    return _install(entry, folder, source, source.name, copy=True, allow_unofficial=True)


def _entry_for_file(source: Path, manifest: list[ManifestEntry]) -> ManifestEntry:
    """By official file name, else by layout where only one entry has it."""
    for entry in manifest:
        if source.name in (entry.file, entry.archive):
            return entry
    layout = _layout_of(source)
    candidates = [e for e in manifest if layout in _EXPECTED_LAYOUTS.get(e.role, set()) and not e.archive]
    candidates += [e for e in manifest if e.archive and layout is Layout.BFREE_BACKBONE]
    if len(candidates) == 1:
        return candidates[0]
    raise ModelManagerError(
        f"{source.name}: a {layout.value}, but its file name does not say which checkpoint it "
        "is; give --as ID (see `dinolizer-gui models list`)"
    )


def remove(entry: ManifestEntry, folder: Path) -> bool:
    removed = False
    for path in (folder / entry.file, _part_path(folder, entry)):
        if path.exists():
            path.unlink()
            removed = True
    forget_install(folder, entry.file)
    return removed


def declip_training_sets(manifest: list[ManifestEntry] | None = None) -> list[str]:
    """The training sets of the DeCLIP checkpoints this version loads."""
    entries = manifest or load_manifest()
    return sorted({e.training_set for e in entries if e.model == "declip" and e.supported and e.training_set})


def set_active_declip(training_set: str, folder: Path, manifest: list[ManifestEntry] | None = None) -> None:
    sets = declip_training_sets(manifest)
    if training_set not in sets:
        raise ModelManagerError(
            f"unknown DeCLIP training set {training_set!r}; choose one of {', '.join(sets)}"
        )
    active = active_choices(folder)
    active["declip"] = training_set
    _write_json(folder / ACTIVE_FILE, active)


def progress_printer(write: Callable[[str], None]) -> Callable[[TransferProgress], None]:
    def report(progress: TransferProgress) -> None:
        total = f"/{progress.total / 1e6:.1f}" if progress.total else ""
        write(f"\r{progress.stage} {progress.done / 1e6:.1f}{total} MB")

    return report
