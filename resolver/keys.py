"""Public key codecs: multibase, multicodec varints and Multikey values.

A Multikey value (what a ``did:key`` carries, and what ``publicKeyMultibase``
holds) is ``"z" + base58btc(varint(multicodec) + raw key bytes)``. This module
decodes and encodes such values and checks that the key material really is a
key of the declared type:

========================  =======  ============================================
multicodec                 code     raw bytes and check
========================  =======  ============================================
``ed25519-pub``            0xed     32; a canonical point of the prime-order
                                    subgroup (libsodium, through PyNaCl)
``x25519-pub``             0xec     32; not of small order (libsodium)
``secp256k1-pub``          0xe7     33, compressed SEC1 point on the curve
``p256-pub``               0x1200   33, compressed SEC1 point on the curve
``p384-pub``               0x1201   49, compressed SEC1 point on the curve
``p521-pub``               0x1202   67, compressed SEC1 point on the curve
``rsa-pub``                0x1205   DER PKCS#1 ``RSAPublicKey``, 2048 to 8192
                                    bit modulus
``bls12_381-g1-pub``       0xea     48; length only
``bls12_381-g2-pub``       0xeb     96; length only
========================  =======  ============================================

EC points are decompressed and checked by ``cryptography``; no curve arithmetic
is done here. BLS12-381 keys are only length-checked because none of our
dependencies can check those points: such keys say so in ``PublicKey.checked``.

Specifications: the did:key Method v0.9 (W3C CCG), "The did:key Format" and the
"Decode Public Key", "Signature Method Creation" and "Derive Encryption Key"
algorithms, with its error names; multiformats unsigned-varint and multibase;
the multicodec table; W3C Controlled Identifiers v1.0, "Multikey"; JWK per
RFC 7517, RFC 7518 §6 and RFC 8037, with ``secp256k1`` per RFC 8812.

This module is pure and synchronous. It does not build DID documents
(``drivers/key.py`` does), parse DIDs, or verify signatures.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, Literal

import nacl.bindings
import nacl.exceptions
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa, x25519

from resolver import multibase
from resolver.errors import (
    InvalidDIDError,
    InvalidPublicKeyError,
    InvalidPublicKeyLengthError,
    UnsupportedPublicKeyTypeError,
)
from resolver.multibase import Multibase, b64url_encode, encode_multibase

__all__ = [
    "KEY_CODECS",
    "MAX_MULTIKEY_LENGTH",
    "RSA_MAX_BITS",
    "RSA_MIN_BITS",
    "CryptographyPublicKey",
    "KeyCheck",
    "KeyCodec",
    "Multibase",
    "PublicKey",
    "decode_multibase",
    "decode_multikey",
    "decode_varint",
    "ed25519_to_x25519",
    "encode_multibase",
    "encode_multikey",
    "encode_varint",
    "key_codec",
    "public_key_from_raw",
]

KeyCheck = Literal["full", "length-only"]
"""How far the key material was checked: ``"full"`` means a cryptographic
library accepted it as a key of its type; ``"length-only"`` means only its
length was checked (BLS12-381)."""

CryptographyPublicKey = (
    ed25519.Ed25519PublicKey
    | x25519.X25519PublicKey
    | ec.EllipticCurvePublicKey
    | rsa.RSAPublicKey
)
"""The ``cryptography`` key types ``PublicKey.to_cryptography`` returns."""


MAX_MULTIKEY_LENGTH: Final = 2048
"""Longest Multikey value decoded, in characters. An 8192-bit RSA key, the
largest key accepted, takes about 1,430; the cap keeps base58 decoding (which
is quadratic in the length) cheap on hostile input."""

MAX_VARINT_BYTES: Final = 9
"""The multiformats unsigned-varint limit: at most 9 bytes, 63 bits."""

RSA_MIN_BITS: Final = 2048
"""Smallest RSA modulus accepted. The did:key spec lists 2048-bit keys."""
RSA_MAX_BITS: Final = 8192
"""Largest RSA modulus accepted. The did:key spec lists up to 4096 bits; larger
keys are accepted up to this bound, which stops absurd sizes."""


@dataclass(frozen=True, slots=True)
class KeyCodec:
    """A public key type from the multicodec table that this module supports."""

    name: str
    """The multicodec name, e.g. ``"ed25519-pub"``."""
    code: int
    """The multicodec code, e.g. ``0xed``."""
    length: int | None
    """The raw key length in bytes, or ``None`` when it varies (RSA)."""
    key_agreement_only: bool = False
    """True for key agreement keys (X25519), which cannot sign."""


KEY_CODECS: Final[Mapping[int, KeyCodec]] = MappingProxyType(
    {
        c.code: c
        for c in (
            KeyCodec("ed25519-pub", 0xED, 32),
            KeyCodec("x25519-pub", 0xEC, 32, key_agreement_only=True),
            KeyCodec("secp256k1-pub", 0xE7, 33),
            KeyCodec("p256-pub", 0x1200, 33),
            KeyCodec("p384-pub", 0x1201, 49),
            KeyCodec("p521-pub", 0x1202, 67),
            KeyCodec("rsa-pub", 0x1205, None),
            KeyCodec("bls12_381-g1-pub", 0xEA, 48),
            KeyCodec("bls12_381-g2-pub", 0xEB, 96),
        )
    }
)
"""The supported public key types, by multicodec code."""

_CODECS_BY_NAME: Final[Mapping[str, KeyCodec]] = MappingProxyType(
    {c.name: c for c in KEY_CODECS.values()}
)

# multicodec name -> (cryptography curve, JWK "crv"); JWK names per RFC 7518
# §6.2.1.1 and RFC 8812 §3.1.
_EC_CURVES: Final[Mapping[str, tuple[ec.EllipticCurve, str]]] = MappingProxyType(
    {
        "secp256k1-pub": (ec.SECP256K1(), "secp256k1"),
        "p256-pub": (ec.SECP256R1(), "P-256"),
        "p384-pub": (ec.SECP384R1(), "P-384"),
        "p521-pub": (ec.SECP521R1(), "P-521"),
    }
)

# Any fixed scalar works for the small-order test: libsodium clamps it to a
# multiple of the cofactor 8, which sends every point of small order to zero.
_SMALL_ORDER_PROBE: Final = bytes(range(1, 33))


@dataclass(frozen=True, slots=True)
class PublicKey:
    """A decoded, checked public key.

    Get one from ``decode_multikey`` or ``public_key_from_raw``: building it
    directly skips every check. Two keys are equal when their type and bytes
    are; ``jwk`` is derived from them and takes no part in comparison or
    hashing.
    """

    key_type: str
    """The multicodec name, e.g. ``"p256-pub"``."""
    codec: int
    """The multicodec code, e.g. ``0x1200``."""
    raw: bytes
    """The raw key bytes after the multicodec header: 32 bytes for Ed25519, a
    compressed point for EC keys, DER PKCS#1 ``RSAPublicKey`` for RSA."""
    multibase: Multibase
    """The key's Multikey value, ``z`` + base58btc(varint(codec) + raw)."""
    checked: KeyCheck
    """How far the key material was checked (see ``KeyCheck``)."""
    jwk: Mapping[str, str] | None = field(default=None, compare=False, hash=False)
    """The public JWK (read-only), or ``None`` for types without a JWK form
    (BLS12-381). EC keys carry decompressed ``x`` and ``y``."""

    @property
    def key_agreement_only(self) -> bool:
        """True for key agreement keys (X25519), which cannot sign."""
        return KEY_CODECS[self.codec].key_agreement_only

    def jwk_dict(self) -> dict[str, str] | None:
        """Return a fresh, mutable copy of ``jwk``, e.g. to put in a document."""
        return None if self.jwk is None else dict(self.jwk)

    def to_cryptography(self) -> CryptographyPublicKey:
        """Load the key into the matching ``cryptography`` public key type.

        Raises:
            UnsupportedPublicKeyTypeError: the type has no ``cryptography``
                form (BLS12-381).
        """
        if self.key_type == "ed25519-pub":
            return ed25519.Ed25519PublicKey.from_public_bytes(self.raw)
        if self.key_type == "x25519-pub":
            return x25519.X25519PublicKey.from_public_bytes(self.raw)
        if self.key_type in _EC_CURVES:
            curve, _ = _EC_CURVES[self.key_type]
            return ec.EllipticCurvePublicKey.from_encoded_point(curve, self.raw)
        if self.key_type == "rsa-pub":
            loaded = serialization.load_der_public_key(self.raw)
            if isinstance(loaded, rsa.RSAPublicKey):
                return loaded
        raise UnsupportedPublicKeyTypeError(
            f"{self.key_type} keys cannot be loaded into cryptography"
        )


# -- varints (multiformats unsigned-varint) ---------------------------------


def decode_varint(data: bytes, offset: int = 0) -> tuple[int, int]:
    """Decode an unsigned varint starting at ``data[offset]``.

    Returns:
        The value and the offset of the first byte after the varint.

    Raises:
        InvalidPublicKeyError: the varint is empty, truncated, longer than 9
            bytes, or not minimally encoded.
    """
    value = 0
    for i in range(MAX_VARINT_BYTES):
        pos = offset + i
        if pos >= len(data):
            if i == 0:
                raise InvalidPublicKeyError("no multicodec header: the value is empty")
            raise InvalidPublicKeyError(f"truncated multicodec varint after {i} bytes")
        byte = data[pos]
        value |= (byte & 0x7F) << (7 * i)
        if not byte & 0x80:
            # A last byte of 0 (after the first) means a shorter form existed.
            if byte == 0 and i > 0:
                raise InvalidPublicKeyError(
                    "multicodec varint is not minimally encoded"
                )
            return value, pos + 1
    raise InvalidPublicKeyError(
        f"multicodec varint is longer than {MAX_VARINT_BYTES} bytes"
    )


def encode_varint(value: int) -> bytes:
    """Encode ``value`` as a minimal unsigned varint.

    Raises:
        ValueError: ``value`` is negative or needs more than 63 bits.
    """
    if value < 0 or value >= 1 << 63:
        raise ValueError(f"varint value {value} is outside 0 to 2^63-1")
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


# -- multibase (base58btc only) ---------------------------------------------


def decode_multibase(value: str) -> bytes:
    """Decode a base58btc multibase string (``z`` prefix).

    Only base58btc is accepted: it is the only encoding did:key and Multikey
    allow (``resolver.multibase.decode_multibase``, with this module's error).

    Raises:
        InvalidDIDError: ``value`` is empty, has another multibase prefix, has
            nothing after the prefix, or has a character outside the base58btc
            alphabet.
    """
    try:
        return multibase.decode_multibase(value)
    except ValueError as err:
        raise InvalidDIDError(str(err)) from None


# -- Multikey ---------------------------------------------------------------


def key_codec(key_type: str | int) -> KeyCodec:
    """Look up a supported key type by multicodec name or code.

    Raises:
        UnsupportedPublicKeyTypeError: the type is not supported.
    """
    codec = (
        KEY_CODECS.get(key_type)
        if isinstance(key_type, int)
        else _CODECS_BY_NAME.get(key_type)
    )
    if codec is None:
        shown = f"0x{key_type:x}" if isinstance(key_type, int) else repr(key_type)
        raise UnsupportedPublicKeyTypeError(
            f"multicodec {shown} is not a supported public key type"
        )
    return codec


def decode_multikey(multibase: str) -> PublicKey:
    """Decode and check a Multikey value, e.g. the method-specific id of a did:key.

    Follows the did:key "Decode Public Key" algorithm, then checks the key
    length and the key material as "Signature Method Creation" asks.

    Raises:
        InvalidDIDError: not a base58btc multibase string (wrong prefix, bad
            alphabet, empty).
        InvalidPublicKeyLengthError: longer than ``MAX_MULTIKEY_LENGTH``, or
            the key has the wrong length for its type.
        InvalidPublicKeyError: truncated or malformed multicodec varint, or
            key material that is not a valid key of its type.
        UnsupportedPublicKeyTypeError: the multicodec is not a supported
            public key type.
    """
    if isinstance(multibase, str) and len(multibase) > MAX_MULTIKEY_LENGTH:
        raise InvalidPublicKeyLengthError(
            f"multikey value is {len(multibase)} characters, "
            f"over the limit of {MAX_MULTIKEY_LENGTH}"
        )
    data = decode_multibase(multibase)
    code, offset = decode_varint(data)
    codec = key_codec(code)
    return _checked_key(codec, data[offset:])


def public_key_from_raw(key_type: str, raw: bytes) -> PublicKey:
    """Check raw key bytes of a given multicodec type and wrap them.

    Raises:
        UnsupportedPublicKeyTypeError: ``key_type`` is not a supported type.
        InvalidPublicKeyLengthError: ``raw`` has the wrong length for the type.
        InvalidPublicKeyError: ``raw`` is not a valid key of the type.
    """
    return _checked_key(key_codec(key_type), bytes(raw))


def encode_multikey(key_type: str, raw: bytes) -> Multibase:
    """Encode raw key bytes as a Multikey value, after checking them.

    Raises:
        UnsupportedPublicKeyTypeError: ``key_type`` is not a supported type.
        InvalidPublicKeyLengthError: ``raw`` has the wrong length for the type.
        InvalidPublicKeyError: ``raw`` is not a valid key of the type.
    """
    return public_key_from_raw(key_type, raw).multibase


def ed25519_to_x25519(key: PublicKey) -> PublicKey:
    """Derive the X25519 key agreement key of an Ed25519 key.

    This is the birational map from the Edwards to the Montgomery form of
    Curve25519 (libsodium's ``crypto_sign_ed25519_pk_to_curve25519``), the
    derivation the did:key "Derive Encryption Key" algorithm names.

    Raises:
        UnsupportedPublicKeyTypeError: ``key`` is not an Ed25519 key.
        InvalidPublicKeyError: libsodium refuses the key (cannot happen for a
            key decoded by this module, which checked it already).
    """
    if key.key_type != "ed25519-pub":
        raise UnsupportedPublicKeyTypeError(
            f"only ed25519-pub keys convert to x25519-pub, not {key.key_type}"
        )
    try:
        converted = nacl.bindings.crypto_sign_ed25519_pk_to_curve25519(key.raw)
    except nacl.exceptions.CryptoError as e:
        raise InvalidPublicKeyError(
            "ed25519-pub key cannot be converted to x25519"
        ) from e
    return public_key_from_raw("x25519-pub", converted)


# -- checks per key type ----------------------------------------------------


def _int_bytes(value: int) -> bytes:
    return value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")


def _checked_key(codec: KeyCodec, raw: bytes) -> PublicKey:
    """Check ``raw`` as a key of type ``codec`` and build the ``PublicKey``."""
    if codec.length is not None and len(raw) != codec.length:
        raise InvalidPublicKeyLengthError(
            f"{codec.name} key is {len(raw)} bytes; expected {codec.length}"
        )
    checked: KeyCheck = "full"
    jwk: dict[str, str] | None
    if codec.name == "ed25519-pub":
        jwk = _check_ed25519(raw)
    elif codec.name == "x25519-pub":
        jwk = _check_x25519(raw)
    elif codec.name in _EC_CURVES:
        jwk = _check_ec(codec.name, raw)
    elif codec.name == "rsa-pub":
        jwk = _check_rsa(raw)
    else:
        # BLS12-381 G1/G2: no dependency of ours checks these points.
        jwk = None
        checked = "length-only"
    return PublicKey(
        key_type=codec.name,
        codec=codec.code,
        raw=raw,
        multibase=encode_multibase(encode_varint(codec.code) + raw),
        checked=checked,
        jwk=None if jwk is None else MappingProxyType(jwk),
    )


def _check_ed25519(raw: bytes) -> dict[str, str]:
    # libsodium: canonical encoding, on the curve, not of small order, and in
    # the prime-order subgroup. Small-order keys admit signatures that verify
    # for many messages.
    if not nacl.bindings.crypto_core_ed25519_is_valid_point(raw):
        raise InvalidPublicKeyError(
            "ed25519-pub key is not a valid point "
            "(off the curve, non-canonical or of small order)"
        )
    return {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(raw)}


def _check_x25519(raw: bytes) -> dict[str, str]:
    # Every 32-byte string is an X25519 public key (RFC 7748 §5), but a point
    # of small order forces an all-zero shared secret. libsodium reports that
    # zero as an error.
    try:
        nacl.bindings.crypto_scalarmult(_SMALL_ORDER_PROBE, raw)
    except nacl.exceptions.CryptoError as e:
        raise InvalidPublicKeyError("x25519-pub key is a point of small order") from e
    return {"kty": "OKP", "crv": "X25519", "x": b64url_encode(raw)}


def _check_ec(name: str, raw: bytes) -> dict[str, str]:
    curve, crv = _EC_CURVES[name]
    if raw[0] not in (0x02, 0x03):
        raise InvalidPublicKeyError(
            f"{name} key must be a compressed point (prefix 0x02 or 0x03), "
            f"not prefix 0x{raw[0]:02x}"
        )
    try:
        key = ec.EllipticCurvePublicKey.from_encoded_point(curve, raw)
    except ValueError as e:
        raise InvalidPublicKeyError(f"{name} key is not a point on the curve") from e
    numbers = key.public_numbers()
    size = (curve.key_size + 7) // 8
    return {
        "kty": "EC",
        "crv": crv,
        "x": b64url_encode(numbers.x.to_bytes(size, "big")),
        "y": b64url_encode(numbers.y.to_bytes(size, "big")),
    }


def _der_length(der: bytes) -> int:
    """The total length of the DER SEQUENCE that starts ``der``.

    Raises:
        InvalidPublicKeyError: ``der`` does not start with a well-formed
            SEQUENCE header.
    """
    if len(der) < 2 or der[0] != 0x30:
        raise InvalidPublicKeyError("rsa-pub key is not a DER SEQUENCE")
    first = der[1]
    if first < 0x80:
        return 2 + first
    count = first & 0x7F
    if count == 0 or count > 4 or len(der) < 2 + count:
        raise InvalidPublicKeyError("rsa-pub key has a malformed DER length")
    return 2 + count + int.from_bytes(der[2 : 2 + count], "big")


def _check_rsa(raw: bytes) -> dict[str, str]:
    total = _der_length(raw)
    if total < len(raw):
        raise InvalidPublicKeyError(
            f"rsa-pub key has {len(raw) - total} trailing bytes after the DER value"
        )
    if total > len(raw):
        raise InvalidPublicKeyError(
            f"rsa-pub key is truncated: DER says {total} bytes, got {len(raw)}"
        )
    try:
        key = serialization.load_der_public_key(raw)
    except (ValueError, UnsupportedAlgorithm) as e:
        raise InvalidPublicKeyError(
            "rsa-pub key is not a valid DER RSAPublicKey"
        ) from e
    # cryptography also reads SubjectPublicKeyInfo (of any key type) and
    # tolerates some non-canonical encodings; did:key wants exactly the DER
    # PKCS#1 form, so the bytes must re-encode to themselves.
    if not isinstance(key, rsa.RSAPublicKey) or raw != key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.PKCS1
    ):
        raise InvalidPublicKeyError("rsa-pub key must be a DER PKCS#1 RSAPublicKey")
    numbers = key.public_numbers()
    bits = numbers.n.bit_length()
    if not RSA_MIN_BITS <= bits <= RSA_MAX_BITS:
        raise InvalidPublicKeyLengthError(
            f"rsa-pub modulus is {bits} bits; expected {RSA_MIN_BITS} to {RSA_MAX_BITS}"
        )
    if numbers.n % 2 == 0:
        raise InvalidPublicKeyError("rsa-pub modulus is even")
    exponent = numbers.e
    if exponent < 3 or exponent % 2 == 0 or exponent.bit_length() > 256:
        shown = (
            str(exponent)
            if exponent.bit_length() <= 64
            else f"a {exponent.bit_length()}-bit value"
        )
        raise InvalidPublicKeyError(
            f"rsa-pub exponent must be odd, at least 3 and below 2^256, not {shown}"
        )
    return {
        "kty": "RSA",
        "n": b64url_encode(_int_bytes(numbers.n)),
        "e": b64url_encode(_int_bytes(exponent)),
    }
