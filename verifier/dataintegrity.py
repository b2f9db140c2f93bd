"""Data Integrity proofs: parse, verify and create them, one proof at a time.

Supported proofs, with the key each one needs and the hash it uses:

========================  ====================  =========  ===========  ===============
proof ``type``            ``cryptosuite``       transform  key          hash
========================  ====================  =========  ===========  ===============
``DataIntegrityProof``    ``eddsa-rdfc-2022``   RDFC-1.0   Ed25519      SHA-256
``DataIntegrityProof``    ``eddsa-jcs-2022``    JCS        Ed25519      SHA-256
``Ed25519Signature2020``  (none)                RDFC-1.0   Ed25519      SHA-256
``DataIntegrityProof``    ``ecdsa-rdfc-2019``   RDFC-1.0   P-256/P-384  SHA-256/SHA-384
``DataIntegrityProof``    ``ecdsa-jcs-2019``    JCS        P-256/P-384  SHA-256/SHA-384
========================  ====================  =========  ===========  ===============

Every suite follows the same three steps (W3C VC Data Integrity 1.0 §4 and the
suites' "Verify Proof" algorithms):

1. *Transformation.* The document without ``proof`` is canonicalized (RDFC-1.0
   N-Quads through ``verifier.jsonld.canonicalize``, or RFC 8785 JCS). The proof
   options (the proof without ``proofValue``) become the *proof configuration*:
   for RDFC suites it takes the document's ``@context``; for JCS suites it
   keeps its own ``@context`` (which the signer copied from the document), and
   the document must start with that context, which then replaces the
   document's (vc-di-eddsa §3.3.2 step 4, vc-di-ecdsa §3.3.2 step 4).
2. *Hashing.* ``hashData = H(canonical proof configuration) || H(canonical
   document)``; ``H`` is SHA-256, or SHA-384 for ECDSA with a P-384 key (and
   RDFC-1.0 then labels blank nodes with SHA-384 too).
3. *Verification.* Ed25519 (RFC 8032, pure) over the 64-byte ``hashData``,
   with libsodium's strict checks; or ECDSA (FIPS 186-5) over ``hashData``
   with the curve's hash, the signature being raw ``r || s`` (IEEE P1363:
   64 bytes for P-256, 96 for P-384). ``proofValue`` is multibase base58btc
   (``z``), for ``Ed25519Signature2020`` too. High-S ECDSA signatures are
   accepted: the specs do not forbid them and the official vectors use them.

Proof sets and chains (Data Integrity §2.1.1, §2.1.2, §4.5): ``proofs_of``
returns every proof of a document, each verified on its own. A proof with
``previousProof`` is verified over the document *with the proofs it names as
its* ``proof`` *value*, in the order they appear in the document, exactly as
"Verify Proof Sets and Chains" asks; such a proof counts only if the proofs it
names verify too, which the caller ensures by requiring every proof to verify.

Specifications: W3C Verifiable Credential Data Integrity 1.0 (REC 2025-05-15);
Data Integrity EdDSA Cryptosuites v1.0 (REC 2025-05-15), §3.2 eddsa-rdfc-2022
and §3.3 eddsa-jcs-2022; Data Integrity ECDSA Cryptosuites v1.0 (REC
2025-05-15), §3.2 ecdsa-rdfc-2019 and §3.3 ecdsa-jcs-2019; the W3C CCG
Ed25519Signature2020 suite (di-eddsa-2020); RFC 8785 (JCS); RFC 8032.

This module is pure and synchronous. It does not resolve DIDs, does not check
that the verification method belongs to the issuer or is listed under
``assertionMethod`` (key binding is the caller's), does not check the
credential's own validity period or status, and never fetches a JSON-LD
context (``verifier.jsonld`` ships them).
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Literal

import nacl.exceptions
import nacl.signing
import rfc8785
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from resolver.did import DIDURL, parse_did_url
from resolver.errors import InvalidDIDError, InvalidDIDURLError
from resolver.multibase import (
    MultibasePrefixError,
    decode_multibase,
    encode_multibase,
)
from resolver.strictjson import json_kind, quote
from resolver.timefmt import TimeSyntaxError, format_time, parse_time
from verifier.errors import (
    InvalidSignatureError,
    MalformedCredentialError,
    ProofError,
    UnsupportedCryptosuiteError,
)
from verifier.keys import public_key_of

__all__ = [
    "CRYPTOSUITES",
    "ED25519_2020_CONTEXT",
    "MAX_PROOFS",
    "Cryptosuite",
    "ProofInfo",
    "SigningInput",
    "SigningKey",
    "VerifyingKey",
    "check_key_for_suite",
    "check_proof_shape",
    "parse_proof",
    "proofs_of",
    "public_key_for_suite",
    "sign_proof",
    "signing_input",
    "verify_proof",
]

VerifyingKey = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey
"""A public key one of the supported suites can verify with."""
SigningKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey
"""A private key ``sign_proof`` can sign with."""

DATA_INTEGRITY_PROOF: Final = "DataIntegrityProof"
ED25519_SIGNATURE_2020: Final = "Ed25519Signature2020"
ED25519_2020_CONTEXT: Final = "https://w3id.org/security/suites/ed25519-2020/v1"
"""The context that defines the ``Ed25519Signature2020`` terms; a document
carrying such a proof must list it (the terms are in no other shipped context)."""

MAX_PROOFS: Final = 16
"""Most proofs accepted on one document: each costs a canonicalization."""
MAX_PROOF_VALUE_LENGTH: Final = 200
"""Longest ``proofValue`` decoded, in characters. A P-384 signature (96 bytes)
takes about 131; the cap keeps base58 decoding (quadratic) cheap."""

# cryptography curve name -> (display name, hash) for each supported ECDSA curve.
_ECDSA_CURVES: Final[Mapping[str, tuple[str, Callable[[], hashes.HashAlgorithm]]]] = {
    "secp256r1": ("P-256", hashes.SHA256),
    "secp384r1": ("P-384", hashes.SHA384),
}
_HashName = Literal["sha256", "sha384"]
_HASHLIB: Final[Mapping[_HashName, Callable[[bytes], Any]]] = {
    "sha256": hashlib.sha256,
    "sha384": hashlib.sha384,
}


@dataclass(frozen=True, slots=True)
class Cryptosuite:
    """One supported kind of proof: how it transforms, hashes and signs."""

    name: str
    """The ``cryptosuite`` value, or ``"Ed25519Signature2020"`` for that type."""
    proof_type: str
    """The proof ``type``: ``DataIntegrityProof`` or ``Ed25519Signature2020``."""
    canonicalization: Literal["rdfc", "jcs"]
    """RDFC-1.0 (through ``verifier.jsonld``) or RFC 8785 JCS."""
    algorithm: Literal["eddsa", "ecdsa"]
    """Ed25519, or ECDSA over P-256/P-384."""


CRYPTOSUITES: Final[Mapping[str, Cryptosuite]] = {
    s.name: s
    for s in (
        Cryptosuite("eddsa-rdfc-2022", DATA_INTEGRITY_PROOF, "rdfc", "eddsa"),
        Cryptosuite("eddsa-jcs-2022", DATA_INTEGRITY_PROOF, "jcs", "eddsa"),
        Cryptosuite(ED25519_SIGNATURE_2020, ED25519_SIGNATURE_2020, "rdfc", "eddsa"),
        Cryptosuite("ecdsa-rdfc-2019", DATA_INTEGRITY_PROOF, "rdfc", "ecdsa"),
        Cryptosuite("ecdsa-jcs-2019", DATA_INTEGRITY_PROOF, "jcs", "ecdsa"),
    )
}
"""The supported suites, by name (``Ed25519Signature2020`` by its type)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ProofInfo:
    """The checked members of one proof (``parse_proof``)."""

    suite: Cryptosuite
    """The suite named by ``type`` and ``cryptosuite``."""
    verification_method: str
    """The ``verificationMethod`` DID URL, exactly as written."""
    verification_method_url: DIDURL
    """The same, parsed."""
    proof_purpose: str
    """The ``proofPurpose``, e.g. ``"assertionMethod"``."""
    proof_value: bytes
    """The signature, decoded from base58btc."""
    created: datetime | None
    """``created`` in UTC, or ``None`` when absent."""
    expires: datetime | None
    """``expires`` in UTC, or ``None`` when absent."""
    domain: tuple[str, ...]
    """The ``domain`` values (a single string gives one); empty when absent.
    Checking them against the verifier's domain is the caller's business."""
    challenge: str | None
    """The ``challenge``, for the caller to check; ``None`` when absent."""
    proof_id: str | None
    """The proof's ``id``, or ``None``."""
    previous_proof: tuple[str, ...]
    """The ``previousProof`` ids this proof chains to; empty for none."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SigningInput:
    """Every intermediate value of a proof's transformation and hashing."""

    canonical_document: str
    """The document without its proof (or with the proofs it chains to),
    canonicalized: N-Quads for RDFC suites, JSON text for JCS suites."""
    canonical_proof_config: str
    """The proof configuration, canonicalized the same way."""
    document_hash: bytes
    """H(canonical_document)."""
    proof_config_hash: bytes
    """H(canonical_proof_config)."""

    @property
    def hash_data(self) -> bytes:
        """The signed bytes: ``proof_config_hash || document_hash``."""
        return self.proof_config_hash + self.document_hash


# -- proof sets ---------------------------------------------------------------


def proofs_of(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Return the proofs of a secured document: one object, or a proof set.

    Each proof is returned as it stands (not copied) and is to be verified on
    its own; a document is secured only if every proof verifies (Data
    Integrity §4.5), which also makes chained proofs count only when the
    proofs they name verify.

    Raises:
        MalformedCredentialError: ``document`` is not an object, or ``proof``
            is neither an object nor an array of objects.
        ProofError: the document has no proof, more than ``MAX_PROOFS``, or
            two proofs with the same ``id``.
    """
    if not isinstance(document, Mapping):
        raise MalformedCredentialError("a credential must be a JSON object")
    if "proof" not in document:
        raise ProofError("the credential has no proof")
    value = document["proof"]
    proofs: list[Any] = list(value) if isinstance(value, list) else [value]
    if not proofs:
        raise ProofError("the credential's proof set is empty")
    if len(proofs) > MAX_PROOFS:
        raise ProofError(f"the credential has {len(proofs)} proofs, over {MAX_PROOFS}")
    for i, proof in enumerate(proofs):
        if not isinstance(proof, dict):
            raise MalformedCredentialError(
                f"proof {i} is {json_kind(proof)}, not a JSON object"
            )
    seen: set[str] = set()
    for proof in proofs:
        proof_id = proof.get("id")
        if isinstance(proof_id, str):
            if proof_id in seen:
                raise ProofError(f"two proofs have the id {quote(proof_id, 48)}")
            seen.add(proof_id)
    return proofs


# -- proof members ------------------------------------------------------------


def parse_proof(proof: Mapping[str, Any]) -> ProofInfo:
    """Check the members of one proof and return them parsed.

    Checks what every supported suite needs: ``type`` (and ``cryptosuite``
    for ``DataIntegrityProof``), a ``verificationMethod`` that is a DID URL
    naming more than a bare DID, a ``proofPurpose``, a base58btc
    ``proofValue``, and the optional ``created``, ``expires``, ``domain``,
    ``challenge``, ``id`` and ``previousProof``. It does not apply any policy
    (purpose, time): see ``check_proof_shape``.

    Raises:
        UnsupportedCryptosuiteError: a proof ``type`` or ``cryptosuite`` this
            module does not implement.
        ProofError: a member is missing, of the wrong JSON type or malformed.
    """
    if not isinstance(proof, Mapping):
        raise ProofError(f"a proof must be a JSON object, not {json_kind(proof)}")
    suite = _suite_of(proof)
    vm = _required_string(proof, "verificationMethod")
    try:
        vm_url = parse_did_url(vm)
    except (InvalidDIDError, InvalidDIDURLError) as err:
        raise ProofError(f"verificationMethod is not a DID URL: {err}") from err
    if vm_url.is_bare_did:
        raise ProofError(
            "verificationMethod is a bare DID; it must name a verification "
            "method (a DID URL with a fragment)"
        )
    purpose = _required_string(proof, "proofPurpose")
    proof_value = _decode_proof_value(_required_string(proof, "proofValue"))
    created = _optional_datetime(proof, "created")
    expires = _optional_datetime(proof, "expires")
    domain = _optional_strings(proof, "domain")
    challenge = _optional_string(proof, "challenge")
    proof_id = _optional_string(proof, "id")
    previous = _optional_strings(proof, "previousProof")
    if proof_id is not None and proof_id in previous:
        raise ProofError("a proof cannot name itself in previousProof")
    return ProofInfo(
        suite=suite,
        verification_method=vm,
        verification_method_url=vm_url,
        proof_purpose=purpose,
        proof_value=proof_value,
        created=created,
        expires=expires,
        domain=domain,
        challenge=challenge,
        proof_id=proof_id,
        previous_proof=previous,
    )


def check_proof_shape(
    proof: Mapping[str, Any],
    *,
    expected_purpose: str,
    now: datetime,
    clock_skew: timedelta = timedelta(minutes=5),
) -> ProofInfo:
    """Parse a proof and apply the verifier's policy to it.

    On top of ``parse_proof``: ``proofPurpose`` must equal
    ``expected_purpose`` (``"assertionMethod"`` for credentials, Data
    Integrity §4.4 step 5); the proof must not have expired (``expires``
    after ``now``); ``created`` must not be later than ``now + clock_skew``
    nor after ``expires``. ``domain`` and ``challenge`` are returned for the
    caller to check, as are ``verificationMethod`` (to resolve) and the suite
    (``check_key_for_suite``).

    Args:
        proof: One proof, as ``proofs_of`` returns it.
        expected_purpose: The purpose the caller needs.
        now: The current time, timezone-aware.
        clock_skew: How far in the future ``created`` may lie.

    Raises:
        UnsupportedCryptosuiteError: an unsupported ``type``/``cryptosuite``.
        ProofError: a malformed member, a different ``proofPurpose``, an
            expired proof, or a proof created in the future.
        ValueError: ``now`` is a naive datetime (a programming error).
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    info = parse_proof(proof)
    if info.proof_purpose != expected_purpose:
        raise ProofError(
            f"proofPurpose is {quote(info.proof_purpose, 48)}, "
            f"expected {quote(expected_purpose, 48)}"
        )
    if info.expires is not None and info.expires <= now:
        raise ProofError(f"the proof expired at {_xsd(info.expires)}")
    if info.created is not None:
        if info.created > now + clock_skew:
            raise ProofError(
                f"the proof was created in the future, at {_xsd(info.created)}"
            )
        if info.expires is not None and info.expires < info.created:
            raise ProofError(
                f"the proof expires ({_xsd(info.expires)}) before it was "
                f"created ({_xsd(info.created)})"
            )
    return info


# -- keys -----------------------------------------------------------------------


def check_key_for_suite(key: object, suite: str) -> VerifyingKey:
    """Check that a public key can verify proofs of a suite, and return it.

    EdDSA suites and ``Ed25519Signature2020`` need an Ed25519 key; ECDSA
    suites a P-256 or P-384 key (their hash follows the curve).
    ``public_key_for_suite`` loads a verification method's key and makes this
    check; so does ``verify_proof``.

    Args:
        key: A ``cryptography`` public key.
        suite: A name from ``CRYPTOSUITES`` (``ProofInfo.suite.name``).

    Raises:
        UnsupportedCryptosuiteError: ``suite`` is not a supported suite.
        ProofError: the key does not fit the suite (e.g. a P-256 key for
            ``eddsa-rdfc-2022``, a secp256k1 or P-521 key for ECDSA).
    """
    cryptosuite = CRYPTOSUITES.get(suite)
    if cryptosuite is None:
        raise UnsupportedCryptosuiteError(f"unsupported cryptosuite {quote(suite, 48)}")
    return _check_key_fits(key, cryptosuite)


def public_key_for_suite(method: Mapping[str, Any], suite: str) -> VerifyingKey:
    """Load a verification method's public key and check it fits a suite.

    ``verifier.keys.public_key_of`` reads the key (``Multikey`` or
    ``Ed25519VerificationKey2020`` with ``publicKeyMultibase``, ``JsonWebKey``
    or ``JsonWebKey2020`` with ``publicKeyJwk``); ``check_key_for_suite`` then
    checks it fits. Whether the method is the issuer's, under
    ``assertionMethod``, is for ``verifier.keys.find_verification_method``.

    Args:
        method: A verification method node from a resolved DID document.
        suite: A name from ``CRYPTOSUITES`` (``ProofInfo.suite.name``).

    Raises:
        UnsupportedCryptosuiteError: ``suite`` is not a supported suite.
        KeyBindingError: the method holds no usable signing key (see
            ``verifier.keys.public_key_of``).
        ProofError: the key does not fit the suite.
    """
    if suite not in CRYPTOSUITES:
        raise UnsupportedCryptosuiteError(f"unsupported cryptosuite {quote(suite, 48)}")
    return check_key_for_suite(public_key_of(method), suite)


def _check_key_fits(key: object, suite: Cryptosuite) -> VerifyingKey:
    """Return ``key`` if the suite can verify with it."""
    if suite.algorithm == "eddsa":
        if isinstance(key, ed25519.Ed25519PublicKey):
            return key
        raise ProofError(f"{suite.name} needs an ed25519 key, not {_key_kind(key)}")
    if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name in _ECDSA_CURVES:
        return key
    raise ProofError(f"{suite.name} needs a p-256 or p-384 key, not {_key_kind(key)}")


def _key_kind(key: object) -> str:
    """Name a key's type for an error message."""
    if isinstance(key, ed25519.Ed25519PublicKey | ed25519.Ed25519PrivateKey):
        return "an ed25519 key"
    if isinstance(key, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey):
        return f"a {key.curve.name} key"
    return f"a {type(key).__name__}"


# -- transformation and hashing -------------------------------------------------


def signing_input(
    document: Mapping[str, Any],
    proof: Mapping[str, Any],
    *,
    key: VerifyingKey | SigningKey,
) -> SigningInput:
    """Transform and hash a document and one of its proofs (steps 1 and 2).

    ``document`` is the secured document (its ``proof`` member, if any, is
    removed, or replaced by the proofs ``proof.previousProof`` names);
    ``proof`` is the proof to check, with or without ``proofValue``. The key
    only chooses the hash (SHA-384 for a P-384 ECDSA key).

    Raises:
        UnsupportedCryptosuiteError: an unsupported ``type``/``cryptosuite``.
        ProofError: ``previousProof`` names a proof the document lacks, the
            key does not fit the suite, or an ``Ed25519Signature2020`` proof
            on a document without its context.
        InvalidSignatureError: a JCS proof whose ``@context`` the document's
            does not start with.
        MalformedCredentialError: the document cannot be canonicalized as JSON
            (numbers out of range, unpaired surrogates, nesting too deep).
        JsonLdError: RDF canonicalization failed (``verifier.jsonld``),
            including ``UnknownContextError`` for a context that is not
            shipped.
    """
    if not isinstance(document, Mapping):
        raise MalformedCredentialError("a credential must be a JSON object")
    if not isinstance(proof, Mapping):
        raise ProofError(f"a proof must be a JSON object, not {json_kind(proof)}")
    suite = _suite_of(proof)
    public = (
        key.public_key()
        if isinstance(key, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey)
        else key
    )
    hash_name = _hash_name(_check_key_fits(public, suite))
    digest = _HASHLIB[hash_name]

    unsecured = {name: value for name, value in document.items() if name != "proof"}
    previous = _optional_strings(proof, "previousProof")
    if previous:
        unsecured["proof"] = _matching_proofs(document, previous)
    options = {name: value for name, value in proof.items() if name != "proofValue"}

    if suite.canonicalization == "jcs":
        if "@context" in options:
            # vc-di-eddsa/vc-di-ecdsa §3.3.2 step 4.
            proof_context = _as_list(options["@context"])
            doc_context = _as_list(document.get("@context"))
            if doc_context[: len(proof_context)] != proof_context:
                raise InvalidSignatureError(
                    "the document's @context does not start with the proof's "
                    f"@context ({len(proof_context)} entries)"
                )
            unsecured["@context"] = options["@context"]
        canonical_document = _jcs(unsecured)
        canonical_config = _jcs(options)
    else:
        if suite.proof_type == ED25519_SIGNATURE_2020 and (
            ED25519_2020_CONTEXT not in _as_list(document.get("@context"))
        ):
            raise ProofError(
                f"an Ed25519Signature2020 proof needs {ED25519_2020_CONTEXT} "
                "in the document's @context"
            )
        # Proof Configuration step 4: the configuration takes the document's
        # context (any @context in the proof itself is replaced).
        options.pop("@context", None)
        if "@context" in document:
            options["@context"] = document["@context"]
        canonical_document = _rdfc(unsecured, hash_name)
        canonical_config = _rdfc(options, hash_name)
    return SigningInput(
        canonical_document=canonical_document,
        canonical_proof_config=canonical_config,
        document_hash=digest(_utf8(canonical_document)).digest(),
        proof_config_hash=digest(_utf8(canonical_config)).digest(),
    )


def _hash_name(key: VerifyingKey) -> _HashName:
    """SHA-256, or SHA-384 for ECDSA with a P-384 key (vc-di-ecdsa §3.2.4)."""
    if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp384r1":
        return "sha384"
    return "sha256"


def _matching_proofs(
    document: Mapping[str, Any], previous: tuple[str, ...]
) -> list[dict[str, Any]]:
    """The proofs ``previous`` names, in document order (Data Integrity §4.5)."""
    proofs = proofs_of(document)
    ids = {p.get("id") for p in proofs}
    for proof_id in previous:
        if proof_id not in ids:
            raise ProofError(
                f"previousProof {quote(proof_id, 48)} names no proof of the credential"
            )
    wanted = set(previous)
    return [p for p in proofs if p.get("id") in wanted]


def _jcs(value: Mapping[str, Any]) -> str:
    """RFC 8785 canonical JSON text."""
    try:
        return rfc8785.dumps(value).decode("utf-8")
    except (rfc8785.CanonicalizationError, UnicodeError, RecursionError) as err:
        raise MalformedCredentialError(
            f"the credential cannot be canonicalized as JSON: {err}"
        ) from None


def _rdfc(value: Mapping[str, Any], hash_name: _HashName) -> str:
    """RDFC-1.0 N-Quads, from the project's offline JSON-LD processor.

    RDFC-1.0 labels blank nodes with a hash too: the suite's hash, so SHA-384
    for P-384 (vc-di-ecdsa §3.2.3, "a hash algorithm that has an appropriate
    security level for the curve used"; the P-384 employ vector needs it).
    """
    # Imported here: JSON-LD processing is heavy and only RDFC suites need it.
    from verifier.jsonld import canonicalize

    # A deep copy: the JSON-LD processor must not change the caller's document.
    try:
        return canonicalize(copy.deepcopy(dict(value)), hash_algorithm=hash_name)
    except UnicodeError as err:
        # NOTE: verifier.jsonld lets a lone surrogate escape as UnicodeError.
        raise MalformedCredentialError(
            "the credential holds text that is not valid unicode"
        ) from err


def _utf8(text: str) -> bytes:
    """UTF-8 bytes of canonical text."""
    try:
        return text.encode("utf-8")
    except UnicodeError as err:
        raise MalformedCredentialError(
            "the credential holds text that is not valid unicode"
        ) from err


# -- verification ---------------------------------------------------------------


def verify_proof(
    document: Mapping[str, Any],
    proof: Mapping[str, Any],
    *,
    public_key: VerifyingKey,
) -> None:
    """Verify one proof of a secured document with a given public key.

    Runs the suite's "Verify Proof" algorithm: parses the proof
    (``parse_proof``), checks the key fits the suite, transforms and hashes
    (``signing_input``) and checks the signature. It applies no policy:
    call ``check_proof_shape`` first (purpose, expiry), and check that the
    key is the issuer's ``assertionMethod`` before trusting the result.

    Args:
        document: The secured document, with its ``proof`` (one or a set).
        proof: The proof to verify, one of ``proofs_of(document)``.
        public_key: The key of the proof's verification method.

    Raises:
        UnsupportedCryptosuiteError: an unsupported ``type``/``cryptosuite``.
        ProofError: a malformed proof (members, ``proofValue`` encoding or
            length), a key that does not fit the suite, or a ``previousProof``
            that names no proof of the document.
        InvalidSignatureError: the signature does not verify over the
            document as given.
        MalformedCredentialError: the document cannot be canonicalized.
        JsonLdError: RDF canonicalization failed.
    """
    info = parse_proof(proof)
    key = _check_key_fits(public_key, info.suite)
    expected = _signature_length(key)
    if len(info.proof_value) != expected:
        raise ProofError(
            f"proofValue is {len(info.proof_value)} bytes, expected {expected} "
            f"for {info.suite.name} with {_key_kind(key)}"
        )
    hash_data = signing_input(document, proof, key=key).hash_data
    if isinstance(key, ed25519.Ed25519PublicKey):
        _verify_ed25519(key, info.proof_value, hash_data)
    else:
        _verify_ecdsa(key, info.proof_value, hash_data)


def _signature_length(key: VerifyingKey) -> int:
    """64 bytes for Ed25519 and P-256, 96 for P-384."""
    if isinstance(key, ed25519.Ed25519PublicKey):
        return 64
    return 2 * ((key.curve.key_size + 7) // 8)


def _verify_ed25519(
    key: ed25519.Ed25519PublicKey, signature: bytes, data: bytes
) -> None:
    """Check a pure Ed25519 signature with libsodium.

    libsodium refuses non-canonical and small-order points and a non-reduced
    S, where more lenient verifiers disagree with one another.
    """
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    try:
        nacl.signing.VerifyKey(raw).verify(data, signature)
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError):
        raise InvalidSignatureError("the ed25519 signature does not verify") from None


def _verify_ecdsa(
    key: ec.EllipticCurvePublicKey, signature: bytes, data: bytes
) -> None:
    """ECDSA with the curve's hash over ``data``; ``signature`` is ``r || s``."""
    curve, hash_type = _ECDSA_CURVES[key.curve.name]
    half = len(signature) // 2
    r = int.from_bytes(signature[:half], "big")
    s = int.from_bytes(signature[half:], "big")
    try:
        key.verify(encode_dss_signature(r, s), data, ec.ECDSA(hash_type()))
    except InvalidSignature:
        raise InvalidSignatureError(
            f"the ecdsa {curve.lower()} signature does not verify"
        ) from None


# -- creation -------------------------------------------------------------------


def sign_proof(
    document: Mapping[str, Any],
    *,
    private_key: SigningKey,
    verification_method: str,
    cryptosuite: str,
    created: datetime | None,
    proof_purpose: str = "assertionMethod",
    expires: datetime | None = None,
    proof_id: str | None = None,
    previous_proof: str | Sequence[str] | None = None,
    domain: str | None = None,
    challenge: str | None = None,
) -> dict[str, Any]:
    """Add a proof to a document: the suites' "Create Proof" algorithms.

    For the project's own fixtures. Ed25519 signatures are deterministic (RFC
    8032), and so are ECDSA ones here (RFC 6979 nonces), so the same inputs
    give the same output. Proof members are written in the order of the
    official test vectors; JCS proofs carry the document's ``@context``
    (vc-di-eddsa §3.3.1 step 2). A document that already has proofs gets the
    new one appended to its proof set; with ``previous_proof`` it is chained
    to the proofs named (Data Integrity §4.3).

    Args:
        document: The document to secure; not changed.
        private_key: An Ed25519 key, or a P-256/P-384 key for ECDSA suites.
        verification_method: The DID URL of the matching public key.
        cryptosuite: A name from ``CRYPTOSUITES``; ``"Ed25519Signature2020"``
            makes a proof of that type.
        created: When the proof was made (timezone-aware), or ``None`` to
            leave ``created`` out.
        proof_purpose: The ``proofPurpose``.
        expires: An optional ``expires``.
        proof_id: An optional proof ``id`` (needed to be chained to).
        previous_proof: The id(s) of proofs this one chains to.
        domain: An optional ``domain``.
        challenge: An optional ``challenge``.

    Returns:
        A new secured document.

    Raises:
        UnsupportedCryptosuiteError: ``cryptosuite`` is not supported.
        ProofError: the key does not fit the suite, or ``previous_proof``
            names a proof the document lacks.
        ValueError: ``created`` or ``expires`` is naive.
        MalformedCredentialError: the document cannot be canonicalized.
        JsonLdError: RDF canonicalization failed.
    """
    suite = CRYPTOSUITES.get(cryptosuite)
    if suite is None:
        raise UnsupportedCryptosuiteError(
            f"unsupported cryptosuite {quote(cryptosuite, 48)}"
        )
    if not isinstance(
        private_key, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey
    ):
        raise ProofError(f"{cryptosuite} cannot sign with {_key_kind(private_key)}")
    _check_key_fits(private_key.public_key(), suite)
    proof: dict[str, Any] = {"type": suite.proof_type}
    if suite.proof_type == DATA_INTEGRITY_PROOF:
        proof["cryptosuite"] = suite.name
    if proof_id is not None:
        proof["id"] = proof_id
    if created is not None:
        proof["created"] = _xsd(created)
    if expires is not None:
        proof["expires"] = _xsd(expires)
    proof["verificationMethod"] = verification_method
    proof["proofPurpose"] = proof_purpose
    if domain is not None:
        proof["domain"] = domain
    if challenge is not None:
        proof["challenge"] = challenge
    if previous_proof is not None:
        proof["previousProof"] = (
            previous_proof if isinstance(previous_proof, str) else list(previous_proof)
        )
    if suite.canonicalization == "jcs" and "@context" in document:
        proof["@context"] = copy.deepcopy(document["@context"])

    hash_data = signing_input(document, proof, key=private_key).hash_data
    if isinstance(private_key, ed25519.Ed25519PrivateKey):
        signature = private_key.sign(hash_data)
    else:
        signature = _sign_ecdsa(private_key, hash_data)
    proof["proofValue"] = encode_multibase(signature)

    secured = copy.deepcopy(dict(document))
    if "proof" in document:
        existing = secured["proof"]
        secured["proof"] = [
            *(existing if isinstance(existing, list) else [existing]),
            proof,
        ]
    else:
        secured["proof"] = proof
    return secured


def _sign_ecdsa(key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    """ECDSA with an RFC 6979 nonce, returned as ``r || s``."""
    _, hash_type = _ECDSA_CURVES[key.curve.name]
    try:
        der = key.sign(data, ec.ECDSA(hash_type(), deterministic_signing=True))
    except UnsupportedAlgorithm:  # pragma: no cover - OpenSSL < 3.2
        der = key.sign(data, ec.ECDSA(hash_type()))
    r, s = decode_dss_signature(der)
    size = (key.curve.key_size + 7) // 8
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


# -- member helpers -------------------------------------------------------------


def _suite_of(proof: Mapping[str, Any]) -> Cryptosuite:
    """The suite a proof's ``type`` and ``cryptosuite`` name."""
    proof_type = _required_string(proof, "type")
    if proof_type == ED25519_SIGNATURE_2020:
        # Data Integrity §2.1 lets other types carry a cryptosuite; it is
        # signed over like any member, so it is not interpreted.
        return CRYPTOSUITES[ED25519_SIGNATURE_2020]
    if proof_type != DATA_INTEGRITY_PROOF:
        raise UnsupportedCryptosuiteError(
            f"proof type {quote(proof_type, 48)} is not supported"
        )
    name = _required_string(proof, "cryptosuite")
    suite = CRYPTOSUITES.get(name)
    if suite is None or suite.proof_type != DATA_INTEGRITY_PROOF:
        raise UnsupportedCryptosuiteError(
            f"cryptosuite {quote(name, 48)} is not supported"
        )
    return suite


def _decode_proof_value(value: str) -> bytes:
    """Decode a base58btc multibase ``proofValue``."""
    if len(value) > MAX_PROOF_VALUE_LENGTH:
        raise ProofError(
            f"proofValue is {len(value)} characters, over {MAX_PROOF_VALUE_LENGTH}"
        )
    try:
        return decode_multibase(value, "proofValue")
    except MultibasePrefixError as err:
        raise ProofError(
            f"proofValue must be base58btc (prefix 'z'), not {err.prefix!r}"
        ) from None
    except ValueError as err:
        raise ProofError(str(err)) from None


def _required_string(proof: Mapping[str, Any], name: str) -> str:
    """A member that must be present and a string."""
    if name not in proof:
        raise ProofError(f"the proof has no {name}")
    value = proof[name]
    if not isinstance(value, str):
        raise ProofError(f"proof {name} must be a string, not {json_kind(value)}")
    if not value:
        raise ProofError(f"proof {name} is empty")
    return value


def _optional_string(proof: Mapping[str, Any], name: str) -> str | None:
    """A member that, if present, must be a string."""
    if name not in proof:
        return None
    value = proof[name]
    if not isinstance(value, str):
        raise ProofError(f"proof {name} must be a string, not {json_kind(value)}")
    return value


def _optional_strings(proof: Mapping[str, Any], name: str) -> tuple[str, ...]:
    """A member that, if present, is a string or a non-empty array of strings."""
    if name not in proof:
        return ()
    value = proof[name]
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ProofError(f"proof {name} must be a string or an array of strings")


def _optional_datetime(proof: Mapping[str, Any], name: str) -> datetime | None:
    """An xsd:dateTime member, in UTC.

    A value without an offset is read as UTC, as Data Integrity §2.1 allows
    (``resolver.timefmt``, the credential path's one rule).
    """
    text = _optional_string(proof, name)
    if text is None:
        return None
    try:
        return parse_time(text, grammar="xsd")
    except TimeSyntaxError:
        raise ProofError(
            f"proof {name} {quote(text, 48)} is not an xsd:dateTime"
        ) from None
    except ValueError as err:
        raise ProofError(
            f"proof {name} {quote(text, 48)} is not a valid date: {err}"
        ) from None


def _as_list(value: Any) -> list[Any]:
    """A JSON-LD ``@context`` value as a list (``None`` gives an empty list)."""
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _xsd(moment: datetime) -> str:
    """Format a timezone-aware datetime as an xsd:dateTimeStamp in UTC."""
    if moment.tzinfo is None:
        raise ValueError("proof dates must be timezone-aware")
    return format_time(moment, fraction="trim")
