"""Tests for verifier.dataintegrity: official vectors, tampering, proof sets.

The official vectors (tests/vectors/vc-di-eddsa, tests/vectors/vc-di-ecdsa) are
checked step by step: canonical forms, both hashes, the signed bytes, the
signature. Every other fixture is signed here with fixed keys and dates.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import base58
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, x25519

from resolver.jwk import validate_public_jwk
from resolver.keys import decode_multikey, decode_varint, encode_multikey
from tests.helpers.encoding import b64
from tests.helpers.paths import VECTORS
from verifier.dataintegrity import (
    CRYPTOSUITES,
    ED25519_2020_CONTEXT,
    MAX_PROOFS,
    SigningKey,
    VerifyingKey,
    check_key_for_suite,
    check_proof_shape,
    parse_proof,
    proofs_of,
    public_key_for_suite,
    sign_proof,
    signing_input,
    verify_proof,
)
from verifier.errors import (
    InvalidSignatureError,
    KeyBindingError,
    MalformedCredentialError,
    ProofError,
    UnsupportedCryptosuiteError,
)

EDDSA = VECTORS / "vc-di-eddsa"
ECDSA = VECTORS / "vc-di-ecdsa"

VECTOR_ED_KEY = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
NOW = datetime(2025, 1, 1, tzinfo=UTC)
CREATED = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)

# The order of each ECDSA curve's group, and of Ed25519's (RFC 8032 "L").
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
ED25519_ORDER = 2**252 + 27742317777372353535851937790883648493


@contextmanager
def raises_exactly(cls: type[BaseException], match: str) -> Iterator[None]:
    """Like pytest.raises, but a subclass (InvalidSignatureError for a
    ProofError) does not count: malformed input must not look like a bad
    signature, nor the other way round."""
    with pytest.raises(cls, match=match) as info:
        yield
    assert type(info.value) is cls, f"raised {type(info.value).__name__}"


# -- official vectors -----------------------------------------------------------


@dataclass(frozen=True)
class Vector:
    """One folder of official test vectors."""

    folder: Path
    suffix: str
    """File name suffix: canonDoc<suffix>.txt, signed<suffix>.json, …"""

    def text(self, stem: str) -> str:
        return (self.folder / f"{stem}{self.suffix}.txt").read_text("utf-8")

    def hex(self, stem: str) -> bytes:
        return bytes.fromhex(self.text(stem).strip())

    def signed(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(
            (self.folder / f"signed{self.suffix}.json").read_text()
        )
        return data

    def key(self) -> VerifyingKey:
        """The public key of the proof's did:key verification method."""
        vm = self.signed()["proof"]["verificationMethod"]
        did, fragment = vm.split("#")
        assert did == "did:key:" + fragment
        key = decode_multikey(fragment).to_cryptography()
        assert isinstance(key, ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey)
        return key


JCS_VECTORS = {
    "eddsa-jcs-2022": Vector(EDDSA / "eddsa-jcs-2022", "JCS"),
    "ecdsa-jcs-2019-p256": Vector(ECDSA / "ecdsa-jcs-2019-p256", "JCSECDSAP256"),
    "ecdsa-jcs-2019-p384": Vector(ECDSA / "ecdsa-jcs-2019-p384", "JCSECDSAP384"),
}
RDFC_VECTORS = {
    "eddsa-rdfc-2022": Vector(EDDSA / "eddsa-rdfc-2022", "DataInt"),
    "eddsa-rdfc-2022-employ": Vector(EDDSA / "eddsa-rdfc-2022" / "employ", "DataInt"),
    "Ed25519Signature2020": Vector(EDDSA / "Ed25519Signature2020", "EdSig"),
    "ecdsa-rdfc-2019-p256": Vector(ECDSA / "ecdsa-rdfc-2019-p256", "ECDSAP256"),
    "ecdsa-rdfc-2019-p256-employ": Vector(
        ECDSA / "ecdsa-rdfc-2019-p256" / "employ", "ECDSAP256"
    ),
    "ecdsa-rdfc-2019-p384": Vector(ECDSA / "ecdsa-rdfc-2019-p384", "ECDSAP384"),
    "ecdsa-rdfc-2019-p384-employ": Vector(
        ECDSA / "ecdsa-rdfc-2019-p384" / "employ", "ECDSAP384"
    ),
}
ALL_VECTORS = {**JCS_VECTORS, **RDFC_VECTORS}
# The Alumni credential, one per suite (the employ vectors add no suite).
ALUMNI_VECTORS = {k: v for k, v in ALL_VECTORS.items() if not k.endswith("employ")}


def vector_params(vectors: dict[str, Vector]) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("vector", list(vectors.values()), ids=list(vectors))


@vector_params(ALL_VECTORS)
def test_official_vector_verifies(vector: Vector) -> None:
    signed = vector.signed()
    verify_proof(signed, signed["proof"], public_key=vector.key())


@vector_params(ALL_VECTORS)
def test_official_vector_intermediate_values_are_reproduced(vector: Vector) -> None:
    signed = vector.signed()
    got = signing_input(signed, signed["proof"], key=vector.key())
    assert got.canonical_document == vector.text("canonDoc")
    assert got.canonical_proof_config == vector.text("proofCanon")
    assert got.document_hash == vector.hex("docHash")
    assert got.proof_config_hash == vector.hex("proofHash")
    assert got.hash_data == vector.hex("combinedHash")
    proof_value = signed["proof"]["proofValue"]
    assert proof_value == vector.text("sigBTC58").strip()
    assert parse_proof(signed["proof"]).proof_value == vector.hex("sigHex")


@pytest.mark.parametrize(
    ("vector", "hash_bytes"),
    [
        (ALL_VECTORS["ecdsa-jcs-2019-p256"], 32),
        (ALL_VECTORS["ecdsa-jcs-2019-p384"], 48),
        (ALL_VECTORS["ecdsa-rdfc-2019-p384"], 48),
        (ALL_VECTORS["eddsa-jcs-2022"], 32),
    ],
    ids=["p256-sha256", "p384-jcs-sha384", "p384-rdfc-sha384", "ed25519-sha256"],
)
def test_hash_follows_the_curve(vector: Vector, hash_bytes: int) -> None:
    signed = vector.signed()
    got = signing_input(signed, signed["proof"], key=vector.key())
    assert len(got.document_hash) == len(got.proof_config_hash) == hash_bytes


def test_eddsa_vectors_are_signed_by_the_published_key_pair() -> None:
    key_pair = json.loads((EDDSA / "keyPair.json").read_text())
    for name in ("eddsa-rdfc-2022", "eddsa-jcs-2022", "Ed25519Signature2020"):
        vm = ALL_VECTORS[name].signed()["proof"]["verificationMethod"]
        assert vm.split("#")[1] == key_pair["publicKeyMultibase"]


def vector_private_key() -> ed25519.Ed25519PrivateKey:
    """The vc-di-eddsa private key: multicodec ed25519-priv (0x1300) + seed."""
    key_pair = json.loads((EDDSA / "keyPair.json").read_text())
    data = base58.b58decode(key_pair["privateKeyMultibase"][1:])
    code, offset = decode_varint(data)
    assert code == 0x1300
    return ed25519.Ed25519PrivateKey.from_private_bytes(data[offset:])


@pytest.mark.parametrize(
    "name",
    [
        "eddsa-jcs-2022",
        "eddsa-rdfc-2022",
        "eddsa-rdfc-2022-employ",
        "Ed25519Signature2020",
    ],
)
def test_signing_reproduces_the_official_ed25519_vector(name: str) -> None:
    signed = ALL_VECTORS[name].signed()
    unsigned = {k: v for k, v in signed.items() if k != "proof"}
    proof = signed["proof"]
    again = sign_proof(
        unsigned,
        private_key=vector_private_key(),
        verification_method=proof["verificationMethod"],
        cryptosuite=proof.get("cryptosuite", proof["type"]),
        created=datetime.fromisoformat(proof["created"]),
    )
    assert again == signed
    assert list(again["proof"]) == list(proof)  # members in the vectors' order


# -- tampering ------------------------------------------------------------------

Mutation = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Mutation:
    def mutate(doc: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = doc
        for part in parents:
            node = node[part]
        node[last] = value

    return mutate


def _flip_proof_value_byte(index: int) -> Mutation:
    def mutate(doc: dict[str, Any]) -> None:
        raw = bytearray(base58.b58decode(doc["proof"]["proofValue"][1:]))
        raw[index] ^= 0x01
        doc["proof"]["proofValue"] = "z" + base58.b58encode(bytes(raw)).decode()

    return mutate


def _delete(path: str) -> Mutation:
    def mutate(doc: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = doc
        for part in parents:
            node = node[part]
        del node[last]

    return mutate


TAMPERINGS: dict[str, Mutation] = {
    "issuer": _set("issuer", "https://vc.example/issuers/5679"),
    "subject-member": _set("credentialSubject.alumniOf", "The School of Exampies"),
    "subject-id": _set("credentialSubject.id", "did:example:abcdefgi"),
    "valid-from": _set("validFrom", "2023-01-01T00:00:01Z"),
    "name": _set("name", "Alumni Credential."),
    "removed-member": _delete("description"),
    "removed-type": _set("type", ["VerifiableCredential"]),
    "proof-created": _set("proof.created", "2023-02-24T23:36:39Z"),
    "proof-verification-method": _set(
        "proof.verificationMethod",
        "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2#key-2",
    ),
    "proof-purpose": _set("proof.proofPurpose", "authentication"),
    "proof-value-first-byte": _flip_proof_value_byte(0),
    "proof-value-middle-byte": _flip_proof_value_byte(40),
    "proof-value-last-byte": _flip_proof_value_byte(-1),
}


@vector_params(ALUMNI_VECTORS)
@pytest.mark.parametrize("mutation", list(TAMPERINGS.values()), ids=list(TAMPERINGS))
def test_verify_fails_on_one_changed_field(vector: Vector, mutation: Mutation) -> None:
    signed = vector.signed()
    mutation(signed)
    with raises_exactly(InvalidSignatureError, "does not verify"):
        verify_proof(signed, signed["proof"], public_key=vector.key())


SUITE_SWAPS = {
    "eddsa-jcs-2022": "eddsa-rdfc-2022",
    "eddsa-rdfc-2022": "eddsa-jcs-2022",
    "ecdsa-jcs-2019-p256": "ecdsa-rdfc-2019",
    "ecdsa-rdfc-2019-p384": "ecdsa-jcs-2019",
}


@pytest.mark.parametrize(
    ("name", "other"), list(SUITE_SWAPS.items()), ids=list(SUITE_SWAPS)
)
def test_verify_fails_when_cryptosuite_is_swapped_for_its_sibling(
    name: str, other: str
) -> None:
    vector = ALL_VECTORS[name]
    signed = vector.signed()
    signed["proof"]["cryptosuite"] = other
    with raises_exactly(InvalidSignatureError, "does not verify"):
        verify_proof(signed, signed["proof"], public_key=vector.key())


@vector_params(JCS_VECTORS)
def test_jcs_fails_when_document_context_is_reordered(vector: Vector) -> None:
    signed = vector.signed()
    signed["@context"].reverse()
    with raises_exactly(InvalidSignatureError, "does not start with the proof's"):
        verify_proof(signed, signed["proof"], public_key=vector.key())


@vector_params(JCS_VECTORS)
def test_jcs_fails_when_proof_context_is_removed(vector: Vector) -> None:
    signed = vector.signed()
    del signed["proof"]["@context"]
    with raises_exactly(InvalidSignatureError, "does not verify"):
        verify_proof(signed, signed["proof"], public_key=vector.key())


@vector_params(JCS_VECTORS)
def test_jcs_accepts_a_context_appended_after_signing_as_the_spec_says(
    vector: Vector,
) -> None:
    # vc-di-eddsa/vc-di-ecdsa §3.3.2 step 4: the document need only *start*
    # with the proof's context (a later proof in a set may add one). This one
    # changes what the terms mean in JSON-LD (compare the RDFC test below):
    # the signed document is the one with the proof's context, and a caller
    # must read the credential under that context, not the one it came with.
    signed = vector.signed()
    signed["@context"].append("https://www.w3.org/ns/credentials/undefined-terms/v2")
    verify_proof(signed, signed["proof"], public_key=vector.key())


@vector_params(JCS_VECTORS)
def test_jcs_fails_when_document_lacks_the_proof_context(vector: Vector) -> None:
    signed = vector.signed()
    del signed["@context"]
    with raises_exactly(InvalidSignatureError, "does not start with"):
        verify_proof(signed, signed["proof"], public_key=vector.key())


RDFC_ALUMNI = {k: v for k, v in ALUMNI_VECTORS.items() if k in RDFC_VECTORS}


@vector_params(RDFC_ALUMNI)
def test_rdfc_accepts_a_context_reordering_that_keeps_the_rdf(vector: Vector) -> None:
    # RDFC suites sign the RDF dataset, not the JSON: here both contexts
    # define disjoint terms, so their order changes no quad.
    signed = vector.signed()
    signed["@context"].reverse()
    verify_proof(signed, signed["proof"], public_key=vector.key())


@vector_params(RDFC_ALUMNI)
def test_rdfc_fails_when_an_appended_context_changes_the_meaning(
    vector: Vector,
) -> None:
    # undefined-terms/v2 sets @vocab: the example terms become other IRIs.
    signed = vector.signed()
    signed["@context"].append("https://www.w3.org/ns/credentials/undefined-terms/v2")
    with raises_exactly(InvalidSignatureError, "does not verify"):
        verify_proof(signed, signed["proof"], public_key=vector.key())


@vector_params(ALUMNI_VECTORS)
def test_verify_does_not_change_the_document(vector: Vector) -> None:
    signed = vector.signed()
    before = copy.deepcopy(signed)
    verify_proof(signed, signed["proof"], public_key=vector.key())
    assert signed == before


# -- keys -----------------------------------------------------------------------

ED_KEY = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
OTHER_ED_KEY = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
P256_KEY = ec.derive_private_key(0x1D0C_2A5F_77E1, ec.SECP256R1())
P384_KEY = ec.derive_private_key(0x3B9A_CA07_5E11, ec.SECP384R1())
P521_KEY = ec.derive_private_key(0x51_5151, ec.SECP521R1())
K256_KEY = ec.derive_private_key(0x25_6256, ec.SECP256K1())


def did_key_vm(key: SigningKey) -> str:
    public = key.public_key()
    if isinstance(public, ed25519.Ed25519PublicKey):
        raw = public.public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        multibase = encode_multikey("ed25519-pub", raw)
    else:
        codec = {"secp256r1": "p256-pub", "secp384r1": "p384-pub"}[public.curve.name]
        raw = public.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint
        )
        multibase = encode_multikey(codec, raw)
    return f"did:key:{multibase}#{multibase}"


def unsigned() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EDDSA / "unsigned.json").read_text())
    return data


SIGNERS: dict[str, tuple[str, SigningKey]] = {
    "eddsa-jcs-2022": ("eddsa-jcs-2022", ED_KEY),
    "eddsa-rdfc-2022": ("eddsa-rdfc-2022", ED_KEY),
    "ecdsa-jcs-2019-p256": ("ecdsa-jcs-2019", P256_KEY),
    "ecdsa-jcs-2019-p384": ("ecdsa-jcs-2019", P384_KEY),
    "ecdsa-rdfc-2019-p256": ("ecdsa-rdfc-2019", P256_KEY),
    "ecdsa-rdfc-2019-p384": ("ecdsa-rdfc-2019", P384_KEY),
}


def signed_with(
    name: str, document: dict[str, Any] | None = None, **options: Any
) -> dict[str, Any]:
    suite, key = SIGNERS[name]
    return sign_proof(
        unsigned() if document is None else document,
        private_key=key,
        verification_method=did_key_vm(key),
        cryptosuite=suite,
        created=CREATED,
        **options,
    )


@pytest.mark.parametrize("name", list(SIGNERS))
def test_signed_fixture_round_trips_and_is_deterministic(name: str) -> None:
    first = signed_with(name)
    assert signed_with(name) == first
    key = SIGNERS[name][1].public_key()
    verify_proof(first, first["proof"], public_key=key)


@pytest.mark.parametrize(
    ("name", "wrong_key", "expected"),
    [
        ("eddsa-jcs-2022", P256_KEY, "needs an ed25519 key, not a secp256r1 key"),
        ("ecdsa-jcs-2019-p256", ED_KEY, "needs a p-256 or p-384 key, not an ed25519"),
        ("ecdsa-jcs-2019-p256", P521_KEY, "not a secp521r1 key"),
        ("ecdsa-jcs-2019-p256", K256_KEY, "not a secp256k1 key"),
    ],
    ids=[
        "p256-for-eddsa",
        "ed25519-for-ecdsa",
        "p521-for-ecdsa",
        "secp256k1-for-ecdsa",
    ],
)
def test_verify_rejects_a_key_of_the_wrong_type_as_proof_error(
    name: str, wrong_key: SigningKey, expected: str
) -> None:
    signed = signed_with(name)
    with raises_exactly(ProofError, expected):
        verify_proof(signed, signed["proof"], public_key=wrong_key.public_key())


def test_verify_rejects_an_x25519_key() -> None:
    signed = signed_with("eddsa-jcs-2022")
    key = x25519.X25519PrivateKey.from_private_bytes(bytes(32)).public_key()
    with raises_exactly(ProofError, "needs an ed25519 key"):
        # An X25519 key is not a VerifyingKey; a caller might still pass one.
        verify_proof(signed, signed["proof"], public_key=key)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "other"),
    [
        ("eddsa-jcs-2022", OTHER_ED_KEY),
        ("ecdsa-jcs-2019-p256", ec.derive_private_key(7, ec.SECP256R1())),
    ],
    ids=["ed25519", "p256"],
)
def test_verify_fails_with_another_key_of_the_right_type(
    name: str, other: SigningKey
) -> None:
    signed = signed_with(name)
    with raises_exactly(InvalidSignatureError, "does not verify"):
        verify_proof(signed, signed["proof"], public_key=other.public_key())


def test_p384_signature_is_not_accepted_for_a_p256_key_of_a_p384_proof() -> None:
    # A P-384 proof checked with a P-256 key: the length tells them apart
    # before any curve arithmetic.
    signed = signed_with("ecdsa-jcs-2019-p384")
    with raises_exactly(ProofError, "96 bytes, expected 64"):
        verify_proof(signed, signed["proof"], public_key=P256_KEY.public_key())


@pytest.mark.parametrize(
    ("suite", "method_key", "kind"),
    [
        (
            "eddsa-rdfc-2022",
            "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",
            "multikey",
        ),
        (
            "Ed25519Signature2020",
            "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",
            "multikey",
        ),
        (
            "ecdsa-rdfc-2019",
            "zDnaepBuvsQ8cpsWrVKw8fbpGpvPeNSjVPTWoq6cRqaYzBKVP",
            "multikey",
        ),
        (
            "ecdsa-jcs-2019",
            "z82LkuBieyGShVBhvtE2zoiD6Kma4tJGFtkAhxR5pfkp5QPw4LutoYWhvQCnGjdVn14kujQ",
            "multikey",
        ),
        ("eddsa-jcs-2022", "Ed25519", "jwk"),
        ("ecdsa-jcs-2019", "P-256", "jwk"),
        ("ecdsa-rdfc-2019", "P-384", "jwk"),
    ],
    ids=["z6Mk", "z6Mk-2020", "zDna", "z82L", "jwk-okp", "jwk-p256", "jwk-p384"],
)
def test_keys_of_every_supported_form_fit_their_suite(
    suite: str, method_key: str, kind: str
) -> None:
    if kind == "multikey":
        key: object = decode_multikey(method_key).to_cryptography()
    else:
        privates: dict[str, SigningKey] = {
            "Ed25519": ED_KEY,
            "P-256": P256_KEY,
            "P-384": P384_KEY,
        }
        private = privates[method_key]
        jwk = _public_jwk(private)
        key = validate_public_jwk(jwk).key
    assert check_key_for_suite(key, suite) is key


def _public_jwk(key: SigningKey) -> dict[str, str]:
    public = key.public_key()
    if isinstance(public, ed25519.Ed25519PublicKey):
        raw = public.public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return {"kty": "OKP", "crv": "Ed25519", "x": b64(raw)}
    numbers = public.public_numbers()
    size = (public.curve.key_size + 7) // 8
    crv = {"secp256r1": "P-256", "secp384r1": "P-384"}[public.curve.name]
    return {
        "kty": "EC",
        "crv": crv,
        "x": b64(numbers.x.to_bytes(size, "big")),
        "y": b64(numbers.y.to_bytes(size, "big")),
    }


@pytest.mark.parametrize(
    ("suite", "key"),
    [
        ("eddsa-rdfc-2022", P256_KEY.public_key()),
        ("Ed25519Signature2020", P384_KEY.public_key()),
        ("ecdsa-rdfc-2019", ED_KEY.public_key()),
        ("ecdsa-jcs-2019", K256_KEY.public_key()),
    ],
    ids=["p256-eddsa", "p384-ed2020", "ed25519-ecdsa", "secp256k1-ecdsa"],
)
def test_check_key_for_suite_rejects_mismatches(suite: str, key: object) -> None:
    with raises_exactly(ProofError, "needs"):
        check_key_for_suite(key, suite)


def _method(method_type: str, key: SigningKey) -> dict[str, Any]:
    vm = did_key_vm(key)
    method: dict[str, Any] = {
        "id": vm,
        "type": method_type,
        "controller": vm.split("#")[0],
    }
    if method_type.startswith("JsonWebKey"):
        method["publicKeyJwk"] = _public_jwk(key)
    else:
        method["publicKeyMultibase"] = vm.split("#")[1]
    return method


@pytest.mark.parametrize(
    ("name", "method_type"),
    [
        ("eddsa-rdfc-2022", "Multikey"),
        ("eddsa-jcs-2022", "Ed25519VerificationKey2020"),
        ("eddsa-jcs-2022", "JsonWebKey"),
        ("ecdsa-jcs-2019-p256", "Multikey"),
        ("ecdsa-jcs-2019-p384", "JsonWebKey2020"),
        ("ecdsa-rdfc-2019-p384", "Multikey"),
    ],
    ids=[
        "ed-multikey",
        "ed-2020",
        "ed-jwk",
        "p256-multikey",
        "p384-jwk2020",
        "p384-mk",
    ],
)
def test_public_key_for_suite_loads_each_method_form(
    name: str, method_type: str
) -> None:
    suite, key = SIGNERS[name]
    loaded = public_key_for_suite(_method(method_type, key), suite)
    signed = signed_with(name)
    verify_proof(signed, signed["proof"], public_key=loaded)


def test_public_key_for_suite_rejects_a_key_of_another_suite() -> None:
    with raises_exactly(ProofError, "needs an ed25519 key, not a secp256r1 key"):
        public_key_for_suite(_method("Multikey", P256_KEY), "eddsa-rdfc-2022")


def test_public_key_for_suite_leaves_unusable_methods_to_key_binding() -> None:
    method = {
        "id": "did:example:1#k",
        "type": "Multikey",
        "controller": "did:example:1",
        "publicKeyMultibase": "z6LSbysY2xFMRpGMhb7tFTLMpeuPRaqaWM1yECx2AtzE3KCc",
    }
    with pytest.raises(KeyBindingError, match="x25519"):
        public_key_for_suite(method, "eddsa-rdfc-2022")
    with pytest.raises(UnsupportedCryptosuiteError, match="bbs-2023"):
        public_key_for_suite(_method("Multikey", ED_KEY), "bbs-2023")


def test_check_key_for_suite_rejects_an_unknown_suite() -> None:
    with pytest.raises(UnsupportedCryptosuiteError, match="bbs-2023"):
        check_key_for_suite(ED_KEY.public_key(), "bbs-2023")


# -- signature encodings ----------------------------------------------------------


def _with_signature(doc: dict[str, Any], signature: bytes) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    doc["proof"]["proofValue"] = "z" + base58.b58encode(signature).decode()
    return doc


def test_ed25519_rejects_a_non_canonical_s() -> None:
    # S + L verifies with lenient implementations (signature malleability).
    signed = signed_with("eddsa-jcs-2022")
    sig = parse_proof(signed["proof"]).proof_value
    s = int.from_bytes(sig[32:], "little") + ED25519_ORDER
    assert s < 2**256
    forged = _with_signature(signed, sig[:32] + s.to_bytes(32, "little"))
    with raises_exactly(InvalidSignatureError, "does not verify"):
        verify_proof(forged, forged["proof"], public_key=ED_KEY.public_key())


def test_ecdsa_accepts_high_s_as_the_official_vectors_use_it() -> None:
    # Neither ECDSA suite asks for low S, and three official vectors have a
    # high S; (r, n - s) is the same signature's other form.
    signed = signed_with("ecdsa-jcs-2019-p256")
    sig = parse_proof(signed["proof"]).proof_value
    s = int.from_bytes(sig[32:], "big")
    other = _with_signature(signed, sig[:32] + (P256_ORDER - s).to_bytes(32, "big"))
    verify_proof(other, other["proof"], public_key=P256_KEY.public_key())


@pytest.mark.parametrize("half", ["r", "s"])
def test_ecdsa_rejects_a_zero_half(half: str) -> None:
    signed = signed_with("ecdsa-jcs-2019-p256")
    sig = parse_proof(signed["proof"]).proof_value
    zero = bytes(32)
    forged_sig = zero + sig[32:] if half == "r" else sig[:32] + zero
    forged = _with_signature(signed, forged_sig)
    with raises_exactly(InvalidSignatureError, "does not verify"):
        verify_proof(forged, forged["proof"], public_key=P256_KEY.public_key())


@pytest.mark.parametrize(
    ("proof_value", "expected"),
    [
        ("uTWFuIGlzIGRpc3Rpbmd1aXNoZWQ", "base58btc \\(prefix 'z'\\), not 'u'"),
        ("", "proofValue is empty"),
        ("z", "no data after 'z'"),
        ("z0OIl", "character '0' at position 1 is not base58btc"),
        ("z" + "1" * 250, "251 characters, over 200"),
        ("z" + base58.b58encode(bytes(range(63))).decode(), "63 bytes, expected 64"),
        ("z" + base58.b58encode(bytes(range(65))).decode(), "65 bytes, expected 64"),
        ("z" + base58.b58encode(bytes(range(96))).decode(), "96 bytes, expected 64"),
    ],
    ids=[
        "base64url-multibase",
        "empty",
        "prefix-only",
        "not-base58-alphabet",
        "too-long",
        "63-bytes",
        "65-bytes",
        "96-bytes-for-ed25519",
    ],
)
def test_malformed_proof_value_is_a_proof_error_not_a_bad_signature(
    proof_value: str, expected: str
) -> None:
    vector = JCS_VECTORS["eddsa-jcs-2022"]
    signed = vector.signed()
    signed["proof"]["proofValue"] = proof_value
    with raises_exactly(ProofError, expected):
        verify_proof(signed, signed["proof"], public_key=vector.key())


@pytest.mark.parametrize(
    "value", [None, 42, ["z2HnF"], {"z": 1}], ids=["null", "number", "array", "object"]
)
def test_proof_value_of_the_wrong_json_type_is_a_proof_error(value: Any) -> None:
    signed = JCS_VECTORS["eddsa-jcs-2022"].signed()
    signed["proof"]["proofValue"] = value
    with raises_exactly(ProofError, "proofValue must be a string"):
        parse_proof(signed["proof"])


# -- proof members and policy -------------------------------------------------------


def base_proof(**changes: Any) -> dict[str, Any]:
    proof: dict[str, Any] = JCS_VECTORS["eddsa-jcs-2022"].signed()["proof"]
    for name, value in changes.items():
        if value is None:
            proof.pop(name, None)
        else:
            proof[name] = value
    return proof


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"cryptosuite": "bbs-2023"}, "cryptosuite 'bbs-2023' is not supported"),
        (
            {"cryptosuite": "ecdsa-sd-2023"},
            "cryptosuite 'ecdsa-sd-2023' is not supported",
        ),
        ({"cryptosuite": "Ed25519Signature2020"}, "is not supported"),
        ({"type": "Ed25519Signature2018"}, "proof type 'Ed25519Signature2018'"),
        ({"type": "JsonWebSignature2020"}, "proof type 'JsonWebSignature2020'"),
        ({"type": "BbsBlsSignature2020"}, "proof type 'BbsBlsSignature2020'"),
    ],
    ids=[
        "bbs-2023",
        "ecdsa-sd-2023",
        "2020-name-as-cryptosuite",
        "ed2018",
        "jws2020",
        "bbs2020",
    ],
)
def test_unsupported_suites_are_named(changes: dict[str, Any], expected: str) -> None:
    with pytest.raises(UnsupportedCryptosuiteError, match=expected):
        parse_proof(base_proof(**changes))


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"type": None}, "the proof has no type"),
        ({"type": ["DataIntegrityProof"]}, "type must be a string, not an array"),
        ({"cryptosuite": None}, "the proof has no cryptosuite"),
        ({"verificationMethod": None}, "the proof has no verificationMethod"),
        (
            {"verificationMethod": {"id": "did:key:z6Mk#z6Mk"}},
            "must be a string, not an object",
        ),
        (
            {"verificationMethod": "did:key:" + VECTOR_ED_KEY},
            "bare DID",
        ),
        (
            {"verificationMethod": "https://vc.example/issuers/5678#key-1"},
            "not a DID URL",
        ),
        ({"verificationMethod": "did:Key:z6Mk#z6Mk"}, "not a DID URL"),
        ({"proofPurpose": None}, "the proof has no proofPurpose"),
        ({"proofPurpose": ""}, "proofPurpose is empty"),
        ({"proofValue": None}, "the proof has no proofValue"),
        (
            {"created": "2023-02-30T00:00:00Z"},
            "created '2023-02-30T00:00:00Z' is not a valid date",
        ),
        ({"created": "2023-02-24 23:36:38Z"}, "is not an xsd:dateTime"),
        (
            {"created": "\u0662\u0660\u0662\u0663-02-24T23:36:38Z"},
            "is not an xsd:dateTime",
        ),
        ({"created": 1677281798}, "created must be a string"),
        ({"expires": "tomorrow"}, "expires 'tomorrow' is not an xsd:dateTime"),
        ({"expires": "2030-01-01T00:00:00+15:00"}, "offset \\+15:00 is out of range"),
        ({"domain": 5}, "domain must be a string or an array of strings"),
        ({"domain": []}, "domain must be a string or an array of strings"),
        ({"challenge": ["a"]}, "challenge must be a string"),
        ({"previousProof": [1]}, "previousProof must be a string or an array"),
        ({"id": "urn:uuid:1", "previousProof": "urn:uuid:1"}, "cannot name itself"),
    ],
    ids=[
        "no-type",
        "type-array",
        "no-cryptosuite",
        "no-verification-method",
        "embedded-verification-method",
        "bare-did",
        "https-url",
        "uppercase-method",
        "no-purpose",
        "empty-purpose",
        "no-proof-value",
        "impossible-date",
        "space-not-t",
        "arabic-indic-digits",
        "numeric-created",
        "expires-words",
        "offset-out-of-range",
        "domain-number",
        "domain-empty",
        "challenge-array",
        "previous-proof-number",
        "previous-proof-self",
    ],
)
def test_malformed_proof_members_are_proof_errors(
    changes: dict[str, Any], expected: str
) -> None:
    with raises_exactly(ProofError, expected):
        parse_proof(base_proof(**changes))


def test_proof_that_is_not_an_object_is_a_proof_error() -> None:
    with raises_exactly(ProofError, "must be a JSON object, not an array"):
        parse_proof([])  # type: ignore[arg-type]  # untrusted JSON may be anything


def test_check_proof_shape_returns_what_the_caller_checks() -> None:
    info = check_proof_shape(
        base_proof(domain=["a.example", "b.example"], challenge="c-1"),
        expected_purpose="assertionMethod",
        now=NOW,
    )
    assert info.suite is CRYPTOSUITES["eddsa-jcs-2022"]
    assert info.verification_method.startswith("did:key:z6MkrJVna")
    assert info.verification_method_url.fragment == (
        "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
    )
    assert info.created == datetime(2023, 2, 24, 23, 36, 38, tzinfo=UTC)
    assert info.expires is None
    assert info.domain == ("a.example", "b.example")
    assert info.challenge == "c-1"
    assert info.previous_proof == ()
    single = check_proof_shape(
        base_proof(domain="a.example"), expected_purpose="assertionMethod", now=NOW
    )
    assert single.domain == ("a.example",)


def test_check_proof_shape_rejects_the_wrong_purpose() -> None:
    with raises_exactly(
        ProofError, "proofPurpose is 'authentication', expected 'assertionMethod'"
    ):
        check_proof_shape(
            base_proof(proofPurpose="authentication"),
            expected_purpose="assertionMethod",
            now=NOW,
        )


@pytest.mark.parametrize(
    "expires",
    ["2024-12-31T23:59:59Z", "2025-01-01T00:00:00Z", "2025-01-01T01:59:59+02:00"],
    ids=["a-second-ago", "exactly-now", "an-hour-ago-with-offset"],
)
def test_check_proof_shape_rejects_an_expired_proof(expires: str) -> None:
    with raises_exactly(ProofError, "the proof expired at"):
        check_proof_shape(
            base_proof(expires=expires), expected_purpose="assertionMethod", now=NOW
        )


def test_check_proof_shape_accepts_a_proof_that_expires_later() -> None:
    info = check_proof_shape(
        base_proof(expires="2025-01-01T00:00:00-01:00"),
        expected_purpose="assertionMethod",
        now=NOW,
    )
    assert info.expires == datetime(2025, 1, 1, 1, 0, tzinfo=UTC)


def test_check_proof_shape_rejects_a_proof_created_in_the_future() -> None:
    with raises_exactly(ProofError, "created in the future, at 2025-01-01T00:05:01Z"):
        check_proof_shape(
            base_proof(created="2025-01-01T00:05:01Z"),
            expected_purpose="assertionMethod",
            now=NOW,
        )
    within_skew = check_proof_shape(
        base_proof(created="2025-01-01T00:05:00Z"),
        expected_purpose="assertionMethod",
        now=NOW,
    )
    assert within_skew.created == NOW + timedelta(minutes=5)


def test_check_proof_shape_rejects_expiry_before_creation() -> None:
    with raises_exactly(ProofError, "expires .* before it was created"):
        check_proof_shape(
            base_proof(created="2024-06-01T00:02:00Z", expires="2024-06-01T00:01:00Z"),
            expected_purpose="assertionMethod",
            now=datetime(2024, 6, 1, tzinfo=UTC),
        )


def test_dates_without_offset_are_read_as_utc() -> None:
    info = parse_proof(base_proof(created="2023-02-24T23:36:38.25"))
    assert info.created == datetime(2023, 2, 24, 23, 36, 38, 250000, tzinfo=UTC)


def test_check_proof_shape_needs_an_aware_now() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        check_proof_shape(
            base_proof(), expected_purpose="assertionMethod", now=datetime(2025, 1, 1)
        )


def test_check_proof_shape_accepts_any_offset_for_now() -> None:
    later = datetime(2025, 1, 1, 5, tzinfo=timezone(timedelta(hours=5)))  # == NOW
    with raises_exactly(ProofError, "expired"):
        check_proof_shape(
            base_proof(expires="2025-01-01T00:00:00Z"),
            expected_purpose="assertionMethod",
            now=later,
        )


def test_ed25519_signature_2020_needs_its_context() -> None:
    signed = RDFC_VECTORS["eddsa-rdfc-2022"].signed()
    proof = signed["proof"]
    del proof["cryptosuite"]
    proof["type"] = "Ed25519Signature2020"
    assert ED25519_2020_CONTEXT not in signed["@context"]
    with raises_exactly(
        ProofError, "needs https://w3id.org/security/suites/ed25519-2020/v1"
    ):
        verify_proof(signed, proof, public_key=RDFC_VECTORS["eddsa-rdfc-2022"].key())


@pytest.mark.parametrize(
    ("value", "name"),
    [
        (2**53, "integer"),
        (float("nan"), "nan"),
        (float("inf"), "infinity"),
        ("\ud800", "surrogate"),
    ],
    ids=["integer-beyond-2^53", "nan", "infinity", "lone-surrogate"],
)
def test_jcs_refuses_values_json_cannot_carry(value: Any, name: str) -> None:
    signed = signed_with("eddsa-jcs-2022")
    signed["credentialSubject"]["extra"] = value
    with pytest.raises(MalformedCredentialError, match="cannot be canonicalized"):
        verify_proof(signed, signed["proof"], public_key=ED_KEY.public_key())


# -- proof sets and chains --------------------------------------------------------


def test_proofs_of_reads_one_proof_or_a_set() -> None:
    one = signed_with("eddsa-jcs-2022")
    assert proofs_of(one) == [one["proof"]]
    two = signed_with("ecdsa-jcs-2019-p256", document=one)
    assert isinstance(two["proof"], list)
    assert proofs_of(two) == two["proof"]
    assert len(proofs_of(two)) == 2


@pytest.mark.parametrize(
    ("document", "error", "expected"),
    [
        ([], MalformedCredentialError, "must be a JSON object"),
        ({"id": "x"}, ProofError, "has no proof"),
        ({"proof": []}, ProofError, "proof set is empty"),
        ({"proof": "z2HnF"}, MalformedCredentialError, "proof 0 is a string"),
        ({"proof": [{}, None]}, MalformedCredentialError, "proof 1 is null"),
        ({"proof": [{}] * (MAX_PROOFS + 1)}, ProofError, "17 proofs, over 16"),
        (
            {"proof": [{"id": "urn:a"}, {"id": "urn:a"}]},
            ProofError,
            "two proofs have the id",
        ),
    ],
    ids=[
        "not-an-object",
        "no-proof",
        "empty-set",
        "string",
        "null-member",
        "too-many",
        "duplicate-id",
    ],
)
def test_proofs_of_rejects_malformed_proof_members(
    document: Any, error: type[Exception], expected: str
) -> None:
    with raises_exactly(error, expected):
        proofs_of(document)


def test_proof_set_members_verify_independently() -> None:
    doc = signed_with("ecdsa-jcs-2019-p384", document=signed_with("eddsa-jcs-2022"))
    ed_proof, ec_proof = proofs_of(doc)
    verify_proof(doc, ed_proof, public_key=ED_KEY.public_key())
    verify_proof(doc, ec_proof, public_key=P384_KEY.public_key())
    # An unordered set: order does not matter, nor does dropping a member.
    doc["proof"].reverse()
    verify_proof(doc, ed_proof, public_key=ED_KEY.public_key())
    doc["proof"] = [ec_proof]
    verify_proof(doc, ec_proof, public_key=P384_KEY.public_key())


def test_tampering_breaks_every_proof_of_a_set() -> None:
    doc = signed_with("ecdsa-jcs-2019-p256", document=signed_with("eddsa-jcs-2022"))
    doc["credentialSubject"]["alumniOf"] = "Another School"
    keys: tuple[SigningKey, ...] = (ED_KEY, P256_KEY)
    for proof, key in zip(proofs_of(doc), keys, strict=True):
        with raises_exactly(InvalidSignatureError, "does not verify"):
            verify_proof(doc, proof, public_key=key.public_key())


def chained() -> dict[str, Any]:
    first = signed_with("eddsa-jcs-2022", proof_id="urn:uuid:first")
    return signed_with(
        "ecdsa-jcs-2019-p256",
        document=first,
        proof_id="urn:uuid:second",
        previous_proof="urn:uuid:first",
    )


def test_chained_proof_verifies_over_the_proof_it_names() -> None:
    doc = chained()
    first, second = proofs_of(doc)
    assert second["previousProof"] == "urn:uuid:first"
    verify_proof(doc, first, public_key=ED_KEY.public_key())
    verify_proof(doc, second, public_key=P256_KEY.public_key())
    # The chained proof signed the document *with* the first proof.
    got = signing_input(doc, second, key=P256_KEY.public_key())
    assert '"proof":[{' in got.canonical_document
    assert first["proofValue"] in got.canonical_document


def test_chained_proof_fails_when_the_proof_it_names_is_altered() -> None:
    doc = chained()
    doc["proof"][0]["created"] = "2024-06-01T12:00:01Z"
    first, second = proofs_of(doc)
    for proof, key in ((first, ED_KEY), (second, P256_KEY)):
        with raises_exactly(InvalidSignatureError, "does not verify"):
            verify_proof(doc, proof, public_key=key.public_key())


def test_chained_proof_fails_when_the_proof_it_names_is_removed() -> None:
    doc = chained()
    second = doc["proof"][1]
    doc["proof"] = [second]
    with raises_exactly(ProofError, "previousProof 'urn:uuid:first' names no proof"):
        verify_proof(doc, second, public_key=P256_KEY.public_key())


def test_chain_to_several_proofs() -> None:
    doc = signed_with("eddsa-jcs-2022", proof_id="urn:uuid:a")
    doc = signed_with("ecdsa-jcs-2019-p256", document=doc, proof_id="urn:uuid:b")
    doc = signed_with(
        "ecdsa-jcs-2019-p384",
        document=doc,
        proof_id="urn:uuid:c",
        previous_proof=["urn:uuid:a", "urn:uuid:b"],
    )
    proofs = proofs_of(doc)
    keys: tuple[SigningKey, ...] = (ED_KEY, P256_KEY, P384_KEY)
    for proof, key in zip(proofs, keys, strict=True):
        verify_proof(doc, proof, public_key=key.public_key())
    doc["proof"][1]["proofValue"] = signed_with("ecdsa-jcs-2019-p256")["proof"][
        "proofValue"
    ]
    with raises_exactly(InvalidSignatureError, "does not verify"):
        verify_proof(doc, proofs[2], public_key=P384_KEY.public_key())


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("eddsa-rdfc-2022", "ecdsa-rdfc-2019-p384"),
        ("eddsa-jcs-2022", "ecdsa-rdfc-2019-p256"),
        ("ecdsa-rdfc-2019-p256", "eddsa-jcs-2022"),
    ],
    ids=["rdfc-then-rdfc", "jcs-then-rdfc", "rdfc-then-jcs"],
)
def test_chains_across_canonicalizations(first: str, second: str) -> None:
    doc = signed_with(first, proof_id="urn:uuid:first")
    doc = signed_with(
        second,
        document=doc,
        proof_id="urn:uuid:second",
        previous_proof="urn:uuid:first",
    )
    proofs = proofs_of(doc)
    keys = (SIGNERS[first][1], SIGNERS[second][1])
    for proof, key in zip(proofs, keys, strict=True):
        verify_proof(doc, proof, public_key=key.public_key())
    doc["proof"][0]["proofPurpose"] = "authentication"
    for proof, key in zip(proofs, keys, strict=True):
        with raises_exactly(InvalidSignatureError, "does not verify"):
            verify_proof(doc, proof, public_key=key.public_key())


def test_sign_proof_chains_only_to_existing_proofs() -> None:
    with raises_exactly(ProofError, "names no proof"):
        signed_with(
            "eddsa-jcs-2022",
            document=signed_with("eddsa-jcs-2022", proof_id="urn:uuid:a"),
            previous_proof="urn:uuid:z",
        )


# -- sign_proof -----------------------------------------------------------------------


def test_sign_proof_writes_the_members_it_is_given() -> None:
    doc = signed_with(
        "eddsa-jcs-2022",
        proof_id="urn:uuid:p",
        expires=datetime(2030, 1, 1, 1, 30, tzinfo=timezone(timedelta(hours=1))),
        domain="verifier.example",
        challenge="nonce-1",
    )
    proof = doc["proof"]
    assert proof["id"] == "urn:uuid:p"
    assert proof["created"] == "2024-06-01T12:00:00Z"
    assert proof["expires"] == "2030-01-01T00:30:00Z"
    assert proof["domain"] == "verifier.example"
    assert proof["challenge"] == "nonce-1"
    assert proof["@context"] == doc["@context"]
    verify_proof(doc, proof, public_key=ED_KEY.public_key())
    info = check_proof_shape(proof, expected_purpose="assertionMethod", now=NOW)
    assert (info.domain, info.challenge) == (("verifier.example",), "nonce-1")


def test_sign_proof_does_not_change_its_input() -> None:
    doc = signed_with("eddsa-jcs-2022")
    before = copy.deepcopy(doc)
    signed_with("ecdsa-jcs-2019-p256", document=doc)
    assert doc == before


def test_sign_proof_refuses_a_key_that_does_not_fit() -> None:
    with raises_exactly(ProofError, "needs an ed25519 key"):
        sign_proof(
            unsigned(),
            private_key=P256_KEY,
            verification_method=did_key_vm(P256_KEY),
            cryptosuite="eddsa-jcs-2022",
            created=CREATED,
        )


def test_sign_proof_refuses_an_unknown_suite() -> None:
    with pytest.raises(UnsupportedCryptosuiteError, match="ecdsa-sd-2023"):
        sign_proof(
            unsigned(),
            private_key=P256_KEY,
            verification_method=did_key_vm(P256_KEY),
            cryptosuite="ecdsa-sd-2023",
            created=CREATED,
        )


def test_sign_proof_needs_aware_dates() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        signed_with("eddsa-jcs-2022", expires=datetime(2030, 1, 1))


def test_sign_proof_refuses_a_key_that_cannot_sign_any_suite() -> None:
    key = x25519.X25519PrivateKey.from_private_bytes(bytes(32))
    with raises_exactly(ProofError, "cannot sign with a X25519PrivateKey"):
        sign_proof(
            unsigned(),
            private_key=key,  # type: ignore[arg-type]  # what a careless caller might pass
            verification_method=did_key_vm(ED_KEY),
            cryptosuite="eddsa-jcs-2022",
            created=CREATED,
        )


def test_sign_proof_can_leave_created_out_and_keeps_fractions() -> None:
    bare = signed_with("eddsa-jcs-2022", document=None)
    assert bare["proof"]["created"] == "2024-06-01T12:00:00Z"
    doc = sign_proof(
        unsigned(),
        private_key=ED_KEY,
        verification_method=did_key_vm(ED_KEY),
        cryptosuite="eddsa-jcs-2022",
        created=None,
        expires=datetime(2030, 1, 1, 0, 0, 0, 120000, tzinfo=UTC),
    )
    assert "created" not in doc["proof"]
    assert doc["proof"]["expires"] == "2030-01-01T00:00:00.12Z"
    verify_proof(doc, doc["proof"], public_key=ED_KEY.public_key())


def test_rdfc_refuses_text_that_is_not_unicode() -> None:
    signed = signed_with("eddsa-rdfc-2022")
    signed["name"] = "Alumni \ud800"
    with pytest.raises(MalformedCredentialError):
        verify_proof(signed, signed["proof"], public_key=ED_KEY.public_key())


@pytest.mark.parametrize(
    ("document", "proof", "error", "expected"),
    [
        ([], {}, MalformedCredentialError, "must be a JSON object"),
        ({}, "proof", ProofError, "must be a JSON object, not a string"),
    ],
    ids=["document-array", "proof-string"],
)
def test_signing_input_checks_its_arguments(
    document: Any, proof: Any, error: type[Exception], expected: str
) -> None:
    with raises_exactly(error, expected):
        signing_input(document, proof, key=ED_KEY.public_key())
