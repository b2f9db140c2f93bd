"""Signed Open Badge 3.0 fixtures for end-to-end verifier tests (deterministic).

Every credential here is built and signed on demand from fixed keys and fixed
dates, so two builds give the same bytes (Ed25519 is deterministic, ECDSA uses
RFC 6979 nonces, the VC-JWTs are EdDSA):

- did:key Ed25519 (Multikey) issuer: ``eddsa-rdfc-2022``, ``eddsa-jcs-2022``
  and ``Ed25519Signature2020`` proofs;
- did:key P-256 issuer: an ``ecdsa-rdfc-2019`` proof;
- did:jwk Ed25519 issuer: a VC-JOSE-COSE ``vc+jwt`` token, a VC Data Model 1.1
  JWT and an ``EnvelopedVerifiableCredential`` wrapping the former;
- a did:web issuer (``did:web:issuer.test%3A<port>``), whose DID document a
  test serves over HTTPS (``tests/helpers/https_server.py``);
- Bitstring Status List credentials signed by an issuer, and the
  ``credentialStatus`` entries that point into them.

The keys come from ``tests/helpers/issuers.py`` (did:key, did:jwk) or a
fixed seed (did:web). The credentials are valid from ``VALID_FROM`` (2022) to
``VALID_UNTIL`` (2032). Nothing here does I/O.
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from resolver.did import DID
from resolver.keys import encode_multikey
from tests.helpers.encoding import b64
from tests.helpers.issuers import (
    ED25519_JWK,
    ED25519_KEY,
    OB3_CONTEXT,
    P256_KEY,
    VC_V2,
    Issuer,
    open_badge_v1,
    open_badge_v2,
)
from verifier import jose
from verifier.dataintegrity import ED25519_2020_CONTEXT, sign_proof
from verifier.statuslist import MIN_ENTRIES

__all__ = [
    "BADGE_TYPE",
    "DATA_INTEGRITY_FIXTURES",
    "ISSUED",
    "JWT_FIXTURES",
    "STATUS_LIST_PATH",
    "VALID_FROM",
    "VALID_UNTIL",
    "WEB_HOST",
    "badge",
    "badge_v1",
    "ecdsa_rdfc",
    "ed25519_2020",
    "eddsa_jcs",
    "eddsa_rdfc",
    "encoded_list",
    "enveloped",
    "secure",
    "status_entry",
    "status_list_credential",
    "vc_jwt",
    "vc_jwt_v1",
    "web_badge",
    "web_issuer",
]

BADGE_TYPE = "OpenBadgeCredential"
"""The credential type the registry accredits issuers for."""
ISSUED = datetime(2022, 9, 1, 9, 0, tzinfo=UTC)
"""When every fixture was issued and its proof created."""
VALID_FROM = "2022-09-01T09:00:00Z"
VALID_UNTIL = "2032-09-01T09:00:00Z"
WEB_HOST = "issuer.test"
"""The host name of the did:web issuer (the test DNS server maps it)."""
STATUS_LIST_PATH = "/status/1"
"""Where the test HTTPS server serves the status list credential."""

_WEB_SEED = hashlib.sha256(b"didtrust test did:web issuer").digest()


def _raw_public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )


# -- credentials -----------------------------------------------------------------


def badge(issuer: DID | str, /, **changes: Any) -> dict[str, Any]:
    """An unsigned Open Badge 3.0 on VC Data Model 2.0 with the fixed dates."""
    return open_badge_v2(
        issuer, **{"validFrom": VALID_FROM, "validUntil": VALID_UNTIL, **changes}
    )


def badge_v1(issuer: DID | str, /, **changes: Any) -> dict[str, Any]:
    """An unsigned Open Badge 3.0 on VC Data Model 1.1 with the fixed dates."""
    return open_badge_v1(
        issuer,
        **{"issuanceDate": VALID_FROM, "expirationDate": VALID_UNTIL, **changes},
    )


def secure(
    credential: dict[str, Any], issuer: Issuer, cryptosuite: str
) -> dict[str, Any]:
    """``credential`` with a Data Integrity proof by ``issuer``, made at ISSUED."""
    return sign_proof(
        credential,
        private_key=issuer.key,
        verification_method=issuer.kid,
        cryptosuite=cryptosuite,
        created=ISSUED,
    )


def eddsa_rdfc(**changes: Any) -> dict[str, Any]:
    """did:key Ed25519 issuer, ``eddsa-rdfc-2022``."""
    return secure(badge(ED25519_KEY.did, **changes), ED25519_KEY, "eddsa-rdfc-2022")


def eddsa_jcs(**changes: Any) -> dict[str, Any]:
    """did:key Ed25519 issuer, ``eddsa-jcs-2022``."""
    return secure(badge(ED25519_KEY.did, **changes), ED25519_KEY, "eddsa-jcs-2022")


def ecdsa_rdfc(**changes: Any) -> dict[str, Any]:
    """did:key P-256 issuer, ``ecdsa-rdfc-2019``."""
    return secure(badge(P256_KEY.did, **changes), P256_KEY, "ecdsa-rdfc-2019")


def ed25519_2020(**changes: Any) -> dict[str, Any]:
    """did:key Ed25519 issuer, an ``Ed25519Signature2020`` proof (its context)."""
    changes.setdefault("@context", [VC_V2, OB3_CONTEXT, ED25519_2020_CONTEXT])
    return secure(
        badge(ED25519_KEY.did, **changes), ED25519_KEY, "Ed25519Signature2020"
    )


def vc_jwt(**changes: Any) -> str:
    """did:jwk Ed25519 issuer, a VC-JOSE-COSE ``vc+jwt`` token."""
    return jose.sign(
        badge(ED25519_JWK.did, **changes),
        private_key=ED25519_JWK.key,
        kid=ED25519_JWK.kid,
        form="vc+jwt",
    )


def vc_jwt_v1(**changes: Any) -> str:
    """did:jwk Ed25519 issuer, a VC Data Model 1.1 JWT (``vc`` claim)."""
    return jose.sign(
        badge_v1(ED25519_JWK.did, **changes),
        private_key=ED25519_JWK.key,
        kid=ED25519_JWK.kid,
        form="vc-1.1",
    )


def enveloped(token: str) -> dict[str, Any]:
    """A VC 2.0 ``EnvelopedVerifiableCredential`` carrying a vc+jwt token."""
    return {
        "@context": [VC_V2],
        "id": f"data:application/vc+jwt,{token}",
        "type": "EnvelopedVerifiableCredential",
    }


DATA_INTEGRITY_FIXTURES: dict[str, tuple[Issuer, Callable[..., dict[str, Any]]]] = {
    "did-key-eddsa-rdfc-2022": (ED25519_KEY, eddsa_rdfc),
    "did-key-eddsa-jcs-2022": (ED25519_KEY, eddsa_jcs),
    "did-key-ed25519signature2020": (ED25519_KEY, ed25519_2020),
    "did-key-p256-ecdsa-rdfc-2019": (P256_KEY, ecdsa_rdfc),
}
"""Own Data Integrity fixtures by name: the issuer and the builder."""

JWT_FIXTURES: dict[str, tuple[Issuer, Callable[..., str]]] = {
    "did-jwk-vc+jwt": (ED25519_JWK, vc_jwt),
    "did-jwk-vc-1.1-jwt": (ED25519_JWK, vc_jwt_v1),
}
"""Own VC-JWT fixtures by name: the issuer and the builder."""


# -- did:web ---------------------------------------------------------------------


def web_issuer(port: int) -> Issuer:
    """The did:web issuer served on ``issuer.test:<port>``, with its document."""
    key = Ed25519PrivateKey.from_private_bytes(_WEB_SEED)
    did = DID(f"did:web:{WEB_HOST}%3A{port}")
    kid = f"{did}#key-1"
    document = {
        "@context": [
            "https://www.w3.org/ns/did/v1",
            "https://w3id.org/security/multikey/v1",
        ],
        "id": str(did),
        "verificationMethod": [
            {
                "id": kid,
                "type": "Multikey",
                "controller": str(did),
                "publicKeyMultibase": encode_multikey("ed25519-pub", _raw_public(key)),
            }
        ],
        "assertionMethod": [kid],
    }
    return Issuer(key, did, kid, document, "EdDSA")


def web_badge(issuer: Issuer, **changes: Any) -> dict[str, Any]:
    """A did:web issuer's Open Badge, ``eddsa-rdfc-2022``."""
    return secure(badge(issuer.did, **changes), issuer, "eddsa-rdfc-2022")


# -- status lists ----------------------------------------------------------------


def encoded_list(set_bits: Iterable[int], *, entries: int = MIN_ENTRIES) -> str:
    """A Bitstring Status List ``encodedList``: multibase base64url of GZIP."""
    bits = bytearray(entries // 8)
    for index in set_bits:
        bits[index // 8] |= 0x80 >> (index % 8)  # index 0 is the left-most bit
    compressed = gzip.compress(bytes(bits), mtime=0)
    return "u" + b64(compressed)


def status_list_credential(
    issuer: Issuer,
    url: str,
    *,
    revoked: Iterable[int] = (),
    purpose: str = "revocation",
    cryptosuite: str = "eddsa-rdfc-2022",
) -> dict[str, Any]:
    """A ``BitstringStatusListCredential`` at ``url`` signed by ``issuer``."""
    credential = {
        "@context": [VC_V2],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": str(issuer.did),
        "validFrom": VALID_FROM,
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": purpose,
            "encodedList": encoded_list(revoked),
        },
    }
    return secure(credential, issuer, cryptosuite)


def status_entry(
    url: str, index: int, *, purpose: str = "revocation"
) -> dict[str, Any]:
    """A ``BitstringStatusListEntry`` pointing at entry ``index`` of ``url``."""
    return {
        "id": f"{url}#{index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": purpose,
        "statusListIndex": str(index),
        "statusListCredential": url,
    }
