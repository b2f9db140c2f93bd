"""Strict validation of public JSON Web Keys (RFC 7517, RFC 7518 §6, RFC 8037).

``validate_public_jwk`` accepts a JWK only when it is a *public* key of a type
this project can verify or agree keys with, and returns the checked key as a
``PublicJwk`` (its public members plus the ``cryptography`` key object):

========  ==========================================  ===============================
``kty``   ``crv``                                     checks
========  ==========================================  ===============================
OKP       Ed25519, X25519 (RFC 8037)                  ``x`` is 32 bytes; an Ed25519
                                                      ``x`` is a canonical point of
                                                      the prime-order subgroup
EC        P-256, P-384, P-521, secp256k1 (RFC 7518)   ``x``/``y`` are exactly the
                                                      coordinate size; the point is
                                                      on the curve, coordinates < p
RSA       none (RFC 7518 §6.3)                        2048..8192-bit odd modulus,
                                                      odd ``e`` with 1 < e < n, both
                                                      minimally encoded
========  ==========================================  ===============================

Every key rejects the private members ``d p q dp dq qi oth k`` (whatever their
value), members that belong to another key type (an OKP key with ``y``, an RSA
key with ``crv``…), and registered members of the wrong JSON type (``use``,
``alg``, ``kid``, ``x5u``, ``x5t``, ``x5t#S256`` must be strings; ``key_ops`` and
``x5c`` arrays of strings). Binary members are strict base64url (RFC 7515 §2):
no padding, nothing outside the URL-safe alphabet, zero trailing bits.

Curve arithmetic is never done here: EC points are loaded with ``cryptography``
(``from_encoded_point``, which also refuses coordinates at or above the field
prime) and Ed25519 points are checked with libsodium through PyNaCl. An X25519
``x`` is any 32 bytes (RFC 7748 §5 accepts every u-coordinate); a low-order
X25519 key is caught at key agreement, where ``cryptography`` refuses an all-zero
shared secret.

This module does not interpret ``use``, ``key_ops`` or ``alg`` (whether a key
may sign or encrypt is the caller's policy), does not check ``x5c``/``x5u``
against the key and never fetches anything, and does no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
from nacl.bindings import crypto_core_ed25519_is_valid_point

from resolver.errors import (
    InvalidPublicKeyError,
    InvalidPublicKeyLengthError,
    UnsupportedPublicKeyTypeError,
)
from resolver.multibase import b64url_decode
from resolver.strictjson import json_kind, quote

__all__ = [
    "EC_CURVES",
    "OKP_CURVES",
    "PRIVATE_MEMBERS",
    "RSA_MAX_BITS",
    "RSA_MIN_BITS",
    "CryptographyPublicKey",
    "PublicJwk",
    "validate_public_jwk",
]

CryptographyPublicKey = (
    Ed25519PublicKey | X25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey
)
"""The ``cryptography`` public key types a validated JWK can hold."""

PRIVATE_MEMBERS: Final = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
"""JWK members that carry private or symmetric key material (RFC 7518 §6)."""

OKP_CURVES: Final = {"Ed25519": 32, "X25519": 32}
"""Supported OKP curves and the length of ``x`` in bytes (RFC 8037 §2)."""

_EC_CURVE_TYPES: Final[dict[str, tuple[type[ec.EllipticCurve], int]]] = {
    "P-256": (ec.SECP256R1, 32),
    "P-384": (ec.SECP384R1, 48),
    "P-521": (ec.SECP521R1, 66),
    "secp256k1": (ec.SECP256K1, 32),
}
EC_CURVES: Final = {name: size for name, (_, size) in _EC_CURVE_TYPES.items()}
"""Supported EC curves and the length of each coordinate in bytes (RFC 7518
§6.2.1.2: a coordinate is always the full size, leading zeros kept; secp256k1
per RFC 8812 §3.1)."""

RSA_MIN_BITS: Final = 2048
"""Smallest RSA modulus accepted (NIST SP 800-131A: below 2048 bits is disallowed)."""
RSA_MAX_BITS: Final = 8192
"""Largest RSA modulus accepted: bounds the cost of verifying with the key."""

_PUBLIC_MEMBERS: Final = {
    "OKP": ("crv", "x"),
    "EC": ("crv", "x", "y"),
    "RSA": ("n", "e"),
}
# Members of one key type that must not appear in another: a key carrying both
# an ``x`` and an ``n`` means different things to different libraries.
_FOREIGN_MEMBERS: Final = {"crv", "x", "y", "n", "e"}
_STRING_MEMBERS: Final = ("kty", "use", "alg", "kid", "x5u", "x5t", "x5t#S256")
_STRING_ARRAY_MEMBERS: Final = ("key_ops", "x5c")


@dataclass(frozen=True, slots=True, kw_only=True)
class PublicJwk:
    """A validated public JWK: its key-material members and the loaded key.

    Only the members that define the key are kept (those RFC 7638 hashes for a
    thumbprint); other members of the input (``use``, ``kid``, extensions) are
    the caller's to read from the original object. Equality and hashing use
    the members, not the key object.
    """

    kty: str
    """``"OKP"``, ``"EC"`` or ``"RSA"``."""
    crv: str | None = None
    """The curve for OKP and EC keys; ``None`` for RSA."""
    x: str | None = None
    """The base64url ``x`` member (OKP, EC), exactly as given."""
    y: str | None = None
    """The base64url ``y`` member (EC), exactly as given."""
    n: str | None = None
    """The base64url RSA modulus, exactly as given."""
    e: str | None = None
    """The base64url RSA public exponent, exactly as given."""
    key: CryptographyPublicKey = field(compare=False, repr=False)
    """The public key as a ``cryptography`` object, ready to verify with."""

    def members(self) -> dict[str, str]:
        """The required public members (``kty`` included), sorted by name.

        This is the member set and order RFC 7638 §3.2 hashes for a thumbprint.
        """
        present = {
            "crv": self.crv,
            "e": self.e,
            "kty": self.kty,
            "n": self.n,
            "x": self.x,
            "y": self.y,
        }
        return {name: value for name, value in present.items() if value is not None}


def validate_public_jwk(jwk: object) -> PublicJwk:
    """Check that ``jwk`` is a supported public JWK and load its key.

    Args:
        jwk: A JSON object as decoded by ``json.loads`` (any object is accepted,
            so untrusted input can be passed straight in).

    Returns:
        The key's members and its ``cryptography`` public key.

    Raises:
        UnsupportedPublicKeyTypeError: ``kty`` is ``"oct"`` (a symmetric key),
            or ``kty``/``crv`` is not one listed in the module docstring.
        InvalidPublicKeyLengthError: ``x``, ``y`` or the RSA modulus has the
            wrong size for the key type.
        InvalidPublicKeyError: anything else: not an object, a private member,
            a missing, non-string or foreign member, bad base64url, an EC point
            not on its curve, an invalid Ed25519 point, an unusable RSA
            exponent. Both errors above are subclasses of this one.
    """
    if not isinstance(jwk, Mapping):
        raise InvalidPublicKeyError(
            f"a JWK must be a JSON object, not {json_kind(jwk)}"
        )
    if not all(isinstance(name, str) for name in jwk):
        raise InvalidPublicKeyError("JWK member names must be strings")
    members: Mapping[str, object] = jwk
    _check_registered_member_types(members)
    kty = _string_member(members, "kty")
    if kty == "oct":
        raise UnsupportedPublicKeyTypeError(
            "kty 'oct' is a symmetric key, not a public key"
        )
    for name in PRIVATE_MEMBERS:
        if name in members:
            raise InvalidPublicKeyError(
                f"JWK has private key member {name!r}: only public keys are allowed"
            )
    if kty not in _PUBLIC_MEMBERS:
        raise UnsupportedPublicKeyTypeError(f"unsupported kty {quote(kty, 32)}")
    own = _PUBLIC_MEMBERS[kty]
    for name in sorted(_FOREIGN_MEMBERS - set(own)):
        if name in members:
            raise InvalidPublicKeyError(
                f"member {name!r} is not allowed in a {kty} key"
            )
    values = {name: _string_member(members, name) for name in own}
    if kty == "OKP":
        return _okp(values["crv"], values["x"])
    if kty == "EC":
        return _ec(values["crv"], values["x"], values["y"])
    return _rsa(values["n"], values["e"])


def _okp(crv: str, x: str) -> PublicJwk:
    """Validate an OKP key (RFC 8037 §2)."""
    size = OKP_CURVES.get(crv)
    if size is None:
        raise UnsupportedPublicKeyTypeError(f"unsupported OKP crv {quote(crv, 32)}")
    raw = _decode_member("x", x)
    if len(raw) != size:
        raise InvalidPublicKeyLengthError(
            f"x is {len(raw)} bytes, expected {size} for {crv}"
        )
    key: CryptographyPublicKey
    if crv == "Ed25519":
        # libsodium refuses non-canonical encodings, points off the curve, and
        # points of small or mixed order, on which signature checks disagree
        # between libraries.
        if not crypto_core_ed25519_is_valid_point(raw):
            raise InvalidPublicKeyError("x is not a valid Ed25519 public key point")
        key = Ed25519PublicKey.from_public_bytes(raw)
    else:
        key = X25519PublicKey.from_public_bytes(raw)
    return PublicJwk(kty="OKP", crv=crv, x=x, key=key)


def _ec(crv: str, x: str, y: str) -> PublicJwk:
    """Validate an EC key (RFC 7518 §6.2.1), the point checked by ``cryptography``."""
    found = _EC_CURVE_TYPES.get(crv)
    if found is None:
        raise UnsupportedPublicKeyTypeError(f"unsupported EC crv {quote(crv, 32)}")
    curve_type, size = found
    raw_x = _decode_member("x", x)
    raw_y = _decode_member("y", y)
    for name, raw in (("x", raw_x), ("y", raw_y)):
        if len(raw) != size:
            raise InvalidPublicKeyLengthError(
                f"{name} is {len(raw)} bytes, expected {size} for {crv}"
            )
    try:
        # The SEC 1 uncompressed form: unlike EllipticCurvePublicNumbers, this
        # path refuses coordinates >= p (a second spelling of the same point).
        key = ec.EllipticCurvePublicKey.from_encoded_point(
            curve_type(), b"\x04" + raw_x + raw_y
        )
    except ValueError:
        raise InvalidPublicKeyError(f"point (x, y) is not on curve {crv}") from None
    return PublicJwk(kty="EC", crv=crv, x=x, y=y, key=key)


def _rsa(n: str, e: str) -> PublicJwk:
    """Validate an RSA key (RFC 7518 §6.3.1)."""
    raw_n = _decode_member("n", n)
    raw_e = _decode_member("e", e)
    # RFC 7518 §2 (Base64urlUInt): the minimum number of octets, so no leading zero.
    for name, raw in (("n", raw_n), ("e", raw_e)):
        if not raw:
            raise InvalidPublicKeyError(f"{name} is empty")
        if raw[0] == 0:
            raise InvalidPublicKeyError(f"{name} has a leading zero octet")
    modulus = int.from_bytes(raw_n, "big")
    exponent = int.from_bytes(raw_e, "big")
    bits = modulus.bit_length()
    if not RSA_MIN_BITS <= bits <= RSA_MAX_BITS:
        raise InvalidPublicKeyLengthError(
            f"rsa modulus is {bits} bits, expected {RSA_MIN_BITS} to {RSA_MAX_BITS}"
        )
    if modulus % 2 == 0:
        raise InvalidPublicKeyError("rsa modulus is even")
    if exponent <= 1 or exponent % 2 == 0:
        raise InvalidPublicKeyError(f"rsa exponent must be odd and > 1, not {exponent}")
    if exponent >= modulus:
        raise InvalidPublicKeyError("rsa exponent must be smaller than the modulus")
    try:
        key = rsa.RSAPublicNumbers(exponent, modulus).public_key()
    except ValueError as err:  # pragma: no cover - the checks above are cryptography's
        raise InvalidPublicKeyError(f"rsa key refused: {err}") from None
    return PublicJwk(kty="RSA", n=n, e=e, key=key)


def _check_registered_member_types(jwk: Mapping[str, object]) -> None:
    """Check the JSON types of the RFC 7517 §4 members that are present."""
    for name in _STRING_MEMBERS:
        if name in jwk and not isinstance(jwk[name], str):
            raise InvalidPublicKeyError(
                f"member {name!r} must be a string, not {json_kind(jwk[name])}"
            )
    for name in _STRING_ARRAY_MEMBERS:
        if name not in jwk:
            continue
        value = jwk[name]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise InvalidPublicKeyError(f"member {name!r} must be an array of strings")
    key_ops = jwk.get("key_ops")
    if isinstance(key_ops, list) and len(set(key_ops)) != len(key_ops):
        raise InvalidPublicKeyError("member 'key_ops' repeats a value")  # RFC 7517 §4.3


def _string_member(jwk: Mapping[str, object], name: str) -> str:
    """Return a required string member."""
    if name not in jwk:
        raise InvalidPublicKeyError(f"JWK has no {name!r} member")
    value = jwk[name]
    if not isinstance(value, str):
        raise InvalidPublicKeyError(
            f"member {name!r} must be a string, not {json_kind(value)}"
        )
    return value


def _decode_member(name: str, value: str) -> bytes:
    """Decode a base64url member, naming it in the error."""
    try:
        return b64url_decode(value)
    except ValueError as err:
        raise InvalidPublicKeyError(f"member {name!r}: {err}") from None
