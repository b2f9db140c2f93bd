"""Tests for resolver.keys: varints, base58btc multibase, Multikey key checks."""

from __future__ import annotations

import json
from typing import Any

import base58
import nacl.bindings
import nacl.signing
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import (
    X25519PrivateKey,
    X25519PublicKey,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from resolver.errors import (
    InvalidDIDError,
    InvalidPublicKeyError,
    InvalidPublicKeyLengthError,
    ResolutionError,
    UnsupportedPublicKeyTypeError,
)
from resolver.keys import (
    KEY_CODECS,
    MAX_MULTIKEY_LENGTH,
    Multibase,
    PublicKey,
    decode_multibase,
    decode_multikey,
    decode_varint,
    ed25519_to_x25519,
    encode_multibase,
    encode_multikey,
    encode_varint,
    key_codec,
    public_key_from_raw,
)
from tests.helpers.encoding import unb64
from tests.helpers.paths import VECTORS

DID_KEY = VECTORS / "did-key"
G1G2_DID = (
    "did:key:z5TcCmGLu7HrkT5FTnejDTKcH11LPMQLXMPHTRyzY4KdRvqpPLprH7s1ddWFD38cAkZo"
    "iDtofUmJVZyEweUTfwjG5H3znk3ir4tzmuDBUSNbNQ7U6jJqj5bkQLKRaQB1bpFJKGLEq3EBwsfP"
    "utL5D7p78kFeLNHznqbf5oGpik7ScaDbGLaTLh1Jtadi6VmPNNd44Cojk"
)
EXPECTED_TYPE = {
    "ed25519-x25519.json": "ed25519-pub",
    "x25519.json": "x25519-pub",
    "secp256k1.json": "secp256k1-pub",
    "rsa.json": "rsa-pub",
    "bls12381.json": "bls12_381-g2-pub",
}
NIST_PREFIX_TYPE = {"zDn": "p256-pub", "z82": "p384-pub", "z2J": "p521-pub"}


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DID_KEY / name).read_text())
    if list(data) == ["didDocument"]:  # x25519.json nests its DIDs one level down
        data = data["didDocument"]
    return data


def vector_cases() -> list[Any]:
    """Every supported did:key of the vectors, with the key material they show."""
    cases = []
    for name in sorted(p.name for p in DID_KEY.glob("*.json")):
        for did, entry in load(name).items():
            if did == G1G2_DID:
                continue  # an unsupported combined type, tested on its own
            cases.append(pytest.param(name, did, entry, id=f"{name}:{did[8:20]}"))
    return cases


def vector_material(entry: dict[str, Any]) -> dict[str, Any]:
    """The object holding publicKeyBase58 or publicKeyJwk in a vector entry."""
    for candidate in (
        entry.get("verificationKeyPair"),
        entry.get("verificationMethod"),
        entry,
    ):
        if isinstance(candidate, list):
            candidate = candidate[0]
        if isinstance(candidate, dict) and (
            "publicKeyBase58" in candidate or "publicKeyJwk" in candidate
        ):
            return candidate
    raise AssertionError("vector entry without key material")


def multikey(code: int, raw: bytes) -> Multibase:
    """Build a Multikey value by hand, without the module's checks."""
    return encode_multibase(encode_varint(code) + raw)


def raises_exactly(
    cls: type[Exception], func: Any, *args: Any, match: str | None = None
) -> None:
    """Assert ``func`` raises ``cls`` itself, not a subclass (the tree nests)."""
    with pytest.raises(cls, match=match) as info:
        func(*args)
    assert type(info.value) is cls


# -- vectors ----------------------------------------------------------------


@pytest.mark.parametrize(("name", "did", "entry"), vector_cases())
def test_vector_key_material_matches(name, did, entry):
    value = did.removeprefix("did:key:")
    key = decode_multikey(value)

    expected_type = EXPECTED_TYPE.get(name) or NIST_PREFIX_TYPE[value[:3]]
    assert key.key_type == expected_type
    assert key.codec == key_codec(expected_type).code
    assert key.multibase == value
    material = vector_material(entry)
    if "publicKeyBase58" in material:
        assert key.raw == base58.b58decode(material["publicKeyBase58"])
    else:
        vector_jwk = material["publicKeyJwk"]
        assert key.jwk is not None
        assert dict(key.jwk) == vector_jwk


@pytest.mark.parametrize(
    ("did", "entry"),
    list(load("ed25519-x25519.json").items()),
    ids=[did[8:20] for did in load("ed25519-x25519.json")],
)
def test_vector_ed25519_converts_to_its_x25519_key(did, entry):
    key = decode_multikey(did.removeprefix("did:key:"))
    derived = ed25519_to_x25519(key)

    agreement = entry["keyAgreementKeyPair"]
    assert derived.key_type == "x25519-pub"
    assert derived.multibase == agreement["id"].split("#")[1]
    if "publicKeyBase58" in agreement:
        assert derived.raw == base58.b58decode(agreement["publicKeyBase58"])
    else:
        assert derived.jwk is not None
        assert dict(derived.jwk) == agreement["publicKeyJwk"]


def test_vector_bls12381_g1_key_is_length_checked_only():
    entry = load("bls12381.json")[G1G2_DID]["verificationKeyPair"]
    key = decode_multikey(entry["id"].split("#")[1])

    assert key.key_type == "bls12_381-g1-pub"
    assert key.raw == unb64(entry["publicKeyJwk"]["x"])
    assert key.checked == "length-only"
    assert key.jwk is None


def test_vector_bls12381_g2_key_is_length_checked_only():
    did = next(iter(load("bls12381.json")))
    key = decode_multikey(did.removeprefix("did:key:"))
    assert key.checked == "length-only"
    assert key.jwk is None


@pytest.mark.parametrize(
    "name", ["ed25519-x25519.json", "x25519.json", "secp256k1.json", "rsa.json"]
)
def test_checked_keys_say_fully_checked(name):
    did = next(iter(load(name)))
    assert decode_multikey(did.removeprefix("did:key:")).checked == "full"


def test_multikey_rejects_bls12381_g1g2_combined_key():
    raises_exactly(
        UnsupportedPublicKeyTypeError,
        decode_multikey,
        G1G2_DID.removeprefix("did:key:"),
        match="0xee",
    )


def test_vector_ed25519_key_verifies_a_signature_from_its_seed():
    did, entry = next(iter(load("ed25519-x25519.json").items()))
    signer = nacl.signing.SigningKey(bytes.fromhex(entry["seed"]))
    signature = signer.sign(b"didtrust").signature

    public = decode_multikey(did.removeprefix("did:key:")).to_cryptography()
    assert isinstance(public, Ed25519PublicKey)
    public.verify(signature, b"didtrust")


def test_vector_p256_key_verifies_a_signature_from_its_private_jwk():
    did, entry = next(iter(load("nist-curves.json").items()))
    d = int.from_bytes(unb64(entry["verificationMethod"]["privateKeyJwk"]["d"]))
    private = ec.derive_private_key(d, ec.SECP256R1())
    signature = private.sign(b"didtrust", ec.ECDSA(hashes.SHA256()))

    public = decode_multikey(did.removeprefix("did:key:")).to_cryptography()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    public.verify(signature, b"didtrust", ec.ECDSA(hashes.SHA256()))


def test_vector_rsa_key_loads_into_cryptography_with_its_numbers():
    did, entry = next(iter(load("rsa.json").items()))
    public = decode_multikey(did.removeprefix("did:key:")).to_cryptography()
    assert isinstance(public, rsa.RSAPublicKey)
    assert public.public_numbers().n == int.from_bytes(
        unb64(entry["publicKeyJwk"]["n"])
    )


def test_vector_x25519_key_agrees_on_a_shared_secret():
    did, entry = next(iter(load("ed25519-x25519.json").items()))
    private = X25519PrivateKey.from_private_bytes(
        base58.b58decode(entry["keyAgreementKeyPair"]["privateKeyBase58"])
    )
    peer = X25519PrivateKey.generate()

    key = ed25519_to_x25519(decode_multikey(did.removeprefix("did:key:")))
    public = key.to_cryptography()
    assert isinstance(public, X25519PublicKey)
    assert peer.exchange(public) == private.exchange(peer.public_key())


def test_ed25519_to_x25519_rejects_unchecked_hand_built_key():
    forged = PublicKey(
        key_type="ed25519-pub",
        codec=0xED,
        raw=bytes(32),
        multibase=multikey(0xED, bytes(32)),
        checked="full",
    )
    raises_exactly(InvalidPublicKeyError, ed25519_to_x25519, forged, match="convert")


def test_bls_key_cannot_load_into_cryptography():
    did = next(iter(load("bls12381.json")))
    key = decode_multikey(did.removeprefix("did:key:"))
    raises_exactly(UnsupportedPublicKeyTypeError, key.to_cryptography)


@pytest.mark.parametrize(("name", "did", "entry"), vector_cases())
def test_encode_multikey_round_trips_vector_keys(name, did, entry):
    key = decode_multikey(did.removeprefix("did:key:"))
    assert encode_multikey(key.key_type, key.raw) == key.multibase
    assert public_key_from_raw(key.key_type, key.raw) == key


# -- varints ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        (0, b"\x00"),
        (0x7F, b"\x7f"),
        (0xED, b"\xed\x01"),
        (0x1200, b"\x80\x24"),
        (0x1205, b"\x85\x24"),
        ((1 << 63) - 1, b"\xff" * 8 + b"\x7f"),
    ],
    ids=["zero", "one-byte-max", "ed25519", "p256", "rsa", "63-bit-max"],
)
def test_varint_known_encodings(value, encoded):
    assert encode_varint(value) == encoded
    assert decode_varint(encoded + b"rest") == (value, len(encoded))


@given(st.integers(min_value=0, max_value=(1 << 63) - 1))
def test_varint_round_trips(value):
    encoded = encode_varint(value)
    assert decode_varint(encoded) == (value, len(encoded))


@pytest.mark.parametrize("value", [-1, 1 << 63], ids=["negative", "64-bit"])
def test_encode_varint_rejects_out_of_range(value):
    with pytest.raises(ValueError, match="outside"):
        encode_varint(value)


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"", "empty"),
        (b"\x80", "truncated"),
        (b"\xed", "truncated"),
        (b"\xed\x81\x00", "minimally"),
        (b"\x80\x00", "minimally"),
        (b"\xff" * 9 + b"\x01", "longer than 9"),
    ],
    ids=[
        "empty",
        "lone-continuation",
        "ed25519-header-cut",
        "padded-ed25519",
        "padded-zero",
        "ten-bytes",
    ],
)
def test_varint_rejects_malformed(data, match):
    raises_exactly(InvalidPublicKeyError, decode_varint, data, match=match)


def test_varint_decodes_at_offset():
    assert decode_varint(b"xx\x80\x24", 2) == (0x1200, 4)


# -- multibase --------------------------------------------------------------


@given(st.binary(min_size=1, max_size=80))
def test_multibase_round_trips(data):
    encoded = encode_multibase(data)
    assert encoded.startswith("z")
    assert decode_multibase(encoded) == data


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ("", "empty"),
        ("z", "no data"),
        ("mAe0BO2on", "prefix 'm'"),
        ("uAe0BO2on", "prefix 'u'"),
        ("f01ed", "prefix 'f'"),
        ("Z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp", "prefix 'Z'"),
        ("6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp", "prefix '6'"),
    ],
    ids=[
        "empty",
        "prefix-only",
        "base64",
        "base64url",
        "base16",
        "uppercase-z",
        "missing-prefix",
    ],
)
def test_multikey_rejects_bad_multibase(value, match):
    raises_exactly(InvalidDIDError, decode_multikey, value, match=match)


@pytest.mark.parametrize("char", ["0", "O", "I", "l", "+", "/", "=", "%", "é"])
def test_multikey_rejects_character_outside_base58_alphabet(char):
    value = "z6MkiTBz1ymuepAQ4H" + char + "EHYSF1H8quG5GLVVQR3djdX3mDooWp"
    raises_exactly(InvalidDIDError, decode_multikey, value, match="position 18")


def test_multikey_rejects_non_string():
    raises_exactly(InvalidDIDError, decode_multikey, b"z6Mk")


def test_multikey_rejects_overlong_value_before_decoding():
    value = "z" + "2" * MAX_MULTIKEY_LENGTH
    raises_exactly(
        InvalidPublicKeyLengthError, decode_multikey, value, match=str(len(value))
    )


# -- multicodec header ------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "shown"),
    [
        (0x00, "0x0"),
        (0x55, "0x55"),
        (0xEE, "0xee"),
        (0x1203, "0x1203"),
        (0x1300, "0x1300"),
    ],
    ids=["identity", "raw", "bls-g1g2", "0x1203", "ed25519-private"],
)
def test_multikey_rejects_unknown_multicodec(code, shown):
    value = multikey(code, bytes(32))
    raises_exactly(UnsupportedPublicKeyTypeError, decode_multikey, value, match=shown)


def test_multikey_rejects_truncated_varint():
    raises_exactly(
        InvalidPublicKeyError,
        decode_multikey,
        encode_multibase(b"\x80"),
        match="truncated",
    )


def test_multikey_rejects_leading_zero_bytes_as_identity_codec():
    # base58 '1's are zero bytes: a zero header is the identity multicodec.
    raises_exactly(UnsupportedPublicKeyTypeError, decode_multikey, "z1")


def test_multikey_rejects_padded_varint_header():
    key = decode_multikey(
        next(iter(load("ed25519-x25519.json"))).removeprefix("did:key:")
    )
    value = encode_multibase(b"\xed\x81\x00" + key.raw)
    raises_exactly(InvalidPublicKeyError, decode_multikey, value, match="minimally")


def test_key_codec_lookup_by_name_and_code():
    assert key_codec("p384-pub") is key_codec(0x1201)
    raises_exactly(UnsupportedPublicKeyTypeError, key_codec, "ed448-pub")


# -- lengths ----------------------------------------------------------------

FIXED = sorted((c for c in KEY_CODECS.values() if c.length), key=lambda c: c.code)


@pytest.mark.parametrize("codec", FIXED, ids=[c.name for c in FIXED])
@pytest.mark.parametrize("delta", [-1, 1, -10_000], ids=["short", "long", "empty"])
def test_multikey_rejects_key_of_wrong_length(codec, delta):
    assert codec.length is not None
    size = max(0, codec.length + delta)
    raw = b"\x02" + bytes(size - 1) if size else b""
    raises_exactly(
        InvalidPublicKeyLengthError,
        decode_multikey,
        multikey(codec.code, raw),
        match=f"{codec.name} key is {size} bytes; expected {codec.length}",
    )


# -- key material -----------------------------------------------------------

EC_TYPES = {
    "secp256k1-pub": ec.SECP256K1(),
    "p256-pub": ec.SECP256R1(),
    "p384-pub": ec.SECP384R1(),
    "p521-pub": ec.SECP521R1(),
}


def off_curve_x(curve: ec.EllipticCurve) -> bytes:
    """The first compressed point with a small x that cryptography refuses."""
    size = (curve.key_size + 7) // 8
    for x in range(1, 100):
        point = b"\x02" + x.to_bytes(size, "big")
        try:
            ec.EllipticCurvePublicKey.from_encoded_point(curve, point)
        except ValueError:
            return point
    raise AssertionError("no off-curve x below 100")


@pytest.mark.parametrize("key_type", list(EC_TYPES))
def test_multikey_rejects_point_not_on_curve(key_type):
    point = off_curve_x(EC_TYPES[key_type])
    raises_exactly(
        InvalidPublicKeyError,
        decode_multikey,
        multikey(key_codec(key_type).code, point),
        match="not a point on the curve",
    )


@pytest.mark.parametrize("key_type", list(EC_TYPES))
def test_multikey_rejects_x_coordinate_above_field_prime(key_type):
    size = (EC_TYPES[key_type].key_size + 7) // 8
    point = b"\x03" + b"\xff" * size
    raises_exactly(
        InvalidPublicKeyError,
        decode_multikey,
        multikey(key_codec(key_type).code, point),
    )


@pytest.mark.parametrize(
    "prefix", [0x04, 0x00, 0x06], ids=["uncompressed", "zero", "hybrid"]
)
def test_multikey_rejects_ec_point_without_compressed_prefix(prefix):
    did = next(iter(load("nist-curves.json")))
    raw = decode_multikey(did.removeprefix("did:key:")).raw
    raises_exactly(
        InvalidPublicKeyError,
        decode_multikey,
        multikey(0x1200, bytes([prefix]) + raw[1:]),
        match="compressed",
    )


def test_ec_jwk_has_decompressed_coordinates_of_the_curve_size():
    did = next(d for d in load("nist-curves.json") if d.startswith("did:key:z2J"))
    key = decode_multikey(did.removeprefix("did:key:"))
    assert key.jwk is not None
    assert (key.jwk["kty"], key.jwk["crv"]) == ("EC", "P-521")
    assert len(unb64(key.jwk["x"])) == len(unb64(key.jwk["y"])) == 66
    assert unb64(key.jwk["x"]) == key.raw[1:]
    assert unb64(key.jwk["y"])[-1] % 2 == key.raw[0] - 2  # parity of y


ED25519_P = (1 << 255) - 19


@pytest.mark.parametrize(
    "raw",
    [
        bytes(32),  # y = 0: a point of order 4
        b"\x01" + bytes(31),  # the identity
        b"\xec" + b"\xff" * 30 + b"\x7f",  # y = p - 1: order 2
        ED25519_P.to_bytes(32, "little"),  # y = p: non-canonical 0
        ((1 << 255) - 1).to_bytes(32, "little"),  # y above p
    ],
    ids=["order-4", "identity", "order-2", "non-canonical", "y-above-p"],
)
def test_ed25519_key_rejects_small_order_or_non_canonical_point(raw):
    raises_exactly(
        InvalidPublicKeyError,
        decode_multikey,
        multikey(0xED, raw),
        match="not a valid point",
    )


def test_ed25519_key_rejects_point_off_the_curve():
    # y = 2 has no x on edwards25519 (libsodium refuses it; checked below).
    raw = (2).to_bytes(32, "little")
    assert not nacl.bindings.crypto_core_ed25519_is_valid_point(raw)
    raises_exactly(InvalidPublicKeyError, decode_multikey, multikey(0xED, raw))


@pytest.mark.parametrize(
    "raw",
    [bytes(32), b"\x01" + bytes(31), b"\xec" + b"\xff" * 30 + b"\x7f"],
    ids=["u=0", "u=1", "u=p-1"],
)
def test_x25519_key_rejects_small_order_point(raw):
    raises_exactly(
        InvalidPublicKeyError, decode_multikey, multikey(0xEC, raw), match="small order"
    )


def test_ed25519_to_x25519_rejects_other_key_types():
    did = next(iter(load("secp256k1.json")))
    key = decode_multikey(did.removeprefix("did:key:"))
    raises_exactly(UnsupportedPublicKeyTypeError, ed25519_to_x25519, key)


# -- RSA --------------------------------------------------------------------


def der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def der_int(value: int, *, pad: bool = False) -> bytes:
    body = value.to_bytes(value.bit_length() // 8 + 1, "big")  # sign byte if needed
    if pad:
        body = b"\x00" + body
    return b"\x02" + der_length(len(body)) + body


def der_seq(*items: bytes) -> bytes:
    body = b"".join(items)
    return b"\x30" + der_length(len(body)) + body


def vector_rsa() -> tuple[int, int, bytes]:
    did = next(iter(load("rsa.json")))
    raw = base58.b58decode(did.removeprefix("did:key:z"))[2:]
    public = serialization.load_der_public_key(raw)
    assert isinstance(public, rsa.RSAPublicKey)
    numbers = public.public_numbers()
    return numbers.n, numbers.e, raw


def test_rsa_der_builder_matches_the_vector():
    n, e, raw = vector_rsa()
    assert der_seq(der_int(n), der_int(e)) == raw


def test_rsa_key_rejects_trailing_bytes_after_der():
    _, _, raw = vector_rsa()
    raises_exactly(
        InvalidPublicKeyError,
        decode_multikey,
        multikey(0x1205, raw + b"\x00\x01"),
        match="2 trailing bytes",
    )


def test_rsa_key_rejects_truncated_der():
    _, _, raw = vector_rsa()
    raises_exactly(
        InvalidPublicKeyError,
        decode_multikey,
        multikey(0x1205, raw[:-1]),
        match="truncated",
    )


def test_rsa_key_rejects_subject_public_key_info_wrapping():
    n, e, _ = vector_rsa()
    spki = (
        rsa.RSAPublicNumbers(e, n)
        .public_key()
        .public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    raises_exactly(
        InvalidPublicKeyError, decode_multikey, multikey(0x1205, spki), match="PKCS#1"
    )


def test_rsa_key_rejects_ec_key_in_rsa_codec():
    private = ec.derive_private_key(7, ec.SECP256R1())
    spki = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    raises_exactly(InvalidPublicKeyError, decode_multikey, multikey(0x1205, spki))


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x02\x01\x05",
        b"\x30\x80\x00\x00",
        b"\x30\x85\x00\x00\x00\x00\x01\x00",
        der_seq(der_int(5)),
    ],
    ids=[
        "empty",
        "not-a-sequence",
        "indefinite-length",
        "five-byte-length",
        "one-integer",
    ],
)
def test_rsa_key_rejects_malformed_der(raw):
    raises_exactly(InvalidPublicKeyError, decode_multikey, multikey(0x1205, raw))


def test_rsa_key_rejects_non_minimal_integer_encoding():
    n, e, _ = vector_rsa()
    raw = der_seq(der_int(n, pad=True), der_int(e))
    raises_exactly(InvalidPublicKeyError, decode_multikey, multikey(0x1205, raw))


@pytest.mark.parametrize(
    ("bits", "match"),
    [(1024, "1024 bits"), (2047, "2047 bits"), (8200, "8200 bits")],
    ids=["1024", "just-below-2048", "above-8192"],
)
def test_rsa_key_rejects_modulus_outside_2048_to_8192_bits(bits, match):
    n = (1 << (bits - 1)) | 1
    raw = der_seq(der_int(n), der_int(65537))
    raises_exactly(
        InvalidPublicKeyLengthError, decode_multikey, multikey(0x1205, raw), match=match
    )


@pytest.mark.parametrize(
    "exponent", [1, 2, 65536, 1 << 300 | 1], ids=["one", "two", "even", "huge"]
)
def test_rsa_key_rejects_bad_exponent(exponent):
    n, _, _ = vector_rsa()
    raw = der_seq(der_int(n), der_int(exponent))
    # cryptography refuses some of these itself; our own check catches the rest.
    raises_exactly(
        InvalidPublicKeyError,
        decode_multikey,
        multikey(0x1205, raw),
        match="exponent|not a valid DER",
    )


def test_rsa_key_rejects_even_modulus():
    n, e, _ = vector_rsa()
    raw = der_seq(der_int(n - 1), der_int(e))
    raises_exactly(
        InvalidPublicKeyError, decode_multikey, multikey(0x1205, raw), match="even"
    )


# -- encoding and values ----------------------------------------------------


def test_encode_multikey_rejects_invalid_key_material():
    raises_exactly(InvalidPublicKeyError, encode_multikey, "ed25519-pub", bytes(32))
    raises_exactly(InvalidPublicKeyLengthError, encode_multikey, "p256-pub", bytes(32))
    raises_exactly(
        UnsupportedPublicKeyTypeError, encode_multikey, "ed448-pub", bytes(57)
    )


def test_public_key_is_hashable_and_compares_by_type_and_bytes():
    did = next(iter(load("ed25519-x25519.json")))
    first = decode_multikey(did.removeprefix("did:key:"))
    second = decode_multikey(did.removeprefix("did:key:"))
    assert first == second
    assert hash(first) == hash(second)
    assert len({first, second}) == 1


def test_public_key_jwk_is_read_only_and_copies_are_fresh():
    did = next(iter(load("ed25519-x25519.json")))
    key = decode_multikey(did.removeprefix("did:key:"))
    assert key.jwk is not None
    with pytest.raises(TypeError):
        key.jwk["x"] = "tampered"  # type: ignore[index]
    copy = key.jwk_dict()
    assert copy is not None
    copy["x"] = "tampered"
    assert key.jwk["x"] != "tampered"


def test_only_x25519_keys_are_key_agreement_only():
    assert [c.name for c in KEY_CODECS.values() if c.key_agreement_only] == [
        "x25519-pub"
    ]


# -- properties -------------------------------------------------------------


def decode_or_resolution_error(value: str) -> PublicKey | None:
    try:
        return decode_multikey(value)
    except ResolutionError:
        return None


@settings(max_examples=300)
@given(st.text(max_size=120))
def test_multikey_random_text_raises_only_resolution_errors(text):
    decode_or_resolution_error(text)
    decode_or_resolution_error("z" + text)


@settings(max_examples=300)
@given(st.binary(max_size=140))
def test_multikey_random_bytes_raise_only_resolution_errors(data):
    decode_or_resolution_error(encode_multibase(data))


@settings(max_examples=400)
@given(
    st.one_of(st.sampled_from(sorted(KEY_CODECS)), st.integers(0, (1 << 63) - 1)),
    st.one_of(
        st.binary(max_size=140),
        st.sampled_from([32, 33, 48, 49, 67, 96]).flatmap(
            lambda n: st.binary(min_size=n, max_size=n)
        ),
    ),
)
def test_multikey_random_codec_and_key_raise_only_resolution_errors(code, raw):
    key = decode_or_resolution_error(multikey(code, raw))
    if key is not None:
        assert key.codec == code
        assert key.raw == raw
        assert decode_multikey(key.multibase) == key


@settings(max_examples=50)
@given(st.binary(min_size=32, max_size=32))
def test_ed25519_keys_from_any_seed_round_trip_and_convert(seed):
    raw = bytes(nacl.signing.SigningKey(seed).verify_key)
    key = decode_multikey(encode_multikey("ed25519-pub", raw))
    assert key.raw == raw
    assert ed25519_to_x25519(
        key
    ).raw == nacl.bindings.crypto_sign_ed25519_pk_to_curve25519(raw)


@settings(max_examples=20)
@given(st.sampled_from(sorted(EC_TYPES)), st.integers(min_value=1, max_value=1 << 200))
def test_ec_keys_round_trip_through_multikey(key_type, secret):
    public = ec.derive_private_key(secret, EC_TYPES[key_type]).public_key()
    compressed = public.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint
    )
    key = decode_multikey(encode_multikey(key_type, compressed))
    numbers = public.public_numbers()
    assert key.jwk is not None
    assert int.from_bytes(unb64(key.jwk["x"])) == numbers.x
    assert int.from_bytes(unb64(key.jwk["y"])) == numbers.y
