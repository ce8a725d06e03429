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

from .cose import FIELD_NAMES, library_word
from .jumbf import Traces, Unsigned, declared_in_bytes, find_traces, unsigned_check
from .trust_list import TrustList, c2pa_trust_list, trust_anchors

__all__ = ["credentials_result", "import_c2pa", "read_credentials", "trust_anchors"]

OFFLINE = {"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False}}
SOURCE_TYPE_PREFIX = "http://cv.iptc.org/newscodes/digitalsourcetype/"
# codes that only say the signer is not on a trust list, or that a check was skipped: not a broken manifest
NOT_BROKEN = {"signingCredential.untrusted", "signingCredential.ocsp.skipped", "timeStamp.untrusted"}
UNTRUSTED = "signingCredential.untrusted"
TRUSTED_BY = {"system_anchors": "c2pa_list", "user_anchors": "your_anchors"}
# formats a manifest store can be embedded in: the library's "not supported" there is a failure, not an answer
CAN_CARRY = {"", "JPEG", "MPO", "PNG", "WEBP", "GIF", "TIFF", "ISO media (HEIF, AVIF, …)", "AVIF", "HEIF",
             "JPEG XL"}  # fmt: skip
MAX_MANIFESTS = 64  # manifests followed through ingredients, at most
MAX_WALKED = 10_000  # values of a manifest's assertions looked at for declarations, at most
MANIFEST_IN_URL = re.compile(r"/c2pa/([^/]+)")


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
        return _from_error(exc, traces, file_format)
    read = Report(report, state)
    result = _from_report(read, trust_list, bool(anchors), unsigned_check(data), file_format)
    result["traces"] = traces.words
    if result["state"] != "valid":
        result["declarations"] += _declared_in_store(traces, result["declarations"], result["state"])
    return result


def _from_error(exc: Exception, traces: Traces, file_format: str) -> dict[str, Any]:
    text = str(exc)
    kind = type(exc).__name__
    if "RemoteManifest" in kind or "Remote" in text:
        found = re.search(r"[a-z][a-z0-9+.-]*://\S+", text)
        url = found.group(0) if found else "an address the library did not say"
        return credentials_result(
            "remote",
            f"the file points to Content Credentials at {url}; not fetched (the app is offline)",
            traces.words,
        )
    if traces.words:
        damaged = credentials_result(
            "damaged",
            f"Content Credentials DAMAGED: the file holds a C2PA manifest store ({'; '.join(traces.words)}) "
            f"that cannot be read ({text[:160]}): it was changed or cut after it was written — not the same "
            "as a file without Content Credentials",
            traces.words,
        )
        damaged["declarations"] = _declared_in_store(traces, [], "damaged")
        return damaged
    if "ManifestNotFound" in kind or "ManifestNotFound" in text:
        return credentials_result("none", "no Content Credentials in the file")
    if ("NotSupported" in kind or "NotSupported" in text) and file_format not in CAN_CARRY:
        return credentials_result("none", f"no Content Credentials: {file_format} files cannot carry them")
    return credentials_result("error", f"the Content Credentials could not be read ({text[:200]})")


def _declared_in_store(traces: Traces, known: list[dict[str, Any]], state: str) -> list[dict[str, Any]]:
    """The digital source types written in the bytes of a damaged or invalid store that the library's reading
    does not already give: unverified, marked with the store's state."""
    listed = {declared["value"] for declared in known}
    where = f"the {state} manifest store's bytes (not verified)"
    return [
        {"value": value, "from": "c2pa", "where": where, "signed": False, "state": state}
        for value in declared_in_bytes(traces.regions)
        if value not in listed
    ]


class Report:
    """What the library reported, with every status it gave attributed to the manifest its address names
    (a failure found in an ingredient's manifest after the file was signed is the ingredient's)."""

    def __init__(self, report: dict[str, Any], state: str) -> None:
        self.manifests: dict[str, Any] = report.get("manifests") or {}
        self.active_label: str = report.get("active_manifest", "")
        self.manifest: dict[str, Any] = self.manifests.get(self.active_label, {})
        self.state = state
        results = report.get("validation_results") or {}
        self.trust_list_uri: str | None = results.get("trustListUri")
        self.has_results = "activeManifest" in results
        active = results.get("activeManifest") or {}
        self.succeeded = {status.get("code", "") for status in active.get("success") or []}
        own = active.get("failure") if self.has_results else report.get("validation_status")
        deltas = [
            status
            for delta in results.get("ingredientDeltas") or []
            for status in (delta.get("validationDeltas") or {}).get("failure") or []
        ]
        self.failures = [status.get("code", "") for status in own or []]  # the active manifest's own
        self.delta_failures = [status.get("code", "") for status in deltas]  # found since it was signed
        self.statuses = _statuses(report)  # every (code, url) reported, anywhere
        self.store_changed = False  # bytes of the store no signature covers found not as written
        self.failed_in: dict[str, list[str]] = {}  # manifest label: the failures its address has
        for status in [*(own or [] if self.has_results else []), *deltas]:
            if found := MANIFEST_IN_URL.search(str(status.get("url", ""))):
                codes = self.failed_in.setdefault(found.group(1), [])
                codes += [status.get("code", "")] if status.get("code", "") not in codes else []

    @property
    def codes(self) -> list[str]:
        return list(dict.fromkeys(self.failures + self.delta_failures))

    def signature_verified(self) -> bool:
        """Whether the active manifest's claim signature verified (the library said so, and no claim
        signature failure)."""
        failed = any(code.startswith("claimSignature.") for code in self.failures)
        return not failed and (not self.has_results or "claimSignature.validated" in self.succeeded)


def _statuses(report: object, depth: int = 0) -> list[tuple[str, str]]:
    """Every (code, url) status anywhere in the report (bounded in depth)."""
    found: list[tuple[str, str]] = []
    if depth > 12:
        return found
    if isinstance(report, dict):
        if isinstance(report.get("code"), str):
            found.append((report["code"], str(report.get("url", ""))))
        for value in report.values():
            found += _statuses(value, depth + 1)
    elif isinstance(report, list):
        for value in report:
            found += _statuses(value, depth + 1)
    return found


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
    changes, unchecked = _library_words(read, unsigned, file_format)
    read.store_changed = bool(changes)
    valid = read.state.lower() in ("valid", "trusted") and not broken and not changes and verified
    result = credentials_result("valid" if valid else "invalid", "")
    trusted, trusted_by = _trust(read) if verified else (False, None)
    ingredients = [_ingredient(item, read) for item in read.manifest.get("ingredients", [])]
    result.update(
        validation_codes=codes,
        trusted_signer=trusted,
        trusted_by=trusted_by,
        trust_list=trust_list.as_dict(),
        signer=certificate if verified else None,
        signed_at=signature.get("time") if verified else None,
        claim_generator=_generator(read.manifest),
        actions=_actions(read.manifest),
        ingredients=ingredients,
        declarations=_declarations(read, result["state"]),
        unsigned_changes=changes,
        unchecked=unchecked,
    )
    who = _who(certificate, verified)
    trust = _trust_words(result, read, trust_list, anchors_given) if verified else "no signer is vouched for"
    result["message"] = _message(result, read, broken, f"{who}, {trust}")
    return result


def _trust(read: Report) -> tuple[bool | None, str | None]:
    """Whether the signing credential is trusted, from its own codes alone (other failures do not touch
    it), and by what: the C2PA trust list or the user's anchors."""
    if "signingCredential.trusted" in read.succeeded:
        return True, TRUSTED_BY.get(read.trust_list_uri or "", "an_anchor")
    if any(
        code.startswith("signingCredential.") and code not in NOT_BROKEN - {UNTRUSTED}
        for code in read.failures
    ):
        return False, None
    return None, None


def _who(certificate: str | None, verified: bool) -> str:
    if not verified:
        named = f"names {certificate}" if certificate else "names no one"
        return (
            f"its claim signature does NOT verify: the certificate it carries {named}, who is not shown to "
            "have signed it"
        )
    return f"signed by {certificate}" if certificate else "signed"


def _library_words(read: Report, unsigned: Unsigned, file_format: str) -> tuple[list[str], list[str]]:
    """What in the bytes no signature covers is not as written — the reader's findings, and the fields only
    the library can bind that it found malformed —, and what could not be checked, in words."""
    changes, unchecked = list(unsigned.changes), []
    if unsigned.container is None:
        unchecked.append(
            f"the bytes no signature covers were not checked in this format ({file_format or 'unknown'})"
        )
    for manifest, key in unsigned.needs_library:
        word, codes = library_word(key, read.statuses, manifest)
        where = f"{FIELD_NAMES[key]} in the unsigned header of the claim signature of {manifest}"
        if word == "failed":
            changes.append(f"{where}, which the C2PA library finds {', '.join(codes)}")
        elif word == "unchecked":
            said = "well formed, but no signature covers it and the library did not check it"
            unchecked.append(f"{where}: {said}")
    return changes, unchecked


def _message(result: dict[str, Any], read: Report, broken: list[str], who: str) -> str:
    unchecked = f"; NOT CHECKED: {'; '.join(result['unchecked'])}" if result["unchecked"] else ""
    if result["state"] == "valid":
        return f"valid Content Credentials, {who}{unchecked}"
    if result["unsigned_changes"]:
        return (
            "Content Credentials present but INVALID: bytes of the manifest store that no signature covers "
            f"are not as a C2PA writer leaves them ({'; '.join(result['unsigned_changes'])}"
            f"{''.join(f'; {code}' for code in broken)}): the file changed after signing; {who}{unchecked}"
        )
    own = [code for code in read.failures if code not in NOT_BROKEN]
    changed = [item["title"] or "an ingredient" for item in result["ingredients"] if item["changed_since"]]
    if not own and changed and read.signature_verified():
        return (
            f"Content Credentials present but INVALID: the manifest of its ingredient {', '.join(changed)} "
            f"changed after this file was signed ({', '.join(broken)}); the file's own manifest checks out; "
            f"{who}{unchecked}"
        )
    return (
        f"Content Credentials present but INVALID ({', '.join(broken) or 'no validation result'}): the file "
        f"changed after signing, or the manifest is damaged; {who}{unchecked}"
    )


def _trust_words(result: dict[str, Any], read: Report, trust_list: TrustList, anchors_given: bool) -> str:
    listed = trust_list.words()
    if result["trusted_signer"]:
        if result["trusted_by"] == "your_anchors":
            return "the signer's chain reaches one of your trust anchors"
        return f"the signer is on {listed}"
    if result["trusted_signer"] is None:
        return "the signer's certificate was not checked against a trust list"
    failed = [code for code in read.failures if code.startswith("signingCredential.")]
    if failed != ["signingCredential.untrusted"]:
        return f"the signer's certificate is not trusted ({', '.join(failed)})"
    yours = "nor among your trust anchors" if anchors_given else "and you gave no trust anchors of your own"
    return f"the signer is NOT on {listed} {yours}"


def _generator(manifest: dict[str, Any]) -> str | None:
    if generator := manifest.get("claim_generator"):
        return str(generator)
    infos = manifest.get("claim_generator_info") or []
    names = [" ".join(str(info.get(key, "")) for key in ("name", "version")).strip() for info in infos]
    return ", ".join(name for name in names if name) or None


def _actions(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    actions = []
    for assertion in manifest.get("assertions", []):
        if str(assertion.get("label", "")).startswith("c2pa.actions"):
            for action in (assertion.get("data") or {}).get("actions", []):
                source = action.get("digitalSourceType")
                actions.append(
                    {
                        "action": str(action.get("action", "")),
                        "digital_source_type": source_name(source) if source else None,
                        "software_agent": _agent(action.get("softwareAgent")),
                    }
                )
    return actions


def _declarations(read: Report, state: str) -> list[dict[str, Any]]:
    """Every digital source type the manifests declare — in any assertion: the actions, their templates, IPTC
    or C2PA metadata — the active manifest's, then those of its ingredients' manifests (and theirs), each
    with where it is and that manifest's state."""
    declared: list[dict[str, Any]] = []
    queue, seen = [(read.active_label, "", state)], {read.active_label}
    while queue:
        label, via, manifest_state = queue.pop(0)
        manifest = read.manifests.get(label) or {}
        for value, where in _declared_in(manifest):
            declared.append(
                {"value": value, "from": "c2pa", "where": f"{via}{where}", "signed": True,
                 "state": manifest_state}
            )  # fmt: skip
        for item in manifest.get("ingredients") or []:
            child = item.get("active_manifest")
            if child and child not in seen and len(seen) < MAX_MANIFESTS:
                seen.add(child)
                title = item.get("title") or "an ingredient"
                queue.append((child, f"{via}ingredient {title}, ", _ingredient(item, read)["state"]))
    return declared


def _declared_in(manifest: dict[str, Any]) -> list[tuple[str, str]]:
    """(source type, where) for each digital source type in the manifest's assertions: an action's or a
    template's, or any other value that is one (a value under a DigitalSourceType key, an IPTC URI)."""
    found: dict[tuple[str, str], None] = {}
    budget = [MAX_WALKED]
    for assertion in manifest.get("assertions", []):
        label = str(assertion.get("label", ""))
        data = assertion.get("data")
        if label.startswith("c2pa.actions") and isinstance(data, dict):
            for part, word in (("actions", "action"), ("templates", "template")):
                for item in data.get(part) or []:
                    if isinstance(item, dict):
                        for value in _source_types(item, budget):
                            found.setdefault((value, f"{word} {item.get('action', '')}"))
            data = {key: value for key, value in data.items() if key not in ("actions", "templates")}
        for value in _source_types(data, budget):
            found.setdefault((value, f"assertion {label}"))
    return list(found)


def _source_types(data: object, budget: list[int], key: str = "", depth: int = 0) -> list[str]:
    """The digital source types in a value: strings under a key named DigitalSourceType (any prefix or
    case), and any string that is an IPTC digital source type URI (bounded by `budget` and depth)."""
    budget[0] -= 1
    if budget[0] < 0 or depth > 16:
        return []
    if isinstance(data, str):
        named = key.rsplit(":", 1)[-1].lower() == "digitalsourcetype"
        return [source_name(data)] if data and (named or data.startswith(SOURCE_TYPE_PREFIX)) else []
    if isinstance(data, dict):
        return [v for k, item in data.items() for v in _source_types(item, budget, str(k), depth + 1)]
    if isinstance(data, list):
        return [v for item in data for v in _source_types(item, budget, key, depth + 1)]
    return []


def _ingredient(item: dict[str, Any], read: Report) -> dict[str, Any]:
    """An ingredient with its own state: the failures recorded when it was taken in (its
    `validation_results`, or the older `validation_status`) and those the library finds in its manifest now,
    verbatim; invalid too when bytes of the store no signature covers changed (where, no signature says):
    then, or with failures found now, it changed after this file was signed (`changed_since`)."""
    results = (item.get("validation_results") or {}).get("activeManifest") or {}
    recorded = [
        status.get("code", "") for status in results.get("failure") or item.get("validation_status") or []
    ]
    label = item.get("active_manifest")
    since = [code for code in read.failed_in.get(label or "", []) if code not in NOT_BROKEN]
    failures = list(dict.fromkeys(recorded + since))
    broken = [code for code in failures if code not in NOT_BROKEN] or read.store_changed
    return {
        "title": item.get("title"),
        "relationship": item.get("relationship"),
        "state": ("invalid" if broken else "valid") if label else "none",
        "validation_codes": failures,
        "changed_since": bool(since) or read.store_changed,
    }


def _agent(agent: object) -> str | None:
    if isinstance(agent, dict):
        return " ".join(str(agent.get(key, "")) for key in ("name", "version")).strip() or None
    return str(agent) if agent else None


def source_name(uri: str) -> str:
    """An IPTC digital source type by the last segment of its URI ("trainedAlgorithmicMedia")."""
    return str(uri).removeprefix(SOURCE_TYPE_PREFIX).rstrip("/").rsplit("/", 1)[-1]


def credentials_result(state: str, message: str, traces: list[str] | None = None) -> dict[str, Any]:
    return {"state": state, "validation_codes": [], "trusted_signer": None, "trusted_by": None,
            "trust_list": None, "signer": None, "signed_at": None, "claim_generator": None, "actions": [],
            "ingredients": [], "declarations": [], "traces": traces or [], "unsigned_changes": [],
            "unchecked": [], "message": message}  # fmt: skip
