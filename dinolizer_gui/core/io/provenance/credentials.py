"""Content Credentials (C2PA) read with c2pa-python, offline: remote manifests are never fetched and no OCSP
request is made. A signer is trusted when its chain reaches the C2PA trust list shipped with the app or one of
the user's own trust anchors, as the signing-credential codes say (whatever else fails).

States: `none` (no trace of a manifest store in the file), `valid` (the signature and every hash check out,
and the bytes no signature covers are as a writer leaves them), `invalid` (with the failure codes verbatim,
e.g. `assertion.dataHash.mismatch`, or the unsigned bytes found changed), `damaged` (a manifest store is
there but cannot be read: cut, a label changed…), `remote` (the file points to a manifest by URL: not
fetched), `error` (the file could not be read for them, with the reason)."""

from __future__ import annotations

import importlib.util
import io
import json
import os
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from .claims import claim_actions, claim_generator, declarations
from .jumbf import Traces, declared_in_bytes, find_traces
from .trust_list import TrustList, c2pa_trust_list, trust_anchors
from .unsigned import Unsigned, unsigned_check
from .verdict import (
    NOT_BROKEN,
    Report,
    certificate_failures,
    ingredient,
    signer_trust,
    signer_words,
    trust_words,
    unsigned_words,
    verdict_message,
)

__all__ = ["credentials_result", "import_c2pa", "read_credentials", "trust_anchors"]

OFFLINE = {"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False}}
# formats a manifest store can be embedded in: the library's "not supported" there is a failure, not an answer
CAN_CARRY = {"", "JPEG", "MPO", "PNG", "WEBP", "GIF", "TIFF", "ISO media (HEIF, AVIF, …)", "AVIF", "HEIF",
             "JPEG XL"}  # fmt: skip
NATIVE_SUFFIXES = (".so", ".dylib", ".dll")


def import_c2pa() -> ModuleType:
    """c2pa-python with its native library loaded from its own package folder, by absolute path: left to
    itself, it would look in the current folder first (an evidence folder could hold a library of the same
    name, whose code would then run)."""
    if "c2pa" not in sys.modules:
        spec = importlib.util.find_spec("c2pa")
        folders = list(spec.submodule_search_locations or []) if spec is not None else []
        found = [
            path
            for folder in folders
            for path in sorted([*Path(folder).glob("libs/*c2pa_c*"), *Path(folder).glob("*c2pa_c*")])
            if path.suffix in NATIVE_SUFFIXES
        ]
        if not found:
            raise ImportError("the native C2PA library is not in the c2pa package")
        os.environ["C2PA_LIBRARY_NAME"] = str(found[0])  # an absolute path: no folder is searched
    import c2pa

    return c2pa


def read_credentials(
    data: bytes, anchors: str = "", trust_list: TrustList | None = None, file_format: str = ""
) -> dict[str, Any]:
    """The provenance object's `c2pa` part for the file's bytes; `anchors`: the user's own PEM trust anchors,
    added to `trust_list` (the shipped C2PA trust list when None); `file_format`: what the file is."""
    trust_list = trust_list or c2pa_trust_list()
    traces = find_traces(data)
    try:
        c2pa = import_c2pa()
    except (ImportError, RuntimeError) as exc:  # an installation without the native library
        found = f" (the file holds {'; '.join(traces.words)})" if traces.words else ""
        return credentials_result(
            "error",
            f"Content Credentials cannot be read here: c2pa-python is missing ({exc}){found}",
            traces.words,
        )
    settings: dict[str, Any] = {**OFFLINE, "trust": {"trust_anchors": trust_list.pem}}
    if anchors:
        settings["trust"]["user_anchors"] = anchors
    try:
        context = c2pa.Context(c2pa.Settings.from_dict(settings))
        with c2pa.Reader(None, io.BytesIO(data), context=context) as reader:
            report = json.loads(reader.json())
            state = reader.get_validation_state() or ""
    except c2pa.C2paError as exc:
        return _with_outside(_from_error(exc, traces, file_format), traces)
    read, unsigned = Report(report, state), unsigned_check(data)
    read.failures += certificate_failures(unsigned.signers.get(read.active_label))
    result = _from_report(read, trust_list, bool(anchors), unsigned, file_format)
    result["traces"] = traces.words
    if result["state"] != "valid":
        result["declarations"] += _declared_in_store(traces, result["declarations"], result["state"])
    return _with_outside(result, traces)


def _with_outside(result: dict[str, Any], traces: Traces) -> dict[str, Any]:
    """A second store outside the file's structure is said, and what it declares listed, unverified: the
    library reads one store, and a declaration of AI must not hide behind it."""
    if not traces.outside:
        return result
    result["message"] += (
        "; the file also holds C2PA bytes outside its manifest store (a second store, not read, not verified)"
    )
    where = "C2PA bytes outside the file's manifest store (not verified)"
    result["declarations"] += _unverified(traces.outside, result["declarations"], where, "second, unread")
    return result


def _from_error(exc: Exception, traces: Traces, file_format: str) -> dict[str, Any]:
    """What the library's refusal means. A store present in the file's bytes is `damaged` whatever else the
    error says: a reference to remote credentials (which anyone can add to the XMP) never hides it."""
    text = str(exc)
    kind = type(exc).__name__
    remote = "RemoteManifest" in kind or "Remote" in text
    found = re.search(r"[a-z][a-z0-9+.-]*://\S+", text) if remote else None
    url = found.group(0) if found else "an address the library did not say"
    if traces.words:
        pointer = f"; the file also points to Content Credentials at {url} (not fetched)" if remote else ""
        damaged = credentials_result(
            "damaged",
            f"Content Credentials DAMAGED: the file holds a C2PA manifest store ({'; '.join(traces.words)}) "
            f"that cannot be read ({text[:160]}): it was changed or cut after it was written — not the same "
            f"as a file without Content Credentials{pointer}",
            traces.words,
        )
        damaged["declarations"] = _declared_in_store(traces, [], "damaged")
        return damaged
    if remote:
        return credentials_result(
            "remote", f"the file points to Content Credentials at {url}; not fetched (the app is offline)"
        )
    if "ManifestNotFound" in kind or "ManifestNotFound" in text:
        return credentials_result("none", "no Content Credentials in the file")
    if ("NotSupported" in kind or "NotSupported" in text) and file_format not in CAN_CARRY:
        return credentials_result("none", f"no Content Credentials: {file_format} files cannot carry them")
    return credentials_result("error", f"the Content Credentials could not be read ({text[:200]})")


def _declared_in_store(traces: Traces, known: list[dict[str, Any]], state: str) -> list[dict[str, Any]]:
    """The digital source types written in the bytes of a damaged or invalid store that the library's reading
    does not already give: unverified, marked with the store's state."""
    return _unverified(traces.regions, known, f"the {state} manifest store's bytes (not verified)", state)


def _unverified(
    regions: list[bytes], known: list[dict[str, Any]], where: str, state: str
) -> list[dict[str, Any]]:
    listed = {declared["value"] for declared in known}
    return [
        {"value": value, "from": "c2pa", "where": where, "signed": False, "state": state}
        for value in declared_in_bytes(regions)
        if value not in listed
    ]


def _from_report(
    read: Report, trust_list: TrustList, anchors_given: bool, unsigned: Unsigned, file_format: str
) -> dict[str, Any]:
    """What the library found, with `unsigned`: what in the bytes no signature covers is not as written (the
    library reads a manifest the same with them changed: any makes it invalid), and what could not be
    checked."""
    codes = read.codes
    broken = [code for code in codes if code not in NOT_BROKEN]
    signature = read.manifest.get("signature_info") or {}
    subject, issuer = signature.get("common_name"), signature.get("issuer")
    certificate = f"{subject} (issued by {issuer})" if subject and issuer else subject or issuer
    verified = read.signature_verified()
    changes, unchecked = unsigned_words(read, unsigned, file_format)
    read.store_changed = bool(changes)
    valid = read.state.lower() in ("valid", "trusted") and not broken and not changes and verified
    result = credentials_result("valid" if valid else "invalid", "")
    trusted, trusted_by = signer_trust(read) if verified else (False, None)
    ingredients = [ingredient(item, read) for item in read.manifest.get("ingredients", [])]
    result.update(
        validation_codes=codes,
        trusted_signer=trusted,
        trusted_by=trusted_by,
        trust_list=trust_list.as_dict(),
        signer=certificate if verified else None,
        signed_at=signature.get("time") if verified else None,
        claim_generator=claim_generator(read.manifest),
        actions=claim_actions(read.manifest),
        ingredients=ingredients,
        declarations=declarations(read, result["state"]),
        unsigned_changes=changes,
        unchecked=unchecked,
    )
    who = signer_words(certificate, verified)
    trust = trust_words(result, read, trust_list, anchors_given) if verified else "no signer is vouched for"
    result["message"] = verdict_message(result, read, broken, f"{who}, {trust}")
    return result


def credentials_result(state: str, message: str, traces: list[str] | None = None) -> dict[str, Any]:
    return {"state": state, "validation_codes": [], "trusted_signer": None, "trusted_by": None,
            "trust_list": None, "signer": None, "signed_at": None, "claim_generator": None, "actions": [],
            "ingredients": [], "declarations": [], "traces": traces or [], "unsigned_changes": [],
            "unchecked": [], "message": message}  # fmt: skip
