"""Getting, verifying and choosing the official weights.

Downloads resume from a `.part` file, are verified against the published hash
(or, where none is published, have their SHA-256 recorded at install, with where they came from),
and are moved into place atomically: a half file is never used. Nothing is
downloaded unless asked, and only after the licence was accepted.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import zipfile
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from ..io.hashing import sha256_of_file
from ..io.outputs import commit, make_folder, read_json, write_json_atomic
from ..progress import Progress
from .integrity import HashCache, WeightsState, classify, forget_install, install_records, record_install
from .layouts import CheckpointError, Layout, list_keys
from .registry import DECLIP_VARIANTS
from .transfer import CHUNK, TransferError, fetch
from .weights_folder import ACTIVE_FILE, ManifestEntry, active_choices, load_manifest

LICENCES_FILE = "licences.json"
# verified: matches a published hash (or came from the published, MD5-checked archive)
# recorded: no hash is published; unchanged since its SHA-256 was recorded at install
# unofficial: imported although it differs from the published hash
# unchecked: placed in the folder by hand and not verified yet
STATES = ("missing", "partial", "verified", "recorded", "unofficial", "unchecked", "corrupt")


class ModelManagerError(Exception):
    pass


class AmbiguousCheckpoint(ModelManagerError):
    """A file whose layout fits several official checkpoints and whose name says none of them."""

    def __init__(self, message: str, candidates: list[ManifestEntry]):
        super().__init__(message)
        self.candidates = candidates


@dataclass(frozen=True)
class EntryStatus:
    entry: ManifestEntry
    state: str  # one of STATES
    path: Path
    sha256: str | None  # recorded or published
    detail: str = ""


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

    Each installed file's SHA-256 is compared with its record when it is known (a run hashed it and the file
    has not changed since); `check_hashes` computes the unknown ones, `recompute` reads every byte again.
    """
    rows, records, cache = [], install_records(folder), HashCache()
    for entry in manifest or load_manifest():
        path = folder / entry.file
        if not path.is_file():
            state = "partial" if _part_path(folder, entry).exists() else "missing"
            rows.append(EntryStatus(entry, state, path, entry.sha256))
            continue
        record = records.get(entry.file)
        actual = cache.sha256(path, recompute) if check_hashes else cache.known(path)
        state, detail = classify(entry.file, actual, record, entry)
        if state is WeightsState.UNCHECKED:
            detail = "placed by hand; no install record" + (
                "" if actual is None else " and no published hash to compare with"
            )
        elif state is WeightsState.UNOFFICIAL and record is not None:
            detail = "not the published file (its hash differs, or it was placed by hand)"
        elif state is WeightsState.CORRUPT:
            detail += ": changed or damaged"
        if missing := unmet_requirements(entry, folder, manifest):
            detail = "; ".join(filter(None, [detail, f"needs {missing} before it can be used"]))
        rows.append(EntryStatus(entry, state.value, path, record["sha256"] if record else actual, detail))
    return rows


def unmet_requirements(
    entry: ManifestEntry, folder: Path, manifest: list[ManifestEntry] | None = None
) -> str:
    """What else must be installed for an entry to be used, in words ("" when nothing)."""
    files = {e.id: e.file for e in manifest or load_manifest()}
    missing = [group for group in entry.requires if not any((folder / files[key]).is_file() for key in group)]
    return " and ".join(" or ".join(f"{files[key]} ({key})" for key in group[:2]) for group in missing)


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
) -> Generator[Progress, None, Path]:
    """Download (resuming a `.part` file), verify, and install one checkpoint.

    Closing the generator stops the transfer and keeps the `.part` file for a later resume.
    """
    if not entry.supported:
        raise ModelManagerError(f"{entry.id}: {entry.unsupported_reason or 'not supported by this version'}")
    if not licence_accepted(folder, entry):
        raise ModelManagerError(f"{entry.id}: accept its licence first ({entry.licence})")
    make_folder(folder)
    part = _part_path(folder, entry)
    hosts = {urlsplit(e.url).hostname or "" for e in load_manifest()}
    try:
        yield from fetch(url or entry.url, part, entry.size if not entry.archive else None, hosts, timeout)
    except TransferError as exc:
        raise ModelManagerError(f"{entry.file}: {exc}") from None
    yield Progress(part.stat().st_size, part.stat().st_size, "verifying")
    try:
        return _install(entry, folder, part, f"downloaded from {url or entry.url}")
    except ModelManagerError:
        part.unlink(missing_ok=True)  # a corrupt transfer is not kept for resuming
        raise


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
    origin: str,
    *,
    copy: bool = False,
    allow_unofficial: bool = False,
) -> Path:
    """Verify `source` for `entry` and place it atomically as `folder/entry.file`.

    A download must match the published hash; an import from disk that does not
    is installed as "unofficial" (its own SHA-256 recorded and reported). `origin` says where it came from
    ("downloaded from URL", "imported from FILE"). The install is recorded only once the file is in place, so
    that a failed install never changes what is said of the file already installed.
    """
    staging = folder / f".{entry.file}.staging"
    name = source.name
    official: bool | None = None  # None: nothing published to compare with
    try:
        if entry.archive and _is_distributed_archive(source, entry.archive_member or entry.file):
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
        states = {True: WeightsState.VERIFIED, False: WeightsState.UNOFFICIAL, None: WeightsState.RECORDED}
        target = folder / entry.file
        commit(staging, target)
        record_install(folder, entry.file, actual, states[official], origin)
        return target
    finally:
        staging.unlink(missing_ok=True)


def _is_distributed_archive(path: Path, member: str) -> bool:
    """True for the distributed zip, False for a bare checkpoint (a .pth is a zip too, holding a data.pkl);
    any other zip is refused, naming the member it lacks."""
    try:
        with zipfile.ZipFile(path) as zipped:
            names = zipped.namelist()
    except (zipfile.BadZipFile, OSError):
        return False
    if member in names:
        return True
    if any(name.endswith("/data.pkl") for name in names):
        return False
    raise ModelManagerError(
        f"{path.name}: the archive does not contain {member}; it holds {list_keys(names)}"
    )


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
    "backbone-rn50": {Layout.OPENAI_RN50},
    "backbone-vit": {Layout.OPENAI_VIT},
}


def _layout_of(path: Path, name: str | None = None) -> Layout:
    """The file's checkpoint layout, once it has loaded as that model part; a file that does not is a
    ModelManagerError (named `name` if given)."""
    from .validation import validate_file

    try:
        return validate_file(path)
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
        commit(folder / f".{source.name}.staging", target)
        return target
    manifest = manifest or load_manifest()
    entry = find_entry(as_entry, manifest) if as_entry else _entry_for_file(source, manifest)
    _check_before_reading(entry, source)
    return _install(entry, folder, source, f"imported from {source}", copy=True, allow_unofficial=True)


def _check_before_reading(entry: ManifestEntry, source: Path) -> None:
    """Refuse at once, before a copy or a hash of the whole file, what cannot be the checkpoint: a file far
    larger than the published one (a smaller one may be an unofficial variant, installed as such), a file
    that does not load as that model part."""
    size = source.stat().st_size
    if entry.size and not entry.archive and size > 2 * entry.size:
        raise ModelManagerError(
            f"{source.name}: {size:,} bytes, while the published {entry.file} is {entry.size:,} bytes: not "
            "that checkpoint (refused before reading it)"
        )
    if not entry.archive:
        _check_layout(entry, source)


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
    message = (
        f"{source.name}: a {layout.value}, but its file name does not say which checkpoint it "
        "is; give --as ID (see `dinolizer-gui models list`)"
    )
    if candidates:
        raise AmbiguousCheckpoint(message, candidates)
    raise ModelManagerError(message)


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


def set_active_declip(
    training_set: str, folder: Path, manifest: list[ManifestEntry] | None = None, variant: str | None = None
) -> None:
    """Choose the DeCLIP training set analyses use, and the variant (the ViT alone, or ViT+RN50)."""
    sets = declip_training_sets(manifest)
    if training_set not in sets:
        raise ModelManagerError(
            f"unknown DeCLIP training set {training_set!r}; choose one of {', '.join(sets)}"
        )
    if variant is not None and variant not in DECLIP_VARIANTS:
        raise ModelManagerError(f"unknown DeCLIP variant {variant!r}; choose {' or '.join(DECLIP_VARIANTS)}")
    active = active_choices(folder)
    active["declip"] = training_set
    if variant is not None:
        active["declip_variant"] = variant
    _write_json(folder / ACTIVE_FILE, active)


def progress_printer(write: Callable[[str], None]) -> Callable[[Progress], None]:
    def report(progress: Progress) -> None:
        total = f"/{progress.total / 1e6:.1f}" if progress.total else ""
        write(f"\r{progress.stage} {progress.done / 1e6:.1f}{total} MB")

    return report
