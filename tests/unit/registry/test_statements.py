"""Statement JWS signing and verification (registry.statements).

Authorities are did:key and did:jwk DIDs whose documents are built by the real
drivers, from keys with fixed seeds. Forged statements (wrong alg, extra header
members, another DID's key…) are assembled here by hand: base64url of the exact
header and payload bytes, signed with ``cryptography`` directly, so the attack
bytes are exactly what each test says they are.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
from typing import Any

import pytest
import rfc8785
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from joserfc import jws as jose_jws
from joserfc.jwk import OctKey
from nacl.signing import SigningKey, VerifyKey

from registry.errors import (
    MalformedStatementError,
    RegistryError,
    StatementError,
    StatementSignatureError,
    UnknownKeyError,
    UnsupportedAlgorithmError,
)
from registry.models import STATEMENT_TYP, StatementClaims
from registry.statements import (
    ALGORITHMS,
    MAX_JWS_BYTES,
    StatementHeader,
    VerifiedStatement,
    peek_header,
    sign_statement,
    verify_statement,
)
from resolver.did import parse_did_url
from tests.helpers.encoding import b64, unb64
from tests.helpers.issuers import Issuer as Authority
from tests.helpers.issuers import did_jwk as _did_jwk
from tests.helpers.issuers import did_key as _did_key
from tests.helpers.issuers import public_jwk as _public_jwk

# --- deterministic keys and authorities ---------------------------------------

ED25519_SEED = bytes(range(32))
ATTACKER_SEED = bytes(range(100, 132))
P256_SCALAR = 0x1F2E3D4C5B6A79880123456789ABCDEF00112233445566778899AABBCCDDEEFF
P384_SCALAR = 0x0FEDCBA9876543210FEDCBA9876543210FEDCBA9876543210FEDCBA987654321
K256_SCALAR = 0x00C0FFEE00C0FFEE00C0FFEE00C0FFEE00C0FFEE00C0FFEE00C0FFEE00C0FFEE


Key = Ed25519PrivateKey | ec.EllipticCurvePrivateKey


def _ed25519(seed: bytes = ED25519_SEED) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(seed)


ED25519 = _did_key(_ed25519())
ED25519_2020 = _did_key(_ed25519(), public_key_format="Ed25519VerificationKey2020")
ED25519_JWK = _did_jwk(_ed25519())
P256_JWK = _did_jwk(ec.derive_private_key(P256_SCALAR, ec.SECP256R1()))
P256_KEY = _did_key(ec.derive_private_key(P256_SCALAR, ec.SECP256R1()))
P384_JWK = _did_jwk(ec.derive_private_key(P384_SCALAR, ec.SECP384R1()))
K256_KEY = _did_key(ec.derive_private_key(K256_SCALAR, ec.SECP256K1()))
K256_JWK = _did_jwk(ec.derive_private_key(K256_SCALAR, ec.SECP256K1()))
ATTACKER = _did_key(_ed25519(ATTACKER_SEED))
REGISTRY_DID = "did:web:registry.example"


def claims_for(authority: Authority, **changes: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": str(authority.did),
        "sub": "did:web:university.example",
        "act": "accredit",
        "aud": REGISTRY_DID,
        "iat": 1_700_000_000,
        "jti": "statement-0001",
        "role": "issuer",
        "scope": {"actions": ["issue"], "resources": ["OpenBadgeCredential"]},
        "validFrom": "2024-01-01T00:00:00Z",
        "subject": {"name": "Example University", "country": "NL"},
    }
    claims.update(changes)
    return claims


def signed(authority: Authority, **changes: Any) -> str:
    return sign_statement(
        claims_for(authority, **changes),
        private_key=authority.key,
        kid=authority.kid,
    )


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


def header_for(authority: Authority, alg: str, **extra: Any) -> dict[str, Any]:
    return {"alg": alg, "kid": authority.kid, "typ": STATEMENT_TYP, **extra}


def segments(jws: str) -> tuple[str, str, str]:
    header, payload, signature = jws.split(".")
    return header, payload, signature


# --- positive -------------------------------------------------------------------

POSITIVE = [
    pytest.param(ED25519, "EdDSA", id="eddsa-did-key-multikey"),
    pytest.param(ED25519_2020, "EdDSA", id="eddsa-did-key-ed25519-2020"),
    pytest.param(ED25519_JWK, "EdDSA", id="eddsa-did-jwk"),
    pytest.param(P256_JWK, "ES256", id="es256-did-jwk"),
    pytest.param(P256_KEY, "ES256", id="es256-did-key"),
    pytest.param(P384_JWK, "ES384", id="es384-did-jwk"),
    pytest.param(K256_KEY, "ES256K", id="es256k-did-key-secp256k1"),
    pytest.param(K256_JWK, "ES256K", id="es256k-did-jwk"),
]


@pytest.mark.parametrize(("authority", "alg"), POSITIVE)
def test_statement_verifies_with_issuer_key(authority: Authority, alg: str) -> None:
    jws = signed(authority)
    result = verify_statement(jws, did_document=authority.document)
    assert isinstance(result, VerifiedStatement)
    assert result.jws == jws
    assert result.header == StatementHeader(
        alg=alg, kid=parse_did_url(authority.kid), typ=STATEMENT_TYP
    )
    assert result.vm_id == authority.kid
    assert result.claims == StatementClaims.model_validate(claims_for(authority))
    assert result.claims.iss == authority.did


def test_ed25519_2020_document_really_uses_that_type():
    vm = ED25519_2020.document["verificationMethod"][0]
    assert vm["type"] == "Ed25519VerificationKey2020"
    assert vm["publicKeyMultibase"].startswith("z6Mk")


@pytest.mark.parametrize(("authority", "alg"), POSITIVE)
def test_peek_header_reads_alg_and_kid_before_resolution(authority, alg):
    header = peek_header(signed(authority))
    assert header.alg == alg
    assert header.kid.did == authority.did
    assert str(header.kid) == authority.kid
    assert header.typ == STATEMENT_TYP


def test_sign_writes_exactly_alg_kid_typ_and_jcs_payload():
    jws = signed(ED25519)
    header, payload, _ = segments(jws)
    assert json.loads(unb64(header)) == {
        "alg": "EdDSA",
        "kid": ED25519.kid,
        "typ": STATEMENT_TYP,
    }
    claims = StatementClaims.model_validate(claims_for(ED25519))
    assert unb64(payload) == rfc8785.dumps(
        claims.model_dump(mode="json", by_alias=True, exclude_none=True)
    )


def test_sign_is_deterministic_for_ed25519_and_accepts_a_nacl_key():
    first = signed(ED25519)
    assert signed(ED25519) == first
    with_nacl = sign_statement(
        claims_for(ED25519), private_key=SigningKey(ED25519_SEED), kid=ED25519.kid
    )
    assert with_nacl == first


def test_sign_accepts_a_claims_model():
    model = StatementClaims.model_validate(claims_for(ED25519))
    assert sign_statement(model, private_key=ED25519.key, kid=ED25519.kid) == signed(
        ED25519
    )


def test_eddsa_signature_checks_out_with_libsodium():
    """Independent check: the signature is Ed25519 over ``header.payload``."""
    header, payload, signature = segments(signed(ED25519))
    raw = ED25519.key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    VerifyKey(raw).verify(f"{header}.{payload}".encode(), unb64(signature))


@pytest.mark.parametrize(
    ("authority", "digest"),
    [
        pytest.param(P256_JWK, hashes.SHA256(), id="es256"),
        pytest.param(P384_JWK, hashes.SHA384(), id="es384"),
        pytest.param(K256_KEY, hashes.SHA256(), id="es256k"),
    ],
)
def test_ecdsa_signature_is_raw_r_s_checked_by_cryptography(authority, digest):
    header, payload, signature = segments(signed(authority))
    raw = unb64(signature)
    size = len(raw) // 2
    assert size == (authority.key.curve.key_size + 7) // 8
    der = encode_dss_signature(
        int.from_bytes(raw[:size], "big"), int.from_bytes(raw[size:], "big")
    )
    authority.key.public_key().verify(
        der, f"{header}.{payload}".encode(), ec.ECDSA(digest)
    )


def test_statement_verifies_over_exact_bytes_not_a_reserialization():
    # Members out of order and with white space: not what sign_statement
    # writes, but a valid statement, and its signature covers these bytes.
    header = (
        b'{ "typ": "didtrust-statement+jwt",\n  "kid": "'
        + ED25519.kid.encode()
        + b'", "alg": "EdDSA" }'
    )
    payload = json.dumps(claims_for(ED25519), indent=2, sort_keys=False).encode()
    jws = forge(header, payload, ED25519.key)
    result = verify_statement(jws, did_document=ED25519.document)
    assert result.claims.jti == "statement-0001"


def test_statement_key_found_by_relative_id_and_embedded_method():
    mb = ED25519.document["verificationMethod"][0]["publicKeyMultibase"]
    did = ED25519.did
    embedded = {
        "id": did,
        "verificationMethod": [],
        "capabilityInvocation": [
            {
                "id": "#signing",
                "type": "Multikey",
                "controller": did,
                "publicKeyMultibase": mb,
            }
        ],
    }
    relative = {
        "id": did,
        "verificationMethod": [
            {
                "id": "#signing",
                "type": "Multikey",
                "controller": did,
                "publicKeyMultibase": mb,
            }
        ],
        "assertionMethod": ["#signing"],
    }
    jws = sign_statement(
        claims_for(ED25519), private_key=ED25519.key, kid=f"{did}#signing"
    )
    for document in (embedded, relative):
        result = verify_statement(jws, did_document=document)
        assert result.vm_id == f"{did}#signing"


def test_statement_accepts_a_key_only_in_capability_invocation():
    document = copy.deepcopy(ED25519.document)
    del document["assertionMethod"]
    result = verify_statement(signed(ED25519), did_document=document)
    assert result.vm_id == ED25519.kid


def test_statement_relationships_can_be_narrowed():
    document = copy.deepcopy(ED25519.document)
    del document["assertionMethod"]
    with pytest.raises(UnknownKeyError, match="not in assertionMethod"):
        verify_statement(
            signed(ED25519), did_document=document, relationships=("assertionMethod",)
        )


@pytest.mark.parametrize(
    "relationships",
    [
        pytest.param("assertionMethod", id="a-string"),
        pytest.param((), id="empty"),
        pytest.param(("assertionMethods",), id="misspelt"),
    ],
)
def test_verify_refuses_bad_relationships_argument(relationships):
    with pytest.raises(ValueError, match="relationship"):
        verify_statement(
            signed(ED25519), did_document=ED25519.document, relationships=relationships
        )


# --- algorithms -------------------------------------------------------------------


def test_statement_rejects_alg_none():
    header = b64(json.dumps(header_for(ED25519, "none")).encode())
    payload = b64(json.dumps(claims_for(ED25519)).encode())
    for signature in ("", b64(b"\0" * 64)):  # RFC 7518 §3.6: unsecured is empty
        jws = f"{header}.{payload}.{signature}"
        with pytest.raises(UnsupportedAlgorithmError, match="alg 'none' is not"):
            peek_header(jws)
        with pytest.raises(UnsupportedAlgorithmError, match="alg 'none' is not"):
            verify_statement(jws, did_document=ED25519.document)


@pytest.mark.parametrize(
    "secret",
    [
        pytest.param("raw", id="raw-public-key-bytes"),
        pytest.param("jwk", id="public-jwk-json"),
        pytest.param("multibase", id="multibase-text"),
    ],
)
def test_statement_rejects_hs256_with_public_key_as_secret(secret):
    vm = ED25519.document["verificationMethod"][0]
    secrets = {
        "raw": ED25519.key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        ),
        "jwk": json.dumps(_public_jwk(ED25519.key)).encode(),
        "multibase": vm["publicKeyMultibase"].encode(),
    }
    key = OctKey.import_key(secrets[secret])
    payload = json.dumps(claims_for(ED25519)).encode()
    jws = jose_jws.serialize_compact(
        header_for(ED25519, "HS256"), payload, key, algorithms=["HS256"]
    )
    # The forgery is real: a verifier that let the header pick HMAC, with the
    # public key as its secret, would accept it.
    assert jose_jws.deserialize_compact(jws, key, algorithms=["HS256"]).payload
    signing_input = ".".join(segments(jws)[:2]).encode()
    mac = hmac.new(secrets[secret], signing_input, hashlib.sha256).digest()
    assert b64(mac) == segments(jws)[2]
    with pytest.raises(UnsupportedAlgorithmError, match="alg 'HS256' is not allowed"):
        peek_header(jws)
    with pytest.raises(UnsupportedAlgorithmError):
        verify_statement(jws, did_document=ED25519.document)
    # Refused before any key is looked up: an empty document changes nothing.
    with pytest.raises(UnsupportedAlgorithmError):
        verify_statement(jws, did_document={})


@pytest.mark.parametrize(
    "alg",
    [
        "HS256",
        "HS512",
        "RS256",
        "PS256",
        "ES512",
        "Ed25519",
        "Ed448",
        "eddsa",
        "es256",
        "EdDSA ",
        "",
        "A128KW",
    ],
)
def test_statement_rejects_unsupported_alg(alg):
    jws = forge(header_for(ED25519, alg), claims_for(ED25519), ED25519.key)
    with pytest.raises(UnsupportedAlgorithmError, match="is not allowed"):
        verify_statement(jws, did_document=ED25519.document)


@pytest.mark.parametrize(
    "alg", [pytest.param(None, id="missing"), 256, ["EdDSA"], {"alg": "EdDSA"}]
)
def test_statement_rejects_non_string_alg(alg):
    header = {"kid": ED25519.kid, "typ": STATEMENT_TYP}
    if alg is not None:
        header["alg"] = alg
    jws = forge(header, claims_for(ED25519), ED25519.key)
    with pytest.raises(MalformedStatementError, match="no string 'alg'"):
        peek_header(jws)


@pytest.mark.parametrize(
    ("header_alg", "authority", "message"),
    [
        pytest.param(
            "ES256",
            ED25519,
            "alg ES256 is for P-256 keys, not Ed25519",
            id="es256-header-ed25519-key",
        ),
        pytest.param("ES256K", ED25519_JWK, "not Ed25519", id="es256k-header-ed25519"),
        pytest.param(
            "EdDSA",
            P256_JWK,
            "alg EdDSA is for Ed25519 keys, not P-256",
            id="eddsa-header-p256-key",
        ),
        pytest.param("ES384", P256_JWK, "not P-256", id="es384-header-p256-key"),
        pytest.param(
            "ES256",
            K256_KEY,
            "alg ES256 is for P-256 keys, not secp256k1",
            id="es256-header-secp256k1-key",
        ),
        pytest.param("ES256K", P256_KEY, "not P-256", id="es256k-header-p256-key"),
        pytest.param("ES256", P384_JWK, "not P-384", id="es256-header-p384-key"),
    ],
)
def test_statement_rejects_alg_key_mismatch(header_alg, authority, message):
    # Signed for real with the document's key: only the header's alg lies.
    jws = forge(header_for(authority, header_alg), claims_for(authority), authority.key)
    with pytest.raises(StatementSignatureError, match=message):
        verify_statement(jws, did_document=authority.document)


# --- the key ----------------------------------------------------------------------


def test_statement_rejects_key_not_in_document():
    jws = sign_statement(
        claims_for(ED25519), private_key=ED25519.key, kid=f"{ED25519.did}#other"
    )
    with pytest.raises(UnknownKeyError, match="is not a verification method of"):
        verify_statement(jws, did_document=ED25519.document)


def test_statement_rejects_dangling_reference_without_a_method():
    document = copy.deepcopy(ED25519.document)
    document["verificationMethod"] = []
    with pytest.raises(UnknownKeyError, match="is not a verification method"):
        verify_statement(signed(ED25519), did_document=document)


@pytest.mark.parametrize(
    ("kept", "shown"),
    [
        pytest.param(("keyAgreement",), "keyAgreement", id="key-agreement"),
        pytest.param(("authentication",), "authentication", id="authentication"),
        pytest.param(
            ("authentication", "capabilityDelegation"),
            "authentication, capabilityDelegation",
            id="authentication-and-delegation",
        ),
        pytest.param((), "no verification relationship", id="no-relationship"),
    ],
)
def test_statement_rejects_key_only_in_key_agreement(kept, shown):
    document = copy.deepcopy(ED25519.document)
    for name in (
        "authentication",
        "assertionMethod",
        "capabilityInvocation",
        "capabilityDelegation",
        "keyAgreement",
    ):
        document.pop(name, None)
    for name in kept:
        document[name] = [ED25519.kid]
    with pytest.raises(
        UnknownKeyError,
        match=f"only in {shown}, not in assertionMethod or capabilityInvocation",
    ):
        verify_statement(signed(ED25519), did_document=document)


def test_statement_rejects_derived_x25519_key_agreement_kid():
    # A did:key with encryption key derivation: its X25519 method is only in
    # keyAgreement, and must not be usable as a statement key.
    authority = _did_key(_ed25519(), derive=True)
    x25519_kid = authority.document["keyAgreement"][0]
    assert x25519_kid != authority.kid
    jws = forge(
        {"alg": "EdDSA", "kid": x25519_kid, "typ": STATEMENT_TYP},
        claims_for(authority),
        authority.key,
    )
    with pytest.raises(UnknownKeyError, match="only in keyAgreement"):
        verify_statement(jws, did_document=authority.document)


def test_statement_rejects_kid_of_another_did():
    # The attacker signs with its own did:key, claiming to be the authority;
    # the service resolves the kid's DID and hands us the attacker's document.
    jws = forge(header_for(ATTACKER, "EdDSA"), claims_for(ED25519), ATTACKER.key)
    with pytest.raises(UnknownKeyError, match=f"kid is a key of {ATTACKER.did}"):
        verify_statement(jws, did_document=ATTACKER.document)
    # … and the authority's document does not hold the attacker's key.
    with pytest.raises(UnknownKeyError, match="document is for"):
        verify_statement(jws, did_document=ED25519.document)


def test_sign_refuses_kid_of_another_did():
    with pytest.raises(UnknownKeyError, match="but iss is"):
        sign_statement(claims_for(ED25519), private_key=ATTACKER.key, kid=ATTACKER.kid)


def test_statement_rejects_method_controlled_by_another_did():
    document = copy.deepcopy(ED25519.document)
    document["verificationMethod"][0]["controller"] = str(ATTACKER.did)
    with pytest.raises(UnknownKeyError, match=f"is controlled by '{ATTACKER.did}'"):
        verify_statement(signed(ED25519), did_document=document)


def test_statement_rejects_kid_defined_twice():
    document = copy.deepcopy(ED25519.document)
    document["assertionMethod"] = [copy.deepcopy(document["verificationMethod"][0])]
    with pytest.raises(UnknownKeyError, match="names 2 verification methods"):
        verify_statement(signed(ED25519), did_document=document)


def _with_method(authority: Authority, **changes: Any) -> dict[str, Any]:
    document = copy.deepcopy(authority.document)
    vm = document["verificationMethod"][0]
    for name, value in changes.items():
        if value is None:
            vm.pop(name, None)
        else:
            vm[name] = value
    return document


@pytest.mark.parametrize(
    ("authority", "changes", "message"),
    [
        pytest.param(
            ED25519,
            {"type": "EcdsaSecp256k1VerificationKey2019"},
            "type 'EcdsaSecp256k1VerificationKey2019'",
            id="unknown-type",
        ),
        pytest.param(
            ED25519,
            {"type": "JsonWebKey2020"},
            "with publicKeyMultibase",
            id="jwk-type-with-multibase",
        ),
        pytest.param(
            P256_JWK,
            {"type": "Multikey"},
            "with publicKeyJwk",
            id="multikey-type-with-jwk",
        ),
        pytest.param(
            ED25519, {"publicKeyMultibase": None}, "has 0 public keys", id="no-key"
        ),
        pytest.param(
            ED25519,
            {"publicKeyJwk": _public_jwk(_ed25519())},
            "has 2 public keys",
            id="two-keys",
        ),
        pytest.param(
            ED25519,
            {"publicKeyMultibase": "z6MkTooShort"},
            "key is invalid",
            id="bad-multikey",
        ),
        pytest.param(
            ED25519,
            {
                "type": "Ed25519VerificationKey2020",
                "publicKeyMultibase": P256_KEY.kid.split("#")[1],
            },
            "Ed25519VerificationKey2020 holds a p256-pub",
            id="ed25519-2020-holding-p256",
        ),
        pytest.param(
            P256_JWK,
            {"publicKeyJwk": {"kty": "oct", "k": "c2VjcmV0"}},
            "key is invalid",
            id="symmetric-jwk",
        ),
        pytest.param(
            P256_JWK,
            {
                "publicKeyJwk": {
                    **_public_jwk(ec.derive_private_key(P256_SCALAR, ec.SECP256R1())),
                    "d": "AAAA",
                }
            },
            "key is invalid",
            id="private-jwk",
        ),
    ],
)
def test_statement_rejects_unusable_method_key(authority, changes, message):
    document = _with_method(authority, **changes)
    with pytest.raises(UnknownKeyError, match=message):
        verify_statement(signed(authority), did_document=document)


@pytest.mark.parametrize(
    ("member", "value", "message"),
    [
        pytest.param("use", "enc", "use 'enc', not 'sig'", id="use-enc"),
        pytest.param("key_ops", ["encrypt"], "include 'verify'", id="key-ops"),
        pytest.param("alg", "ES384", "for alg 'ES384', not ES256", id="jwk-alg"),
    ],
)
def test_statement_rejects_jwk_restricted_to_other_use(member, value, message):
    jwk = {**P256_JWK.document["verificationMethod"][0]["publicKeyJwk"], member: value}
    document = _with_method(P256_JWK, publicKeyJwk=jwk)
    with pytest.raises(StatementSignatureError, match=message):
        verify_statement(signed(P256_JWK), did_document=document)


def test_statement_accepts_jwk_that_names_its_own_alg():
    authority = _did_jwk(
        ec.derive_private_key(P256_SCALAR, ec.SECP256R1()), alg="ES256", use="sig"
    )
    result = verify_statement(signed(authority), did_document=authority.document)
    assert result.claims.iss == authority.did


@pytest.mark.parametrize(
    "document",
    [
        pytest.param([], id="not-an-object"),
        pytest.param({"id": "did:example:other"}, id="other-did"),
        pytest.param({}, id="no-id"),
        pytest.param({"id": ED25519.did, "verificationMethod": {}}, id="vm-not-list"),
        pytest.param({"id": ED25519.did, "assertionMethod": "x"}, id="rel-not-list"),
    ],
)
def test_statement_rejects_document_that_is_not_the_issuers(document):
    with pytest.raises(UnknownKeyError):
        verify_statement(signed(ED25519), did_document=document)


# --- header -------------------------------------------------------------------


def test_statement_rejects_embedded_jwk_header():
    # The attacker signs and ships its own public key in the header, naming
    # the authority's kid: a library that prefers the embedded key accepts it.
    header = header_for(ED25519, "EdDSA", jwk=_public_jwk(ATTACKER.key))
    jws = forge(header, claims_for(ED25519), ATTACKER.key)
    with pytest.raises(
        MalformedStatementError, match="header member 'jwk' not allowed"
    ):
        peek_header(jws)
    with pytest.raises(MalformedStatementError, match="'jwk'"):
        verify_statement(jws, did_document=ED25519.document)


def test_statement_rejects_crit_header():
    header = header_for(ED25519, "EdDSA", crit=["exp"], exp=1_900_000_000)
    jws = forge(header, claims_for(ED25519), ED25519.key)
    with pytest.raises(MalformedStatementError, match="'crit'"):
        verify_statement(jws, did_document=ED25519.document)


@pytest.mark.parametrize(
    ("member", "value"),
    [
        pytest.param("jku", "https://attacker.example/jwks.json", id="jku"),
        pytest.param("x5u", "https://attacker.example/cert.pem", id="x5u"),
        pytest.param("x5c", ["MIIB"], id="x5c"),
        pytest.param("x5t#S256", "abc", id="x5t-s256"),
        pytest.param("b64", False, id="b64-false"),
        pytest.param("cty", "json", id="cty"),
        pytest.param("zip", "DEF", id="zip"),
        pytest.param("iss", "did:example:x", id="unknown-iss-in-header"),
    ],
)
def test_statement_rejects_forbidden_header_member(member, value):
    header = header_for(ED25519, "EdDSA", **{member: value})
    jws = forge(header, claims_for(ED25519), ED25519.key)
    with pytest.raises(MalformedStatementError, match=f"'{member}' not allowed"):
        verify_statement(jws, did_document=ED25519.document)


@pytest.mark.parametrize(
    "typ",
    [
        pytest.param(None, id="missing"),
        pytest.param("JWT", id="jwt"),
        pytest.param("vc+jwt", id="another-explicit-type"),
        pytest.param("DIDTRUST-STATEMENT+JWT", id="case"),
        pytest.param("application/didtrust-statement+jwt", id="media-type-form"),
        pytest.param(7, id="number"),
    ],
)
def test_statement_rejects_wrong_typ(typ):
    header = {"alg": "EdDSA", "kid": ED25519.kid}
    if typ is not None:
        header["typ"] = typ
    jws = forge(header, claims_for(ED25519), ED25519.key)
    with pytest.raises(MalformedStatementError, match=r"typ .* is not"):
        verify_statement(jws, did_document=ED25519.document)


@pytest.mark.parametrize(
    ("kid", "message"),
    [
        pytest.param(None, "no string 'kid'", id="missing"),
        pytest.param(["x"], "no string 'kid'", id="not-a-string"),
        pytest.param("did:key:z6Mk", "a did and a #fragment", id="no-fragment"),
        pytest.param("did:key:z6Mk#", "a did and a #fragment", id="empty-fragment"),
        pytest.param("did:key:z6Mk/p#k", "without path", id="path"),
        pytest.param("did:key:z6Mk?v=1#k", "without path or query", id="query"),
        pytest.param("#key-1", "not a did url", id="relative"),
        pytest.param("https://example.com/#k", "not a did url", id="http-url"),
    ],
)
def test_statement_rejects_kid_that_is_not_a_did_fragment(kid, message):
    header: dict[str, Any] = {"alg": "EdDSA", "typ": STATEMENT_TYP}
    if kid is not None:
        header["kid"] = kid
    jws = forge(header, claims_for(ED25519), ED25519.key)
    with pytest.raises(MalformedStatementError, match=message):
        peek_header(jws)


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(
            '{"alg":"EdDSA","kid":"%s","typ":"%s","alg":"none"}', id="alg-then-none"
        ),
        pytest.param(
            '{"alg":"none","kid":"%s","typ":"%s","alg":"EdDSA"}', id="none-then-alg"
        ),
        pytest.param(
            '{"alg":"EdDSA","kid":"%s","typ":"%s","kid":"did:key:z6Mk#x"}',
            id="kid-twice",
        ),
    ],
)
def test_statement_rejects_duplicate_header_members(header):
    raw = (header % (ED25519.kid, STATEMENT_TYP)).encode()
    jws = forge(raw, claims_for(ED25519), ED25519.key)
    with pytest.raises(MalformedStatementError, match="duplicate member"):
        verify_statement(jws, did_document=ED25519.document)


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(b"[]", id="array"),
        pytest.param(b'"EdDSA"', id="string"),
        pytest.param(b"{", id="truncated"),
        pytest.param(b'{"alg":NaN}', id="nan"),
        pytest.param(b"\xff\xfe{}", id="not-utf8"),
        pytest.param(b"[" * 5000 + b"]" * 5000, id="deep-nesting"),
    ],
)
def test_statement_rejects_header_that_is_not_a_json_object(header):
    jws = forge(header, claims_for(ED25519), ED25519.key)
    with pytest.raises(MalformedStatementError, match="the header"):
        peek_header(jws)


# --- structure and size --------------------------------------------------------------


def test_statement_rejects_oversized_jws():
    jws = signed(ED25519)
    header, payload, signature = segments(jws)
    padded = f"{header}.{payload}{'A' * (MAX_JWS_BYTES - len(jws) + 1)}.{signature}"
    assert len(padded) == MAX_JWS_BYTES + 1
    with pytest.raises(MalformedStatementError, match="over the limit of 65536"):
        peek_header(padded)
    with pytest.raises(MalformedStatementError, match="over the limit"):
        verify_statement("." * 10_000_000, did_document=ED25519.document)


def test_sign_refuses_to_produce_oversized_jws():
    scope = {
        "actions": ["issue"],
        "resources": [f"{i:03d}" + "R" * 190 for i in range(200)],
        "jurisdictions": [f"{i:03d}" + "J" * 190 for i in range(200)],
    }
    with pytest.raises(MalformedStatementError, match="over the limit of 65536"):
        signed(ED25519, scope=scope)


@pytest.mark.parametrize(
    "jws",
    [
        pytest.param("", id="empty"),
        pytest.param("abc", id="one-part"),
        pytest.param("a.b", id="two-parts"),
        pytest.param("a.b.c.d.e", id="five-parts-jwe"),
        pytest.param("eyJ9..c2ln", id="detached-payload"),
        pytest.param("eyJhbGciOiJFZERTQSJ9.e30.", id="empty-signature"),
        pytest.param("eyJhbGciOiJFZERTQSJ9=.e30.c2ln", id="padded"),
        pytest.param("eyJhbGciOiJFZERTQSJ9.e3+.c2ln", id="standard-base64"),
        pytest.param("eyJhbGciOiJFZERTQSJ9.e31.c2ln", id="non-canonical-bits"),
        pytest.param("eyJhbGciOiJFZERTQSJ9.e30 .c2ln", id="space"),
        pytest.param("eyJhbGciOiJFZERTQSJ9.é30.c2ln", id="non-ascii"),
    ],
)
def test_statement_rejects_malformed_compact_structure(jws):
    with pytest.raises(MalformedStatementError):
        peek_header(jws)


def test_statement_rejects_non_string_jws():
    with pytest.raises(MalformedStatementError, match="must be a string"):
        peek_header(signed(ED25519).encode())  # type: ignore[arg-type]  # the attack


# --- signature and payload ------------------------------------------------------------


@pytest.mark.parametrize(
    "authority",
    [ED25519, P256_JWK, P384_JWK, K256_KEY],
    ids=["eddsa", "es256", "es384", "es256k"],
)
@pytest.mark.parametrize(
    "position", [0, 1, 57, -1], ids=["first", "second", "mid", "last"]
)
def test_statement_rejects_one_flipped_payload_byte(authority, position):
    header, payload, signature = segments(signed(authority))
    raw = bytearray(unb64(payload))
    raw[position] ^= 0x01  # the first byte turns "{" into "z": no longer JSON
    jws = f"{header}.{b64(bytes(raw))}.{signature}"
    # A signature error, not a JSON error: the payload is never parsed first.
    with pytest.raises(StatementSignatureError, match="does not verify"):
        verify_statement(jws, did_document=authority.document)


@pytest.mark.parametrize(
    "authority",
    [ED25519, P256_JWK, P384_JWK, K256_KEY],
    ids=["eddsa", "es256", "es384", "es256k"],
)
@pytest.mark.parametrize(
    "position", [0, 31, 32, -1], ids=["first", "r-last", "s-first", "last"]
)
def test_statement_rejects_one_flipped_signature_byte(authority, position):
    header, payload, signature = segments(signed(authority))
    raw = bytearray(unb64(signature))
    raw[position] ^= 0x80
    jws = f"{header}.{payload}.{b64(bytes(raw))}"
    with pytest.raises(StatementSignatureError, match="does not verify"):
        verify_statement(jws, did_document=authority.document)


def test_statement_rejects_reencoded_header():
    # Same members, other bytes: the signature covers the header's exact bytes.
    header, payload, signature = segments(signed(ED25519))
    reencoded = b64(json.dumps(json.loads(unb64(header)), indent=1).encode())
    with pytest.raises(StatementSignatureError, match="does not verify"):
        verify_statement(
            f"{reencoded}.{payload}.{signature}", did_document=ED25519.document
        )


@pytest.mark.parametrize(
    ("authority", "size"),
    [
        pytest.param(ED25519, 63, id="eddsa-short"),
        pytest.param(ED25519, 65, id="eddsa-long"),
        pytest.param(P384_JWK, 64, id="es384-with-es256-length"),
        pytest.param(P256_JWK, 96, id="es256-with-es384-length"),
    ],
)
def test_statement_rejects_signature_of_wrong_length(authority, size):
    header, payload, _ = segments(signed(authority))
    jws = f"{header}.{payload}.{b64(bytes(size))}"
    with pytest.raises(StatementSignatureError, match=f"signature is {size} bytes"):
        verify_statement(jws, did_document=authority.document)


def test_statement_rejects_signature_by_another_key():
    header = header_for(ED25519, "EdDSA")
    jws = forge(header, claims_for(ED25519), ATTACKER.key)
    with pytest.raises(StatementSignatureError, match="does not verify"):
        verify_statement(jws, did_document=ED25519.document)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        pytest.param(b"not json", "payload is not json", id="text"),
        pytest.param(b"", "payload is empty", id="empty"),
        pytest.param(b"\xc3\x28", "not utf-8", id="not-utf8"),
        pytest.param(b"[1, 2]", "not a json object", id="array"),
        pytest.param(b"null", "not a json object", id="null"),
        pytest.param(b'{"iat": NaN}', "payload is not json", id="nan"),
    ],
)
def test_statement_rejects_non_json_payload(payload, message):
    header = header_for(ED25519, "EdDSA")
    if payload:
        jws = forge(header, payload, ED25519.key)
    else:  # an empty payload segment: RFC 7515 detached content
        jws = f"{b64(json.dumps(header).encode())}..{b64(bytes(64))}"
    with pytest.raises(MalformedStatementError, match=message):
        verify_statement(jws, did_document=ED25519.document)


def test_statement_rejects_duplicate_payload_members():
    claims = json.dumps(claims_for(ED25519))
    payload = (claims[:-1] + f', "iss": "{ATTACKER.did}"}}').encode()
    jws = forge(header_for(ED25519, "EdDSA"), payload, ED25519.key)
    with pytest.raises(MalformedStatementError, match="duplicate member 'iss'"):
        verify_statement(jws, did_document=ED25519.document)


@pytest.mark.parametrize(
    ("changes", "where"),
    [
        pytest.param({"jti": None}, "'jti'", id="missing-jti"),
        pytest.param({"act": "destroy"}, "'act'", id="unknown-act"),
        pytest.param(
            {"scope": {"actions": [], "resources": ["x"]}},
            "'scope.actions'",
            id="empty-scope-actions",
        ),
        pytest.param(
            {"validFrom": "2024-01-01T00:00:00"}, "'validFrom'", id="naive-time"
        ),
        pytest.param({"extra": 1}, "'extra'", id="unknown-claim"),
        pytest.param({"iss": "not a did"}, "'iss'", id="iss-not-a-did"),
    ],
)
def test_statement_rejects_invalid_claims_naming_the_field(changes, where):
    claims = claims_for(ED25519)
    for name, value in changes.items():
        if value is None:
            del claims[name]
        else:
            claims[name] = value
    jws = forge(header_for(ED25519, "EdDSA"), claims, ED25519.key)
    with pytest.raises(MalformedStatementError, match=f"claims invalid at {where}"):
        verify_statement(jws, did_document=ED25519.document)


# --- signing arguments ---------------------------------------------------------------


def test_sign_refuses_invalid_claims():
    with pytest.raises(MalformedStatementError, match="claims invalid at 'aud'"):
        sign_statement(
            {**claims_for(ED25519), "aud": ""}, private_key=ED25519.key, kid=ED25519.kid
        )


def test_sign_refuses_kid_without_fragment():
    with pytest.raises(MalformedStatementError, match="#fragment"):
        sign_statement(claims_for(ED25519), private_key=ED25519.key, kid=ED25519.did)


@pytest.mark.parametrize(
    "key",
    [
        pytest.param(ec.derive_private_key(5, ec.SECP521R1()), id="p521"),
        pytest.param(ec.derive_private_key(5, ec.SECP224R1()), id="p224"),
        pytest.param(b"\x01" * 32, id="bytes"),
    ],
)
def test_sign_refuses_keys_without_a_statement_alg(key):
    with pytest.raises(UnsupportedAlgorithmError):
        sign_statement(claims_for(ED25519), private_key=key, kid=ED25519.kid)


# --- errors and fuzzing -----------------------------------------------------------


def test_statement_errors_are_registry_errors():
    for error in (
        MalformedStatementError,
        UnsupportedAlgorithmError,
        UnknownKeyError,
        StatementSignatureError,
    ):
        assert issubclass(error, StatementError)
    assert issubclass(StatementError, RegistryError)
    assert set(ALGORITHMS) == {"EdDSA", "ES256", "ES256K", "ES384"}


def _only_statement_errors(jws: object, document: object) -> None:
    try:
        verify_statement(jws, did_document=document)  # type: ignore[arg-type]
    except StatementError:
        return
    # A random input that verifies would be a forgery.
    pytest.fail(f"accepted {jws!r}")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400) | st.binary(max_size=400))
def test_random_text_or_bytes_raise_only_statement_errors(data):
    _only_statement_errors(data, ED25519.document)
    if isinstance(data, bytes):
        _only_statement_errors(data.decode("latin-1"), ED25519.document)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
_B64_TEXT = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=.+/",
    max_size=120,
)


@settings(max_examples=300, deadline=None)
@given(
    header=st.dictionaries(
        st.sampled_from(["alg", "kid", "typ", "crit", "jwk", "b64", "x"]), _JSON
    )
    | _JSON,
    payload=st.binary(max_size=200) | _JSON.map(lambda v: json.dumps(v).encode()),
    signature=_B64_TEXT,
)
def test_random_jws_parts_raise_only_statement_errors(header, payload, signature):
    header_b64 = b64(json.dumps(header).encode())
    _only_statement_errors(f"{header_b64}.{b64(payload)}.{signature}", ED25519.document)
    # Well-formed and validly signed, but with random contents.
    _only_statement_errors(
        forge(json.dumps(header).encode(), payload, ED25519.key), ED25519.document
    )


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    member=st.sampled_from(
        [
            "id",
            "verificationMethod",
            "assertionMethod",
            "capabilityInvocation",
            "keyAgreement",
        ]
    ),
    value=_JSON,
    vm_member=st.sampled_from(
        ["id", "type", "controller", "publicKeyMultibase", "publicKeyJwk"]
    ),
    vm_value=_JSON,
)
def test_random_documents_raise_only_statement_errors(
    member, value, vm_member, vm_value
):
    # A mutated document may still hold the key (keyAgreement replaced, say):
    # then the statement verifies; otherwise only a StatementError is allowed.
    jws = signed(ED25519)
    first = copy.deepcopy(ED25519.document)
    first[member] = value
    second = copy.deepcopy(ED25519.document)
    second["verificationMethod"][0][vm_member] = vm_value
    for document in (first, second):
        try:
            result = verify_statement(jws, did_document=document)
        except StatementError:
            continue
        assert result.vm_id == ED25519.kid


def test_statement_rejects_lone_surrogate_in_claims():
    # Valid for Python's json module, but not I-JSON (RFC 7493 §2.1): a claim
    # that could not be rendered back as UTF-8.
    claims = json.dumps(claims_for(ED25519, act="revoke", reason="X"))
    payload = claims.replace('"X"', '"\\ud800"').encode()
    jws = forge(header_for(ED25519, "EdDSA"), payload, ED25519.key)
    with pytest.raises(MalformedStatementError, match="lone surrogate"):
        verify_statement(jws, did_document=ED25519.document)
