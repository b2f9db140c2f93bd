"""Tests for drivers.key: did:key documents, options and errors."""

from __future__ import annotations

import json
from types import MappingProxyType
from typing import Any

import base58
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.key import (
    DEFAULT_PUBLIC_KEY_FORMAT,
    PUBLIC_KEY_FORMATS,
    KeyDriver,
    build_document,
)
from resolver.did import DID
from resolver.driver import Driver, DriverRegistry
from resolver.errors import (
    FeatureNotSupportedError,
    InvalidDIDError,
    InvalidOptionsError,
    InvalidPublicKeyError,
    InvalidPublicKeyLengthError,
    MethodNotSupportedError,
    ResolutionError,
    UnsupportedPublicKeyTypeError,
)
from resolver.keys import KEY_CODECS, decode_multikey, encode_multibase, encode_varint
from resolver.models import ResolutionOptions
from tests.helpers.paths import VECTORS

DID_KEY = VECTORS / "did-key"
SIGNING = (
    "authentication",
    "assertionMethod",
    "capabilityInvocation",
    "capabilityDelegation",
)
ED25519 = "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"
X25519 = "did:key:z6LSeu9HkTHSfLLeUs2nnzUSNedgDUevfNQgQjQC23ZCit6F"
P256 = "did:key:zDnaerx9CtbPJ1q36T5Ln5wYt3MQYeGRG5ehnPAmxcf5mDZpv"
BLS_G2 = (
    "did:key:zUC7K4ndUaGZgV7Cp2yJy6JtMoUHY6u7tkcSYUvPrEidqBmLCTLmi6d5WvwnUqejscAkE"
    "RJ3bfjEiSYtdPkRSE8kSa11hFBr4sTgnbZ95SJj19PN2jdvJjyzpSZgxkyyxNnBNnY"
)
G1G2_PREFIX = "did:key:z5TcCmGLu7Hr"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DID_KEY / name).read_text())
    if list(data) == ["didDocument"]:  # x25519.json nests its DIDs one level down
        data = data["didDocument"]
    return data


def vector_document(entry: dict[str, Any]) -> dict[str, Any]:
    document: dict[str, Any] = entry.get("didDocument", entry)
    return document


def vector_cases() -> list[Any]:
    cases = []
    for name in sorted(p.name for p in DID_KEY.glob("*.json")):
        for did, entry in load(name).items():
            if not did.startswith(G1G2_PREFIX):  # combined BLS type: unsupported
                cases.append(pytest.param(did, entry, id=f"{name}:{did[8:20]}"))
    return cases


def build(
    did: str, fmt: str = DEFAULT_PUBLIC_KEY_FORMAT, *, derive: bool = False
) -> dict[str, Any]:
    return build_document(
        DID(did), public_key_format=fmt, enable_encryption_key_derivation=derive
    )


def options(**extra: Any) -> ResolutionOptions:
    return ResolutionOptions(extra=MappingProxyType(extra))


def raises_exactly(
    cls: type[Exception], func: Any, *args: Any, match: str | None = None, **kwargs: Any
) -> None:
    with pytest.raises(cls, match=match) as info:
        func(*args, **kwargs)
    assert type(info.value) is cls


def multikey_did(code: int, raw: bytes) -> str:
    return "did:key:" + encode_multibase(encode_varint(code) + raw)


# -- the spec's example -----------------------------------------------------

SPEC_DID = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
SPEC_VM = SPEC_DID + "#z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
SPEC_KA = SPEC_DID + "#z6LSj72tK8brWgZja8NLRwPigth2T9QRiG1uH9oKZuKjdh9p"


def test_key_document_matches_the_spec_example_with_2020_suites_and_derivation():
    # The did:key spec's "An example of a did:key DID Document".
    expected = {
        "@context": [
            "https://www.w3.org/ns/did/v1",
            "https://w3id.org/security/suites/ed25519-2020/v1",
            "https://w3id.org/security/suites/x25519-2020/v1",
        ],
        "id": SPEC_DID,
        "verificationMethod": [
            {
                "id": SPEC_VM,
                "type": "Ed25519VerificationKey2020",
                "controller": SPEC_DID,
                "publicKeyMultibase": SPEC_VM.split("#")[1],
            },
            {
                "id": SPEC_KA,
                "type": "X25519KeyAgreementKey2020",
                "controller": SPEC_DID,
                "publicKeyMultibase": SPEC_KA.split("#")[1],
            },
        ],
        "authentication": [SPEC_VM],
        "assertionMethod": [SPEC_VM],
        "capabilityDelegation": [SPEC_VM],
        "capabilityInvocation": [SPEC_VM],
        "keyAgreement": [SPEC_KA],
    }
    assert build(SPEC_DID, "Ed25519VerificationKey2020", derive=True) == expected


def test_key_default_document_is_one_multikey_method():
    assert build(SPEC_DID) == {
        "@context": [
            "https://www.w3.org/ns/did/v1",
            "https://w3id.org/security/multikey/v1",
        ],
        "id": SPEC_DID,
        "verificationMethod": [
            {
                "id": SPEC_VM,
                "type": "Multikey",
                "controller": SPEC_DID,
                "publicKeyMultibase": SPEC_VM.split("#")[1],
            }
        ],
        "authentication": [SPEC_VM],
        "assertionMethod": [SPEC_VM],
        "capabilityInvocation": [SPEC_VM],
        "capabilityDelegation": [SPEC_VM],
    }


def test_key_document_lists_properties_in_a_stable_order():
    assert list(build(ED25519, derive=True)) == [
        "@context",
        "id",
        "verificationMethod",
        *SIGNING,
        "keyAgreement",
    ]


# -- the upstream vectors ---------------------------------------------------


@pytest.mark.parametrize(("did", "entry"), vector_cases())
def test_key_vector_relationships_and_key_material_match(did, entry):
    vector = vector_document(entry)
    derive = len(vector["verificationMethod"]) == 2  # Ed25519 + derived X25519
    fmt = (
        "JsonWebKey2020"
        if "publicKeyJwk" in vector["verificationMethod"][0]
        else "Multikey"
    )
    document = build(did, fmt, derive=derive)

    assert document["id"] == did
    assert [m["id"] for m in document["verificationMethod"]] == [
        m["id"] for m in vector["verificationMethod"]
    ]
    for ours, theirs in zip(
        document["verificationMethod"], vector["verificationMethod"], strict=True
    ):
        assert ours["controller"] == theirs["controller"] == did
        assert _raw_key(ours) == _raw_key(theirs)
    for relationship in SIGNING:
        assert document.get(relationship) == vector.get(relationship)
    if derive or did.startswith("did:key:z6LS"):
        assert document["keyAgreement"] == vector["keyAgreement"]
    else:
        # NOTE: these older vectors list an EC or RSA signing key under
        # keyAgreement too; the current spec algorithm does not, nor do we.
        assert "keyAgreement" not in document


def _raw_key(method: dict[str, Any]) -> Any:
    """The key material of a verification method, whatever its format."""
    if "publicKeyBase58" in method:
        return base58.b58decode(method["publicKeyBase58"])
    if "publicKeyMultibase" in method:
        return decode_multikey(method["publicKeyMultibase"]).raw
    jwk = method["publicKeyJwk"]
    return {k: jwk[k] for k in ("kty", "crv", "x", "y", "n", "e") if k in jwk}


def test_key_vector_jwk_matches_for_secp256k1_json_web_key():
    did, entry = list(load("secp256k1.json").items())[-1]
    vector = vector_document(entry)["verificationMethod"][0]
    ours = build(did, "JsonWebKey2020")["verificationMethod"][0]
    assert ours["type"] == vector["type"] == "JsonWebKey2020"
    assert ours["publicKeyJwk"] == vector["publicKeyJwk"]


def test_key_vector_ed25519_json_web_key_pair_matches():
    did, entry = list(load("ed25519-x25519.json").items())[-1]
    vector = vector_document(entry)
    document = build(did, "JsonWebKey2020", derive=True)
    assert document["@context"] == vector["@context"]
    assert document["verificationMethod"] == vector["verificationMethod"]
    assert document["keyAgreement"] == vector["keyAgreement"]


def test_key_x25519_document_has_key_agreement_only():
    document = build(X25519, derive=True)
    assert [m["id"] for m in document["verificationMethod"]] == document["keyAgreement"]
    assert not any(r in document for r in SIGNING)


@pytest.mark.parametrize("did", [P256, BLS_G2], ids=["p256", "bls-g2"])
def test_key_derivation_is_ignored_for_keys_other_than_ed25519(did):
    assert build(did, derive=True) == build(did, derive=False)
    assert "keyAgreement" not in build(did, derive=True)


# -- formats ----------------------------------------------------------------


@pytest.mark.parametrize("fmt", list(PUBLIC_KEY_FORMATS))
def test_key_context_follows_the_method_types(fmt):
    did = X25519 if fmt == "X25519KeyAgreementKey2020" else ED25519
    document = build(did, fmt)
    assert document["@context"] == [
        "https://www.w3.org/ns/did/v1",
        PUBLIC_KEY_FORMATS[fmt],
    ]
    assert document["verificationMethod"][0]["type"] == fmt


def test_key_json_web_key_format_uses_public_key_jwk_without_private_members():
    method = build(P256, "JsonWebKey2020")["verificationMethod"][0]
    assert "publicKeyMultibase" not in method
    assert set(method["publicKeyJwk"]) == {"kty", "crv", "x", "y"}


@pytest.mark.parametrize(
    ("did", "fmt", "match"),
    [
        (ED25519, "Foo2099", "not supported"),
        (ED25519, "Ed25519VerificationKey2018", "not supported"),
        (ED25519, "multikey", "not supported"),
        (P256, "Ed25519VerificationKey2020", "cannot express p256-pub"),
        (ED25519, "X25519KeyAgreementKey2020", "cannot express ed25519-pub"),
        (X25519, "Ed25519VerificationKey2020", "cannot express x25519-pub"),
        (BLS_G2, "JsonWebKey2020", "no JWK form"),
        (BLS_G2, "Ed25519VerificationKey2020", "cannot express bls12_381-g2-pub"),
    ],
    ids=[
        "unknown",
        "experimental-2018",
        "wrong-case",
        "ed25519-suite-for-p256",
        "x25519-suite-for-ed25519",
        "ed25519-suite-for-x25519",
        "jwk-for-bls",
        "ed25519-suite-for-bls",
    ],
)
def test_key_rejects_public_key_format_that_cannot_express_the_key(did, fmt, match):
    raises_exactly(UnsupportedPublicKeyTypeError, build, did, fmt, match=match)


# -- malformed DIDs ---------------------------------------------------------


@pytest.mark.parametrize(
    ("did", "error", "match"),
    [
        ("did:key:m7QEJ", InvalidDIDError, "prefix 'm'"),
        (
            "did:key:Z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
            InvalidDIDError,
            "prefix 'Z'",
        ),
        ("did:key:z", InvalidDIDError, "no data"),
        (
            "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooW0",
            InvalidDIDError,
            "alphabet",
        ),
        (
            "did:key:z6Mk_iTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
            InvalidDIDError,
            "alphabet",
        ),
        ("did:key:z6Mk%41", InvalidDIDError, "alphabet"),
        ("did:key:" + encode_multibase(b"\x80"), InvalidPublicKeyError, "truncated"),
        (multikey_did(0x55, bytes(32)), UnsupportedPublicKeyTypeError, "0x55"),
        (
            multikey_did(0xED, bytes(31)),
            InvalidPublicKeyLengthError,
            "31 bytes; expected 32",
        ),
        (multikey_did(0xED, bytes(32)), InvalidPublicKeyError, "not a valid point"),
        (
            multikey_did(0x1200, b"\x02" + (1).to_bytes(32)),
            InvalidPublicKeyError,
            "not a point on the curve",
        ),
    ],
    ids=[
        "base64-prefix",
        "uppercase-prefix",
        "prefix-only",
        "zero-digit",
        "underscore",
        "percent-encoded",
        "truncated-varint",
        "unknown-codec",
        "short-ed25519",
        "small-order-ed25519",
        "off-curve-p256",
    ],
)
def test_key_rejects_malformed_did(did, error, match):
    raises_exactly(error, build, did, match=match)


def test_key_rejects_other_methods():
    raises_exactly(MethodNotSupportedError, build, "did:web:example.com")


def test_key_accepts_explicit_version_1():
    did = "did:key:1:" + ED25519.removeprefix("did:key:")
    document = build(did)
    assert document["id"] == did
    assert document["verificationMethod"][0]["id"] == did + "#" + ED25519.removeprefix(
        "did:key:"
    )
    assert document["verificationMethod"][0]["controller"] == did


@pytest.mark.parametrize(
    "version",
    ["0", "01", "-1", "1.0", "v1", "1234567890"],
    ids=["zero", "leading-zero", "negative", "decimal", "letter", "huge"],
)
def test_key_rejects_version_that_is_not_a_positive_integer(version):
    raises_exactly(
        InvalidDIDError,
        build,
        f"did:key:{version}:{ED25519.removeprefix('did:key:')}",
        match="version",
    )


def test_key_rejects_unknown_future_version():
    raises_exactly(
        FeatureNotSupportedError,
        build,
        "did:key:2:" + ED25519.removeprefix("did:key:"),
        match="version 2",
    )


def test_key_rejects_two_multibase_values():
    value = ED25519.removeprefix("did:key:")
    raises_exactly(
        InvalidDIDError,
        build,
        f"did:key:1:{value}:{value}",
        match="not 3 ':'-separated parts",
    )


# -- the driver -------------------------------------------------------------


async def test_key_driver_resolves_with_default_options():
    result = await KeyDriver().resolve(DID(ED25519), ResolutionOptions())
    assert result.document == build(ED25519)
    assert result.ttl is None
    assert result.document_metadata == {}
    assert not result.deactivated


@pytest.mark.parametrize(
    ("value", "expected"),
    [("true", True), ("TRUE", True), ("false", False), (True, True), (False, False)],
    ids=["query-true", "query-upper", "query-false", "json-true", "json-false"],
)
async def test_key_driver_reads_derivation_option(value, expected):
    result = await KeyDriver().resolve(
        DID(ED25519), options(enableEncryptionKeyDerivation=value)
    )
    assert ("keyAgreement" in result.document) is expected


@pytest.mark.parametrize("default", [True, False])
async def test_key_driver_default_derivation_applies_when_option_absent(default):
    driver = KeyDriver(enable_encryption_key_derivation=default)
    result = await driver.resolve(DID(ED25519), ResolutionOptions())
    assert ("keyAgreement" in result.document) is default


async def test_key_driver_request_option_overrides_driver_default():
    driver = KeyDriver(enable_encryption_key_derivation=True)
    result = await driver.resolve(
        DID(ED25519), options(enableEncryptionKeyDerivation="false")
    )
    assert "keyAgreement" not in result.document


def test_key_driver_does_not_derive_by_default():
    assert KeyDriver().enable_encryption_key_derivation is False


async def test_key_driver_reads_public_key_format_option():
    result = await KeyDriver().resolve(
        DID(P256), options(publicKeyFormat="JsonWebKey2020")
    )
    assert result.document["verificationMethod"][0]["type"] == "JsonWebKey2020"


@pytest.mark.parametrize(
    "extra",
    [
        {"enableEncryptionKeyDerivation": "yes"},
        {"enableEncryptionKeyDerivation": 1},
        {"publicKeyFormat": 5},
        {"publicKeyFormat": ["Multikey"]},
    ],
    ids=["derive-yes", "derive-number", "format-number", "format-list"],
)
async def test_key_driver_rejects_malformed_options(extra):
    with pytest.raises(InvalidOptionsError):
        await KeyDriver().resolve(DID(ED25519), options(**extra))


async def test_key_driver_results_are_independent_copies():
    driver = KeyDriver()
    first = await driver.resolve(DID(P256), options(publicKeyFormat="JsonWebKey2020"))
    first.document["verificationMethod"][0]["publicKeyJwk"]["x"] = "tampered"
    first.document["@context"].append("https://evil.example/")
    second = await driver.resolve(DID(P256), options(publicKeyFormat="JsonWebKey2020"))
    assert second.document["verificationMethod"][0]["publicKeyJwk"]["x"] != "tampered"
    assert "https://evil.example/" not in second.document["@context"]


def test_key_driver_is_a_driver_with_did_key_metadata():
    driver = KeyDriver()
    assert isinstance(driver, Driver)
    assert driver.name == "did-key"
    assert driver.methods == frozenset({"key"})
    assert driver.options == frozenset(
        {"publicKeyFormat", "enableEncryptionKeyDerivation"}
    )
    assert driver.traits == {
        "updateable": False,
        "deactivatable": False,
        "deletable": False,
        "enumerable": False,
        "historyAvailable": False,
        "humanReadable": False,
    }
    registry = DriverRegistry()
    registry.register(driver)
    assert registry.get("key") is driver


def test_key_driver_has_one_example_per_supported_key_type():
    types = [
        decode_multikey(DID(d).method_specific_id).key_type
        for d in KeyDriver.example_dids
    ]
    assert sorted(types) == sorted(c.name for c in KEY_CODECS.values())


def _example_ids() -> list[str]:
    return [
        decode_multikey(DID(d).method_specific_id).key_type
        for d in KeyDriver.example_dids
    ]


@pytest.mark.parametrize("did", KeyDriver.example_dids, ids=_example_ids())
async def test_key_every_example_did_resolves(did):
    driver = KeyDriver()
    result = await driver.resolve(DID(did), ResolutionOptions())
    assert result.document["id"] == did
    if decode_multikey(DID(did).method_specific_id).jwk is not None:
        jwk = await driver.resolve(DID(did), options(publicKeyFormat="JsonWebKey2020"))
        assert "publicKeyJwk" in jwk.document["verificationMethod"][0]


@pytest.mark.parametrize("did", KeyDriver.example_dids, ids=_example_ids())
def test_key_example_dids_come_from_the_vectors(did):
    known = set()
    for name in (p.name for p in DID_KEY.glob("*.json")):
        for vector_did, entry in load(name).items():
            known.add(vector_did)
            for method in vector_document(entry)["verificationMethod"]:
                known.add("did:key:" + method["id"].split("#")[1])
    assert did in known


# -- properties -------------------------------------------------------------


@settings(max_examples=300)
@given(
    st.binary(min_size=1, max_size=120),
    st.booleans(),
    st.sampled_from(list(PUBLIC_KEY_FORMATS)),
)
def test_key_random_multibase_raises_only_resolution_errors(data, derive, fmt):
    did = "did:key:" + encode_multibase(data)
    try:
        document = build(did, fmt, derive=derive)
    except ResolutionError:
        return
    assert document["id"] == did


@settings(max_examples=300)
@given(
    st.one_of(st.sampled_from(sorted(KEY_CODECS)), st.integers(0, 1 << 20)),
    st.binary(max_size=100),
    st.booleans(),
)
def test_key_random_codec_and_bytes_raise_only_resolution_errors(code, raw, derive):
    did = multikey_did(code, raw)
    try:
        document = build(did, derive=derive)
    except ResolutionError:
        return
    assert document["verificationMethod"][0]["publicKeyMultibase"] == did.removeprefix(
        "did:key:"
    )
