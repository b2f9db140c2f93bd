"""Tests for resolver.jwk: strict base64url and public-JWK validation."""

from __future__ import annotations

import base64
import itertools
import json
import string
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
from hypothesis import given
from hypothesis import strategies as st

from resolver.errors import (
    InvalidDIDError,
    InvalidPublicKeyError,
    InvalidPublicKeyLengthError,
    ResolutionError,
    UnsupportedPublicKeyTypeError,
)
from resolver.jwk import PRIVATE_MEMBERS, PublicJwk, validate_public_jwk
from resolver.multibase import b64url_decode
from tests.helpers.encoding import b64


def uint(value: int, size: int | None = None) -> str:
    """Base64urlUInt, minimal unless ``size`` is given (RFC 7518 §2)."""
    size = size or max(1, (value.bit_length() + 7) // 8)
    return b64(value.to_bytes(size, "big"))


# RFC 8037, Appendix A.1: the Ed25519 example key.
RFC8037_ED25519 = {
    "kty": "OKP",
    "crv": "Ed25519",
    "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
}
RFC8037_ED25519_D = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
# did:jwk spec, examples.
SPEC_X25519 = {
    "kty": "OKP",
    "crv": "X25519",
    "use": "enc",
    "x": "3p7bfXt9wbTTW2HC7OQ1Nz-DQ8hbeGdNrfx-FG-IK08",
}
SPEC_P256 = {
    "crv": "P-256",
    "kty": "EC",
    "x": "acbIQiuMs3i8_uszEjJ2tpTtRM4EU3yz91PH6CdH2V0",
    "y": "_KcyLj9vWMptnmKtm46GqDz8wf74I5LKgrl2GzH3nSE",
}

EC_CURVES: dict[str, tuple[ec.EllipticCurve, int]] = {
    "P-256": (ec.SECP256R1(), 32),
    "P-384": (ec.SECP384R1(), 48),
    "P-521": (ec.SECP521R1(), 66),
    "secp256k1": (ec.SECP256K1(), 32),
}
# Field primes, for the non-canonical coordinate test.
P521_PRIME = 2**521 - 1


def ec_private(crv: str, scalar: int = 0x1234567) -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(scalar, EC_CURVES[crv][0])


def ec_jwk(key: ec.EllipticCurvePublicKey, crv: str) -> dict[str, Any]:
    numbers = key.public_numbers()
    size = EC_CURVES[crv][1]
    return {
        "kty": "EC",
        "crv": crv,
        "x": uint(numbers.x, size),
        "y": uint(numbers.y, size),
    }


@pytest.fixture(scope="module")
def rsa_private() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def rsa_jwk(rsa_private: rsa.RSAPrivateKey) -> dict[str, Any]:
    numbers = rsa_private.public_key().public_numbers()
    return {"kty": "RSA", "n": uint(numbers.n), "e": uint(numbers.e)}


def p256_key_with_short_x() -> ec.EllipticCurvePublicKey:
    """The first P-256 key (by scalar) whose x coordinate starts with a 0x00 byte."""
    for scalar in itertools.count(1):
        public = ec_private("P-256", scalar).public_key()
        if public.public_numbers().x < 2**248:
            return public
    raise AssertionError("unreachable")


def with_(jwk: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**jwk, **changes}


# --- b64url_decode -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", b""),
        ("YQ", b"a"),
        ("YWI", b"ab"),
        ("YWJj", b"abc"),
        ("-_-_", b"\xfb\xff\xbf"),
    ],
    ids=["empty", "one-byte", "two-bytes", "three-bytes", "url-safe-alphabet"],
)
def test_b64url_decode_accepts_canonical_unpadded(text, expected):
    assert b64url_decode(text) == expected


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("YQ==", "padded"),
        ("YQ=", "padded"),
        ("+/8", r"'\+'"),
        ("_/8", "'/'"),
        ("YW Jj", "' '"),
        ("YWJj\n", r"'\\n'"),
        ("YWJ\u0663", "alphabet"),  # ARABIC-INDIC DIGIT THREE: a Unicode digit
        ("YWJjZ", "4n\\+1"),
        ("YR", "not canonical"),
        ("YWK", "not canonical"),
    ],
    ids=[
        "padding-two",
        "padding-one",
        "standard-alphabet-plus",
        "standard-alphabet-slash",
        "inner-space",
        "trailing-newline",
        "non-ascii-digit",
        "impossible-length",
        "nonzero-trailing-bits-2",
        "nonzero-trailing-bits-3",
    ],
)
def test_b64url_decode_rejects_malformed(text, match):
    with pytest.raises(ValueError, match=match):
        b64url_decode(text)


@given(st.binary(max_size=200))
def test_b64url_decode_round_trips_every_byte_string(data):
    assert b64url_decode(b64(data)) == data


@given(st.text(alphabet=string.ascii_letters + string.digits + "-_=+/ ", max_size=40))
def test_b64url_decode_accepts_only_the_one_canonical_spelling(text):
    try:
        data = b64url_decode(text)
    except ValueError:
        return
    assert b64(data) == text


# --- accepted keys -------------------------------------------------------------


def test_jwk_accepts_rfc8037_ed25519_key_and_loads_it():
    checked = validate_public_jwk(RFC8037_ED25519)
    assert checked.members() == {
        "crv": "Ed25519",
        "kty": "OKP",
        "x": RFC8037_ED25519["x"],
    }
    assert isinstance(checked.key, Ed25519PublicKey)
    # The loaded key is the RFC's key: it verifies what the RFC's private key signs.
    private = Ed25519PrivateKey.from_private_bytes(b64url_decode(RFC8037_ED25519_D))
    checked.key.verify(private.sign(b"payload"), b"payload")
    with pytest.raises(InvalidSignature):
        checked.key.verify(private.sign(b"payload"), b"other payload")


def test_jwk_accepts_spec_x25519_key():
    checked = validate_public_jwk(SPEC_X25519)
    assert isinstance(checked.key, X25519PublicKey)
    assert checked.key.public_bytes_raw() == b64url_decode(SPEC_X25519["x"])
    assert checked.members() == {"crv": "X25519", "kty": "OKP", "x": SPEC_X25519["x"]}


def test_jwk_accepts_spec_p256_key():
    checked = validate_public_jwk(SPEC_P256)
    assert isinstance(checked.key, ec.EllipticCurvePublicKey)
    assert checked.key.curve.name == "secp256r1"
    assert checked.members() == SPEC_P256  # exactly the required members


@pytest.mark.parametrize("crv", list(EC_CURVES), ids=list(EC_CURVES))
def test_jwk_accepts_ec_key_and_loads_the_same_point(crv):
    private = ec_private(crv)
    checked = validate_public_jwk(ec_jwk(private.public_key(), crv))
    assert isinstance(checked.key, ec.EllipticCurvePublicKey)
    assert checked.key.public_numbers() == private.public_key().public_numbers()
    signature = private.sign(b"payload", ec.ECDSA(hashes.SHA256()))
    checked.key.verify(signature, b"payload", ec.ECDSA(hashes.SHA256()))


def test_jwk_accepts_p256_key_whose_x_has_a_leading_zero_byte():
    # Coordinates keep their leading zeros (RFC 7518 §6.2.1.2).
    public = p256_key_with_short_x()
    jwk = ec_jwk(public, "P-256")
    assert b64url_decode(jwk["x"])[0] == 0
    key = validate_public_jwk(jwk).key
    assert isinstance(key, ec.EllipticCurvePublicKey)
    assert key.public_numbers() == public.public_numbers()


def test_jwk_accepts_rsa_key(rsa_private, rsa_jwk):
    checked = validate_public_jwk(rsa_jwk)
    assert isinstance(checked.key, rsa.RSAPublicKey)
    assert checked.members() == {"e": "AQAB", "kty": "RSA", "n": rsa_jwk["n"]}
    signature = rsa_private.sign(b"payload", padding.PKCS1v15(), hashes.SHA256())
    checked.key.verify(signature, b"payload", padding.PKCS1v15(), hashes.SHA256())


@pytest.mark.parametrize("bits", [2048, 8192], ids=["min-2048", "max-8192"])
def test_jwk_accepts_rsa_modulus_size_at_the_bounds(bits):
    checked = validate_public_jwk(
        {"kty": "RSA", "n": uint(2 ** (bits - 1) + 1), "e": "AQAB"}
    )
    assert isinstance(checked.key, rsa.RSAPublicKey)
    assert checked.key.key_size == bits


def test_jwk_accepts_registered_and_extension_members():
    jwk = with_(
        SPEC_P256,
        use="sig",
        alg="ES256",
        kid="key-1",
        key_ops=["verify"],
        ext=True,
        custom={"nested": [1, 2.5, None]},
    )
    assert validate_public_jwk(jwk).members() == SPEC_P256


def test_jwk_validation_result_compares_by_members():
    first = validate_public_jwk(SPEC_P256)
    second = validate_public_jwk(with_(SPEC_P256, kid="other"))
    assert first == second
    assert hash(first) == hash(second)
    assert first != validate_public_jwk(RFC8037_ED25519)
    assert isinstance(first, PublicJwk)


# --- rejected keys -------------------------------------------------------------


@pytest.mark.parametrize("member", PRIVATE_MEMBERS, ids=list(PRIVATE_MEMBERS))
def test_jwk_rejects_private_key_member(member):
    with pytest.raises(InvalidPublicKeyError, match=f"private key member '{member}'"):
        validate_public_jwk(with_(SPEC_P256, **{member: "AAAA"}))


def test_jwk_rejects_private_key_member_d():
    private = ec_private("P-256")
    jwk = ec_jwk(private.public_key(), "P-256")
    jwk["d"] = uint(private.private_numbers().private_value, 32)
    with pytest.raises(InvalidPublicKeyError, match="private key member 'd'") as caught:
        validate_public_jwk(jwk)
    assert type(caught.value) is InvalidPublicKeyError


def test_jwk_rejects_private_key_member_even_when_null():
    with pytest.raises(InvalidPublicKeyError, match="private key member 'd'"):
        validate_public_jwk(with_(RFC8037_ED25519, d=None))


def test_jwk_rejects_rsa_private_key(rsa_private, rsa_jwk):
    numbers = rsa_private.private_numbers()
    jwk = with_(rsa_jwk, d=uint(numbers.d), p=uint(numbers.p), q=uint(numbers.q))
    with pytest.raises(InvalidPublicKeyError, match="private key member 'd'"):
        validate_public_jwk(jwk)


def test_jwk_rejects_symmetric_oct_key():
    with pytest.raises(UnsupportedPublicKeyTypeError, match="symmetric"):
        validate_public_jwk({"kty": "oct", "k": "GawgguFyGrWKav7AX4VKUg"})


@pytest.mark.parametrize(
    "jwk",
    [
        {"kty": "ECDSA", "crv": "P-256", "x": "AA", "y": "AA"},
        {"kty": "ec", "crv": "P-256", "x": "AA", "y": "AA"},
        {"kty": "AKP", "alg": "ML-DSA-44", "pub": "AA"},
        {"kty": "OKP", "crv": "Ed448", "x": "AA"},
        {"kty": "OKP", "crv": "X448", "x": "AA"},
        {"kty": "OKP", "crv": "ed25519", "x": RFC8037_ED25519["x"]},
        {"kty": "EC", "crv": "P-192", "x": "AA", "y": "AA"},
        {"kty": "EC", "crv": "p-256", "x": SPEC_P256["x"], "y": SPEC_P256["y"]},
        {"kty": "EC", "crv": "Ed25519", "x": RFC8037_ED25519["x"], "y": "AA"},
    ],
    ids=[
        "unknown-kty",
        "lowercase-kty",
        "post-quantum-kty",
        "okp-ed448",
        "okp-x448",
        "okp-lowercase-curve",
        "ec-p192",
        "ec-lowercase-curve",
        "ec-with-okp-curve",
    ],
)
def test_jwk_rejects_unsupported_key_type_or_curve(jwk):
    with pytest.raises(UnsupportedPublicKeyTypeError):
        validate_public_jwk(jwk)


@pytest.mark.parametrize("crv", list(EC_CURVES), ids=list(EC_CURVES))
def test_jwk_rejects_point_not_on_curve(crv):
    jwk = ec_jwk(ec_private(crv).public_key(), crv)
    y = int.from_bytes(b64url_decode(jwk["y"]), "big")
    jwk["y"] = uint(y ^ 1, EC_CURVES[crv][1])
    with pytest.raises(InvalidPublicKeyError, match=f"not on curve {crv}"):
        validate_public_jwk(jwk)


def test_jwk_rejects_point_at_origin():
    zero = b64(bytes(32))
    with pytest.raises(InvalidPublicKeyError, match="not on curve"):
        validate_public_jwk({"kty": "EC", "crv": "P-256", "x": zero, "y": zero})


def test_jwk_rejects_coordinate_at_or_above_the_field_prime():
    # x + p names the same point modulo p, so it must not be a second spelling.
    jwk = ec_jwk(ec_private("P-521").public_key(), "P-521")
    x = int.from_bytes(b64url_decode(jwk["x"]), "big")
    jwk["x"] = uint(x + P521_PRIME, 66)
    with pytest.raises(InvalidPublicKeyError, match="not on curve P-521"):
        validate_public_jwk(jwk)


@pytest.mark.parametrize(
    "x",
    [
        bytes(32),  # y = 0: not on the curve's prime-order subgroup
        (1).to_bytes(32, "little"),  # the neutral element, order 1
        (2**255 - 20).to_bytes(32, "little"),  # y = -1, order 2
        (2**255 - 19).to_bytes(32, "little"),  # y = p: non-canonical encoding of 0
        (2).to_bytes(32, "little"),  # y = 2 decodes to no point at all
    ],
    ids=["all-zero", "identity", "order-two", "non-canonical", "not-on-curve"],
)
def test_jwk_rejects_invalid_ed25519_point(x):
    with pytest.raises(InvalidPublicKeyError, match="not a valid Ed25519"):
        validate_public_jwk(with_(RFC8037_ED25519, x=b64(x)))


@pytest.mark.parametrize(
    ("jwk", "match"),
    [
        (with_(RFC8037_ED25519, x=b64(bytes(31))), "x is 31 bytes, expected 32"),
        (with_(RFC8037_ED25519, x=b64(bytes(33))), "x is 33 bytes, expected 32"),
        (with_(SPEC_X25519, x=b64(bytes(31))), "x is 31 bytes, expected 32 for X25519"),
        (with_(RFC8037_ED25519, x=""), "x is 0 bytes"),
        (with_(SPEC_P256, x=b64(bytes(31))), "x is 31 bytes, expected 32 for P-256"),
        (with_(SPEC_P256, y=b64(b"\x00" + bytes(32))), "y is 33 bytes, expected 32"),
    ],
    ids=[
        "ed25519-short",
        "ed25519-long",
        "x25519-short",
        "ed25519-empty",
        "p256-x-truncated",
        "p256-y-zero-padded",
    ],
)
def test_jwk_rejects_wrong_key_length(jwk, match):
    with pytest.raises(InvalidPublicKeyLengthError, match=match):
        validate_public_jwk(jwk)


def test_jwk_rejects_ec_coordinate_with_leading_zero_stripped():
    # The classic encoder bug: a coordinate written as a minimal integer.
    public = p256_key_with_short_x()
    jwk = with_(ec_jwk(public, "P-256"), x=uint(public.public_numbers().x))
    with pytest.raises(InvalidPublicKeyLengthError, match="x is 31 bytes, expected 32"):
        validate_public_jwk(jwk)


@pytest.mark.parametrize("bits", [1024, 2047, 8193], ids=["1024", "2047", "8193"])
def test_jwk_rejects_rsa_modulus_size_out_of_range(bits):
    with pytest.raises(
        InvalidPublicKeyLengthError, match=f"rsa modulus is {bits} bits"
    ):
        validate_public_jwk({"kty": "RSA", "n": uint(2 ** (bits - 1) + 1), "e": "AQAB"})


@pytest.mark.parametrize(
    ("e", "match"),
    [
        (uint(1), "odd and > 1, not 1"),
        (uint(65536), "odd and > 1, not 65536"),
        (uint(2), "odd and > 1, not 2"),
        ("AA", "leading zero"),
        ("AAEAAQ", "leading zero"),
        ("", "e is empty"),
    ],
    ids=["one", "even", "two", "zero", "leading-zero", "empty"],
)
def test_jwk_rejects_unusable_rsa_exponent(rsa_jwk, e, match):
    with pytest.raises(InvalidPublicKeyError, match=match):
        validate_public_jwk(with_(rsa_jwk, e=e))


def test_jwk_rejects_rsa_exponent_not_below_modulus(rsa_jwk):
    with pytest.raises(InvalidPublicKeyError, match="smaller than the modulus"):
        validate_public_jwk(with_(rsa_jwk, e=uint(2**2048 + 1)))


def test_jwk_rejects_rsa_modulus_with_leading_zero_octet(rsa_jwk):
    padded = b64(b"\x00" + b64url_decode(rsa_jwk["n"]))
    with pytest.raises(InvalidPublicKeyError, match="n has a leading zero"):
        validate_public_jwk(with_(rsa_jwk, n=padded))


def test_jwk_rejects_even_rsa_modulus():
    with pytest.raises(InvalidPublicKeyError, match="modulus is even"):
        validate_public_jwk({"kty": "RSA", "n": uint(2**2047 + 2), "e": "AQAB"})


def test_jwk_rejects_padded_base64url():
    padded = b64url_decode(RFC8037_ED25519["x"])
    x = base64.urlsafe_b64encode(padded).decode("ascii")
    assert x.endswith("=")
    with pytest.raises(
        InvalidPublicKeyError, match="member 'x': base64url must not be padded"
    ):
        validate_public_jwk(with_(RFC8037_ED25519, x=x))


def test_jwk_rejects_standard_base64_alphabet():
    x = base64.b64encode(b64url_decode(SPEC_P256["y"])).decode("ascii").rstrip("=")
    assert "/" in x or "+" in x
    with pytest.raises(InvalidPublicKeyError, match=r"member 'y'.*alphabet"):
        validate_public_jwk(with_(SPEC_P256, y=x))


def test_jwk_rejects_non_canonical_base64url():
    # The last character of a 43-char encoding carries 2 unused bits: set one.
    x = RFC8037_ED25519["x"]
    alphabet = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"
    last = alphabet[alphabet.index(x[-1]) | 1]
    assert last != x[-1]
    with pytest.raises(InvalidPublicKeyError, match="not canonical"):
        validate_public_jwk(with_(RFC8037_ED25519, x=x[:-1] + last))


@pytest.mark.parametrize(
    ("jwk", "match"),
    [
        (
            with_(RFC8037_ED25519, x=list(b"\x01" * 32)),
            "'x' must be a string, not an array",
        ),
        (with_(SPEC_P256, y=12345), "'y' must be a string, not a number"),
        (with_(SPEC_P256, crv=None), "'crv' must be a string, not null"),
        (with_(SPEC_P256, kty=["EC"]), "'kty' must be a string, not an array"),
        ({"kty": "RSA", "n": {"$": "AQAB"}, "e": "AQAB"}, "'n' must be a string"),
        (with_(SPEC_P256, use=True), "'use' must be a string, not a boolean"),
        (with_(SPEC_P256, kid={"id": 1}), "'kid' must be a string, not an object"),
        (with_(SPEC_P256, alg=None), "'alg' must be a string"),
        (with_(SPEC_P256, key_ops="verify"), "'key_ops' must be an array of strings"),
        (
            with_(SPEC_P256, key_ops=["verify", 1]),
            "'key_ops' must be an array of strings",
        ),
        (with_(SPEC_P256, x5c="MIIB"), "'x5c' must be an array of strings"),
    ],
    ids=[
        "x-array",
        "y-number",
        "crv-null",
        "kty-array",
        "n-object",
        "use-boolean",
        "kid-object",
        "alg-null",
        "key-ops-string",
        "key-ops-non-string-item",
        "x5c-string",
    ],
)
def test_jwk_rejects_member_of_wrong_json_type(jwk, match):
    with pytest.raises(InvalidPublicKeyError, match=match):
        validate_public_jwk(jwk)


def test_jwk_rejects_repeated_key_ops():
    with pytest.raises(InvalidPublicKeyError, match="'key_ops' repeats"):
        validate_public_jwk(with_(SPEC_P256, key_ops=["verify", "verify"]))


@pytest.mark.parametrize(
    ("jwk", "member"),
    [
        ({"crv": "P-256", "x": SPEC_P256["x"], "y": SPEC_P256["y"]}, "kty"),
        ({"kty": "EC", "x": SPEC_P256["x"], "y": SPEC_P256["y"]}, "crv"),
        ({"kty": "EC", "crv": "P-256", "y": SPEC_P256["y"]}, "x"),
        ({"kty": "EC", "crv": "P-256", "x": SPEC_P256["x"]}, "y"),
        ({"kty": "OKP", "crv": "Ed25519"}, "x"),
        ({"kty": "OKP", "x": RFC8037_ED25519["x"]}, "crv"),
        ({"kty": "RSA", "e": "AQAB"}, "n"),
        ({"kty": "RSA", "n": uint(2**2047 + 1)}, "e"),
    ],
    ids=["kty", "ec-crv", "ec-x", "ec-y", "okp-x", "okp-crv", "rsa-n", "rsa-e"],
)
def test_jwk_rejects_missing_member(jwk, member):
    with pytest.raises(InvalidPublicKeyError, match=f"no '{member}' member"):
        validate_public_jwk(jwk)


@pytest.mark.parametrize(
    ("jwk", "member", "kty"),
    [
        (with_(RFC8037_ED25519, y=SPEC_P256["y"]), "y", "OKP"),
        (with_(RFC8037_ED25519, n="AQAB"), "n", "OKP"),
        (with_(SPEC_P256, e="AQAB"), "e", "EC"),
        (
            {"kty": "RSA", "n": uint(2**2047 + 1), "e": "AQAB", "crv": "P-256"},
            "crv",
            "RSA",
        ),
        ({"kty": "RSA", "n": uint(2**2047 + 1), "e": "AQAB", "x": "AA"}, "x", "RSA"),
    ],
    ids=["okp-with-y", "okp-with-n", "ec-with-e", "rsa-with-crv", "rsa-with-x"],
)
def test_jwk_rejects_member_of_another_key_type(jwk, member, kty):
    with pytest.raises(
        InvalidPublicKeyError, match=f"'{member}' is not allowed in a {kty}"
    ):
        validate_public_jwk(jwk)


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (None, "null"),
        ([SPEC_P256], "an array"),
        # The copy of the kind-namer here had no string case ("not str").
        (json.dumps(SPEC_P256), "a string"),
        (42, "a number"),
    ],
    ids=["null", "array", "json-text", "number"],
)
def test_jwk_rejects_non_object(value, kind):
    with pytest.raises(
        InvalidPublicKeyError, match=f"must be a JSON object, not {kind}"
    ):
        validate_public_jwk(value)


def test_jwk_rejects_non_string_member_names():
    jwk: dict[object, str] = {name: value for name, value in SPEC_P256.items()}
    jwk[1] = "x"
    with pytest.raises(InvalidPublicKeyError, match="member names must be strings"):
        validate_public_jwk(jwk)


def test_jwk_error_message_truncates_long_untrusted_values():
    with pytest.raises(UnsupportedPublicKeyTypeError) as caught:
        validate_public_jwk({"kty": "Z" * 10_000})
    assert len(str(caught.value)) < 80


def test_jwk_errors_are_invalid_did_errors():
    # A did:jwk driver can let them through: they render as errors about the DID.
    for error in (InvalidPublicKeyLengthError, UnsupportedPublicKeyTypeError):
        assert issubclass(error, InvalidPublicKeyError)
    assert issubclass(InvalidPublicKeyError, InvalidDIDError)


# --- properties ----------------------------------------------------------------

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
B64URL_TEXT = st.text(
    alphabet=string.ascii_letters + string.digits + "-_=", max_size=100
)
MEMBER_NAMES = [
    "kty",
    "crv",
    "x",
    "y",
    "n",
    "e",
    "use",
    "kid",
    "key_ops",
    "d",
    "k",
    "x5c",
]
JWK_SHAPED = st.fixed_dictionaries(
    {"kty": st.sampled_from(["OKP", "EC", "RSA", "oct", "", "okp"])},
    optional={
        "crv": st.sampled_from(
            ["Ed25519", "X25519", "P-256", "P-384", "P-521", "secp256k1", "X"]
        ),
        "x": B64URL_TEXT | st.binary(max_size=70).map(b64) | JSON_VALUES,
        "y": B64URL_TEXT | st.binary(max_size=70).map(b64) | JSON_VALUES,
        "n": B64URL_TEXT | st.binary(max_size=300).map(b64),
        "e": st.sampled_from(["AQAB", "Aw", "AA", "", "AQ"]) | JSON_VALUES,
        "use": st.sampled_from(["sig", "enc"]) | JSON_VALUES,
        "key_ops": JSON_VALUES,
    },
)


@given(
    st.dictionaries(st.sampled_from(MEMBER_NAMES) | st.text(max_size=8), JSON_VALUES)
)
def test_jwk_random_json_object_raises_only_resolution_errors(jwk):
    try:
        checked = validate_public_jwk(jwk)
    except ResolutionError:
        return
    assert isinstance(checked, PublicJwk)


@given(JWK_SHAPED)
def test_jwk_random_jwk_shaped_object_raises_only_invalid_public_key_errors(jwk):
    try:
        checked = validate_public_jwk(jwk)
    except InvalidPublicKeyError:
        return
    # Whatever got through really is the key it claims to be.
    assert checked.kty == jwk["kty"]
    assert all(jwk[name] == value for name, value in checked.members().items())


@given(st.binary(min_size=32, max_size=32))
def test_jwk_accepts_every_honest_ed25519_key(seed):
    public = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()
    checked = validate_public_jwk({"kty": "OKP", "crv": "Ed25519", "x": b64(public)})
    assert isinstance(checked.key, Ed25519PublicKey)
    assert checked.key.public_bytes_raw() == public
