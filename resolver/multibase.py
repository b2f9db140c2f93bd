"""Binary-to-text encodings, each strict and each written once.

- **Multibase base58btc** (``z`` + base58btc, multiformats multibase; the
  bitcoin alphabet, through the ``base58`` library): Multikey values, did:key
  identifiers, Data Integrity ``proofValue``. Only the ``z`` prefix is read,
  the one encoding did:key and Multikey allow; every character is checked
  against the alphabet before decoding, so no spelling the library would
  silently trim or repair gets through.
- **base64url without padding** (RFC 4648 §5 as RFC 7515 §2 uses it): JWS
  segments, JWK members, did:jwk identifiers, the registry key file, cursors.
- **Standard base64 with padding** (RFC 4648 §4): checkpoint root hashes, note
  signatures and the hashes of registry proofs (C2SP and RFC 9162 tooling
  speak it).

Each decoder accepts exactly one text per byte string: padding where it does
not belong, characters outside the alphabet (white space included), the
impossible length 4n+1 and set trailing bits are all refused. Errors are plain
``ValueError`` with a short message, so every caller raises the domain error
that fits (an invalid DID, an invalid key, a malformed JWS, a bad proof).

Pure: no I/O. Length caps are the callers' (each knows its largest value).
"""

from __future__ import annotations

import base64
import re
from typing import Final, NewType

import base58

__all__ = [
    "BASE58BTC_PREFIX",
    "BASE58_ALPHABET",
    "Multibase",
    "MultibasePrefixError",
    "b64_decode",
    "b64_encode",
    "b64url_decode",
    "b64url_encode",
    "decode_multibase",
    "encode_multibase",
]

Multibase = NewType("Multibase", str)
"""A multibase string; in this project always base58btc, so it starts with ``z``."""

BASE58BTC_PREFIX: Final = "z"
"""The multibase prefix of base58btc, the only multibase encoding read."""
BASE58_ALPHABET: Final = frozenset(base58.BITCOIN_ALPHABET.decode("ascii"))
"""The characters of base58btc."""

_B64URL_RE: Final = re.compile(r"[A-Za-z0-9_-]*")


class MultibasePrefixError(ValueError):
    """A multibase value with another prefix than ``z`` (base58btc).

    Attributes:
        prefix: The prefix found.
    """

    def __init__(self, prefix: str, name: str) -> None:
        super().__init__(
            f"{name} has multibase prefix {prefix!r}, not 'z': "
            "only base58btc is allowed"
        )
        self.prefix = prefix


def decode_multibase(value: object, name: str = "the multibase value") -> bytes:
    """Decode a base58btc multibase string (``z`` prefix) strictly.

    Args:
        value: The text, as received (anything else is refused).
        name: What the value is, for the messages (``"proofValue"``).

    Raises:
        MultibasePrefixError: another multibase prefix (a ``ValueError``).
        ValueError: not a string, empty, nothing after the prefix, or a
            character outside the base58btc alphabet (the message gives it
            and its position).
    """
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string")
    if not value:
        raise ValueError(f"{name} is empty")
    prefix = value[0]
    if prefix != BASE58BTC_PREFIX:
        raise MultibasePrefixError(prefix, name)
    body = value[1:]
    if not body:
        raise ValueError(f"{name} has no data after 'z'")
    for i, ch in enumerate(body, start=1):
        if ch not in BASE58_ALPHABET:
            raise ValueError(
                f"{name}: character {ch!r} at position {i} is not base58btc "
                "(not in its alphabet)"
            )
    decoded: bytes = base58.b58decode(body)
    return decoded


def encode_multibase(data: bytes) -> Multibase:
    """Encode ``data`` as a base58btc multibase string (``z`` prefix)."""
    encoded: bytes = base58.b58encode(data)
    return Multibase(BASE58BTC_PREFIX + encoded.decode("ascii"))


def b64url_encode(data: bytes) -> str:
    """Encode ``data`` as base64url without padding (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(s: str) -> bytes:
    """Decode unpadded base64url (RFC 4648 §5, as RFC 7515 §2 uses it) strictly.

    Refuses padding, characters outside ``A-Z a-z 0-9 - _`` (whitespace
    included), a length of 4n+1, and non-canonical text whose unused trailing
    bits are not zero, so each byte string has exactly one accepted encoding.
    The empty string decodes to ``b""``.

    Raises:
        ValueError: ``s`` is not canonical unpadded base64url.
    """
    if not isinstance(s, str):
        raise ValueError("base64url must be a string")
    if _B64URL_RE.fullmatch(s) is None:
        if "=" in s:
            raise ValueError("base64url must not be padded")
        bad = next(c for c in s if not (c.isascii() and (c.isalnum() or c in "-_")))
        raise ValueError(f"character {bad!r} is not in the base64url alphabet")
    if len(s) % 4 == 1:
        raise ValueError(f"base64url length {len(s)} is impossible (4n+1)")
    raw = base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
    if b64url_encode(raw) != s:
        raise ValueError("base64url is not canonical: unused trailing bits are set")
    return raw


def b64_encode(data: bytes) -> str:
    """Encode ``data`` as standard, padded base64 (RFC 4648 §4)."""
    return base64.b64encode(data).decode("ascii")


def b64_decode(text: str) -> bytes:
    """Decode standard, padded, canonical base64 (RFC 4648 §4) strictly.

    Refuses the URL-safe alphabet, white space, missing or extra padding and
    set pad bits: the text must be exactly what ``b64_encode`` writes.

    Raises:
        ValueError: ``text`` is not canonical standard base64.
    """
    try:
        raw = base64.b64decode(text, validate=True)
    except (ValueError, TypeError):  # binascii.Error is a ValueError
        raise ValueError("not valid standard base64") from None
    if b64_encode(raw) != text:
        raise ValueError("not canonical standard base64")
    return raw
