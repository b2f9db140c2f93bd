"""Deterministic issuers and Open Badge 3.0-shaped credentials for verifier tests.

Every issuer is a did:key or did:jwk DID whose DID document is built by the
real drivers (``drivers/key.py``, ``drivers/jwk.py``) from a key with a fixed
seed or scalar, so the DIDs, key ids and documents never change between runs.
``forge`` signs exactly the header and payload bytes it is given with
``cryptography`` alone, for tests that need tokens this project would never
produce.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from drivers.jwk import build_document as jwk_document
from drivers.jwk import encode_did_jwk
from drivers.key import build_document as key_document
from resolver.did import DID
from resolver.keys import encode_multikey
from tests.helpers.encoding import b64

ISSUER_SEED = bytes(range(1, 33))
ATTACKER_SEED = bytes(range(64, 96))
P256_SCALAR = 0x5EED_0001_2345_6789_ABCD_EF01_2345_6789_ABCD_EF01_2345_6789_ABCD_EF01
P384_SCALAR = 0x5EED_0384_0011_2233_4455_6677_8899_AABB_CCDD_EEFF_0011_2233_4455_6677
K256_SCALAR = 0x5EED_0256_FFEE_DDCC_BBAA_9988_7766_5544_3322_1100_FFEE_DDCC_BBAA_9988

Key = Ed25519PrivateKey | ec.EllipticCurvePrivateKey

OB3_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
VC_V2 = "https://www.w3.org/ns/credentials/v2"
VC_V1 = "https://www.w3.org/2018/credentials/v1"
LEARNER = "did:example:learner-7"


@dataclass(frozen=True)
class Issuer:
    key: Key
    did: DID
    kid: str
    document: dict[str, Any]
    alg: str

    @property
    def method(self) -> dict[str, Any]:
        """The issuer's (only) verification method, as its document has it."""
        vm: dict[str, Any] = self.document["verificationMethod"][0]
        return vm


def ed25519(seed: bytes = ISSUER_SEED) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(seed)


def p256() -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(P256_SCALAR, ec.SECP256R1())


def p384() -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(P384_SCALAR, ec.SECP384R1())


def k256() -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(K256_SCALAR, ec.SECP256K1())


_ALG = {"Ed25519": "EdDSA", "secp256r1": "ES256", "secp384r1": "ES384"}


def _alg(key: Key) -> str:
    if isinstance(key, Ed25519PrivateKey):
        return "EdDSA"
    return _ALG.get(key.curve.name, "ES256K")


def did_key(
    key: Key, *, public_key_format: str = "Multikey", derive: bool = False
) -> Issuer:
    public = key.public_key()
    if isinstance(key, Ed25519PrivateKey):
        codec = "ed25519-pub"
        raw = public.public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
    else:
        codec = {"secp256r1": "p256-pub", "secp384r1": "p384-pub"}.get(
            key.curve.name, "secp256k1-pub"
        )
        raw = public.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint
        )
    did = DID("did:key:" + encode_multikey(codec, raw))
    document = key_document(
        did,
        public_key_format=public_key_format,
        enable_encryption_key_derivation=derive,
    )
    kid = document["verificationMethod"][0]["id"]
    return Issuer(key, did, kid, document, _alg(key))


def public_jwk(key: Key) -> dict[str, str]:
    if isinstance(key, Ed25519PrivateKey):
        raw = key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return {"kty": "OKP", "crv": "Ed25519", "x": b64(raw)}
    numbers = key.public_key().public_numbers()
    size = (key.curve.key_size + 7) // 8
    crv = {"secp256r1": "P-256", "secp384r1": "P-384", "secp256k1": "secp256k1"}
    return {
        "kty": "EC",
        "crv": crv[key.curve.name],
        "x": b64(numbers.x.to_bytes(size, "big")),
        "y": b64(numbers.y.to_bytes(size, "big")),
    }


def did_jwk(key: Key, **extra: str) -> Issuer:
    did = encode_did_jwk({**public_jwk(key), **extra})
    return Issuer(key, did, f"{did}#0", jwk_document(did), _alg(key))


ED25519_KEY = did_key(ed25519())
ED25519_2020 = did_key(ed25519(), public_key_format="Ed25519VerificationKey2020")
ED25519_JWK = did_jwk(ed25519())
P256_KEY = did_key(p256())
P256_JWK = did_jwk(p256())
P256_JWK2020 = did_key(p256(), public_key_format="JsonWebKey2020")
P384_KEY = did_key(p384())
P384_JWK = did_jwk(p384())
K256_KEY = did_key(k256())
K256_JWK = did_jwk(k256())
ATTACKER = did_key(ed25519(ATTACKER_SEED))

ALL_ISSUERS = {
    "eddsa-did-key-multikey": ED25519_KEY,
    "eddsa-did-key-ed25519-2020": ED25519_2020,
    "eddsa-did-jwk": ED25519_JWK,
    "es256-did-key-multikey": P256_KEY,
    "es256-did-key-jsonwebkey2020": P256_JWK2020,
    "es256-did-jwk": P256_JWK,
    "es384-did-key-multikey": P384_KEY,
    "es384-did-jwk": P384_JWK,
    "es256k-did-key-multikey": K256_KEY,
    "es256k-did-jwk": K256_JWK,
}


def _achievement_subject() -> dict[str, Any]:
    return {
        "id": LEARNER,
        "type": ["AchievementSubject"],
        "achievement": {
            "id": "https://university.example/achievements/data-stewardship",
            "type": ["Achievement"],
            "name": "Data Stewardship",
            "description": "Curates research data to FAIR principles.",
            "criteria": {"narrative": "Completed the data stewardship course."},
        },
    }


def open_badge_v2(issuer: DID | str, /, **changes: Any) -> dict[str, Any]:
    """An Open Badge 3.0 credential on the VC Data Model 2.0."""
    credential: dict[str, Any] = {
        "@context": [VC_V2, OB3_CONTEXT],
        "id": "urn:uuid:6f1c3b52-7d4e-4a7b-9c1e-2a5d8e0b4c31",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": "Data Stewardship",
        "issuer": {
            "id": str(issuer),
            "type": ["Profile"],
            "name": "Example University",
        },
        "validFrom": "2024-06-01T09:30:00Z",
        "validUntil": "2029-06-01T09:30:00Z",
        "credentialSubject": _achievement_subject(),
    }
    credential.update(changes)
    return credential


def open_badge_v1(issuer: DID | str, /, **changes: Any) -> dict[str, Any]:
    """An Open Badge 3.0 credential on the VC Data Model 1.1."""
    credential: dict[str, Any] = {
        "@context": [VC_V1, OB3_CONTEXT],
        "id": "urn:uuid:0b8d4e2a-1c3f-4d5e-8a7b-6c9d0e1f2a3b",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": "Data Stewardship",
        "issuer": {
            "id": str(issuer),
            "type": ["Profile"],
            "name": "Example University",
        },
        "issuanceDate": "2024-06-01T09:30:00Z",
        "expirationDate": "2029-06-01T09:30:00Z",
        "credentialSubject": _achievement_subject(),
    }
    credential.update(changes)
    return credential


ISSUED = 1_717_234_200  # 2024-06-01T09:30:00Z
EXPIRES = 1_875_000_600  # 2029-06-01T09:30:00Z


def raw_signature(key: Key, signing_input: bytes) -> bytes:
    """A JWS signature (Ed25519, or ECDSA R || S) made with cryptography alone."""
    if isinstance(key, Ed25519PrivateKey):
        return key.sign(signing_input)
    digest = hashes.SHA384() if key.curve.key_size == 384 else hashes.SHA256()
    r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(digest)))
    size = (key.curve.key_size + 7) // 8
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def forge(
    header: dict[str, Any] | bytes, payload: dict[str, Any] | bytes, key: Key
) -> str:
    """A compact JWS over exactly these header and payload bytes."""
    header_bytes = header if isinstance(header, bytes) else json.dumps(header).encode()
    payload_bytes = (
        payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    )
    signing_input = f"{b64(header_bytes)}.{b64(payload_bytes)}"
    return f"{signing_input}.{b64(raw_signature(key, signing_input.encode()))}"
