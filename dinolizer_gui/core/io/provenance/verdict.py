"""Whether Content Credentials hold, from what the C2PA library reported: every status attributed to the
manifest its address names, the state of each ingredient, whether the claim signature verified, whether the
signer is trusted and by what (its signing-credential codes alone decide), what in the bytes no signature
covers was found changed or left unchecked, and the message that says it all in words."""

from __future__ import annotations

import re
from typing import Any

from cryptography import x509

from .cose import FIELD_NAMES, library_word
from .trust_list import TrustList
from .unsigned import Unsigned

# codes that only say the signer is not on a trust list, or that a check was skipped: not a broken manifest
NOT_BROKEN = {"signingCredential.untrusted", "signingCredential.ocsp.skipped", "timeStamp.untrusted"}
UNTRUSTED = "signingCredential.untrusted"
INVALID_CREDENTIAL = "signingCredential.invalid"
TRUSTED_BY = {"system_anchors": "c2pa_list", "user_anchors": "your_anchors"}
MANIFEST_IN_URL = re.compile(r"/c2pa/([^/]+)")


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


def signer_trust(read: Report) -> tuple[bool | None, str | None]:
    """Whether the signing credential is trusted, from its own codes alone (other failures do not touch
    it), and by what: the C2PA trust list or the user's anchors. A failure of the credential outweighs a
    success (a chain that reaches an anchor, from a certificate not allowed to sign)."""
    if any(
        code.startswith("signingCredential.") and code not in NOT_BROKEN - {UNTRUSTED}
        for code in read.failures
    ):
        return False, None
    if "signingCredential.trusted" in read.succeeded:
        return True, TRUSTED_BY.get(read.trust_list_uri or "", "an_anchor")
    return None, None


def certificate_failures(der: bytes | None) -> list[str]:
    """The app's own check of the signer's certificate against C2PA's certificate profile, which the
    library does not make: a key usage that allows digital signatures, and not a CA certificate."""
    if der is None:
        return []
    try:
        certificate = x509.load_der_x509_certificate(der)
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return [f"{INVALID_CREDENTIAL} (the app's check: no key usage)"]
    except Exception as exc:  # any damage (a bad version, a bad extension) the parser meets, lazily or not
        return [
            f"{INVALID_CREDENTIAL} (the app's check: the certificate cannot be read: {type(exc).__name__})"
        ]
    failures = []
    if not usage.digital_signature:
        failures.append(f"{INVALID_CREDENTIAL} (the app's check: key usage without digitalSignature)")
    try:
        if certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca:
            failures.append(f"{INVALID_CREDENTIAL} (the app's check: a CA certificate)")
    except x509.ExtensionNotFound:
        pass
    return failures


def signer_words(certificate: str | None, verified: bool) -> str:
    """Who signed, in words: no one is named as the signer when the claim signature does not verify."""
    if not verified:
        named = f"names {certificate}" if certificate else "names no one"
        return (
            f"its claim signature does NOT verify: the certificate it carries {named}, who is not shown to "
            "have signed it"
        )
    return f"signed by {certificate}" if certificate else "signed"


def unsigned_words(read: Report, unsigned: Unsigned, file_format: str) -> tuple[list[str], list[str]]:
    """What in the bytes no signature covers is not as written — the reader's findings, and the fields only
    the library can bind that it found malformed —, and what could not be checked, in words."""
    changes, unchecked = list(unsigned.changes), []
    if unsigned.container is None:
        unchecked.append(
            f"the bytes no signature covers were not checked in this format ({file_format or 'unknown'})"
        )
    if left_out := _hash_left_out(read, unsigned.top_level):
        unchecked.append(
            f"the ISO media boxes the signed hash leaves out, covered by nothing: {', '.join(left_out)}"
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


def _hash_left_out(read: Report, boxes: list[tuple[str, int, int]]) -> list[str]:
    """The top-level ISO media boxes the active manifest's BMFF hash excludes by their path (its file type
    box, free space…): a change there leaves the credentials valid, so they are named."""
    excluded = {
        exclusion.get("xpath")
        for assertion in read.manifest.get("assertions") or []
        if str(assertion.get("label", "")).startswith("c2pa.hash.bmff")
        for exclusion in (assertion.get("data") or {}).get("exclusions") or []
        if isinstance(exclusion, dict)
    }
    return [
        f"{kind} ({size:,} bytes at byte {start:,})" for kind, start, size in boxes if f"/{kind}" in excluded
    ]


def verdict_message(result: dict[str, Any], read: Report, broken: list[str], who: str) -> str:
    """The `c2pa` part's message: its state, why, who signed and what was not checked."""
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
    if own and all(code.startswith(f"{INVALID_CREDENTIAL} (the app's") for code in own):
        return (
            "Content Credentials present but INVALID: the signer's certificate is not one C2PA allows to "
            f"sign manifests ({'; '.join(own)}); {who}{unchecked}"
        )
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


def trust_words(result: dict[str, Any], read: Report, trust_list: TrustList, anchors_given: bool) -> str:
    """Whether the signer is trusted and by what, in words."""
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


def ingredient(item: dict[str, Any], read: Report) -> dict[str, Any]:
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
