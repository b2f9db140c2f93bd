"""Tests for drivers.jwk: the did:jwk method, against the spec's examples."""

from __future__ import annotations

import base64
import json
import string
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from drivers.jwk import (
    MAX_JSON_DEPTH,
    MAX_JWK_BYTES,
    JwkDriver,
    build_document,
    encode_did_jwk,
)
from resolver.did import DID, parse_did_url
from resolver.driver import Driver, DriverRegistry
from resolver.errors import (
    InvalidDIDError,
    InvalidPublicKeyError,
    InvalidPublicKeyLengthError,
    ResolutionError,
    UnsupportedPublicKeyTypeError,
)
from resolver.models import ResolutionOptions
from tests.helpers.encoding import b64
from tests.helpers.paths import VECTORS

SPEC_FILE = VECTORS / "did-jwk" / "spec-examples.json"
SPEC_EXAMPLES: dict[str, dict[str, Any]] = json.loads(SPEC_FILE.read_text("utf-8"))

SIGNING = [
    "assertionMethod",
    "authentication",
    "capabilityInvocation",
    "capabilityDelegation",
]
ALL_FIVE = [*SIGNING, "keyAgreement"]
RELATIONSHIPS = set(ALL_FIVE)

# RFC 8037, Appendix A.1.
RFC8037_ED25519_D = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
ED25519 = {
    "kty": "OKP",
    "crv": "Ed25519",
    "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
}
X25519 = {
    "kty": "OKP",
    "crv": "X25519",
    "x": "3p7bfXt9wbTTW2HC7OQ1Nz-DQ8hbeGdNrfx-FG-IK08",
}
P256 = {
    "crv": "P-256",
    "kty": "EC",
    "x": "acbIQiuMs3i8_uszEjJ2tpTtRM4EU3yz91PH6CdH2V0",
    "y": "_KcyLj9vWMptnmKtm46GqDz8wf74I5LKgrl2GzH3nSE",
}
# A syntactically fine 2048-bit RSA public key (validation does not factor n).
RSA = {
    "kty": "RSA",
    "n": base64.urlsafe_b64encode((2**2047 + 1).to_bytes(256, "big"))
    .rstrip(b"=")
    .decode(),
    "e": "AQAB",
}


def did_of_text(text: str) -> DID:
    """The did:jwk for JSON text, serialized exactly as given."""
    return DID("did:jwk:" + b64(text.encode("utf-8")))


def did_of(jwk: dict[str, Any]) -> DID:
    return did_of_text(json.dumps(jwk))


def relationships(document: dict[str, Any]) -> list[str]:
    return [name for name in document if name in RELATIONSHIPS]


# --- the spec's examples ---------------------------------------------------------


@pytest.mark.parametrize(
    "did", list(SPEC_EXAMPLES), ids=[v["name"] for v in SPEC_EXAMPLES.values()]
)
def test_jwk_spec_example_builds_exactly_the_spec_document(did):
    expected = SPEC_EXAMPLES[did]["didDocument"]
    document = build_document(DID(did))
    assert document == expected
    # Same members in the same order, so the rendered JSON is the spec's too.
    assert json.dumps(document) == json.dumps(expected)


@pytest.mark.parametrize(
    "did", list(SPEC_EXAMPLES), ids=[v["name"] for v in SPEC_EXAMPLES.values()]
)
def test_jwk_spec_example_did_url_names_the_verification_method(did):
    document = build_document(DID(did))
    did_url = parse_did_url(SPEC_EXAMPLES[did]["didUrl"])
    assert did_url.did == did
    assert did_url.fragment == "0"
    assert document["verificationMethod"][0]["id"] == str(did_url)


async def test_jwk_driver_resolves_spec_examples_forever_cacheable():
    driver = JwkDriver()
    for did, vector in SPEC_EXAMPLES.items():
        result = await driver.resolve(DID(did), ResolutionOptions())
        assert result.document == vector["didDocument"]
        assert result.ttl is None
        assert result.document_metadata == {}
        assert not result.deactivated


# --- the driver ------------------------------------------------------------------


def test_jwk_driver_is_a_driver_for_did_jwk():
    driver = JwkDriver()
    assert isinstance(driver, Driver)
    assert driver.name == "did-jwk"
    assert driver.methods == frozenset({"jwk"})
    assert driver.options == frozenset()
    registry = DriverRegistry()
    registry.register(driver)
    assert registry.get("jwk") is driver


def test_jwk_driver_declares_an_immutable_method():
    assert JwkDriver().traits == {
        "updateable": False,
        "deactivatable": False,
        "deletable": False,
        "enumerable": False,
        "historyAvailable": False,
        "humanReadable": False,
    }


def test_jwk_driver_instances_do_not_share_traits():
    first, second = JwkDriver(), JwkDriver()
    first.traits["updateable"] = True
    assert second.traits["updateable"] is False


async def test_jwk_driver_example_dids_resolve():
    driver = JwkDriver()
    curves = []
    for did in driver.example_dids:
        result = await driver.resolve(DID(did), ResolutionOptions())
        assert result.document["id"] == did
        curves.append(result.document["verificationMethod"][0]["publicKeyJwk"]["crv"])
    assert curves == ["P-256", "X25519", "Ed25519"]
    assert set(driver.example_dids[:2]) == set(SPEC_EXAMPLES)


def test_jwk_driver_ed25519_example_is_rfc8037_key_with_use_sig():
    # Deterministic: the RFC's private key, JCS-serialized with use "sig".
    private = Ed25519PrivateKey.from_private_bytes(
        base64.urlsafe_b64decode(RFC8037_ED25519_D + "=")
    )
    x = b64(private.public_key().public_bytes_raw())
    did = encode_did_jwk({"kty": "OKP", "crv": "Ed25519", "use": "sig", "x": x})
    assert JwkDriver().example_dids[2] == did
    assert relationships(build_document(did)) == SIGNING


# --- verification relationships -----------------------------------------------


@pytest.mark.parametrize(
    ("jwk", "expected"),
    [
        (P256, ALL_FIVE),
        ({**P256, "use": "sig"}, SIGNING),
        ({**P256, "use": "enc"}, ["keyAgreement"]),
        (RSA, ALL_FIVE),
        ({**RSA, "use": "sig"}, SIGNING),
        ({**RSA, "use": "enc"}, ["keyAgreement"]),
        (ED25519, SIGNING),
        ({**ED25519, "use": "sig"}, SIGNING),
        (X25519, ["keyAgreement"]),
        ({**X25519, "use": "enc"}, ["keyAgreement"]),
    ],
    ids=[
        "p256-no-use-all-five",
        "p256-sig",
        "p256-enc",
        "rsa-no-use-all-five",
        "rsa-sig",
        "rsa-enc",
        "ed25519-no-use-signs-only",
        "ed25519-sig",
        "x25519-no-use-agrees-only",
        "x25519-enc",
    ],
)
def test_jwk_use_selects_verification_relationships(jwk, expected):
    document = build_document(did_of(jwk))
    assert relationships(document) == expected
    vm_id = document["verificationMethod"][0]["id"]
    assert all(document[name] == [vm_id] for name in expected)


@pytest.mark.parametrize(
    "use",
    ["SIG", "signature", "", "enc ", "sig,enc"],
    ids=["upper", "word", "empty", "space", "both"],
)
def test_jwk_rejects_unknown_use_value(use):
    with pytest.raises(InvalidPublicKeyError, match="neither 'sig' nor 'enc'"):
        build_document(did_of({**P256, "use": use}))


@pytest.mark.parametrize(
    "use", [None, 1, ["sig"], {"sig": True}], ids=["null", "number", "array", "object"]
)
def test_jwk_rejects_non_string_use(use):
    with pytest.raises(InvalidPublicKeyError, match="'use' must be a string"):
        build_document(did_of({**P256, "use": use}))


def test_jwk_rejects_x25519_key_with_use_sig():
    # X25519 cannot sign (RFC 8037 §3.2): it must never authenticate anyone.
    with pytest.raises(InvalidPublicKeyError, match="X25519 key cannot have use 'sig'"):
        build_document(did_of({**X25519, "use": "sig"}))


def test_jwk_rejects_ed25519_key_with_use_enc():
    with pytest.raises(
        InvalidPublicKeyError, match="Ed25519 key cannot have use 'enc'"
    ):
        build_document(did_of({**ED25519, "use": "enc"}))


# --- the document ---------------------------------------------------------------


def test_jwk_public_key_jwk_is_the_jwk_as_given():
    # Extra members and their order survive; the spec puts them in publicKeyJwk.
    text = (
        '{"x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"k-1","crv":"Ed25519",'
        '"kty":"OKP","alg":"EdDSA","ext":{"a":[1,2.5,null,true]},"note":"caf\\u00e9"}'
    )
    did = did_of_text(text)
    given_jwk = json.loads(text)
    published = build_document(did)["verificationMethod"][0]["publicKeyJwk"]
    assert published == given_jwk
    assert list(published) == list(given_jwk)
    assert published["note"] == "café"


def test_jwk_ignores_kid_for_the_verification_method_id():
    did = did_of({**P256, "kid": "#key-1"})
    document = build_document(did)
    assert document["verificationMethod"][0]["id"] == f"{did}#0"
    assert document["verificationMethod"][0]["controller"] == did
    assert document["id"] == did


def test_jwk_builds_a_fresh_document_each_time():
    did = DID(next(iter(SPEC_EXAMPLES)))
    first = build_document(did)
    first["verificationMethod"][0]["publicKeyJwk"]["x"] = "tampered"
    first["@context"].append("https://evil.example/")
    first["keyAgreement"].append("did:example:other#0")
    assert build_document(did) == SPEC_EXAMPLES[did]["didDocument"]


def test_jwk_documents_have_plain_str_ids():
    document = build_document(DID(next(iter(SPEC_EXAMPLES))))
    assert type(document["id"]) is str
    assert type(document["verificationMethod"][0]["controller"]) is str


# --- rejected DIDs ---------------------------------------------------------------


def test_jwk_rejects_private_key_in_did():
    # Spec, Security: a JWK for a private key must be rejected when encountered.
    private = X25519PrivateKey.generate()
    jwk = {
        **X25519,
        "x": b64(private.public_key().public_bytes_raw()),
        "d": b64(private.private_bytes_raw()),
    }
    with pytest.raises(InvalidPublicKeyError, match="private key member 'd'"):
        build_document(did_of(jwk))


def test_jwk_rejects_symmetric_oct_key_in_did():
    with pytest.raises(UnsupportedPublicKeyTypeError, match="symmetric"):
        build_document(did_of({"kty": "oct", "k": "GawgguFyGrWKav7AX4VKUg"}))


def test_jwk_rejects_point_not_on_curve_in_did():
    key = ec.derive_private_key(7, ec.SECP256R1()).public_key().public_numbers()
    jwk = {
        **P256,
        "x": b64(key.x.to_bytes(32, "big")),
        "y": b64((key.y ^ 1).to_bytes(32, "big")),
    }
    with pytest.raises(InvalidPublicKeyError, match="not on curve P-256"):
        build_document(did_of(jwk))


def test_jwk_rejects_short_key_in_did():
    with pytest.raises(InvalidPublicKeyLengthError, match="x is 16 bytes"):
        build_document(did_of({**ED25519, "x": b64(bytes(16))}))


@pytest.mark.parametrize(
    ("method_specific_id", "match"),
    [
        ("eyJrdHkiOiJPS1AifQ:eyJ", "character ':'"),
        ("eyJrdHkiOiJPS1AifQ.", "character '.'"),
        ("eyJrdHkiOiJPS1AifQ%3D%3D", "character '%'"),
        ("eyJrdHkiOiJPS1AifQAAA", "4n\\+1"),
        ("eyJrdHkiOiJPS1AifR", "not canonical"),
    ],
    ids=[
        "colon",
        "dot",
        "percent-encoded-padding",
        "impossible-length",
        "non-canonical",
    ],
)
def test_jwk_rejects_method_specific_id_that_is_not_base64url(
    method_specific_id, match
):
    did = DID("did:jwk:" + method_specific_id)
    with pytest.raises(InvalidDIDError, match=match) as caught:
        build_document(did)
    assert type(caught.value) is InvalidDIDError


def test_jwk_rejects_padded_base64url_in_did():
    # "=" is not an idchar, so a padded id is not even a DID.
    padded = base64.urlsafe_b64encode(json.dumps(P256).encode()).decode()
    assert padded.endswith("=")
    with pytest.raises(InvalidDIDError):
        DID("did:jwk:" + padded)
    with pytest.raises(InvalidDIDError, match="character '%'"):
        build_document(DID("did:jwk:" + padded.replace("=", "%3D")))


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b'{"kty":"OKP","crv":"\xff"}', "not UTF-8"),
        (b'{"kty":"OKP","crv":"\xed\xa0\x80"}', "not UTF-8"),  # an encoded surrogate
        (b"\xef\xbb\xbf" + json.dumps(P256).encode(), "not valid JSON"),  # UTF-8 BOM
        (json.dumps(P256).encode("utf-16"), "not UTF-8"),
        (b"hello", "not valid JSON"),
        (b'{"kty":"EC",}', "not valid JSON"),
        (json.dumps(P256).encode() + b"{}", "not valid JSON"),
        (b"[]", "must be a JSON object"),
        (b'"{}"', "must be a JSON object"),
        (b"42", "must be a JSON object"),
        (b"null", "must be a JSON object"),
    ],
    ids=[
        "invalid-utf8",
        "utf8-encoded-surrogate",
        "utf8-bom",
        "utf16",
        "not-json",
        "trailing-comma",
        "trailing-data",
        "array",
        "string",
        "number",
        "null",
    ],
)
def test_jwk_rejects_payload_that_is_not_a_json_object(data, match):
    with pytest.raises(InvalidDIDError, match=match):
        build_document(DID("did:jwk:" + b64(data)))


def test_jwk_rejects_duplicate_json_member():
    # Two parsers could read two different keys from this DID: refuse it.
    text = (
        f'{{"kty":"EC","crv":"P-256","x":"{P256["x"]}","y":"{P256["y"]}",'
        f'"x":"{ED25519["x"]}"}}'
    )
    with pytest.raises(InvalidDIDError, match="duplicate member 'x'"):
        build_document(did_of_text(text))


def test_jwk_rejects_duplicate_member_in_nested_object():
    text = json.dumps(P256)[:-1] + ',"ext":{"a":1,"a":2}}'
    with pytest.raises(InvalidDIDError, match="duplicate member 'a'"):
        build_document(did_of_text(text))


@pytest.mark.parametrize(
    "number",
    ["NaN", "Infinity", "-Infinity", "1e400", "-1e400"],
    ids=["nan", "inf", "neg-inf", "overflow", "neg-overflow"],
)
def test_jwk_rejects_non_finite_number(number):
    text = json.dumps(P256)[:-1] + f',"ext":{number}}}'
    with pytest.raises(InvalidDIDError, match="not valid JSON"):
        build_document(did_of_text(text))


def test_jwk_rejects_unpaired_surrogate_escape():
    text = json.dumps(P256)[:-1] + ',"kid":"\\ud800"}'
    with pytest.raises(InvalidDIDError, match="lone surrogate"):
        build_document(did_of_text(text))


def test_jwk_accepts_paired_surrogate_escape():
    text = json.dumps(P256)[:-1] + ',"kid":"\\ud83d\\ude00"}'
    published = build_document(did_of_text(text))["verificationMethod"][0][
        "publicKeyJwk"
    ]
    assert published["kid"] == "\U0001f600"


def test_jwk_accepts_nesting_up_to_the_limit():
    ext = "[" * (MAX_JSON_DEPTH - 1) + "]" * (MAX_JSON_DEPTH - 1)
    text = json.dumps(P256)[:-1] + f',"ext":{ext}}}'
    assert build_document(did_of_text(text))["id"].startswith("did:jwk:")


def test_jwk_rejects_nesting_over_the_limit():
    ext = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    text = json.dumps(P256)[:-1] + f',"ext":{ext}}}'
    with pytest.raises(InvalidDIDError, match=f"deeper than {MAX_JSON_DEPTH}"):
        build_document(did_of_text(text))


def test_jwk_rejects_deep_nesting_without_recursion_error():
    # Would overflow the JSON parser's recursion limit if it were parsed.
    with pytest.raises(InvalidDIDError, match="deeper than"):
        build_document(did_of_text("[" * 2000 + "]" * 2000))


def test_jwk_nesting_limit_ignores_brackets_inside_strings():
    text = json.dumps({**P256, "kid": '[[[[{{{{"\\' * 10})
    assert build_document(did_of_text(text))["id"].startswith("did:jwk:")


def test_jwk_rejects_oversized_jwk():
    text = json.dumps({**P256, "pad": "a" * MAX_JWK_BYTES})
    with pytest.raises(InvalidDIDError, match="over the limit"):
        build_document(did_of_text(text))


def test_jwk_rejects_non_jwk_method():
    with pytest.raises(InvalidDIDError, match="not a did:jwk"):
        build_document(DID("did:key:" + next(iter(SPEC_EXAMPLES)).split(":")[2]))


# --- encode_did_jwk ----------------------------------------------------------------


def test_jwk_encode_uses_jcs_and_round_trips():
    did = encode_did_jwk({"y": P256["y"], "x": P256["x"], "kty": "EC", "crv": "P-256"})
    assert did == next(iter(SPEC_EXAMPLES))  # the spec's P-256 DID is JCS-ordered
    assert build_document(did)["verificationMethod"][0]["publicKeyJwk"] == P256


@pytest.mark.parametrize(
    ("jwk", "error"),
    [
        ({**P256, "d": "AAAA"}, InvalidPublicKeyError),
        ({"kty": "oct", "k": "AAAA"}, UnsupportedPublicKeyTypeError),
        ({**X25519, "use": "sig"}, InvalidPublicKeyError),
        ({**P256, "use": "other"}, InvalidPublicKeyError),
        ({**P256, "pad": "a" * MAX_JWK_BYTES}, InvalidDIDError),
    ],
    ids=["private-key", "symmetric-key", "x25519-sig", "unknown-use", "oversized"],
)
def test_jwk_encode_refuses_what_resolution_would_refuse(jwk, error):
    with pytest.raises(error):
        encode_did_jwk(jwk)


# --- properties -----------------------------------------------------------------

B64URL_ALPHABET = string.ascii_letters + string.digits + "-_"
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=16),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
JWK_LIKE = st.fixed_dictionaries(
    {"kty": st.sampled_from(["OKP", "EC", "RSA", "oct"])},
    optional={
        "crv": st.sampled_from(
            ["Ed25519", "X25519", "P-256", "P-384", "secp256k1", "?"]
        ),
        "x": st.binary(max_size=70).map(b64) | JSON_VALUES,
        "y": st.binary(max_size=70).map(b64) | JSON_VALUES,
        "n": st.binary(max_size=300).map(b64),
        "e": st.sampled_from(["AQAB", "Aw", "AA"]),
        "use": st.sampled_from(["sig", "enc", "SIG"]) | JSON_VALUES,
        "d": st.just("AAAA"),
    },
)


def resolve_or_refuse(msi: str) -> dict[str, Any] | None:
    """Build the document, or return None when a ResolutionError refuses it."""
    try:
        return build_document(DID("did:jwk:" + msi))
    except ResolutionError:
        return None


@given(st.text(max_size=200))
def test_jwk_random_method_specific_id_raises_only_resolution_errors(msi):
    resolve_or_refuse(msi)


@given(st.text(alphabet=B64URL_ALPHABET, min_size=1, max_size=300))
def test_jwk_random_base64url_id_raises_only_resolution_errors(msi):
    resolve_or_refuse(msi)


@given(st.binary(min_size=1, max_size=300))
def test_jwk_random_payload_bytes_raise_only_resolution_errors(data):
    resolve_or_refuse(b64(data))


@given(st.dictionaries(st.text(max_size=8), JSON_VALUES) | JWK_LIKE)
def test_jwk_random_json_object_raises_only_resolution_errors(jwk):
    document = resolve_or_refuse(b64(json.dumps(jwk).encode()))
    if document is not None:
        assert document["verificationMethod"][0]["publicKeyJwk"] == jwk
        assert relationships(document)


@given(st.binary(min_size=32, max_size=32))
def test_jwk_every_ed25519_key_resolves_to_signing_relationships(seed):
    x = b64(Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw())
    did = encode_did_jwk({"kty": "OKP", "crv": "Ed25519", "x": x})
    assert relationships(build_document(did)) == SIGNING


@given(st.integers(min_value=1, max_value=2**255))
def test_jwk_every_p256_key_resolves_to_all_relationships(scalar):
    numbers = (
        ec.derive_private_key(scalar, ec.SECP256R1()).public_key().public_numbers()
    )
    jwk = {
        "kty": "EC",
        "crv": "P-256",
        "x": b64(numbers.x.to_bytes(32, "big")),
        "y": b64(numbers.y.to_bytes(32, "big")),
    }
    document = build_document(encode_did_jwk(jwk))
    assert relationships(document) == ALL_FIVE
    assert document["verificationMethod"][0]["publicKeyJwk"] == jwk
