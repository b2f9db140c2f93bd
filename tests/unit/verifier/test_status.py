"""Credential status: Bitstring Status List v1.0 and StatusList2021.

Pure decoding runs against the specs' own examples (W3C Bitstring Status List
v1.0 Example "BitstringStatusListCredential", the StatusList2021 example, and
the W3C vc-bitstring-status-list-test-suite fixtures) and against lists built
here. The checker runs against a real local HTTPS server through a real
``Fetcher`` (trustme CA, loopback DNS server, loopback allowed only through the
unsafe setting), with list credentials signed by a real Ed25519 key over their
JCS form, verified by the injected verifier.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import gzip
import ipaddress
import json
import tracemalloc
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import rfc8785
from aiohttp import web
from nacl.signing import SigningKey

from resolver.errors import FetchRefusedError
from resolver.fetch import Fetcher, FetchPolicy
from tests.helpers.dns_server import DNSServer, serve_dns
from tests.helpers.https_server import TestPKI, serve_app
from verifier.errors import StatusError, VerificationError
from verifier.status import (
    MAX_LIST_BYTES,
    MIN_ENTRIES,
    StatusChecker,
    StatusEntry,
    StatusList,
    StatusListKind,
    decode_encoded_list,
    entry_type,
    evaluate_status,
    parse_entry,
    parse_instant,
    parse_list_credential,
    read_status,
)

BITSTRING = StatusListKind.BITSTRING
SL2021 = StatusListKind.STATUS_LIST_2021
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)

# --- building lists -----------------------------------------------------------


def bits_with(*indexes: int, n_bits: int = MIN_ENTRIES) -> bytes:
    """A bitstring of ``n_bits`` with the given 1-bit entries set."""
    out = bytearray(n_bits // 8)
    for i in indexes:
        out[i // 8] |= 0x80 >> (i % 8)
    return bytes(out)


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def encode(bits: bytes, kind: StatusListKind = BITSTRING) -> str:
    return ("u" if kind is BITSTRING else "") + b64url(gz(bits))


# --- spec examples ------------------------------------------------------------

# W3C Bitstring Status List v1.0, Example "BitstringStatusListCredential": an
# empty list of the minimum size.
SPEC_BITSTRING_LIST: dict[str, Any] = {
    "@context": ["https://www.w3.org/ns/credentials/v2"],
    "id": "https://example.com/credentials/status/3",
    "type": ["VerifiableCredential", "BitstringStatusListCredential"],
    "issuer": "did:example:12345",
    "validFrom": "2021-04-05T14:27:40Z",
    "credentialSubject": {
        "id": "https://example.com/status/3#list",
        "type": "BitstringStatusList",
        "statusPurpose": "revocation",
        "encodedList": (
            "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA"
        ),
    },
}
# The same spec, Example "StatusListCredential using simple entries".
SPEC_ENTRY = {
    "id": "https://example.com/credentials/status/3#94567",
    "type": "BitstringStatusListEntry",
    "statusPurpose": "revocation",
    "statusListIndex": "94567",
    "statusListCredential": "https://example.com/credentials/status/3",
}
# VC Status List 2021 (FPWD 2023-04-27), Example 2: the same list, base64url
# without a multibase prefix.
SPEC_2021_ENCODED = (
    "H4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA"
)
# W3C vc-bitstring-status-list-test-suite, fixtures/status-credentials/
# {single,multi}-purpose-ok.jsonld: 200,000 entries with index 201 set (the
# suite's should-be-revoked / should-be-suspended credentials use index 201).
SUITE_LIST_201 = (
    "H4sIACbOo2YC_-3QMREAMAgEsGerLPyrQgFjB-4SCUkWHQAAAAAAAOCwpwAAAADgrFIAAAAAAA"
    "AAAAAAAAAA3wxvOeOvqGEAAA"
)
# ... and short-encoded-list-fail.jsonld: 200 bits, under the minimum.
SUITE_SHORT_LIST = "H4sIAN7Lo2YC_2NgwAEAjw7P6RkAAAA"


def test_spec_example_bitstring_list_decodes_to_16kb_of_zeros():
    bits = decode_encoded_list(
        SPEC_BITSTRING_LIST["credentialSubject"]["encodedList"], kind=BITSTRING
    )
    assert bits == bytes(16 * 1024)


def test_spec_example_entry_reads_unset_from_spec_example_list():
    entry = parse_entry(SPEC_ENTRY)
    assert entry == StatusEntry(
        kind=BITSTRING,
        purpose="revocation",
        index=94567,
        list_url="https://example.com/credentials/status/3",
        id="https://example.com/credentials/status/3#94567",
    )
    status_list = parse_list_credential(
        SPEC_BITSTRING_LIST, kind=BITSTRING, url=entry.list_url
    )
    assert status_list.purposes == {"revocation"}
    assert status_list.issuer == "did:example:12345"
    assert status_list.valid_from == datetime(2021, 4, 5, 14, 27, 40, tzinfo=UTC)
    assert evaluate_status(entry, status_list, now=NOW) == 0


def test_spec_example_statuslist2021_decodes_like_bitstring():
    assert decode_encoded_list(SPEC_2021_ENCODED, kind=SL2021) == bytes(16 * 1024)


@pytest.mark.parametrize(
    "purpose", ["revocation", "suspension"], ids=["revoked", "suspended"]
)
def test_suite_fixture_index_201_is_set_and_neighbours_are_not(purpose):
    status_list = StatusList(
        kind=BITSTRING,
        bits=decode_encoded_list(SUITE_LIST_201, kind=BITSTRING),
        purposes=frozenset({"revocation", "suspension"}),
    )
    assert status_list.bit_length == 200_000

    def status(index: int) -> int:
        entry = StatusEntry(
            kind=BITSTRING, purpose=purpose, index=index, list_url="https://x.test/"
        )
        return evaluate_status(entry, status_list, now=NOW)

    assert status(201) == 1
    assert (status(200), status(202), status(0), status(199_999)) == (0, 0, 0, 0)


def test_suite_fixture_short_list_is_refused_for_herd_privacy():
    status_list = StatusList(
        kind=BITSTRING,
        bits=decode_encoded_list(SUITE_SHORT_LIST, kind=BITSTRING),
        purposes=frozenset({"revocation"}),
    )
    entry = StatusEntry(
        kind=BITSTRING, purpose="revocation", index=0, list_url="https://x.test/"
    )
    with pytest.raises(StatusError, match="holds 200 entries, fewer than the 131072"):
        evaluate_status(entry, status_list, now=NOW)
    # An ecosystem may set a lower bound (validate algorithm, step 2).
    assert evaluate_status(entry, status_list, now=NOW, min_entries=200) == 0


def test_multi_bit_entries_count_against_the_minimum_by_entries_not_bits():
    # 131,072 bits hold only 65,536 entries of 2 bits.
    status_list = StatusList(
        kind=BITSTRING, bits=bits_with(), purposes=frozenset({"m"})
    )
    entry = StatusEntry(
        kind=BITSTRING,
        purpose="m",
        index=0,
        list_url="https://x.test/",
        size=2,
        messages=("a", "b", "c", "d"),
    )
    with pytest.raises(StatusError, match="holds 65536 entries"):
        evaluate_status(entry, status_list, now=NOW)


# --- bit order and multi-bit entries --------------------------------------------


@pytest.mark.parametrize(
    ("data", "index", "expected"),
    [
        (b"\x80\x00", 0, 1),
        (b"\x80\x00", 1, 0),
        (b"\x80\x00", 7, 0),
        (b"\x01\x00", 7, 1),
        (b"\x01\x00", 0, 0),
        (b"\x00\x40", 9, 1),
        (b"\x00\x40", 14, 0),
        (b"\x00\x01", 15, 1),
    ],
    ids=[
        "msb-is-index-0",
        "index-1-unset",
        "lsb-unset",
        "lsb-is-index-7",
        "index-0-not-lsb",
        "second-byte",
        "mirror-of-9-unset",
        "last-bit",
    ],
)
def test_read_status_index_0_is_leftmost_bit_of_first_byte(data, index, expected):
    assert read_status(data, index) == expected


def test_read_status_does_not_read_lsb_first_order():
    # A writer that numbers bits from the least significant end puts index 0
    # in 0x01: under the specs that byte sets index 7 only.
    assert [read_status(b"\x01", i) for i in range(8)] == [0] * 7 + [1]


@pytest.mark.parametrize(
    ("size", "index", "expected"),
    [
        (2, 0, 0b00),
        (2, 1, 0b01),
        (2, 2, 0b10),
        (2, 3, 0b11),
        (2, 4, 0b10),
        (3, 1, 0b110),
        (3, 2, 0b111),  # bits 6, 7 of byte 0 and bit 0 of byte 1
        (8, 0, 0b00011011),
        (8, 1, 0b10000000),
        (4, 0, 0b0001),
        (4, 1, 0b1011),
    ],
    ids=[
        "2bit-0",
        "2bit-1",
        "2bit-2",
        "2bit-3",
        "2bit-next-byte",
        "3bit",
        "3bit-across-bytes",
        "8bit-0",
        "8bit-1",
        "4bit-high-nibble",
        "4bit-low-nibble",
    ],
)
def test_read_status_multi_bit_entries_are_msb_first(size, index, expected):
    assert read_status(bytes([0b00011011, 0b10000000]), index, size) == expected


@pytest.mark.parametrize(
    ("index", "size"),
    [(16, 1), (8, 2), (6, 3), (2, 8), (-1, 1)],
    ids=["1bit-past-end", "2bit-past-end", "3bit-straddles-end", "8bit", "negative"],
)
def test_read_status_rejects_index_beyond_list(index, size):
    with pytest.raises(StatusError, match=r"out of range|negative"):
        read_status(b"\xff\xff", index, size)


def test_read_status_reads_last_entry_exactly_at_end():
    assert read_status(b"\x00\x03", 7, 2) == 3


# --- decoding: encodings and caps -----------------------------------------------


def test_decode_reads_bare_base64url_gzip_as_bitstring():
    # No multibase prefix: as published before the prefix was specified.
    assert decode_encoded_list(b64url(gz(b"\x80")), kind=BITSTRING) == b"\x80"


def test_decode_statuslist2021_accepts_standard_base64_with_padding():
    raw = gz(bytes(range(256)) * 4)
    text = base64.b64encode(raw).decode()
    assert "+" in text or "/" in text or "=" in text
    assert decode_encoded_list(text, kind=SL2021) == bytes(range(256)) * 4


@pytest.mark.parametrize(
    "value",
    [
        "z" + "3mJr7AoUXx2Wqd",
        "m" + base64.b64encode(gz(b"\x00")).decode().rstrip("="),
        "U" + base64.urlsafe_b64encode(gz(b"\x00")).decode(),
        "f" + gz(b"\x00").hex(),
    ],
    ids=["base58btc", "base64-std", "base64url-padded", "base16"],
)
def test_decode_rejects_wrong_multibase_prefix(value):
    with pytest.raises(StatusError, match=f"multibase prefix {value[0]!r}"):
        decode_encoded_list(value, kind=BITSTRING)


@pytest.mark.parametrize(
    ("value", "kind", "message"),
    [
        ("u" + b64url(gz(b"\x00")) + "=", BITSTRING, "not base64url"),
        (
            "u" + b64url(gz(b"\x00"))[:5] + " " + b64url(gz(b"\x00"))[5:],
            BITSTRING,
            "not base64url",
        ),
        ("u", BITSTRING, "empty"),
        ("", BITSTRING, "non-empty string"),
        (None, BITSTRING, "non-empty string"),
        (12, SL2021, "non-empty string"),
        ("H4sI" + "A" * 5, BITSTRING, "truncated"),
        ("u" + b64url(zlib.compress(b"\x00" * 64)), BITSTRING, "not gzip"),
        ("u" + b64url(b"\x00" * 30), BITSTRING, "not gzip"),
        ("H4sIAAAAAAAC_+/A", SL2021, "not base64"),
        ("u" + b64url(gz(b"\x00")), SL2021, "truncated|not gzip"),
    ],
    ids=[
        "padding-under-u",
        "whitespace",
        "prefix-only",
        "empty",
        "null",
        "number",
        "base64-length",
        "zlib-not-gzip",
        "random-bytes",
        "mixed-alphabets",
        "2021-with-multibase-prefix",
    ],
)
def test_decode_rejects_bad_encoding(value, kind, message):
    with pytest.raises(StatusError, match=message):
        decode_encoded_list(value, kind=kind)


def test_decode_refuses_gzip_bomb_at_default_cap():
    bomb = gz(bytes(MAX_LIST_BYTES + 1))  # 16 MiB + 1 of zeros: ~16 KiB compressed
    assert len(bomb) < 64 * 1024
    with pytest.raises(StatusError, match=f"beyond the {MAX_LIST_BYTES} byte cap"):
        decode_encoded_list("u" + b64url(bomb), kind=BITSTRING)


def test_decode_stops_inflating_a_bomb_at_the_cap():
    # 64 MiB of zeros in ~64 KiB of GZIP, built without holding the 64 MiB.
    deflater = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = bytes(1 << 20)
    bomb = b"".join(deflater.compress(chunk) for _ in range(64)) + deflater.flush()
    encoded = "u" + b64url(bomb)
    tracemalloc.start()
    try:
        with pytest.raises(StatusError, match="beyond the 1048576 byte cap"):
            decode_encoded_list(encoded, kind=BITSTRING, max_decompressed=1 << 20)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20  # inflating it all would need 64 MiB


def test_decode_accepts_list_exactly_at_cap_and_refuses_one_byte_more():
    encoded = encode(bytes(4096))
    assert decode_encoded_list(encoded, kind=BITSTRING, max_decompressed=4096)
    with pytest.raises(StatusError, match="beyond the 4095 byte cap"):
        decode_encoded_list(encoded, kind=BITSTRING, max_decompressed=4095)


def test_decode_refuses_bomb_split_across_gzip_members():
    members = gz(bytes(3000)) + gz(bytes(3000))
    assert decode_encoded_list("u" + b64url(members), kind=BITSTRING) == bytes(6000)
    with pytest.raises(StatusError, match="beyond the 5000 byte cap"):
        decode_encoded_list(
            "u" + b64url(members), kind=BITSTRING, max_decompressed=5000
        )


def test_decode_refuses_compressed_input_over_cap():
    encoded = "u" + b64url(gz(bytes(range(256)) * 64))  # incompressible-ish
    with pytest.raises(StatusError, match="over the 100 byte cap"):
        decode_encoded_list(encoded, kind=BITSTRING, max_compressed=100)


@pytest.mark.parametrize(
    "cut", [4, 8, 20], ids=["no-isize", "no-trailer", "mid-deflate"]
)
def test_decode_rejects_truncated_gzip(cut):
    raw = gz(bits_with(3, 70_000))
    with pytest.raises(StatusError, match="truncated"):
        decode_encoded_list("u" + b64url(raw[:-cut]), kind=BITSTRING)


def test_decode_rejects_gzip_with_flipped_crc():
    raw = bytearray(gz(bits_with(3)))
    raw[-8] ^= 0x01  # first byte of the CRC32 trailer
    with pytest.raises(StatusError, match="corrupt"):
        decode_encoded_list("u" + b64url(bytes(raw)), kind=BITSTRING)


def test_decode_rejects_trailing_garbage_after_gzip_member():
    with pytest.raises(StatusError, match="corrupt"):
        decode_encoded_list("u" + b64url(gz(b"\x00") + b"junkjunk"), kind=BITSTRING)


# --- entries ------------------------------------------------------------------

URL = "https://status.example/lists/1"


def entry(index: int | str = 5, **overrides: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "id": f"{URL}#{index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": str(index),
        "statusListCredential": URL,
    }
    raw.update(overrides)
    return {k: v for k, v in raw.items() if v is not None}


MESSAGES_2BIT = [
    {"status": "0x0", "message": "pending_review"},
    {"status": "0x1", "message": "accepted"},
    {"status": "0x2", "message": "rejected"},
    {"status": "0x3", "message": "undefined"},
]


def test_parse_entry_with_status_messages():
    parsed = parse_entry(
        entry(
            492847,
            statusPurpose="message",
            statusSize=2,
            statusMessage=list(reversed(MESSAGES_2BIT)),
            statusReference="https://example.org/status-dictionary/",
        )
    )
    assert parsed.size == 2
    assert parsed.messages == ("pending_review", "accepted", "rejected", "undefined")
    assert parsed.message_for(2) == "rejected"


def test_parse_statuslist2021_entry():
    parsed = parse_entry(entry(94567, type="StatusList2021Entry"))
    assert parsed.kind is SL2021
    assert parsed.type == "StatusList2021Entry"
    assert (parsed.index, parsed.size, parsed.messages) == (94567, 1, None)


MALFORMED_ENTRIES = {
    "unknown-type": (entry(type="RevocationList2020Status"), "unsupported status type"),
    "no-type": (entry(type=None), "no type"),
    "no-purpose": (entry(statusPurpose=None), "statusPurpose"),
    "empty-purpose": (entry(statusPurpose=""), "statusPurpose"),
    "index-missing": (entry(statusListIndex=None), "statusListIndex"),
    "index-as-number": (entry(statusListIndex=5), "statusListIndex"),
    "index-negative": (entry(statusListIndex="-1"), "statusListIndex"),
    "index-exponent": (entry(statusListIndex="1e3"), "statusListIndex"),
    "index-spaces": (entry(statusListIndex=" 12"), "statusListIndex"),
    "index-unicode-digits": (entry(statusListIndex="١٢"), "statusListIndex"),
    "index-huge": (entry(statusListIndex="9" * 21), "21 digits"),
    "no-list-url": (entry(statusListCredential=None), "statusListCredential"),
    "list-url-not-string": (entry(statusListCredential=["a"]), "statusListCredential"),
    "id-is-list-url": (entry(id=URL), "must not be the status list url"),
    "size-zero": (entry(statusSize=0), "positive integer"),
    "size-bool": (entry(statusSize=True), "positive integer"),
    "size-string": (entry(statusSize="2"), "positive integer"),
    "size-too-wide": (entry(statusSize=9), "statusSize 9 not supported"),
    "size-2-without-messages": (entry(statusSize=2), "statusMessage is required"),
    "messages-too-few": (
        entry(statusSize=2, statusMessage=MESSAGES_2BIT[:3]),
        "must list 4 messages",
    ),
    "messages-duplicate": (
        entry(statusSize=2, statusMessage=[*MESSAGES_2BIT[:3], MESSAGES_2BIT[0]]),
        "appears twice",
    ),
    "message-status-not-hex": (
        entry(
            statusSize=1,
            statusMessage=[MESSAGES_2BIT[0], {"status": "1", "message": "x"}],
        ),
        "0x-prefixed hex",
    ),
    "message-status-too-big": (
        entry(statusSize=1, statusMessage=[MESSAGES_2BIT[0], MESSAGES_2BIT[2]]),
        "does not fit in 1 bits",
    ),
    "2021-with-size-2": (
        entry(type="StatusList2021Entry", statusSize=2, statusMessage=MESSAGES_2BIT),
        "not defined for StatusList2021",
    ),
}


@pytest.mark.parametrize(
    ("raw", "message"), MALFORMED_ENTRIES.values(), ids=MALFORMED_ENTRIES.keys()
)
def test_parse_entry_rejects_malformed_entry(raw, message):
    with pytest.raises(StatusError, match=message):
        parse_entry(raw)


def test_entry_type_picks_the_supported_member_of_a_type_array():
    assert entry_type({"type": ["Foo", "BitstringStatusListEntry"]}) == (
        "BitstringStatusListEntry"
    )
    assert entry_type({"type": ["Foo", "Bar"]}) == "Foo"
    with pytest.raises(StatusError, match="not an object"):
        entry_type(["BitstringStatusListEntry"])


# --- list credentials ---------------------------------------------------------


def list_doc(
    bits: bytes = b"",
    *,
    url: str = URL,
    kind: StatusListKind = BITSTRING,
    purpose: str | list[str] = "revocation",
    issuer: Any = "did:example:issuer",
    subject: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    bits = bits or bits_with()
    v2 = kind is BITSTRING
    doc: dict[str, Any] = {
        "@context": (
            ["https://www.w3.org/ns/credentials/v2"]
            if v2
            else [
                "https://www.w3.org/2018/credentials/v1",
                "https://w3id.org/vc/status-list/2021/v1",
            ]
        ),
        "id": url,
        "type": ["VerifiableCredential", kind.credential_type],
        "issuer": issuer,
        ("validFrom" if v2 else "issuanceDate"): "2025-01-01T00:00:00Z",
        "credentialSubject": {
            "id": f"{url}#list",
            "type": kind.subject_type,
            "statusPurpose": purpose,
            "encodedList": encode(bits, kind),
            **(subject or {}),
        },
    }
    doc.update(extra)
    return {k: v for k, v in doc.items() if v is not None}


def test_parse_list_credential_reads_v11_dates_ttl_and_issuer_object():
    doc = list_doc(
        issuer={"id": "did:example:issuer", "name": "Registrar"},
        subject={"ttl": 90_000},
        validFrom=None,
        issuanceDate="2025-01-01T00:00:00.123456789+02:00",
        expirationDate="2026-01-01T00:00:00",
    )
    parsed = parse_list_credential(doc, kind=BITSTRING, url=URL)
    assert parsed.issuer == "did:example:issuer"
    assert parsed.ttl == 90.0
    assert parsed.valid_from == datetime(2024, 12, 31, 22, 0, 0, 123456, tzinfo=UTC)
    assert parsed.valid_until == datetime(2026, 1, 1, tzinfo=UTC)


def test_parse_list_credential_accepts_several_purposes():
    parsed = parse_list_credential(
        list_doc(purpose=["revocation", "suspension"]), kind=BITSTRING
    )
    assert parsed.purposes == {"revocation", "suspension"}


MALFORMED_LISTS = {
    "not-object": ([], "not an object"),
    "enveloped-jwt": (
        {"type": "EnvelopedVerifiableCredential", "id": "data:application/vc+jwt,ey"},
        "lacks 'BitstringStatusListCredential'",
    ),
    "2021-type-for-bitstring": (
        list_doc(kind=SL2021),
        "lacks 'BitstringStatusListCredential'",
    ),
    "another-lists-id": (
        list_doc(url="https://status.example/lists/2"),
        "is not its url",
    ),
    "subject-array": (
        list_doc(credentialSubject=[{"type": "BitstringStatusList"}] * 2),
        "one object",
    ),
    "subject-type": (
        list_doc(subject={"type": "StatusList2021"}),
        "must be 'BitstringStatusList'",
    ),
    "no-purpose": (list_doc(subject={"statusPurpose": []}), "statusPurpose"),
    "purpose-number": (list_doc(subject={"statusPurpose": 1}), "statusPurpose"),
    "no-encoded-list": (list_doc(subject={"encodedList": None}), "encodedList"),
    "ttl-negative": (list_doc(subject={"ttl": -1}), "ttl must be"),
    "ttl-string": (list_doc(subject={"ttl": "300000"}), "ttl must be"),
    "valid-until-garbage": (list_doc(validUntil="tomorrow"), "validUntil"),
    "valid-from-date-only": (list_doc(validFrom="2025-01-01"), "validFrom"),
    "valid-from-month-13": (list_doc(validFrom="2025-13-01T00:00:00Z"), "validFrom"),
    "valid-from-unicode-digits": (
        list_doc(validFrom="\u0662\u0660\u0662\u0665-01-01T00:00:00Z"),
        "validFrom",
    ),
    "issuer-number": (list_doc(issuer=7), "issuer must be"),
}


@pytest.mark.parametrize(
    ("doc", "message"), MALFORMED_LISTS.values(), ids=MALFORMED_LISTS.keys()
)
def test_parse_list_credential_rejects_malformed_list(doc, message):
    with pytest.raises(StatusError, match=message):
        parse_list_credential(doc, kind=BITSTRING, url=URL)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-06-01T12:00:00Z", NOW),
        ("2025-06-01T14:00:00+02:00", NOW),
        ("2025-06-01T12:00:00", NOW),
        ("2025-06-01T12:00:00.5Z", NOW + timedelta(milliseconds=500)),
    ],
    ids=["utc", "offset", "naive-as-utc", "fraction"],
)
def test_parse_instant(text, expected):
    assert parse_instant(text) == expected


# --- the validate algorithm on a list in hand -----------------------------------


def one_list(**overrides: Any) -> StatusList:
    values: dict[str, Any] = {
        "kind": BITSTRING,
        "bits": bits_with(5),
        "purposes": frozenset({"revocation"}),
        "issuer": "did:example:issuer",
        "valid_from": NOW - timedelta(days=1),
        "valid_until": NOW + timedelta(days=1),
    }
    values.update(overrides)
    return StatusList(**values)


ENTRY_5 = StatusEntry(kind=BITSTRING, purpose="revocation", index=5, list_url=URL)


def test_evaluate_reads_the_entry():
    assert evaluate_status(ENTRY_5, one_list(), now=NOW) == 1
    assert (
        evaluate_status(dataclasses.replace(ENTRY_5, index=6), one_list(), now=NOW) == 0
    )


REFUSALS = {
    "purpose-mismatch": (
        {"purposes": frozenset({"suspension"})},
        {},
        "status purpose 'revocation' is not among the list's",
    ),
    "not-yet-valid": ({"valid_from": NOW + timedelta(hours=1)}, {}, "not valid before"),
    "expired": ({"valid_until": NOW - timedelta(hours=1)}, {}, "expired at"),
    "other-issuer": ({}, {"issuer": "did:example:other"}, "not by 'did:example:other'"),
    "kind-mismatch": ({"kind": SL2021}, {}, "points at a StatusList2021Credential"),
    "index-beyond-list": (
        {},
        {"entry": dataclasses.replace(ENTRY_5, index=MIN_ENTRIES)},
        "out of range",
    ),
}


@pytest.mark.parametrize(
    ("list_overrides", "kwargs", "message"), REFUSALS.values(), ids=REFUSALS.keys()
)
def test_evaluate_refuses(list_overrides, kwargs, message):
    kwargs = dict(kwargs)
    target = kwargs.pop("entry", ENTRY_5)
    with pytest.raises(StatusError, match=message):
        evaluate_status(target, one_list(**list_overrides), now=NOW, **kwargs)


def test_evaluate_leeway_tolerates_clock_skew_on_both_ends():
    early = one_list(valid_from=NOW + timedelta(seconds=30))
    late = one_list(valid_until=NOW - timedelta(seconds=30))
    assert evaluate_status(ENTRY_5, early, now=NOW, leeway=60) == 1
    assert evaluate_status(ENTRY_5, late, now=NOW, leeway=60) == 1


def test_status_error_is_a_verification_error():
    assert issubclass(StatusError, VerificationError)


# --- the checker against a local HTTPS server -----------------------------------

HOST = "status.test"
LOOPBACK = frozenset({ipaddress.ip_network("127.0.0.0/8")})
ISSUER = "did:example:issuer"
SIGNER = SigningKey(bytes(range(32)))
LISTS = web.AppKey("lists", dict)
"""path → (status, body, delay seconds); the test fills it."""


def sign(doc: dict[str, Any]) -> dict[str, Any]:
    """Add a test proof: Ed25519 over the JCS form of the rest of the document."""
    body = {k: v for k, v in doc.items() if k != "proof"}
    signature = SIGNER.sign(rfc8785.dumps(body)).signature
    return {**body, "proof": {"type": "TestEd25519Jcs", "proofValue": signature.hex()}}


async def verify_proof(doc: dict[str, Any]) -> None:
    """The injected verifier: a real signature check; raises to refuse."""
    proof = doc.pop("proof", None)
    if not isinstance(proof, dict):
        raise ValueError("no proof")
    SIGNER.verify_key.verify(rfc8785.dumps(doc), bytes.fromhex(proof["proofValue"]))


async def serve_list(request: web.Request) -> web.StreamResponse:
    found = request.app[LISTS].get(request.path)
    if found is None:
        raise web.HTTPNotFound()
    status, body, delay = found
    if delay:
        await asyncio.sleep(delay)
    return web.Response(
        status=status,
        body=json.dumps(body).encode(),
        headers={"Content-Type": "application/vc+ld+json"},
    )


class Clock:
    def __init__(self) -> None:
        self.now = NOW.timestamp()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def pki(tmp_path):
    return TestPKI(tmp_path)


@pytest.fixture
async def dns():
    async with serve_dns({HOST: ["127.0.0.1"]}) as server:
        yield server


@pytest.fixture
async def site(pki):
    app = web.Application()
    app[LISTS] = {}
    app.router.add_get("/{tail:.*}", serve_list)
    async with serve_app(app, ssl_context=pki.server_context(HOST)) as server:
        yield server, app[LISTS]


def policy(dns: DNSServer, pki: TestPKI, **overrides: Any) -> FetchPolicy:
    base = FetchPolicy(
        ca_file=pki.ca_file,
        nameservers=(dns.address,),
        connect_timeout=1.0,
        total_timeout=2.0,
        unsafe_allow_private_networks=LOOPBACK,
    )
    return dataclasses.replace(base, **overrides)


@pytest.fixture
async def fetcher(dns, pki):
    async with Fetcher.open(policy(dns, pki)) as f:
        yield f


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def checker(fetcher, clock):
    return StatusChecker(fetcher, verify_proof, clock=clock)


def publish(
    site, path: str, make: Any, *, status: int = 200, delay: float = 0.0
) -> str:
    """Serve ``make(url)`` (or ``make`` itself) at ``path``; return its URL."""
    server, lists = site
    url: str = server.url(HOST, path)
    lists[path] = (status, make(url) if callable(make) else make, delay)
    return url


def signed_list(*indexes: int, **kwargs: Any):
    """A list-credential maker for ``publish``: signed, with ``id`` = its URL."""
    return lambda url: sign(list_doc(bits_with(*indexes), url=url, **kwargs))


def at(url: str, index: int = 5, **overrides: Any) -> dict[str, Any]:
    """A BitstringStatusListEntry for ``index`` in the list at ``url``."""
    return entry(index, statusListCredential=url, id=None, **overrides)


async def test_checker_reports_revoked_bit_from_served_list(checker, site):
    url = publish(site, "/lists/1", signed_list(201))
    before = datetime.now(UTC)
    revoked, fine = await checker.check([at(url, 201), at(url, 200)], now=NOW)
    assert (revoked.set, revoked.value, revoked.index) == (True, 1, 201)
    assert (fine.set, fine.value, fine.index) == (False, 0, 200)
    assert revoked.supported
    assert revoked.type == "BitstringStatusListEntry"
    assert (revoked.purpose, revoked.list_url) == ("revocation", url)
    assert (revoked.list_issuer, revoked.message) == (ISSUER, None)
    assert not revoked.cached
    assert revoked.retrieved is not None
    assert before <= revoked.retrieved <= datetime.now(UTC)
    server, _ = site
    assert server.requests == ["/lists/1"]  # two entries, one list, one fetch


async def test_checker_reads_statuslist2021_list_shorter_than_16kb(
    checker, site, caplog
):
    url = publish(
        site,
        "/2021/1",
        lambda url: sign(
            list_doc(bits_with(50_000, n_bits=100_000), url=url, kind=SL2021)
        ),
    )
    [result] = await checker.check(at(url, 50_000, type="StatusList2021Entry"), now=NOW)
    assert result.set is True
    assert result.type == "StatusList2021Entry"
    assert "holds 100000 entries, below the 131072" in caplog.text


async def test_checker_returns_status_message_of_multi_bit_entry(checker, site):
    bits = bytearray(bits_with(n_bits=2 * MIN_ENTRIES))
    bits[1] = 0b00100000  # entry 5 of 2 bits = bits 10-11 = 0b10
    url = publish(
        site, "/m", lambda url: sign(list_doc(bytes(bits), url=url, purpose="message"))
    )
    [result] = await checker.check(
        at(url, 5, statusPurpose="message", statusSize=2, statusMessage=MESSAGES_2BIT),
        now=NOW,
    )
    assert (result.value, result.set, result.message, result.size) == (
        2,
        True,
        "rejected",
        2,
    )


async def test_checker_reports_unsupported_type_without_raising_or_fetching(
    checker, site
):
    url = publish(site, "/lists/1", signed_list())
    other = {
        "id": "https://issuer.example/revocations",
        "type": "1EdTechRevocationList",
        "statusPurpose": "revocation",
    }
    unsupported, supported = await checker.check([other, at(url, 3)], now=NOW)
    assert not unsupported.supported
    assert unsupported.type == "1EdTechRevocationList"
    assert unsupported.purpose == "revocation"
    assert (unsupported.set, unsupported.value) == (None, None)
    assert supported.supported
    assert supported.set is False
    server, _ = site
    assert server.requests == ["/lists/1"]


async def test_checker_fetch_failure_is_status_error(checker, site):
    server, _ = site
    url = server.url(HOST, "/missing")
    with pytest.raises(StatusError, match=r"status list .*/missing answered http 404"):
        await checker.check(at(url), now=NOW)


async def test_checker_unknown_host_is_status_error(checker, site):
    server, _ = site
    url = server.url("nowhere.test", "/lists/1")
    with pytest.raises(StatusError, match="could not be fetched"):
        await checker.check(at(url), now=NOW)


async def test_checker_refuses_list_with_bit_cleared_after_signing(checker, site):
    # Attack: someone between issuer and verifier clears a revoked bit.
    def tampered(url):
        doc = sign(list_doc(bits_with(5), url=url))
        subject = {**doc["credentialSubject"], "encodedList": encode(bits_with())}
        return {**doc, "credentialSubject": subject}

    url = publish(site, "/lists/1", tampered)
    with pytest.raises(StatusError, match="failed proof verification") as info:
        await checker.check(at(url, 5), now=NOW)
    assert info.value.__cause__ is not None


async def test_checker_refuses_unsigned_list(checker, site):
    url = publish(site, "/lists/1", lambda url: list_doc(bits_with(5), url=url))
    with pytest.raises(StatusError, match="failed proof verification: no proof"):
        await checker.check(at(url, 5), now=NOW)


async def test_checker_refuses_document_that_is_no_list_before_verifying(fetcher, site):
    calls = []

    async def counting_verify(doc):
        calls.append(doc)

    checker = StatusChecker(fetcher, counting_verify)
    url = publish(site, "/did.json", {"id": "x", "type": ["VerifiableCredential"]})
    with pytest.raises(StatusError, match="is not a BitstringStatusListCredential"):
        await checker.check(at(url), now=NOW)
    assert calls == []


async def test_checker_refuses_list_served_in_place_of_another(checker, site):
    # Attack: a validly signed list of the same issuer, but for another URL.
    server, _ = site
    other = server.url(HOST, "/lists/2")
    url = publish(site, "/lists/1", sign(list_doc(bits_with(), url=other)))
    with pytest.raises(StatusError, match="is not its url"):
        await checker.check(at(url), now=NOW)


async def test_checker_refuses_list_of_another_issuer_when_asked(checker, site):
    url = publish(site, "/lists/1", signed_list(issuer="did:example:mallory"))
    with pytest.raises(StatusError, match="issued by 'did:example:mallory'"):
        await checker.check(at(url), now=NOW, issuer=ISSUER)


async def test_checker_refuses_purpose_mismatch(checker, site):
    url = publish(site, "/lists/1", signed_list(5, purpose="suspension"))
    with pytest.raises(StatusError, match="'revocation' is not among the list's"):
        await checker.check(at(url, 5), now=NOW)


async def test_checker_refuses_expired_list(checker, site):
    url = publish(site, "/lists/1", signed_list(validUntil="2025-05-01T00:00:00Z"))
    with pytest.raises(StatusError, match="expired at 2025-05-01T00:00:00Z"):
        await checker.check(at(url), now=NOW)


async def test_checker_refuses_list_from_private_address_without_unsafe_setting(
    dns, pki, site
):
    server, _ = site
    url = publish(site, "/lists/1", signed_list())
    strict = policy(dns, pki, unsafe_allow_private_networks=frozenset())
    async with Fetcher.open(strict) as fetcher:
        checker = StatusChecker(fetcher, verify_proof)
        with pytest.raises(StatusError, match=r"refused \(private-address\)") as info:
            await checker.check(at(url), now=NOW)
    cause = info.value.__cause__
    assert isinstance(cause, FetchRefusedError)
    assert cause.reason == "private-address"
    assert server.requests == []


async def test_checker_parses_every_entry_before_fetching(checker, site):
    url = publish(site, "/lists/1", signed_list())
    with pytest.raises(StatusError, match="statusListIndex"):
        await checker.check([at(url), at(url, statusListIndex="x")], now=NOW)
    server, _ = site
    assert server.requests == []


async def test_checker_refuses_too_many_entries(fetcher):
    checker = StatusChecker(fetcher, verify_proof, max_statuses=2)
    with pytest.raises(StatusError, match="3 status entries, at most 2"):
        await checker.check([entry(i) for i in range(3)], now=NOW)


@pytest.mark.parametrize(
    "value",
    ["revocation", 5, None, ["not-an-object"]],
    ids=["string", "number", "null", "array-of-string"],
)
async def test_checker_rejects_credential_status_that_is_not_entries(checker, value):
    with pytest.raises(StatusError, match="json"):
        await checker.check(value, now=NOW)


async def test_checker_empty_status_array_checks_nothing(checker):
    assert await checker.check([], now=NOW) == []


async def test_checker_rejects_naive_now(checker):
    with pytest.raises(ValueError, match="timezone-aware"):
        await checker.check([], now=datetime(2025, 1, 1))


async def test_checker_caches_list_between_checks(checker, site):
    url = publish(site, "/lists/1", signed_list(7))
    [first] = await checker.check(at(url, 7), now=NOW)
    [second] = await checker.check(at(url, 8), now=NOW)
    assert (first.set, first.cached) == (True, False)
    assert (second.set, second.cached) == (False, True)
    assert second.retrieved == first.retrieved
    server, _ = site
    assert server.requests == ["/lists/1"]
    assert (checker.hits, checker.misses) == (1, 1)


async def test_checker_single_flight_50_concurrent_checks_one_fetch(checker, site):
    url = publish(site, "/lists/1", signed_list(9), delay=0.2)
    results = await asyncio.gather(
        *(checker.check(at(url, 9), now=NOW) for _ in range(50))
    )
    assert all(r.set for [r] in results)
    assert sum(not r.cached for [r] in results) == 1
    server, _ = site
    assert server.requests == ["/lists/1"]
    assert (checker.misses, checker.coalesced) == (1, 49)


async def test_checker_single_flight_survives_first_caller_cancelled(checker, site):
    url = publish(site, "/lists/1", signed_list(9), delay=0.2)
    first = asyncio.ensure_future(checker.check(at(url, 9), now=NOW))
    await asyncio.sleep(0.05)
    second = asyncio.ensure_future(checker.check(at(url, 9), now=NOW))
    await asyncio.sleep(0)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    [result] = await second
    assert result.set is True
    server, _ = site
    assert server.requests == ["/lists/1"]


async def test_checker_refetches_after_cache_ttl(checker, site, clock):
    url = publish(site, "/lists/1", signed_list())
    await checker.check(at(url), now=NOW)
    clock.now += 299
    [cached] = await checker.check(at(url), now=NOW)
    clock.now += 2
    [fresh] = await checker.check(at(url), now=NOW)
    assert cached.cached
    assert not fresh.cached
    server, _ = site
    assert server.requests == ["/lists/1", "/lists/1"]


@pytest.mark.parametrize(
    ("extra", "fresh_for"),
    [
        ({"subject": {"ttl": 10_000}}, 10),
        ({"validUntil": "2025-06-01T12:00:20Z"}, 20),
    ],
    ids=["list-ttl", "valid-until"],
)
async def test_checker_cache_never_outlives_list_ttl_or_validity(
    checker, site, clock, extra, fresh_for
):
    url = publish(site, "/lists/1", signed_list(**extra))
    await checker.check(at(url), now=NOW)
    clock.now += fresh_for - 1
    [cached] = await checker.check(at(url), now=NOW)
    clock.now += 2
    [fresh] = await checker.check(at(url), now=NOW)
    assert cached.cached
    assert not fresh.cached
    server, _ = site
    assert len(server.requests) == 2


async def test_checker_does_not_cache_failures(checker, site):
    server, _ = site
    url = publish(site, "/lists/1", signed_list(4), status=503)
    with pytest.raises(StatusError, match="answered http 503"):
        await checker.check(at(url, 4), now=NOW)
    publish(site, "/lists/1", signed_list(4))
    [result] = await checker.check(at(url, 4), now=NOW)
    assert result.set is True
    assert server.requests == ["/lists/1", "/lists/1"]


async def test_checker_does_not_cache_lists_that_failed_verification(checker, site):
    def forged(url):
        return {**sign(list_doc(bits_with(4), url=url)), "issuer": "did:example:x"}

    url = publish(site, "/lists/1", forged)
    with pytest.raises(StatusError, match="failed proof verification"):
        await checker.check(at(url, 4), now=NOW)
    publish(site, "/lists/1", signed_list(4))
    [result] = await checker.check(at(url, 4), now=NOW)
    assert result.set is True
    assert not result.cached


async def test_checker_lru_bound_evicts_oldest_list(fetcher, site):
    checker = StatusChecker(fetcher, verify_proof, max_entries=1)
    a = publish(site, "/a", signed_list())
    b = publish(site, "/b", signed_list())
    for url in (a, b, a):
        await checker.check(at(url), now=NOW)
    server, _ = site
    assert server.requests == ["/a", "/b", "/a"]
    assert len(checker) == 1


async def test_checker_times_out_slow_list(fetcher, site):
    checker = StatusChecker(fetcher, verify_proof, timeout=0.3)
    url = publish(site, "/slow", signed_list(), delay=1.0)
    with pytest.raises(StatusError, match=r"timed out after 0\.3 s"):
        await checker.check(at(url), now=NOW)


async def test_checker_refuses_gzip_bomb_list(fetcher, site):
    cap = MIN_ENTRIES // 8
    checker = StatusChecker(fetcher, verify_proof, max_list_bytes=cap)
    bomb = {"encodedList": encode(bytes(cap + 1))}
    url = publish(site, "/bomb", signed_list(subject=bomb))
    with pytest.raises(StatusError, match=f"beyond the {cap} byte cap"):
        await checker.check(at(url), now=NOW)
    assert len(checker) == 0
