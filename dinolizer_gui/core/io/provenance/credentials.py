"""Content Credentials (C2PA) read with c2pa-python, offline: remote manifests are never fetched and no OCSP
request is made; a signer is called trusted only when its chain reaches a trust anchor the user gave.

States: `none` (no manifest), `valid` (the signature and every hash check out), `invalid` (with the failure
codes verbatim, e.g. `assertion.dataHash.mismatch`), `remote` (the file points to a manifest by URL: not
fetched), `error` (unreadable, with the reason)."""

from __future__ import annotations

import importlib.util
import io
import json
import os
import re
import sys
from pathlib import Path

OFFLINE = {"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False}}
SOURCE_TYPE_PREFIX = "http://cv.iptc.org/newscodes/digitalsourcetype/"
# codes that only say the signer is not on a trust list, or that a check was skipped: not a broken manifest
NOT_BROKEN = {"signingCredential.untrusted", "signingCredential.ocsp.skipped", "timeStamp.untrusted"}


def trust_anchors(folder: Path | str | None) -> str:
    """The PEM certificates in a folder (the user's trust anchors), concatenated; "" when none."""
    if not folder:
        return ""
    return "".join(
        path.read_text(encoding="ascii", errors="replace")
        for path in sorted(Path(folder).glob("*.pem"))
        if path.is_file()
    )


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


def read_credentials(data: bytes, anchors: str = "") -> dict:
    """The provenance object's `c2pa` part for the file's bytes."""
    try:
        c2pa = import_c2pa()
    except (ImportError, RuntimeError) as exc:  # an installation without the native library
        return credentials_result(
            "error", f"Content Credentials cannot be read here: c2pa-python is missing ({exc})"
        )
    settings: dict = {**OFFLINE}
    if anchors:
        settings["trust"] = {"user_anchors": anchors}
    try:
        context = c2pa.Context(c2pa.Settings.from_dict(settings))
        with c2pa.Reader(None, io.BytesIO(data), context=context) as reader:
            report = json.loads(reader.json())
            state = reader.get_validation_state() or ""
    except c2pa.C2paError as exc:
        return _from_error(exc)
    return _from_report(report, state, bool(anchors))


def _from_error(exc: Exception) -> dict:
    text = str(exc)
    kind = type(exc).__name__
    if "ManifestNotFound" in kind or "ManifestNotFound" in text:
        return credentials_result("none", "no Content Credentials in the file")
    if "RemoteManifest" in kind or "Remote" in text:
        found = re.search(r"[a-z][a-z0-9+.-]*://\S+", text)
        url = found.group(0) if found else "an address the library did not say"
        return credentials_result(
            "remote", f"the file points to Content Credentials at {url}; not fetched (the app is offline)"
        )
    return credentials_result("error", f"the Content Credentials could not be read ({text[:200]})")


def _from_report(report: dict, state: str, anchors_given: bool) -> dict:
    manifest = report.get("manifests", {}).get(report.get("active_manifest", ""), {})
    statuses = report.get("validation_status") or []
    codes = [status.get("code", "") for status in statuses]
    broken = [code for code in codes if code not in NOT_BROKEN]
    signature = manifest.get("signature_info") or {}
    trusted = state.lower() == "trusted" if anchors_given else None
    subject = signature.get("common_name")
    issuer = signature.get("issuer")
    signer = f"{subject} (issued by {issuer})" if subject and issuer else subject or issuer
    valid = state.lower() in ("valid", "trusted") and not broken
    result = credentials_result("valid" if valid else "invalid", "")
    result.update(
        validation_codes=codes,
        trusted_signer=trusted,
        signer=signer,
        signed_at=signature.get("time"),
        claim_generator=_generator(manifest),
        actions=_actions(manifest),
        ingredients=[_ingredient(item) for item in manifest.get("ingredients", [])],
    )
    result["message"] = _message(result, broken, anchors_given)
    return result


def _message(result: dict, broken: list[str], anchors_given: bool) -> str:
    who = f"signed by {result['signer']}" if result["signer"] else "signed"
    if result["trusted_signer"]:
        trust = "the signer's chain reaches one of your trust anchors"
    elif anchors_given:
        trust = "the signer is NOT on your trust list"
    else:
        trust = "not checked against a trust list"
    if result["state"] == "valid":
        return f"valid Content Credentials, {who}, {trust}"
    return (
        f"Content Credentials present but INVALID ({', '.join(broken) or 'no validation result'}): the file "
        f"changed after signing, or the manifest is damaged; {who}, {trust}"
    )


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
                        "digital_source_type": _source_name(source) if source else None,
                        "software_agent": _agent(action.get("softwareAgent")),
                    }
                )
    return actions


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


def _source_name(uri: str) -> str:
    return str(uri).removeprefix(SOURCE_TYPE_PREFIX).rstrip("/").rsplit("/", 1)[-1]


def credentials_result(state: str, message: str) -> dict:
    return {"state": state, "validation_codes": [], "trusted_signer": None, "signer": None, "signed_at": None,
            "claim_generator": None, "actions": [], "ingredients": [], "message": message}  # fmt: skip
