"""Credential status: W3C Bitstring Status List v1.0 and the older StatusList2021.

A credential names, in ``credentialStatus``, an index into a status list that
its issuer publishes as a credential of its own. This module reads such entries,
fetches and checks the list credential, and reads the entry's bits.

Specs: W3C Bitstring Status List v1.0 (https://www.w3.org/TR/vc-bitstring-status-list/,
Recommendation track, 2024-2025 drafts) and its predecessor, W3C CCG Verifiable
Credentials Status List 2021 (final report 2023-01-02, FPWD "VC Status List
v2021" 2023-04-27).

Two parts:

- **Pure** (synchronous, no I/O): ``parse_entry`` (a ``credentialStatus``
  entry), ``decode_encoded_list`` (multibase/base64url → GZIP → bytes, with
  caps on the compressed and expanded sizes, expanded incrementally so a gzip
  bomb stops at the cap), ``parse_list_credential`` (the list credential's
  shape, purposes, validity and ``ttl``), ``read_status`` (the bits of one
  entry; index 0 is the left-most, most significant bit of the first byte) and
  ``evaluate_status`` (the spec's validate algorithm once the list is in hand:
  validity window, purpose, herd-privacy length, range).
- **Async** ``StatusChecker``: fetches list credentials through the hardened
  fetcher (``resolver.fetch``), has the injected verifier check their proofs,
  caches decoded lists per URL (LRU, bounded in entries and bytes, never past
  the list's ``validUntil`` or ``ttl``), and coalesces concurrent fetches of one
  list into one request. Failures are not cached.

Decisions where the specs leave room (each is a comment below, too):

- Bitstring lists shorter than 131,072 entries are refused
  (STATUS_LIST_LENGTH_ERROR, step 9 of the validate algorithm). StatusList2021
  has no such step and real 2021 lists (e.g. 100,000 entries) are shorter, so
  they are accepted with a logged warning.
- A Bitstring ``encodedList`` must carry the multibase ``u`` prefix; a bare
  base64url GZIP stream (``H4sI…``, as published before the prefix was added
  and in the W3C test suite's fixtures) is also read. Any other prefix is refused.
- StatusList2021 says "base-64"; its examples use the URL-safe alphabet. Both
  alphabets are read (never mixed), with or without padding.
- A list credential whose ``id`` differs from the URL it was fetched from is
  refused: it is another list, served in place of the one the issuer named.
- ``statusSize`` is supported up to 8 bits (the spec lets processors support 1
  only; 8 means 256 ``statusMessage`` entries).

What this module does not do: verify proofs itself (the caller injects that),
decide what a set bit means for the credential as a whole (revocation vs
suspension vs refresh is the service's call), fetch anything but JSON (a list
secured as a VC-JOSE/SD-JWT envelope is refused as the wrong type), or use the
``timestamp`` query parameter for lists as of a past instant.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import copy
import logging
import re
import time
import zlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Final, Protocol

from resolver.errors import FetchError, FetchRefusedError
from resolver.fetch import FetchedJSON, FetchStatusError
from verifier.errors import StatusError

__all__ = [
    "DEFAULT_CACHE_TTL",
    "MAX_COMPRESSED_BYTES",
    "MAX_LIST_BYTES",
    "MAX_STATUS_SIZE",
    "MIN_ENTRIES",
    "JSONFetcher",
    "ListVerifier",
    "StatusChecker",
    "StatusEntry",
    "StatusList",
    "StatusListKind",
    "StatusResult",
    "decode_encoded_list",
    "entry_type",
    "evaluate_status",
    "parse_entry",
    "parse_instant",
    "parse_list_credential",
    "read_status",
]

log = logging.getLogger(__name__)

MIN_ENTRIES: Final = 131_072
"""Bitstring Status List minimum number of entries (16 KiB of 1-bit entries),
for herd privacy (validate algorithm, step 2)."""
MAX_STATUS_SIZE: Final = 8
"""Largest ``statusSize`` supported, in bits (256 status messages)."""
MAX_COMPRESSED_BYTES: Final = 1 << 20
"""Default cap on the GZIP bytes of one ``encodedList`` (1 MiB)."""
MAX_LIST_BYTES: Final = 16 << 20
"""Default cap on an expanded bitstring (16 MiB, 134 million 1-bit entries)."""
DEFAULT_CACHE_TTL: Final = 300.0
"""Seconds a decoded list is reused at most (the spec's former default ``ttl``)."""
MAX_INDEX_DIGITS: Final = 20
"""Longest ``statusListIndex`` accepted; longer cannot be in any list we accept."""

_GZIP_MAGIC: Final = b"\x1f\x8b"
_BARE_GZIP_PREFIX: Final = "H4sI"  # base64 of 1f 8b 08: GZIP, deflate
_B64URL: Final = re.compile(r"[A-Za-z0-9_-]*")
_B64STD: Final = re.compile(r"[A-Za-z0-9+/]*")
_INDEX: Final = re.compile(r"[0-9]+")
_HEX_STATUS: Final = re.compile(r"0[xX][0-9a-fA-F]+")
_INSTANT: Final = re.compile(
    r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})?",
    re.ASCII,  # \d would match any Unicode digit
)


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


def entry_type(entry: Any) -> str:
    """Return the ``type`` of a ``credentialStatus`` entry, supported or not.

    A list-valued ``type`` (JSON-LD allows it) gives its one supported member,
    else its first member.

    Raises:
        StatusError: the entry is not an object or has no string ``type``.
    """
    if not isinstance(entry, Mapping):
        raise StatusError(f"status entry is a json {_json_kind(entry)}, not an object")
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
        got = len(raw) if isinstance(raw, list) else _json_kind(raw)
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
    altchars = b"-_" if alphabet is _B64URL else None
    try:
        return base64.b64decode(
            body + "=" * (-len(body) % 4), altchars=altchars, validate=True
        )
    except (binascii.Error, ValueError) as e:  # pragma: no cover - checked above
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
            f"status list credential is a json {_json_kind(credential)}, not an object"
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

    A value without an offset (VCDM 1.1 allowed it) is read as UTC.

    Raises:
        StatusError: not a string of that form, or not a real instant.
    """
    match = _INSTANT.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise StatusError(f"{name} {value!r} is not an xml schema datetime")
    main, fraction, offset = match.groups()
    text = main + (f".{(fraction + '00000')[:6]}" if fraction else "")
    text += "+00:00" if offset in (None, "Z") else offset
    try:
        return datetime.fromisoformat(text).astimezone(UTC)
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
            f"status list is not valid before {_rfc3339(status_list.valid_from)}"
        )
    if status_list.valid_until is not None and now - slack > status_list.valid_until:
        raise StatusError(f"status list expired at {_rfc3339(status_list.valid_until)}")
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


def _rfc3339(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _json_kind(value: Any) -> str:
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "null" if value is None else type(value).__name__


# --- the checker (async) ------------------------------------------------------


class JSONFetcher(Protocol):
    """What the checker needs of ``resolver.fetch.Fetcher``."""

    async def get_json(self, url: str) -> FetchedJSON:
        """GET ``url`` under the fetch policy and parse it as JSON."""
        ...


ListVerifier = Callable[[dict[str, Any]], Awaitable[None]]
"""Verifies a list credential's proof(s); raises to refuse it."""


@dataclass(frozen=True, slots=True)
class StatusResult:
    """The status of one ``credentialStatus`` entry.

    For an entry of a type this module does not read, ``supported`` is false
    and only ``type`` (and ``purpose``/``list_url`` when given) are set: the
    service reports "status not checked: unsupported type ...".
    """

    type: str
    """The entry type, e.g. ``BitstringStatusListEntry``."""
    supported: bool
    """False when the entry's type is not one this module reads."""
    purpose: str | None = None
    """``statusPurpose`` of the entry."""
    index: int | None = None
    """``statusListIndex`` of the entry."""
    list_url: str | None = None
    """``statusListCredential``: the list's URL."""
    size: int = 1
    """Bits per entry."""
    value: int | None = None
    """The entry's status value; 0 means unset."""
    set: bool | None = None
    """``value != 0``: e.g. revoked, for purpose ``revocation``."""
    message: str | None = None
    """The ``statusMessage`` message for ``value``, when the entry has messages."""
    cached: bool = False
    """True when the list came from the cache or another check's fetch."""
    retrieved: datetime | None = None
    """When the list was fetched (UTC)."""
    list_issuer: str | None = None
    """Who issued the list credential (may differ from the credential's issuer)."""

    @classmethod
    def unsupported(cls, type_: str, entry: Mapping[str, Any]) -> StatusResult:
        """A result for an entry of a type this module does not read."""
        purpose, url = entry.get("statusPurpose"), entry.get("statusListCredential")
        return cls(
            type=type_,
            supported=False,
            purpose=purpose if isinstance(purpose, str) else None,
            list_url=url if isinstance(url, str) else None,
        )


@dataclass(frozen=True, slots=True)
class _Cached:
    status_list: StatusList
    retrieved: datetime
    expires: float  # clock() seconds
    nbytes: int


class StatusChecker:
    """Checks ``credentialStatus`` entries against fetched, verified, cached lists.

    One per event loop (the cache and in-flight map are not thread-safe).

    Args:
        fetcher: The hardened fetcher (anything with ``async get_json(url)``
            returning ``FetchedJSON`` and raising ``FetchError``s).
        verify_list_credential: Verifies the list credential's proof(s) with the
            same machinery as any credential; raises to refuse it. It gets a
            copy of the credential, so it may change it.
        clock: Wall clock in seconds since the epoch (cache expiry).
        cache_ttl: Longest reuse of a list, in seconds; a list's ``ttl`` or
            ``validUntil`` shortens it, 0 turns caching off.
        max_entries: Most lists kept (LRU).
        max_cache_bytes: Most expanded bitstring bytes kept (LRU).
        max_list_bytes: Cap on one expanded bitstring.
        max_compressed: Cap on one GZIP-compressed ``encodedList``.
        max_statuses: Most ``credentialStatus`` entries checked per credential.
        min_entries: Bitstring herd-privacy minimum; an ecosystem may lower it.
        leeway: Seconds of clock skew tolerated on the list's validity period.
        timeout: Seconds for fetching, verifying and decoding one list.
    """

    def __init__(
        self,
        fetcher: JSONFetcher,
        verify_list_credential: ListVerifier,
        *,
        clock: Callable[[], float] = time.time,
        cache_ttl: float = DEFAULT_CACHE_TTL,
        max_entries: int = 1000,
        max_cache_bytes: int = 64 << 20,
        max_list_bytes: int = MAX_LIST_BYTES,
        max_compressed: int = MAX_COMPRESSED_BYTES,
        max_statuses: int = 16,
        min_entries: int = MIN_ENTRIES,
        leeway: float = 60.0,
        timeout: float = 20.0,
    ) -> None:
        if max_entries < 1 or max_cache_bytes < 1 or max_statuses < 1:
            raise ValueError("cache and entry limits must be positive")
        if cache_ttl < 0 or leeway < 0 or not timeout > 0:
            raise ValueError("cache_ttl and leeway must be >= 0, timeout > 0")
        self._fetcher = fetcher
        self._verify = verify_list_credential
        self._clock = clock
        self.cache_ttl = cache_ttl
        self.max_entries = max_entries
        self.max_cache_bytes = max_cache_bytes
        self.max_list_bytes = max_list_bytes
        self.max_compressed = max_compressed
        self.max_statuses = max_statuses
        self.min_entries = min_entries
        self.leeway = leeway
        self.timeout = timeout
        self._cache: OrderedDict[tuple[str, StatusListKind], _Cached] = OrderedDict()
        self._cache_bytes = 0
        self._inflight: dict[tuple[str, StatusListKind], asyncio.Future[_Cached]] = {}
        self.hits = 0
        """Checks answered from the cache."""
        self.misses = 0
        """Fetches started."""
        self.coalesced = 0
        """Checks that joined a fetch already in flight."""

    def __len__(self) -> int:
        return len(self._cache)

    def clear(self) -> None:
        """Drop every cached list."""
        self._cache.clear()
        self._cache_bytes = 0

    async def check(
        self,
        credential_status: Mapping[str, Any] | Sequence[Mapping[str, Any]],
        *,
        now: datetime,
        issuer: str | None = None,
    ) -> list[StatusResult]:
        """Check every entry of a credential's ``credentialStatus``.

        Every entry is parsed before anything is fetched; lists are loaded
        concurrently, one fetch per list however many entries point at it.

        Args:
            credential_status: The ``credentialStatus`` value: one entry or an
                array of entries.
            now: The instant of verification (timezone-aware), compared with
                each list's validity period.
            issuer: If given, every list must be issued by it (the credential's
                issuer, typically; the spec allows a different list issuer, so
                the service chooses).

        Returns:
            One result per entry, in order; unsupported types give
            ``supported=False`` results instead of errors.

        Raises:
            StatusError: an entry is malformed, or a list cannot be fetched, is
                refused by the fetch policy (the reason is in the message),
                fails proof verification, is malformed, is outside its validity
                period, lacks the entry's purpose, is too short, or the index is
                out of range. The first failing entry's error is raised.
        """
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        raw_entries = self._entries(credential_status)
        parsed: list[StatusEntry | StatusResult] = []
        for raw in raw_entries:
            type_ = entry_type(raw)
            if type_ not in _KIND_BY_ENTRY_TYPE:
                parsed.append(StatusResult.unsupported(type_, raw))
            else:
                parsed.append(parse_entry(raw))

        keys = list(
            dict.fromkeys(
                (p.list_url, p.kind) for p in parsed if isinstance(p, StatusEntry)
            )
        )
        outcomes = await asyncio.gather(
            *(self._load(url, kind) for url, kind in keys), return_exceptions=True
        )
        loaded = dict(zip(keys, outcomes, strict=True))

        results: list[StatusResult] = []
        for p in parsed:
            if isinstance(p, StatusResult):
                results.append(p)
                continue
            outcome = loaded[(p.list_url, p.kind)]
            if isinstance(outcome, BaseException):
                raise outcome
            cached_list, cached = outcome
            sl = cached_list.status_list
            value = evaluate_status(
                p,
                sl,
                now=now,
                min_entries=self.min_entries,
                leeway=self.leeway,
                issuer=issuer,
            )
            results.append(
                StatusResult(
                    type=p.type,
                    supported=True,
                    purpose=p.purpose,
                    index=p.index,
                    list_url=p.list_url,
                    size=p.size,
                    value=value,
                    set=value != 0,
                    message=p.message_for(value),
                    cached=cached,
                    retrieved=cached_list.retrieved,
                    list_issuer=sl.issuer,
                )
            )
        return results

    def _entries(self, credential_status: Any) -> list[Mapping[str, Any]]:
        if isinstance(credential_status, Mapping):
            items: list[Any] = [credential_status]
        elif isinstance(credential_status, list | tuple):
            items = list(credential_status)
        else:
            raise StatusError(
                "credentialStatus must be an object or an array of objects, not a "
                f"json {_json_kind(credential_status)}"
            )
        if len(items) > self.max_statuses:
            raise StatusError(
                f"{len(items)} status entries, at most {self.max_statuses} are checked"
            )
        for item in items:
            if not isinstance(item, Mapping):
                raise StatusError(
                    f"status entry is a json {_json_kind(item)}, not an object"
                )
        return items

    # -- loading, caching, single-flight --------------------------------------

    async def _load(self, url: str, kind: StatusListKind) -> tuple[_Cached, bool]:
        key = (url, kind)
        hit = self._cache_get(key)
        if hit is not None:
            self.hits += 1
            return hit, True
        task = self._inflight.get(key)
        joined = task is not None
        if task is None:
            self.misses += 1
            task = asyncio.ensure_future(self._fetch(url, kind))
            task.add_done_callback(_retrieve_exception)
            self._inflight[key] = task
            task.add_done_callback(lambda t: self._forget(key, t))
        else:
            self.coalesced += 1
        # shield(): a caller that goes away must not cancel the fetch that
        # other checks are waiting on.
        return await asyncio.shield(task), joined

    def _forget(
        self, key: tuple[str, StatusListKind], task: asyncio.Future[_Cached]
    ) -> None:
        if self._inflight.get(key) is task:
            del self._inflight[key]

    async def _fetch(self, url: str, kind: StatusListKind) -> _Cached:
        """Fetch, verify, decode and (if fresh long enough) cache one list.

        Raises:
            StatusError: see ``check``.
        """
        try:
            async with asyncio.timeout(self.timeout):
                fetched = await self._get(url)
                doc = fetched.data
                # Cheap shape checks first, so a document that is no list
                # credential never reaches proof verification (DID resolution).
                if not isinstance(doc, dict):
                    raise StatusError(
                        f"status list {url} is a json {_json_kind(doc)}, not an object"
                    )
                if kind.credential_type not in _string_list(doc.get("type")):
                    raise StatusError(
                        f"status list {url} is not a {kind.credential_type}"
                    )
                try:
                    await self._verify(copy.deepcopy(doc))
                except Exception as e:  # the verifier's contract: raise to refuse
                    raise StatusError(
                        f"status list {url} failed proof verification: {e}"
                    ) from e
                # Expanding up to max_list_bytes takes a while: off the loop.
                status_list = await asyncio.to_thread(
                    parse_list_credential,
                    doc,
                    kind=kind,
                    url=url,
                    max_compressed=self.max_compressed,
                    max_decompressed=self.max_list_bytes,
                )
        except TimeoutError as e:
            raise StatusError(
                f"loading status list {url} timed out after {self.timeout:g} s"
            ) from e

        if (
            kind is StatusListKind.STATUS_LIST_2021
            and status_list.bit_length < MIN_ENTRIES
        ):
            # StatusList2021 asks for 16 KiB but its validate algorithm has no
            # length step, and lists of 100,000 entries are common: warn only.
            log.warning(
                "status list %s holds %d entries, below the %d herd-privacy minimum",
                url,
                status_list.bit_length,
                MIN_ENTRIES,
            )
        entry = self._remember((url, kind), status_list, fetched.retrieved)
        log.info(
            "status list %s fetched: %d bytes, cached for %.0f s",
            url,
            len(status_list.bits),
            max(0.0, entry.expires - self._clock()),
        )
        return entry

    async def _get(self, url: str) -> FetchedJSON:
        try:
            return await self._fetcher.get_json(url)
        except FetchRefusedError as e:
            raise StatusError(f"status list {url} refused ({e.reason}): {e}") from e
        except FetchStatusError as e:
            raise StatusError(f"status list {url} answered http {e.status}") from e
        except FetchError as e:
            raise StatusError(f"status list {url} could not be fetched: {e}") from e

    def _remember(
        self,
        key: tuple[str, StatusListKind],
        status_list: StatusList,
        retrieved: datetime,
    ) -> _Cached:
        now = self._clock()
        ttl = self.cache_ttl
        if status_list.ttl is not None:
            ttl = min(ttl, status_list.ttl)
        if status_list.valid_until is not None:
            ttl = min(ttl, status_list.valid_until.timestamp() - now)
        entry = _Cached(status_list, retrieved, now + ttl, len(status_list.bits))
        if ttl > 0 and entry.nbytes <= self.max_cache_bytes:
            self._cache_put(key, entry)
        return entry

    def _cache_get(self, key: tuple[str, StatusListKind]) -> _Cached | None:
        entry = self._cache.get(key)
        if entry is None:
            return None
        if entry.expires <= self._clock():
            self._cache_drop(key)
            return None
        self._cache.move_to_end(key)
        return entry

    def _cache_put(self, key: tuple[str, StatusListKind], entry: _Cached) -> None:
        self._cache_drop(key)
        self._cache[key] = entry
        self._cache_bytes += entry.nbytes
        while (
            len(self._cache) > self.max_entries
            or self._cache_bytes > self.max_cache_bytes
        ):
            _, old = self._cache.popitem(last=False)
            self._cache_bytes -= old.nbytes

    def _cache_drop(self, key: tuple[str, StatusListKind]) -> None:
        old = self._cache.pop(key, None)
        if old is not None:
            self._cache_bytes -= old.nbytes


def _retrieve_exception(task: asyncio.Future[Any]) -> None:
    """Mark a finished task's exception as seen: its waiters may all be gone."""
    if not task.cancelled():
        task.exception()
