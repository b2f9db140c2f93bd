"""Finding an issuer's verification method and loading its key (verifier.keys).

Documents come from the real did:key and did:jwk drivers (fixed keys, see
``issuers.py``) or are small hand-built documents where a test needs a shape
those methods never produce (relative ids, embedded methods, foreign
controllers).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa, x25519
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from resolver.did import parse_did_url
from resolver.keys import encode_multikey
from tests.helpers.encoding import b64
from tests.helpers.issuers import (
    ALL_ISSUERS,
    ATTACKER,
    ED25519_KEY,
    P256_JWK,
    P256_KEY,
    Issuer,
    did_jwk,
    did_key,
    ed25519,
    p256,
    public_jwk,
)
from verifier.errors import KeyBindingError, VerificationError
from verifier.keys import (
    find_verification_method,
    key_curve,
    parse_key_id,
    public_key_of,
)

ISSUERS = [pytest.param(issuer, id=name) for name, issuer in ALL_ISSUERS.items()]

CURVES = {"EdDSA": "Ed25519", "ES256": "P-256", "ES384": "P-384", "ES256K": "secp256k1"}


def hand_document(did: str, *, vm_id: str = "#key-1", **changes: Any) -> dict[str, Any]:
    """A did:example document holding ED25519_KEY's key under a relative id."""
    document: dict[str, Any] = {
        "@context": ["https://www.w3.org/ns/did/v1"],
        "id": did,
        "verificationMethod": [
            {
                "id": vm_id,
                "type": "Multikey",
                "controller": did,
                "publicKeyMultibase": ED25519_KEY.method["publicKeyMultibase"],
            }
        ],
        "assertionMethod": [vm_id],
    }
    document.update(changes)
    return document


# --- find_verification_method: positive -----------------------------------------


@pytest.mark.parametrize("issuer", ISSUERS)
def test_find_returns_the_issuer_method_with_absolute_id(issuer: Issuer) -> None:
    vm = find_verification_method(issuer.document, issuer.kid, issuer=issuer.did)
    assert vm == issuer.method
    assert vm["id"] == issuer.kid
    assert vm is not issuer.method  # a copy: the caller's document is untouched


def test_find_accepts_a_parsed_did_url() -> None:
    url = parse_did_url(P256_KEY.kid)
    assert find_verification_method(P256_KEY.document, url)["id"] == P256_KEY.kid


def test_find_resolves_relative_method_ids_against_the_document() -> None:
    document = hand_document("did:example:uni")
    vm = find_verification_method(document, "did:example:uni#key-1")
    assert vm["id"] == "did:example:uni#key-1"
    assert document["verificationMethod"][0]["id"] == "#key-1"


def test_find_accepts_a_method_embedded_in_assertion_method() -> None:
    document = hand_document("did:example:uni")
    embedded = document.pop("verificationMethod")[0]
    document["assertionMethod"] = [embedded]
    vm = find_verification_method(document, "did:example:uni#key-1")
    assert vm["publicKeyMultibase"] == embedded["publicKeyMultibase"]


def test_find_looks_up_other_purposes_when_asked() -> None:
    vm = find_verification_method(
        ED25519_KEY.document, ED25519_KEY.kid, "authentication"
    )
    assert vm["id"] == ED25519_KEY.kid


# --- find_verification_method: attacks and mistakes -------------------------------


def test_find_rejects_kid_only_in_key_agreement() -> None:
    document = copy.deepcopy(ED25519_KEY.document)
    for name in (
        "assertionMethod",
        "authentication",
        "capabilityInvocation",
        "capabilityDelegation",
    ):
        del document[name]
    document["keyAgreement"] = [ED25519_KEY.kid]
    with pytest.raises(
        KeyBindingError, match="only in keyAgreement, not in assertionMethod"
    ):
        find_verification_method(document, ED25519_KEY.kid)


def test_find_rejects_derived_x25519_key_for_assertions() -> None:
    issuer = did_key(ed25519(), derive=True)
    x25519_id = issuer.document["keyAgreement"][0]
    with pytest.raises(KeyBindingError, match="only in keyAgreement"):
        find_verification_method(issuer.document, x25519_id)


def test_find_rejects_method_in_no_relationship() -> None:
    document = hand_document("did:example:uni", assertionMethod=[])
    with pytest.raises(KeyBindingError, match="only in no verification relationship"):
        find_verification_method(document, "did:example:uni#key-1")


def test_find_rejects_kid_of_another_did_than_the_issuer() -> None:
    with pytest.raises(KeyBindingError, match="not of the issuer"):
        find_verification_method(
            ATTACKER.document, ATTACKER.kid, issuer=ED25519_KEY.did
        )


def test_find_rejects_document_of_another_did() -> None:
    with pytest.raises(KeyBindingError, match="document is for"):
        find_verification_method(ATTACKER.document, ED25519_KEY.kid)


def test_find_rejects_method_controlled_by_another_did() -> None:
    document = hand_document("did:example:uni")
    document["verificationMethod"][0]["controller"] = "did:example:mallory"
    with pytest.raises(KeyBindingError, match="controlled by 'did:example:mallory'"):
        find_verification_method(document, "did:example:uni#key-1")


def test_find_rejects_method_without_controller() -> None:
    document = hand_document("did:example:uni")
    del document["verificationMethod"][0]["controller"]
    with pytest.raises(KeyBindingError, match="controlled by None"):
        find_verification_method(document, "did:example:uni#key-1")


def test_find_rejects_method_defined_twice() -> None:
    document = hand_document("did:example:uni")
    twin = {**document["verificationMethod"][0], "id": "did:example:uni#key-1"}
    document["verificationMethod"].append(twin)
    with pytest.raises(KeyBindingError, match="names 2 verification methods"):
        find_verification_method(document, "did:example:uni#key-1")


def test_find_rejects_unknown_fragment() -> None:
    with pytest.raises(KeyBindingError, match="is not a verification method"):
        find_verification_method(ED25519_KEY.document, f"{ED25519_KEY.did}#nope")


@pytest.mark.parametrize(
    "kid",
    [
        pytest.param("did:example:uni", id="bare-did"),
        pytest.param("did:example:uni/keys#key-1", id="path"),
        pytest.param("did:example:uni?versionId=1#key-1", id="query"),
        pytest.param("did:example:uni#", id="empty-fragment"),
        pytest.param("#key-1", id="relative"),
        pytest.param("https://uni.example/keys#key-1", id="not-a-did"),
        pytest.param(42, id="not-a-string"),
    ],
)
def test_find_rejects_kid_that_is_not_did_and_fragment(kid: Any) -> None:
    with pytest.raises(KeyBindingError):
        find_verification_method(hand_document("did:example:uni"), kid)


def test_find_rejects_parsed_did_url_without_fragment() -> None:
    with pytest.raises(KeyBindingError, match="must be a did and a #fragment"):
        find_verification_method(ED25519_KEY.document, parse_did_url(ED25519_KEY.did))


def test_find_skips_other_embedded_methods() -> None:
    document = hand_document("did:example:uni")
    other = {**document["verificationMethod"][0], "id": "#key-2"}
    document["authentication"] = [other]
    vm = find_verification_method(document, "did:example:uni#key-1")
    assert vm["id"] == "did:example:uni#key-1"
    with pytest.raises(KeyBindingError, match="only in authentication"):
        find_verification_method(document, "did:example:uni#key-2")


def test_find_rejects_relationship_that_is_not_an_array() -> None:
    document = hand_document("did:example:uni", assertionMethod="#key-1")
    with pytest.raises(KeyBindingError, match="assertionMethod is not an array"):
        find_verification_method(document, "did:example:uni#key-1")


def test_find_rejects_document_that_is_not_an_object() -> None:
    with pytest.raises(KeyBindingError, match="not a json object"):
        find_verification_method(["not", "a", "document"], ED25519_KEY.kid)  # type: ignore[arg-type]  # hostile input


def test_find_refuses_a_purpose_that_does_not_exist() -> None:
    with pytest.raises(ValueError, match="not a verification relationship"):
        find_verification_method(ED25519_KEY.document, ED25519_KEY.kid, "assertion")


# --- public_key_of ---------------------------------------------------------------


@pytest.mark.parametrize("issuer", ISSUERS)
def test_public_key_of_loads_the_issuer_public_key(issuer: Issuer) -> None:
    key = public_key_of(issuer.method)
    assert key_curve(key) == CURVES[issuer.alg]
    expected = issuer.key.public_key()
    encoding = serialization.Encoding.DER
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    assert key.public_bytes(encoding, spki) == expected.public_bytes(encoding, spki)


def _method(**members: Any) -> dict[str, Any]:
    return {"id": "did:example:uni#k", "controller": "did:example:uni", **members}


def test_public_key_of_accepts_json_web_key_type() -> None:
    vm = _method(type="JsonWebKey", publicKeyJwk=public_jwk(p256()))
    assert isinstance(public_key_of(vm), ec.EllipticCurvePublicKey)


def test_public_key_of_accepts_rsa_multikey() -> None:
    # An RSA key is a valid signing key; which algorithms may use it is the
    # suite's decision (VC-JOSE refuses RS256 before it gets here).
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.PKCS1
    )
    vm = _method(type="Multikey", publicKeyMultibase=encode_multikey("rsa-pub", der))
    key = public_key_of(vm)
    assert isinstance(key, rsa.RSAPublicKey)
    assert key_curve(key) == "RSA"


def test_public_key_of_rejects_ed25519_2020_holding_p256_key() -> None:
    vm = _method(
        type="Ed25519VerificationKey2020",
        publicKeyMultibase=P256_KEY.method["publicKeyMultibase"],
    )
    with pytest.raises(KeyBindingError, match="holds a p256-pub key"):
        public_key_of(vm)


def test_public_key_of_rejects_x25519_key_that_cannot_sign() -> None:
    raw = x25519.X25519PrivateKey.from_private_bytes(bytes(range(32))).public_key()
    multibase = encode_multikey(
        "x25519-pub",
        raw.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw),
    )
    with pytest.raises(KeyBindingError, match="cannot sign"):
        public_key_of(_method(type="Multikey", publicKeyMultibase=multibase))


def test_public_key_of_rejects_private_jwk() -> None:
    jwk = {**public_jwk(p256()), "d": b64(b"\x01" * 32)}
    with pytest.raises(KeyBindingError, match="private key member 'd'"):
        public_key_of(_method(type="JsonWebKey2020", publicKeyJwk=jwk))


def test_public_key_of_rejects_point_not_on_curve() -> None:
    jwk = {**public_jwk(p256()), "y": b64(b"\x01" * 32)}
    with pytest.raises(KeyBindingError, match="not on curve"):
        public_key_of(_method(type="JsonWebKey2020", publicKeyJwk=jwk))


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        pytest.param({"use": "enc"}, "use 'enc'", id="use-enc"),
        pytest.param({"key_ops": ["sign"]}, "do not include 'verify'", id="ops-sign"),
    ],
)
def test_public_key_of_rejects_jwk_restricted_to_another_use(extra, message) -> None:
    jwk = {**public_jwk(p256()), **extra}
    with pytest.raises(KeyBindingError, match=message):
        public_key_of(_method(type="JsonWebKey2020", publicKeyJwk=jwk))


def test_public_key_of_rejects_both_kinds_of_key_material() -> None:
    vm = _method(
        type="Multikey",
        publicKeyMultibase=P256_KEY.method["publicKeyMultibase"],
        publicKeyJwk=public_jwk(p256()),
    )
    with pytest.raises(KeyBindingError, match="has 2 public keys"):
        public_key_of(vm)


def test_public_key_of_rejects_method_without_key_material() -> None:
    with pytest.raises(KeyBindingError, match="has 0 public keys"):
        public_key_of(_method(type="Multikey"))


@pytest.mark.parametrize(
    "vm",
    [
        pytest.param(
            _method(type="Multikey", publicKeyJwk=public_jwk(p256())),
            id="multikey-with-jwk",
        ),
        pytest.param(
            _method(
                type="JsonWebKey2020",
                publicKeyMultibase=P256_KEY.method["publicKeyMultibase"],
            ),
            id="jwk-type-with-multibase",
        ),
        pytest.param(
            _method(
                type="EcdsaSecp256k1VerificationKey2019",
                publicKeyJwk=public_jwk(p256()),
            ),
            id="unknown-type",
        ),
    ],
)
def test_public_key_of_rejects_unsupported_type_and_material(vm) -> None:
    with pytest.raises(KeyBindingError, match="is not supported"):
        public_key_of(vm)


def test_public_key_of_rejects_bls_key_it_cannot_check() -> None:
    multibase = encode_multikey("bls12_381-g1-pub", b"\xa0" + bytes(47))
    with pytest.raises(KeyBindingError, match="invalid"):
        public_key_of(_method(type="Multikey", publicKeyMultibase=multibase))


def test_public_key_of_rejects_bad_multibase() -> None:
    with pytest.raises(KeyBindingError, match="invalid"):
        public_key_of(_method(type="Multikey", publicKeyMultibase="mAAAA"))


@pytest.mark.parametrize(
    "vm",
    [
        pytest.param("did:example:uni#k", id="a-string"),
        pytest.param(_method(publicKeyJwk=public_jwk(p256())), id="no-type"),
    ],
)
def test_public_key_of_rejects_method_that_is_not_a_typed_object(vm) -> None:
    with pytest.raises(KeyBindingError):
        public_key_of(vm)


def test_public_key_of_loads_did_jwk_ed25519() -> None:
    issuer = did_jwk(ed25519(), use="sig")
    assert isinstance(public_key_of(issuer.method), Ed25519PublicKey)


# --- key_curve / parse_key_id -------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "name"),
    [
        pytest.param(ed25519(), "Ed25519", id="ed25519-private"),
        pytest.param(ed25519().public_key(), "Ed25519", id="ed25519-public"),
        pytest.param(p256(), "P-256", id="p256-private"),
        pytest.param(ec.derive_private_key(7, ec.SECP521R1()), "P-521", id="p521"),
        pytest.param(
            x25519.X25519PrivateKey.from_private_bytes(bytes(32)), "X25519", id="x25519"
        ),
        pytest.param("not a key", "str", id="not-a-key"),
    ],
)
def test_key_curve_names_keys_like_jwk_crv(key: object, name: str) -> None:
    assert key_curve(key) == name


def test_parse_key_id_accepts_did_and_fragment() -> None:
    url = parse_key_id(P256_JWK.kid)
    assert url.did == P256_JWK.did
    assert url.fragment == "0"


@pytest.mark.parametrize("text", ["#0", "did:example:a", None, "did:example:a/p#f"])
def test_parse_key_id_rejects_anything_else(text: object) -> None:
    with pytest.raises(KeyBindingError):
        parse_key_id(text)


def test_key_binding_errors_are_verification_errors() -> None:
    assert issubclass(KeyBindingError, VerificationError)
