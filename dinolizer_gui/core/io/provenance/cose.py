"""A C2PA claim signature (COSE_Sign1 in CBOR) read without the C2PA library, for what no signature covers.

The signer signs the protected header and the claim; the rest of the COSE structure — its encoding, the
payload slot (null: the claim is detached), the unprotected header (padding, time stamps, revocation
values) — is covered by nothing. `claim_signature_check` says what in it is not as a C2PA writer leaves it:
an encoding other than the one CBOR writers produce (the shortest lengths, definite lengths, no key twice),
a payload other than null, an unprotected field C2PA does not define, padding that is not zeros, a time stamp,
revocation values or certificates that are not what their field holds. Whether a time stamp or revocation
values are bound to the signature only the C2PA library can say: they are returned as `needs_library`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography import x509

MAX_DEPTH = 16
MAX_ITEMS = 100_000  # CBOR items decoded at most in one signature
COSE_SIGN1_TAG = 18
X5CHAIN = 33
SIGNED_DATA = bytes.fromhex("06092a864886f70d010702")  # the DER of OID 1.2.840.113549.1.7.2 (CMS signedData)
# unprotected fields whose content only the C2PA library can bind to the signature: the codes it reports for
# them, and those that say it did (a time stamp from an authority on no list was still checked against it)
LIBRARY_CODES = {
    "sigTst": ("timeStamp.", {"timeStamp.validated", "timeStamp.trusted", "timeStamp.untrusted"}),
    "sigTst2": ("timeStamp.", {"timeStamp.validated", "timeStamp.trusted", "timeStamp.untrusted"}),
    "rVals": ("signingCredential.ocsp.", {"signingCredential.ocsp.notRevoked"}),
}
# what says a field is not what it claims (the library reports a malformed time stamp, yet says valid)
LIBRARY_FAILURES = {"timeStamp.malformed", "timeStamp.mismatch", "timeStamp.outsideValidity",
                    "signingCredential.ocsp.revoked", "signingCredential.ocsp.malformed"}  # fmt: skip
FIELD_NAMES = {
    "sigTst": "a time stamp (sigTst)",
    "sigTst2": "a time stamp (sigTst2)",
    "rVals": "revocation values (rVals)",
}


class CborError(ValueError):
    pass


@dataclass(frozen=True)
class Tagged:
    tag: int
    value: object


@dataclass(frozen=True)
class Simple:
    """A CBOR simple value: 20 false, 21 true, 22 null, 23 undefined, others as they are."""

    value: int


@dataclass(frozen=True)
class CborMap:
    """A CBOR map as written: its pairs in order, duplicates kept."""

    pairs: tuple[tuple[object, object], ...]

    def get(self, key: object) -> object | None:
        return next((value for found, value in self.pairs if found == key), None)

    def keys(self) -> list[object]:
        return [key for key, _ in self.pairs]


NULL = Simple(22)


@dataclass
class _Decoder:
    data: bytes
    items: int = 0

    def item(self, at: int, depth: int) -> tuple[object, int]:
        """One CBOR item at `at` and where it ends; bounded by the data (every item takes a byte), MAX_DEPTH
        and MAX_ITEMS."""
        self.items += 1
        if depth > MAX_DEPTH or self.items > MAX_ITEMS:
            raise CborError("nested too deep or too many items")
        if at >= len(self.data):
            raise CborError("cut short")
        major, info = self.data[at] >> 5, self.data[at] & 0x1F
        at += 1
        if info == 31 and major in (2, 3, 4, 5):
            raise CborError("an indefinite length")
        if info < 24:
            argument = info
        elif info <= 27:
            size = 1 << (info - 24)
            if at + size > len(self.data):
                raise CborError("cut short")
            argument, at = int.from_bytes(self.data[at : at + size], "big"), at + size
        else:
            raise CborError(f"reserved additional information {info}")
        if major in (0, 1):
            return (argument if major == 0 else -1 - argument), at
        if major in (2, 3):
            if at + argument > len(self.data):
                raise CborError("a string runs past the end")
            raw = self.data[at : at + argument]
            return (raw if major == 2 else raw.decode("utf-8")), at + argument
        if major == 4:
            items = []
            for _ in range(argument):
                value, at = self.item(at, depth + 1)
                items.append(value)
            return items, at
        if major == 5:
            pairs = []
            for _ in range(argument):
                key, at = self.item(at, depth + 1)
                value, at = self.item(at, depth + 1)
                pairs.append((_hashable(key), value))
            return CborMap(tuple(pairs)), at
        if major == 6:
            value, at = self.item(at, depth + 1)
            return Tagged(argument, value), at
        if info > 24:
            raise CborError("a floating-point number")
        return Simple(argument), at


def _hashable(key: object) -> object:
    return key if isinstance(key, (int, str, bytes)) else repr(key)


def decode(data: bytes) -> tuple[object, int]:
    """The first CBOR item of `data` and where it ends (CborError when it is not well formed, or uses an
    indefinite length or a floating-point number, which a claim signature has no use for)."""
    try:
        return _Decoder(data).item(0, 0)
    except UnicodeDecodeError as exc:
        raise CborError(f"a text string that is not UTF-8 ({exc.reason})") from None


def encode(item: object) -> bytes:
    """The item in the encoding CBOR writers produce: every length and number in its shortest form."""
    if isinstance(item, int):
        return _head(0, item) if item >= 0 else _head(1, -1 - item)
    if isinstance(item, bytes):
        return _head(2, len(item)) + item
    if isinstance(item, str):
        raw = item.encode("utf-8")
        return _head(3, len(raw)) + raw
    if isinstance(item, list):
        return _head(4, len(item)) + b"".join(encode(value) for value in item)
    if isinstance(item, CborMap):
        return _head(5, len(item.pairs)) + b"".join(encode(k) + encode(v) for k, v in item.pairs)
    if isinstance(item, Tagged):
        return _head(6, item.tag) + encode(item.value)
    if isinstance(item, Simple):
        return _head(7, item.value)
    raise CborError(f"not a CBOR item of this decoder ({type(item).__name__})")


def _head(major: int, argument: int) -> bytes:
    if argument < 24:
        return bytes([major << 5 | argument])
    for info, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if argument < 1 << (8 * size):
            return bytes([major << 5 | info]) + argument.to_bytes(size, "big")
    raise CborError("a number too large for CBOR")


@dataclass
class SignatureCheck:
    problems: list[str] = field(default_factory=list)  # what is not as a writer leaves it
    needs_library: list[str] = field(default_factory=list)  # unprotected fields only the library can bind
    signer: bytes | None = None  # the DER of the signer's certificate: the first of the x5chain


def claim_signature_check(content: bytes) -> SignatureCheck:
    """What in a claim signature's bytes no signature covers is not as written (see the module)."""
    check = SignatureCheck()
    try:
        item, end = decode(content)
        canonical = encode(item)
    except (CborError, RecursionError) as exc:
        check.problems.append(f"the claim signature is not CBOR as writers write it ({exc})")
        return check
    if end != len(content):
        check.problems.append(f"{len(content) - end:,} bytes after the claim signature")
    if canonical != content[:end]:
        check.problems.append(
            "the claim signature's CBOR is not encoded as writers encode it (a length or key in a longer "
            "form than needed)"
        )
    if isinstance(item, Tagged) and item.tag == COSE_SIGN1_TAG:
        item = item.value
    if not (
        isinstance(item, list)
        and len(item) == 4
        and isinstance(item[0], bytes)
        and isinstance(item[1], CborMap)
        and isinstance(item[3], bytes)
    ):
        check.problems.append("the claim signature is not a COSE_Sign1 structure")
        return check
    if item[2] != NULL:
        check.problems.append("the claim signature's payload is not null (the claim it signs is detached)")
    protected = _protected_map(item[0])
    _check_unprotected(item[1], protected.keys(), check)
    chain = protected.get(X5CHAIN)
    chain = item[1].get(X5CHAIN) if chain is None else chain
    first = chain[0] if isinstance(chain, list) and chain else chain
    check.signer = first if isinstance(first, bytes) else None
    return check


def _protected_map(header: bytes) -> CborMap:
    try:
        protected, _ = decode(header) if header else (CborMap(()), 0)
    except CborError:
        return CborMap(())  # signed bytes: the library judges them
    return protected if isinstance(protected, CborMap) else CborMap(())


def _check_unprotected(header: CborMap, protected: list[object], check: SignatureCheck) -> None:
    keys = header.keys()
    if len(set(keys)) != len(keys):
        check.problems.append("a field written twice in the claim signature's unsigned header")
    for key, value in header.pairs:
        if key in ("pad", "pad2"):
            if not isinstance(value, bytes) or value.strip(b"\0"):
                check.problems.append("the claim signature's padding holds something else than zeros")
        elif key in ("sigTst", "sigTst2"):
            tokens = _listed(value, "tstTokens")
            values = [token.get("val") for token in tokens if isinstance(token, CborMap)]
            if not tokens or len(values) != len(tokens) or not all(_is_cms(v) for v in values):
                check.problems.append(f"the claim signature's {key} holds something else than time stamps")
            else:
                check.needs_library.append(str(key))
        elif key == "rVals":
            responses = _listed(value, "ocspVals")
            if not responses or not all(isinstance(r, bytes) and _is_der(r) for r in responses):
                check.problems.append("the claim signature's rVals holds something else than OCSP responses")
            else:
                check.needs_library.append(str(key))
        elif key == X5CHAIN:
            _check_certificates(value, X5CHAIN in protected, check)
        else:
            check.problems.append(f"an unsigned field {key!r} in the claim signature's header")


def _listed(value: object, name: str) -> list[object]:
    """The list a time stamp or revocation container holds under `name` ([] when it is not one)."""
    if not isinstance(value, CborMap) or value.keys() != [name]:
        return []
    listed = value.get(name)
    return listed if isinstance(listed, list) else []


def _check_certificates(value: object, in_protected: bool, check: SignatureCheck) -> None:
    """An unprotected x5chain is the signer's chain only when the protected header has none (C2PA 1.x); the
    library then verifies the signature with it. Beside a protected one it is unused: bytes nobody reads."""
    if in_protected:
        check.problems.append("a certificate chain in the claim signature's unsigned header beside its own")
        return
    certificates = value if isinstance(value, list) else [value]
    for certificate in certificates:
        try:
            x509.load_der_x509_certificate(certificate if isinstance(certificate, bytes) else b"")
        except ValueError:
            check.problems.append("the claim signature's unsigned certificate chain holds something else")
            return


def _is_cms(value: object) -> bool:
    """A DER CMS ContentInfo of signed data (what an RFC 3161 time-stamp token is), whole, nothing after."""
    return isinstance(value, bytes) and _is_der(value) and value[2:24].find(SIGNED_DATA) in range(0, 4)


def _is_der(value: bytes) -> bool:
    """One DER element, exactly the bytes given, each constructed element exactly tiled by its children."""
    try:
        return _der_end(value, 0, 0) == len(value)
    except (IndexError, ValueError):
        return False


def _der_end(data: bytes, at: int, depth: int) -> int:
    if depth > 32:
        raise ValueError("nested too deep")
    tag, at = data[at], at + 1
    if tag & 0x1F == 0x1F:  # a tag number in more bytes
        while data[at] & 0x80:
            at += 1
        at += 1
    length, at = data[at], at + 1
    if length & 0x80:
        size = length & 0x7F
        if not 0 < size <= 4:
            raise ValueError("an indefinite or too long DER length")
        length, at = int.from_bytes(data[at : at + size], "big"), at + size
    end = at + length
    if end > len(data):
        raise ValueError("a DER element runs past the end")
    if tag & 0x20:  # constructed: its children tile it
        while at < end:
            at = _der_end(data, at, depth + 1)
        if at != end:
            raise ValueError("children that do not tile their element")
    return end


def library_word(key: str, statuses: list[tuple[str, str]], manifest: str) -> tuple[str, list[str]]:
    """What the C2PA library said of an unprotected field of the signature of `manifest` ("checked",
    "failed" with its codes, or "unchecked"): `statuses` are (code, url) pairs from everything it
    reported."""
    prefix, checked = LIBRARY_CODES[key]
    said = [code for code, url in statuses if code.startswith(prefix) and f"/{manifest}/" in url]
    if failed := [code for code in said if code in LIBRARY_FAILURES]:
        return "failed", list(dict.fromkeys(failed))
    return ("checked", []) if any(code in checked for code in said) else ("unchecked", [])
