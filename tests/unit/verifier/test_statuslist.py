"""Status lists, pure (verifier.statuslist): Bitstring Status List and StatusList2021.

Decoding runs against the specs' own examples (W3C Bitstring Status List v1.0
Example "BitstringStatusListCredential", the StatusList2021 example, and the
W3C vc-bitstring-status-list-test-suite fixtures) and against lists built by
``tests.helpers.status_lists``.
"""

from __future__ import annotations

import base64
import dataclasses
import gzip
import tracemalloc
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.helpers.encoding import b64 as b64url
from tests.helpers.status_lists import (
    MESSAGES_2BIT,
    URL,
    bits_with,
    encode,
    entry,
    gz,
    list_doc,
)
from verifier.errors import StatusError, VerificationError
from verifier.statuslist import (
    MAX_LIST_BYTES,
    MIN_ENTRIES,
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
    ("kind", "prefix"), [(BITSTRING, "u"), (SL2021, "")], ids=["bitstring", "2021"]
)
def test_encoded_list_with_unused_bits_set_refused(kind, prefix):
    # The list's last base64 character carries bits no byte uses: set, they
    # made a second spelling of the same list, which base64.b64decode took.
    # A list whose gzip length is no multiple of 3, so the last character
    # has unused bits.
    bits, body = next(
        (data, text)
        for data in (bytes([n]) * 1024 for n in range(1, 256))
        if len(text := b64url(gzip.compress(data, mtime=0))) % 4 in (2, 3)
    )
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    spoiled = body[:-1] + alphabet[alphabet.index(body[-1]) ^ 1]
    assert decode_encoded_list(prefix + body, kind=kind) == bits
    with pytest.raises(StatusError, match="not canonical"):
        decode_encoded_list(prefix + spoiled, kind=kind)


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
