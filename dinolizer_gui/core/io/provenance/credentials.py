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

from .jumbf import manifest_traces, unsigned_changes
from .trust_list import TrustList, c2pa_trust_list, trust_anchors

__all__ = ["credentials_result", "import_c2pa", "read_credentials", "trust_anchors"]

OFFLINE = {"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False}}
SOURCE_TYPE_PREFIX = "http://cv.iptc.org/newscodes/digitalsourcetype/"
# codes that only say the signer is not on a trust list, or that a check was skipped: not a broken manifest
NOT_BROKEN = {"signingCredential.untrusted", "signingCredential.ocsp.skipped", "timeStamp.untrusted"}
UNTRUSTED = "signingCredential.untrusted"
TRUSTED_BY = {"system_anchors": "c2pa_list", "user_anchors": "your_anchors"}
MAX_MANIFESTS = 64  # manifests followed through ingredients, at most


NATIVE_SUFFIXES = (".so", ".dylib", ".dll")


def import_c2pa():
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
) -> dict:
    """The provenance object's `c2pa` part for the file's bytes; `anchors`: the user's own PEM trust anchors,
    added to `trust_list` (the shipped C2PA trust list when None); `file_format`: what Pillow calls it."""
    trust_list = trust_list or c2pa_trust_list()
    traces = manifest_traces(data)
    try:
        c2pa = import_c2pa()
    except (ImportError, RuntimeError) as exc:  # an installation without the native library
        found = f" (the file holds {'; '.join(traces)})" if traces else ""
        return credentials_result(
            "error", f"Content Credentials cannot be read here: c2pa-python is missing ({exc}){found}", traces
        )
    settings: dict = {**OFFLINE, "trust": {"trust_anchors": trust_list.pem}}
    if anchors:
        settings["trust"]["user_anchors"] = anchors
    try:
        context = c2pa.Context(c2pa.Settings.from_dict(settings))
        with c2pa.Reader(None, io.BytesIO(data), context=context) as reader:
            report = json.loads(reader.json())
            state = reader.get_validation_state() or ""
    except c2pa.C2paError as exc:
        return _from_error(exc, traces, file_format)
    result = _from_report(report, state, trust_list, bool(anchors), unsigned_changes(data))
    result["traces"] = traces
    return result


def _from_error(exc: Exception, traces: list[str], file_format: str) -> dict:
    text = str(exc)
    kind = type(exc).__name__
    if "RemoteManifest" in kind or "Remote" in text:
        found = re.search(r"[a-z][a-z0-9+.-]*://\S+", text)
        url = found.group(0) if found else "an address the library did not say"
        return credentials_result(
            "remote",
            f"the file points to Content Credentials at {url}; not fetched (the app is offline)",
            traces,
        )
    if traces:
        return credentials_result(
            "damaged",
            f"Content Credentials DAMAGED: the file holds a C2PA manifest store ({'; '.join(traces)}) that "
            f"cannot be read ({text[:160]}): it was changed or cut after it was written — not the same as a "
            "file without Content Credentials",
            traces,
        )
    if "ManifestNotFound" in kind or "ManifestNotFound" in text:
        return credentials_result("none", "no Content Credentials in the file")
    if ("NotSupported" in kind or "NotSupported" in text) and file_format:
        return credentials_result("none", f"no Content Credentials: {file_format} files cannot carry them")
    return credentials_result("error", f"the Content Credentials could not be read ({text[:200]})")


def _from_report(
    report: dict, state: str, trust_list: TrustList, anchors_given: bool, changes: list[str]
) -> dict:
    """What the library found, with `changes`: what in the bytes no signature covers is not as written (the
    library reads a manifest the same with them changed: any makes it invalid)."""
    manifests = report.get("manifests") or {}
    manifest = manifests.get(report.get("active_manifest", ""), {})
    results = report.get("validation_results") or {}
    active = results.get("activeManifest") or {}
    statuses = (active.get("failure") if "failure" in active else report.get("validation_status")) or []
    codes = [status.get("code", "") for status in statuses]
    broken = [code for code in codes if code not in NOT_BROKEN]
    signature = manifest.get("signature_info") or {}
    subject = signature.get("common_name")
    issuer = signature.get("issuer")
    signer = f"{subject} (issued by {issuer})" if subject and issuer else subject or issuer
    valid = state.lower() in ("valid", "trusted") and not broken and not changes
    result = credentials_result("valid" if valid else "invalid", "")
    trusted, trusted_by = _trust(active, codes, results.get("trustListUri"))
    result.update(
        validation_codes=codes,
        trusted_signer=trusted,
        trusted_by=trusted_by,
        trust_list=trust_list.as_dict(),
        signer=signer,
        signed_at=signature.get("time"),
        claim_generator=_generator(manifest),
        actions=_actions(manifest),
        ingredients=[_ingredient(item) for item in manifest.get("ingredients", [])],
        declarations=_declarations(manifests, report.get("active_manifest", ""), result["state"]),
        unsigned_changes=changes,
    )
    result["message"] = _message(result, broken, trust_list, anchors_given)
    return result


def _trust(active: dict, failures: list[str], list_uri: str | None) -> tuple[bool | None, str | None]:
    """Whether the signing credential is trusted, from its own codes alone (other failures do not touch
    it), and by what: the C2PA trust list or the user's anchors."""
    succeeded = {status.get("code", "") for status in active.get("success") or []}
    if "signingCredential.trusted" in succeeded:
        return True, TRUSTED_BY.get(list_uri or "", "an_anchor")
    if any(
        code.startswith("signingCredential.") and code not in NOT_BROKEN - {UNTRUSTED} for code in failures
    ):
        return False, None
    return None, None


def _message(result: dict, broken: list[str], trust_list: TrustList, anchors_given: bool) -> str:
    who = f"signed by {result['signer']}" if result["signer"] else "signed"
    trust = _trust_words(result, trust_list, anchors_given)
    if result["state"] == "valid":
        return f"valid Content Credentials, {who}, {trust}"
    if result["unsigned_changes"]:
        return (
            "Content Credentials present but INVALID: bytes of the manifest store that no signature covers "
            f"are not as a C2PA writer leaves them ({'; '.join(result['unsigned_changes'])}"
            f"{''.join(f'; {code}' for code in broken)}): the file changed after signing; {who}, {trust}"
        )
    return (
        f"Content Credentials present but INVALID ({', '.join(broken) or 'no validation result'}): the file "
        f"changed after signing, or the manifest is damaged; {who}, {trust}"
    )


def _trust_words(result: dict, trust_list: TrustList, anchors_given: bool) -> str:
    listed = trust_list.words()
    if result["trusted_signer"]:
        if result["trusted_by"] == "your_anchors":
            return "the signer's chain reaches one of your trust anchors"
        return f"the signer is on {listed}"
    if result["trusted_signer"] is None:
        return "the signer's certificate was not checked against a trust list"
    failed = [code for code in result["validation_codes"] if code.startswith("signingCredential.")]
    if failed != ["signingCredential.untrusted"]:
        return f"the signer's certificate is not trusted ({', '.join(failed)})"
    yours = "nor among your trust anchors" if anchors_given else "and you gave no trust anchors of your own"
    return f"the signer is NOT on {listed} {yours}"


def _generator(manifest: dict) -> str | None:
    if generator := manifest.get("claim_generator"):
        return str(generator)
    infos = manifest.get("claim_generator_info") or []
    names = [" ".join(str(info.get(key, "")) for key in ("name", "version")).strip() for info in infos]
    return ", ".join(name for name in names if name) or None


def _actions(manifest: dict) -> list[dict]:
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


def _declarations(manifests: dict, active: str, state: str) -> list[dict]:
    """Every digital source type the signed manifests declare: the active manifest's actions, then those of
    its ingredients' manifests (and theirs), each with where it is and that manifest's state."""
    declared: list[dict] = []
    queue, seen = [(active, "", state)], {active}
    while queue:
        label, via, manifest_state = queue.pop(0)
        manifest = manifests.get(label) or {}
        for action in _actions(manifest):
            if action["digital_source_type"]:
                where = f"{via}action {action['action']}"
                declared.append(
                    {"value": action["digital_source_type"], "from": "c2pa", "where": where, "signed": True,
                     "state": manifest_state}
                )  # fmt: skip
        for item in manifest.get("ingredients") or []:
            child = item.get("active_manifest")
            if child and child not in seen and len(seen) < MAX_MANIFESTS:
                seen.add(child)
                title = item.get("title") or "an ingredient"
                queue.append((child, f"{via}ingredient {title}, ", _ingredient(item)["state"]))
    return declared


def _ingredient(item: dict) -> dict:
    """An ingredient with its own state: its manifest's failures (from `validation_results`, or the older
    `validation_status`), verbatim."""
    results = (item.get("validation_results") or {}).get("activeManifest") or {}
    failures = [
        status.get("code", "") for status in results.get("failure") or item.get("validation_status") or []
    ]
    broken = [code for code in failures if code not in NOT_BROKEN]
    return {
        "title": item.get("title"),
        "relationship": item.get("relationship"),
        "state": ("invalid" if broken else "valid") if item.get("active_manifest") else "none",
        "validation_codes": failures,
    }


def _agent(agent) -> str | None:
    if isinstance(agent, dict):
        return " ".join(str(agent.get(key, "")) for key in ("name", "version")).strip() or None
    return str(agent) if agent else None


def source_name(uri: str) -> str:
    """An IPTC digital source type by the last segment of its URI ("trainedAlgorithmicMedia")."""
    return str(uri).removeprefix(SOURCE_TYPE_PREFIX).rstrip("/").rsplit("/", 1)[-1]


def credentials_result(state: str, message: str, traces: list[str] | None = None) -> dict:
    return {"state": state, "validation_codes": [], "trusted_signer": None, "trusted_by": None,
            "trust_list": None, "signer": None, "signed_at": None, "claim_generator": None, "actions": [],
            "ingredients": [], "declarations": [], "traces": traces or [], "unsigned_changes": [],
            "message": message}  # fmt: skip
