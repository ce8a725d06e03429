"""Signing a picture with Content Credentials, with a throwaway certificate chain made on the spot: the
self-test reads one back (the native C2PA library is there and works), and the tests make real signed files.
Nothing signed here is trusted by anyone: its CA exists only in memory."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .credentials import import_c2pa

AI_MADE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"


@dataclass(frozen=True)
class Chain:
    chain_pem: bytes  # the signer's certificate, then its CA's
    key_pem: bytes
    ca_pem: bytes


def _name(common: str, organisation: str = "Test Lab") -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
        ]
    )


def _usage(signing: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=signing, content_commitment=False, key_encipherment=False, data_encipherment=False,
        key_agreement=False, key_cert_sign=not signing, crl_sign=not signing, encipher_only=False,
        decipher_only=False,
    )  # fmt: skip


def make_chain(signer: str = "Test Signer", organisation: str = "Test Lab") -> Chain:
    """A CA and an end-entity ES256 certificate with the key usages C2PA asks of a signer."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = _name(f"{signer} Root CA", organisation)
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_usage(signing=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    leaf = (
        x509.CertificateBuilder().subject_name(_name(signer, organisation)).issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(signing=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    pem = serialization.Encoding.PEM
    key_pem = key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return Chain(leaf.public_bytes(pem) + ca.public_bytes(pem), key_pem, ca.public_bytes(pem))


def manifest(source_type: str | None = AI_MADE, generator: str = "TestGenerator") -> dict:
    action = {"action": "c2pa.created", **({"digitalSourceType": source_type} if source_type else {})}
    return {
        "claim_generator_info": [{"name": generator, "version": "2.1"}],
        "title": "signed picture",
        "assertions": [{"label": "c2pa.actions", "data": {"actions": [action]}}],
    }


def edit_of(parent: Path, source: Path, target: Path, chain: Chain, source_type: str) -> Path:
    """Sign `source` as an edit of the signed `parent`: opened from it (its ingredient), then edited with
    `source_type` declared."""
    c2pa = import_c2pa()
    signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(b"es256", chain.chain_pem, chain.key_pem, None))
    edit = manifest(None)
    edit["assertions"][0]["data"]["actions"] = [
        {"action": "c2pa.opened", "parameters": {"ingredientIds": ["parent"]}},
        {"action": "c2pa.edited", "digitalSourceType": source_type},
    ]
    with c2pa.Builder(edit) as builder:
        with open(parent, "rb") as ingredient:
            builder.add_ingredient(
                {"title": parent.name, "relationship": "parentOf", "label": "parent"},
                "image/jpeg",
                ingredient,
            )
        with open(source, "rb") as src, open(target, "wb") as dst:
            builder.sign(signer, "image/jpeg", src, dst)
    return target


def sign(
    source: Path,
    target: Path,
    chain: Chain,
    remote_url: str | None = None,
    source_type: str | None = AI_MADE,
    generator: str = "TestGenerator",
) -> Path:
    """Sign a JPEG; with `remote_url`, the manifest is not embedded: the file only points to it."""
    c2pa = import_c2pa()
    signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(b"es256", chain.chain_pem, chain.key_pem, None))
    with c2pa.Builder(manifest(source_type, generator)) as builder:
        if remote_url:
            builder.set_no_embed()
            builder.set_remote_url(remote_url)
        with open(source, "rb") as src, open(target, "wb") as dst:
            builder.sign(signer, "image/jpeg", src, dst)
    return target
