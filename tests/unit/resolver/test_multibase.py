"""The one home of multibase and base64 (resolver.multibase)."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from resolver.multibase import (
    b64_decode,
    b64_encode,
    b64url_decode,
    b64url_encode,
    decode_multibase,
    encode_multibase,
)


@given(st.binary(max_size=80))
def test_every_encoding_round_trips(data):
    assert b64url_decode(b64url_encode(data)) == data
    assert b64_decode(b64_encode(data)) == data
    if data:
        assert decode_multibase(encode_multibase(data)) == data


def test_encoders_write_the_forms_their_specs_name():
    assert encode_multibase(b"\x00\x01") == "z12"
    assert b64url_encode(b"\xfb\xff") == "-_8"
    assert b64_encode(b"\xfb\xff") == "+/8="


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ("", "is empty"),
        ("z", "no data after 'z'"),
        ("uAQ", "prefix 'u', not 'z': only base58btc is allowed"),
        ("z 5", "character ' ' at position 1 is not base58btc"),
        ("z15\n", "character '\\\\n' at position 3"),
        ("z0", "not in its alphabet"),
        (b"z15", "must be a string"),
    ],
    ids=[
        "empty",
        "prefix-only",
        "base64url",
        "space",
        "trailing-newline",
        "zero",
        "bytes",
    ],
)
def test_decode_multibase_refuses(value, match):
    # base58.b58decode itself strips trailing white space: the alphabet check
    # is what keeps "z15\n" from being a second spelling of "z15".
    with pytest.raises(ValueError, match=match):
        decode_multibase(value, "the value")


@pytest.mark.parametrize(
    "text",
    ["AQ==", "A Q", "AQ\n", "+/8", "A", "AR"],
    ids=["padded", "space", "newline", "standard-alphabet", "4n+1", "unused-bits"],
)
def test_b64url_decode_refuses_non_canonical(text):
    with pytest.raises(ValueError, match="base64url"):
        b64url_decode(text)


@pytest.mark.parametrize(
    "text",
    ["AQ", "AQ=", "AQ===", "-_8=", "AR==", " AQ==", "AQ==\n", "\u0661Q=="],
    ids=[
        "unpadded",
        "short-padding",
        "long-padding",
        "url-safe",
        "unused-bits",
        "space",
        "newline",
        "non-ascii",
    ],
)
def test_b64_decode_refuses_non_canonical(text):
    # base64.b64decode without validate=True would take most of these.
    with pytest.raises(ValueError, match="base64"):
        b64_decode(text)
    assert base64.b64decode("AQ==") == b"\x01"
