"""Whose signatures on Content Credentials are trusted: the official C2PA trust list shipped with the app
(resources/c2pa-trust-list, CC BY 4.0, copied unchanged from c2pa-org/conformance-public), and the PEM
certificates of the user's own trust anchors, which add to it.

A trust list is a snapshot: it names the day it was issued and the day by which a newer one is due; past
that day it is said to be stale (the certificates on it may have been withdrawn or added since)."""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

LIST_FOLDER = ("resources", "c2pa-trust-list")
CLAIM_SIGNERS = "C2PA-TRUST-LIST"  # the .pem and .json of the claim signers' list


@dataclass(frozen=True)
class TrustList:
    name: str
    pem: str
    certificates: int
    issued: datetime.date
    next_update: datetime.date

    def stale(self) -> bool:
        """Past the day by which its publisher said a newer list would be out."""
        return today() > self.next_update

    def words(self) -> str:
        """'the C2PA Trust List (issued 2026-08-05)', saying when it is stale."""
        said = f"the {self.name} (issued {self.issued.isoformat()}"
        if self.stale():
            said += f"; STALE: a newer list was due by {self.next_update.isoformat()}"
        return said + ")"

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "issued": self.issued.isoformat(),
            "next_update": self.next_update.isoformat(),
            "stale": self.stale(),
        }


def today() -> datetime.date:
    """The day, by the computer's clock (the one place the reader asks it)."""
    return datetime.date.today()


@lru_cache(maxsize=1)
def c2pa_trust_list() -> TrustList:
    """The C2PA trust list of claim signers shipped with the app."""
    folder = resources.files("dinolizer_gui").joinpath(*LIST_FOLDER)
    pem = folder.joinpath(f"{CLAIM_SIGNERS}.pem").read_text(encoding="utf-8")
    document = json.loads(folder.joinpath(f"{CLAIM_SIGNERS}.json").read_text(encoding="utf-8"))
    return trust_list_from(pem, document)


def trust_list_from(pem: str, document: dict) -> TrustList:
    """A trust list from its PEM certificates and its ETSI TS 119 602 JSON (issue and next-update dates)."""
    scheme = document["LoTE"]["ListAndSchemeInformation"]
    names = [name["value"] for name in scheme.get("SchemeName", []) if name.get("lang") == "en"]
    return TrustList(
        names[0] if names else "trust list",
        pem,
        pem.count("-----BEGIN CERTIFICATE-----"),
        _day(scheme["ListIssueDateTime"]),
        _day(scheme["NextUpdate"]),
    )


def _day(text: str) -> datetime.date:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).date()


def trust_anchors(folder: Path | str | None) -> str:
    """The PEM certificates in a folder (the user's own trust anchors), concatenated; "" when none, and when
    the folder is not there (the caller says so: `missing_anchor_folder`)."""
    if not folder or not Path(folder).is_dir():
        return ""
    return "".join(
        path.read_text(encoding="ascii", errors="replace")
        for path in sorted(Path(folder).glob("*.pem"))
        if path.is_file()
    )


def missing_anchor_folder(folder: Path | str | None) -> str:
    """A warning when a trust-anchor folder is set but not there ("" when all is well): its signers are then
    not trusted, and nothing else stops."""
    if folder and not Path(folder).is_dir():
        return (
            f"the trust-anchor folder {folder} is not there: only the C2PA trust list is used "
            "(Models › Content Credentials trust anchors… or --trust-anchors to choose another)"
        )
    return ""
