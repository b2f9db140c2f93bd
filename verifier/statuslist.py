"""Status lists, pure: W3C Bitstring Status List v1.0 and the older StatusList2021.

A credential names, in ``credentialStatus``, an index into a status list that
its issuer publishes as a credential of its own. This module reads such
entries and such list credentials, and the entry's bits; the checker that
fetches, verifies and caches the lists is ``verifier.status``.

Specs: W3C Bitstring Status List v1.0 (https://www.w3.org/TR/vc-bitstring-status-list/,
Recommendation track, 2024-2025 drafts) and its predecessor, W3C CCG Verifiable
Credentials Status List 2021 (final report 2023-01-02, FPWD "VC Status List
v2021" 2023-04-27).

Everything here is synchronous and does no I/O: ``status_entries`` and
``parse_entry`` (a ``credentialStatus`` value and its entries),
``decode_encoded_list`` (multibase/base64url → GZIP → bytes, with caps on the
compressed and expanded sizes, expanded incrementally so a gzip bomb stops at
the cap), ``require_list_type`` and ``parse_list_credential`` (the list
credential's shape, purposes, validity and ``ttl``), ``read_status`` (the bits
of one entry; index 0 is the left-most, most significant bit of the first
byte) and ``evaluate_status`` (the spec's validate algorithm once the list is
in hand: validity window, purpose, herd-privacy length, range).

Decisions where the specs leave room (each is a comment below, too):

- Bitstring lists shorter than 131,072 entries are refused
  (STATUS_LIST_LENGTH_ERROR, step 9 of the validate algorithm). StatusList2021
  has no such step and real 2021 lists (e.g. 100,000 entries) are shorter, so
  the checker accepts them with a logged warning.
- A Bitstring ``encodedList`` must carry the multibase ``u`` prefix; a bare
  base64url GZIP stream (``H4sI…``, as published before the prefix was added
  and in the W3C test suite's fixtures) is also read. Any other prefix is refused.
- StatusList2021 says "base-64"; its examples use the URL-safe alphabet. Both
  alphabets are read (never mixed), with or without padding.
- A list credential whose ``id`` differs from the URL it was fetched from is
  refused: it is another list, served in place of the one the issuer named.
- ``statusSize`` is supported up to 8 bits (the spec lets processors support 1
  only; 8 means 256 ``statusMessage`` entries).

What this module does not do: fetch anything, verify proofs, or decide what a
set bit means for the credential as a whole (revocation vs suspension vs
refresh is the service's call).
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from resolver.multibase import b64url_decode
from resolver.strictjson import json_type
from resolver.timefmt import TimeSyntaxError, format_time, parse_time
from verifier.errors import StatusError

__all__ = [
    "ENTRY_TYPES",
    "MAX_COMPRESSED_BYTES",
    "MAX_INDEX_DIGITS",
    "MAX_LIST_BYTES",
    "MAX_STATUS_SIZE",
    "MIN_ENTRIES",
    "StatusEntry",
    "StatusList",
    "StatusListKind",
    "decode_encoded_list",
    "entry_type",
    "evaluate_status",
    "parse_entry",
    "parse_instant",
    "parse_list_credential",
    "read_status",
    "require_list_type",
    "status_entries",
]

MIN_ENTRIES: Final = 131_072
"""Bitstring Status List minimum number of entries (16 KiB of 1-bit entries),
for herd privacy (validate algorithm, step 2)."""
MAX_STATUS_SIZE: Final = 8
"""Largest ``statusSize`` supported, in bits (256 status messages)."""
MAX_COMPRESSED_BYTES: Final = 1 << 20
"""Default cap on the GZIP bytes of one ``encodedList`` (1 MiB)."""
MAX_LIST_BYTES: Final = 16 << 20
"""Default cap on an expanded bitstring (16 MiB, 134 million 1-bit entries)."""
MAX_INDEX_DIGITS: Final = 20
"""Longest ``statusListIndex`` accepted; longer cannot be in any list we accept."""

_GZIP_MAGIC: Final = b"\x1f\x8b"
_BARE_GZIP_PREFIX: Final = "H4sI"  # base64 of 1f 8b 08: GZIP, deflate
_B64URL: Final = re.compile(r"[A-Za-z0-9_-]*")
_B64STD: Final = re.compile(r"[A-Za-z0-9+/]*")
_STD_TO_URL: Final = str.maketrans("+/", "-_")
_INDEX: Final = re.compile(r"[0-9]+")
_HEX_STATUS: Final = re.compile(r"0[xX][0-9a-fA-F]+")


class StatusListKind(StrEnum):
    """The two status list formats, named after the list's subject type."""

    BITSTRING = "BitstringStatusList"
    """W3C Bitstring Status List v1.0."""
    STATUS_LIST_2021 = "StatusList2021"
    """W3C CCG Status List 2021 (the predecessor)."""

    @property
    def entry_type(self) -> str:
        """The ``credentialStatus.type`` that points into this kind of list."""
        return f"{self.value}Entry"

    @property
    def credential_type(self) -> str:
        """The ``type`` the list credential must include."""
        return f"{self.value}Credential"

    @property
    def subject_type(self) -> str:
        """The ``credentialSubject.type`` of the list credential."""
        return self.value


_KIND_BY_ENTRY_TYPE: Final = {k.entry_type: k for k in StatusListKind}
ENTRY_TYPES: Final = frozenset(_KIND_BY_ENTRY_TYPE)
"""The ``credentialStatus`` types this module reads."""


# --- entries (pure) -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StatusEntry:
    """One parsed ``credentialStatus`` entry of a supported type."""

    kind: StatusListKind
    """Which list format the entry points into."""
    purpose: str
    """``statusPurpose``, e.g. ``revocation``, ``suspension``, ``message``."""
    index: int
    """``statusListIndex``: the entry's position, in entries of ``size`` bits."""
    list_url: str
    """``statusListCredential``: where the list credential is published."""
    size: int = 1
    """``statusSize``: bits per entry (always 1 for StatusList2021)."""
    messages: tuple[str, ...] | None = None
    """``statusMessage`` messages by status value, when the entry has them."""
    id: str | None = None
    """The entry's own ``id``, if any (never the list URL)."""

    @property
    def type(self) -> str:
        """The entry type, e.g. ``BitstringStatusListEntry``."""
        return self.kind.entry_type

    def message_for(self, value: int) -> str | None:
        """The ``statusMessage`` message for ``value``, or ``None`` without messages."""
        if self.messages is None:
            return None
        return self.messages[value]


def status_entries(
    credential_status: Any, *, max_statuses: int
) -> list[Mapping[str, Any]]:
    """The entries of a ``credentialStatus`` value: one object or an array of them.

    Raises:
        StatusError: the value is neither, an item is no object, or there are
            more than ``max_statuses`` entries.
    """
    if isinstance(credential_status, Mapping):
        items: list[Any] = [credential_status]
    elif isinstance(credential_status, list | tuple):
        items = list(credential_status)
    else:
        raise StatusError(
            "credentialStatus must be an object or an array of objects, not a "
            f"json {json_type(credential_status)}"
        )
    if len(items) > max_statuses:
        raise StatusError(
            f"{len(items)} status entries, at most {max_statuses} are checked"
        )
    for item in items:
        if not isinstance(item, Mapping):
            raise StatusError(
                f"status entry is a json {json_type(item)}, not an object"
            )
    return items


def entry_type(entry: Any) -> str:
    """Return the ``type`` of a ``credentialStatus`` entry, supported or not.

    A list-valued ``type`` (JSON-LD allows it) gives its one supported member,
    else its first member.

    Raises:
        StatusError: the entry is not an object or has no string ``type``.
    """
    if not isinstance(entry, Mapping):
        raise StatusError(f"status entry is a json {json_type(entry)}, not an object")
    value = entry.get("type")
    if isinstance(value, str) and value:
        return value
    if (
        isinstance(value, list)
        and value
        and all(isinstance(t, str) and t for t in value)
    ):
        known = [t for t in value if t in _KIND_BY_ENTRY_TYPE]
        return known[0] if len(known) == 1 else str(value[0])
    raise StatusError("status entry has no type")


def parse_entry(entry: Mapping[str, Any]) -> StatusEntry:
    """Parse a ``BitstringStatusListEntry`` or ``StatusList2021Entry``.

    Raises:
        StatusError: the entry is malformed (MALFORMED_VALUE_ERROR) or of a type
            this module does not read (message starts ``unsupported status type``).
    """
    type_ = entry_type(entry)
    kind = _KIND_BY_ENTRY_TYPE.get(type_)
    if kind is None:
        raise StatusError(f"unsupported status type {type_!r}")

    purpose = entry.get("statusPurpose")
    if not isinstance(purpose, str) or not purpose:
        raise StatusError("statusPurpose must be a non-empty string")

    raw_index = entry.get("statusListIndex")
    # "an arbitrary size integer greater than or equal to 0, expressed as a
    # string in base 10": a JSON number is a non-conforming document.
    if not isinstance(raw_index, str) or not _INDEX.fullmatch(raw_index):
        raise StatusError(
            f"statusListIndex must be a base-10 string of digits, not {raw_index!r}"
        )
    if len(raw_index) > MAX_INDEX_DIGITS:
        raise StatusError(f"statusListIndex of {len(raw_index)} digits is too large")
    index = int(raw_index)

    url = entry.get("statusListCredential")
    if not isinstance(url, str) or not url:
        raise StatusError("statusListCredential must be a non-empty url string")

    entry_id = entry.get("id")
    if entry_id is not None:
        if not isinstance(entry_id, str):
            raise StatusError("status entry id must be a string")
        if entry_id == url:
            # Both specs: the entry's id MUST NOT be the URL of the status list.
            raise StatusError("status entry id must not be the status list url")

    size = _parse_size(entry, kind)
    messages = (
        _parse_messages(entry, size) if kind is StatusListKind.BITSTRING else None
    )
    return StatusEntry(
        kind=kind,
        purpose=purpose,
        index=index,
        list_url=url,
        size=size,
        messages=messages,
        id=entry_id,
    )


def _parse_size(entry: Mapping[str, Any], kind: StatusListKind) -> int:
    if "statusSize" not in entry:
        return 1
    size = entry["statusSize"]
    if type(size) is not int or size < 1:
        raise StatusError(f"statusSize must be a positive integer, not {size!r}")
    if kind is StatusListKind.STATUS_LIST_2021:
        if size != 1:
            # StatusList2021 defines 1-bit entries only; reading one bit of a
            # wider entry would report the wrong status.
            raise StatusError(f"statusSize {size} is not defined for StatusList2021")
        return 1
    if size > MAX_STATUS_SIZE:
        raise StatusError(
            f"statusSize {size} not supported (at most {MAX_STATUS_SIZE} bits)"
        )
    return size


def _parse_messages(entry: Mapping[str, Any], size: int) -> tuple[str, ...] | None:
    raw = entry.get("statusMessage")
    if raw is None:
        if size > 1:
            raise StatusError(f"statusMessage is required when statusSize is {size}")
        return None
    expected = 1 << size
    if not isinstance(raw, list) or len(raw) != expected:
        got = len(raw) if isinstance(raw, list) else json_type(raw)
        raise StatusError(
            f"statusMessage must list {expected} messages for statusSize {size}, "
            f"got {got}"
        )
    by_value: dict[int, str] = {}
    for item in raw:
        if not isinstance(item, Mapping):
            raise StatusError("each statusMessage item must be an object")
        status, message = item.get("status"), item.get("message")
        if not isinstance(status, str) or not _HEX_STATUS.fullmatch(status):
            raise StatusError(f"statusMessage status {status!r} is not 0x-prefixed hex")
        if not isinstance(message, str):
            raise StatusError(f"statusMessage message for {status} must be a string")
        value = int(status, 16)
        if value >= expected:
            raise StatusError(
                f"statusMessage status {status} does not fit in {size} bits"
            )
        if value in by_value:
            raise StatusError(f"statusMessage status {status} appears twice")
        by_value[value] = message
    # len(raw) == expected and the values are distinct and in range: all covered.
    return tuple(by_value[v] for v in range(expected))


# --- encodedList (pure) -------------------------------------------------------


def decode_encoded_list(
    value: Any,
    *,
    kind: StatusListKind,
    max_compressed: int = MAX_COMPRESSED_BYTES,
    max_decompressed: int = MAX_LIST_BYTES,
) -> bytes:
    """Expand an ``encodedList`` into the bitstring's bytes.

    Bitstring Status List: multibase base64url, no padding (prefix ``u``), of
    a GZIP stream (RFC 1952); a bare base64url GZIP stream is also read.
    StatusList2021: base64 or base64url (RFC 4648), padding optional, of a GZIP
    stream. The stream is expanded incrementally and refused as soon as it would
    pass ``max_decompressed`` bytes; several GZIP members are concatenated.

    Raises:
        StatusError: not a string, a wrong multibase prefix, bad base64, over a
            cap, not GZIP, truncated or corrupt (CRC or length check).
    """
    if not isinstance(value, str) or not value:
        raise StatusError("encodedList must be a non-empty string")
    alphabets: tuple[re.Pattern[str], ...]
    if kind is StatusListKind.BITSTRING:
        if value[0] == "u":
            text, alphabets, padded = value[1:], (_B64URL,), False
        elif value.startswith(_BARE_GZIP_PREFIX):
            # NOTE: no multibase prefix. Lists published before the 2024 drafts
            # added it, and the W3C test suite's own fixtures, look like this;
            # "H4sI" is no multibase prefix, so the reading is unambiguous.
            text, alphabets, padded = value, (_B64URL,), True
        else:
            raise StatusError(
                f"encodedList has multibase prefix {value[0]!r}, "
                "expected 'u' (base64url, no padding)"
            )
    else:
        text, alphabets, padded = value, (_B64URL, _B64STD), True

    if len(text) > (max_compressed + 2) // 3 * 4 + 2:
        raise StatusError(
            f"encodedList of {len(value)} characters is over the "
            f"{max_compressed} byte cap"
        )
    compressed = _b64decode(text, alphabets, padded=padded)
    if len(compressed) > max_compressed:
        raise StatusError(
            f"encodedList of {len(compressed)} bytes is over the "
            f"{max_compressed} byte cap"
        )
    return _gunzip(compressed, max_decompressed)


def _b64decode(
    text: str, alphabets: Sequence[re.Pattern[str]], *, padded: bool
) -> bytes:
    body = text.rstrip("=") if padded else text
    if len(text) - len(body) > 2:
        raise StatusError("encodedList has too much base64 padding")
    if not body:
        raise StatusError("encodedList is empty")
    alphabet = next((a for a in alphabets if a.fullmatch(body)), None)
    if alphabet is None:
        raise StatusError("encodedList is not base64url")
    if len(body) % 4 == 1:
        raise StatusError(f"encodedList of {len(body)} base64 characters is truncated")
    # One strict decoder (resolver.multibase): the standard alphabet, which
    # StatusList2021 allows, differs from base64url in two characters only.
    try:
        return b64url_decode(body.translate(_STD_TO_URL))
    except ValueError as e:
        raise StatusError(f"encodedList is not base64: {e}") from e


def _gunzip(data: bytes, cap: int) -> bytes:
    if not data.startswith(_GZIP_MAGIC):
        raise StatusError("encodedList is not gzip data (rfc 1952)")
    out = bytearray()
    rest = data
    while rest:
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # gzip only
        try:
            # At most one byte past the cap: enough to know it is over. A
            # max_length of 0 would mean "no limit", but it is always >= 1 here.
            out += inflater.decompress(rest, cap - len(out) + 1)
        except zlib.error as e:
            raise StatusError(f"encodedList gzip data is corrupt: {e}") from e
        if len(out) > cap:
            raise StatusError(f"encodedList expands beyond the {cap} byte cap")
        if not inflater.eof:
            raise StatusError("encodedList gzip data is truncated")
        rest = inflater.unused_data  # RFC 1952 §2.2: a file is a series of members
    return bytes(out)


# --- reading bits (pure) ------------------------------------------------------


def read_status(bits: bytes, index: int, size: int = 1) -> int:
    """Read entry ``index`` of ``size`` bits from a bitstring.

    Entry ``index`` occupies bits ``index*size`` to ``index*size + size - 1``,
    bit 0 being the left-most (most significant) bit of the first byte; the
    entry's first bit is its most significant.

    Raises:
        StatusError: ``index`` is negative or past the end of the list
            (RANGE_ERROR), or ``size`` is not positive.
    """
    if size < 1:
        raise StatusError(f"status size must be positive, not {size}")
    if index < 0:
        raise StatusError(f"status index {index} is negative")
    start = index * size
    end = start + size
    total = len(bits) * 8
    if end > total:
        raise StatusError(
            f"status index {index} out of range: the list holds {total // size} "
            f"entries of {size} bit{'s' if size > 1 else ''}"
        )
    first, last = start >> 3, (end + 7) >> 3
    chunk = int.from_bytes(bits[first:last], "big")
    return (chunk >> (last * 8 - end)) & ((1 << size) - 1)


# --- list credentials (pure) --------------------------------------------------


@dataclass(frozen=True, slots=True)
class StatusList:
    """A status list credential's content, its bitstring expanded."""

    kind: StatusListKind
    """Bitstring Status List or StatusList2021."""
    bits: bytes
    """The expanded bitstring."""
    purposes: frozenset[str]
    """``credentialSubject.statusPurpose`` (one or more)."""
    id: str | None = None
    """The list credential's ``id``, if any."""
    issuer: str | None = None
    """The list credential's issuer (``issuer`` or ``issuer.id``), if any."""
    valid_from: datetime | None = None
    """``validFrom`` (VCDM 2) or ``issuanceDate`` (VCDM 1.1), in UTC."""
    valid_until: datetime | None = None
    """``validUntil`` (VCDM 2) or ``expirationDate`` (VCDM 1.1), in UTC."""
    ttl: float | None = None
    """``credentialSubject.ttl`` in seconds (Bitstring only; given in ms)."""

    @property
    def bit_length(self) -> int:
        """Number of bits in the list."""
        return len(self.bits) * 8


def require_list_type(doc: Any, *, kind: StatusListKind, url: str) -> None:
    """Refuse, cheaply, a document fetched from ``url`` that is no ``kind`` list.

    Meant for before proof verification, so that a document that is no list
    credential never costs a DID resolution.

    Raises:
        StatusError: ``doc`` is not an object whose ``type`` has the list type.
    """
    if not isinstance(doc, dict):
        raise StatusError(
            f"status list {url} is a json {json_type(doc)}, not an object"
        )
    if kind.credential_type not in _string_list(doc.get("type")):
        raise StatusError(f"status list {url} is not a {kind.credential_type}")


def parse_list_credential(
    credential: Any,
    *,
    kind: StatusListKind,
    url: str | None = None,
    max_compressed: int = MAX_COMPRESSED_BYTES,
    max_decompressed: int = MAX_LIST_BYTES,
) -> StatusList:
    """Check a status list credential's shape and expand its list.

    Does not verify the proof (the caller does) nor compare dates with a
    clock (``evaluate_status`` does).

    Args:
        credential: The list credential, as parsed JSON.
        kind: The format the status entry expects.
        url: The URL the credential was fetched from; if given, a credential
            ``id`` that differs from it is refused.
        max_compressed: Cap on the GZIP bytes of ``encodedList``.
        max_decompressed: Cap on the expanded bitstring.

    Raises:
        StatusError: the credential is not a ``kind`` list credential or a
            member is malformed (see ``decode_encoded_list``, too).
    """
    if not isinstance(credential, Mapping):
        raise StatusError(
            f"status list credential is a json {json_type(credential)}, not an object"
        )
    types = _string_list(credential.get("type"))
    if kind.credential_type not in types:
        raise StatusError(
            f"status list credential type {sorted(types)} lacks "
            f"{kind.credential_type!r}"
        )
    cred_id = credential.get("id")
    if cred_id is not None and not isinstance(cred_id, str):
        raise StatusError("status list credential id must be a string")
    if url is not None and cred_id is not None and cred_id != url:
        raise StatusError(
            f"status list credential id {cred_id!r} is not its url {url!r}"
        )

    subject = credential.get("credentialSubject")
    if isinstance(subject, list) and len(subject) == 1:
        subject = subject[0]
    if not isinstance(subject, Mapping):
        raise StatusError("status list credentialSubject must be one object")
    if kind.subject_type not in _string_list(subject.get("type")):
        raise StatusError(
            f"status list credentialSubject type must be {kind.subject_type!r}"
        )
    purposes = _string_list(subject.get("statusPurpose"))
    if not purposes or not all(purposes):
        raise StatusError("status list statusPurpose must be one or more strings")

    ttl: float | None = None
    if kind is StatusListKind.BITSTRING and "ttl" in subject:
        raw_ttl = subject["ttl"]
        if type(raw_ttl) not in (int, float) or not 0 <= raw_ttl < float("inf"):
            raise StatusError(
                f"status list ttl must be milliseconds >= 0, not {raw_ttl!r}"
            )
        ttl = raw_ttl / 1000

    valid_from = _instant(credential, "validFrom", "issuanceDate")
    valid_until = _instant(credential, "validUntil", "expirationDate")
    bits = decode_encoded_list(
        subject.get("encodedList"),
        kind=kind,
        max_compressed=max_compressed,
        max_decompressed=max_decompressed,
    )
    return StatusList(
        kind=kind,
        bits=bits,
        purposes=frozenset(purposes),
        id=cred_id,
        issuer=_issuer_id(credential.get("issuer")),
        valid_from=valid_from,
        valid_until=valid_until,
        ttl=ttl,
    )


def _string_list(value: Any) -> list[str]:
    """A JSON string or array of strings as a list; anything else as []."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    return []


def _issuer_id(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str) and value:
        return value
    if isinstance(value, Mapping) and isinstance(value.get("id"), str):
        return str(value["id"])
    raise StatusError("status list issuer must be a url or an object with an id")


def _instant(credential: Mapping[str, Any], *names: str) -> datetime | None:
    """The first of ``names`` present, parsed as an XML Schema dateTime."""
    for name in names:
        if name in credential:
            return parse_instant(credential[name], name)
    return None


def parse_instant(value: Any, name: str = "date") -> datetime:
    """Parse an XML Schema ``dateTimeStamp`` (``2024-04-05T14:27:40Z``) into UTC.

    A value without an offset (VCDM 1.1 allowed it) is read as UTC, the rule of
    the whole credential path (``resolver.timefmt``).

    Raises:
        StatusError: not a string of that form, or not a real instant.
    """
    try:
        return parse_time(value, grammar="xsd")
    except TimeSyntaxError:
        raise StatusError(f"{name} {value!r} is not an xml schema datetime") from None
    except ValueError as e:
        raise StatusError(f"{name} {value!r} is not a valid instant: {e}") from e


# --- the validate algorithm, once the list is in hand (pure) -------------------


def evaluate_status(
    entry: StatusEntry,
    status_list: StatusList,
    *,
    now: datetime,
    min_entries: int = MIN_ENTRIES,
    leeway: float = 0.0,
    issuer: str | None = None,
) -> int:
    """Apply the spec's validate algorithm to a verified list; return the status.

    Checks, in order: the list's format matches the entry's; ``now`` is within
    the list's validity period (widened by ``leeway`` seconds each way); the
    entry's purpose is one of the list's; ``issuer``, if given, issued the
    list; a Bitstring list holds at least ``min_entries`` entries of the
    entry's size; the index is in range. Returns the entry's value (0 = unset).

    Raises:
        StatusError: any check fails (STATUS_VERIFICATION_ERROR,
            STATUS_LIST_LENGTH_ERROR or RANGE_ERROR in the spec's terms).
    """
    if status_list.kind is not entry.kind:
        raise StatusError(
            f"{entry.type} points at a {status_list.kind.credential_type}"
        )
    slack = timedelta(seconds=leeway)
    if status_list.valid_from is not None and now + slack < status_list.valid_from:
        raise StatusError(
            f"status list is not valid before {format_time(status_list.valid_from)}"
        )
    if status_list.valid_until is not None and now - slack > status_list.valid_until:
        raise StatusError(
            f"status list expired at {format_time(status_list.valid_until)}"
        )
    if entry.purpose not in status_list.purposes:
        raise StatusError(
            f"status purpose {entry.purpose!r} is not among the list's "
            f"{sorted(status_list.purposes)}"
        )
    if issuer is not None and status_list.issuer != issuer:
        raise StatusError(
            f"status list issued by {status_list.issuer!r}, not by {issuer!r}"
        )
    if entry.kind is StatusListKind.BITSTRING:
        entries = status_list.bit_length // entry.size
        if entries < min_entries:
            raise StatusError(
                f"status list holds {entries} entries, fewer than the "
                f"{min_entries} required for herd privacy"
            )
    return read_status(status_list.bits, entry.index, entry.size)
