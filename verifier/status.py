"""Credential status checking: fetch, verify and cache status lists, read entries.

The ``StatusChecker`` checks a credential's ``credentialStatus`` entries
(W3C Bitstring Status List v1.0 and StatusList2021; the formats themselves are
read by the pure ``verifier.statuslist``). It fetches list credentials through
the hardened fetcher (``resolver.fetch``), has the injected verifier check
their proofs, keeps decoded lists in a ``resolver.cache.Cache`` (in process by
default: LRU, bounded in entries and bytes, never past the list's
``validUntil`` or ``ttl``), and coalesces concurrent fetches of one list into
one request. Failures are not cached. A StatusList2021 list shorter than the
Bitstring herd-privacy minimum is accepted with a logged warning (its validate
algorithm has no length step).

What this module does not do: verify proofs itself (the caller injects that),
decide what a set bit means for the credential as a whole (revocation vs
suspension vs refresh is the service's call), fetch anything but JSON (a list
secured as a VC-JOSE/SD-JWT envelope is refused as the wrong type), or use the
``timestamp`` query parameter for lists as of a past instant.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, Final, Protocol

from resolver.cache import Cache, Lookup, MemoryCache, pack, unpack
from resolver.errors import FetchError, FetchRefusedError
from resolver.fetch import FetchedJSON, FetchStatusError
from verifier.errors import StatusError
from verifier.statuslist import (
    ENTRY_TYPES,
    MAX_COMPRESSED_BYTES,
    MAX_LIST_BYTES,
    MIN_ENTRIES,
    StatusEntry,
    StatusList,
    StatusListKind,
    entry_type,
    evaluate_status,
    parse_entry,
    parse_list_credential,
    require_list_type,
    status_entries,
)

__all__ = [
    "DEFAULT_CACHE_TTL",
    "CachedList",
    "CachedListCodec",
    "JSONFetcher",
    "ListVerifier",
    "StatusChecker",
    "StatusResult",
]

log = logging.getLogger(__name__)

DEFAULT_CACHE_TTL: Final = 300.0
"""Seconds a decoded list is reused at most (the spec's former default ``ttl``)."""


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
class CachedList:
    """A verified, decoded status list as the cache keeps it."""

    status_list: StatusList
    retrieved: datetime
    """When the list was fetched (UTC)."""

    @property
    def nbytes(self) -> int:
        """The bytes of the expanded bitstring (what the cache's bound counts)."""
        return len(self.status_list.bits)


class CachedListCodec:
    """``CachedList`` as bytes, for a cache that stores bytes (Redis).

    The bitstring travels as it is; the rest as a small JSON header. Instants
    are written by ``isoformat`` and read back by ``fromisoformat``: this is our
    own encoding of values already checked, never input from the network.
    """

    def encode(self, value: CachedList) -> bytes:
        """The bytes of ``value``."""
        sl = value.status_list

        def instant(t: datetime | None) -> str | None:
            return None if t is None else t.isoformat()

        header = {
            "kind": sl.kind.value,
            "purposes": sorted(sl.purposes),
            "id": sl.id,
            "issuer": sl.issuer,
            "validFrom": instant(sl.valid_from),
            "validUntil": instant(sl.valid_until),
            "ttl": sl.ttl,
            "retrieved": value.retrieved.isoformat(),
        }
        return pack(header, sl.bits)

    def decode(self, data: bytes) -> CachedList:
        """The ``CachedList`` ``encode`` turned into ``data``.

        Raises:
            ValueError: ``data`` is not such an encoding.
        """
        header, (bits,) = unpack(data)

        def instant(text: str | None) -> datetime | None:
            return None if text is None else datetime.fromisoformat(text)

        status_list = StatusList(
            kind=StatusListKind(header["kind"]),
            bits=bits,
            purposes=frozenset(header["purposes"]),
            id=header["id"],
            issuer=header["issuer"],
            valid_from=instant(header["validFrom"]),
            valid_until=instant(header["validUntil"]),
            ttl=header["ttl"],
        )
        return CachedList(status_list, datetime.fromisoformat(header["retrieved"]))


class StatusChecker:
    """Checks ``credentialStatus`` entries against fetched, verified, cached lists.

    One per event loop (the default cache is not thread-safe).

    Args:
        fetcher: The hardened fetcher (anything with ``async get_json(url)``
            returning ``FetchedJSON`` and raising ``FetchError``s).
        verify_list_credential: Verifies the list credential's proof(s) with the
            same machinery as any credential; raises to refuse it. It gets a
            copy of the credential, so it may change it.
        clock: Wall clock in seconds since the epoch (cache expiry).
        cache_ttl: Longest reuse of a list, in seconds; a list's ``ttl`` or
            ``validUntil`` shortens it, 0 turns caching off.
        cache: Where lists are kept (default: an in-process ``MemoryCache``
            bounded by ``max_entries`` and ``max_cache_bytes``, on ``clock``);
            it also coalesces concurrent fetches of one list.
        max_entries: Most lists kept by the default cache (LRU).
        max_cache_bytes: Most expanded bitstring bytes kept by the default
            cache (LRU); a longer list is not kept.
        max_list_bytes: Cap on one expanded bitstring.
        max_compressed: Cap on one GZIP-compressed ``encodedList``.
        max_statuses: Most ``credentialStatus`` entries checked per credential.
        max_lists: Most distinct status lists one credential may make this
            server fetch (anyone can sign a credential naming URLs of their
            choice; entries beyond are refused before any fetch).
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
        cache: Cache[CachedList] | None = None,
        max_entries: int = 1000,
        max_cache_bytes: int = 64 << 20,
        max_list_bytes: int = MAX_LIST_BYTES,
        max_compressed: int = MAX_COMPRESSED_BYTES,
        max_statuses: int = 16,
        max_lists: int = 2,
        min_entries: int = MIN_ENTRIES,
        leeway: float = 60.0,
        timeout: float = 20.0,
    ) -> None:
        if min(max_entries, max_cache_bytes, max_statuses, max_lists) < 1:
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
        self.max_lists = max_lists
        self.min_entries = min_entries
        self.leeway = leeway
        self.timeout = timeout
        self.cache: Cache[CachedList] = (
            cache
            if cache is not None
            else MemoryCache(
                max_entries=max_entries,
                max_bytes=max_cache_bytes,
                weigh=_nbytes,
                clock=clock,
            )
        )
        """The lists, by URL and kind; its counters are the checker's metrics."""

    def __len__(self) -> int:
        return len(self.cache)

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
        raw_entries = status_entries(credential_status, max_statuses=self.max_statuses)
        parsed: list[StatusEntry | StatusResult] = []
        for raw in raw_entries:
            type_ = entry_type(raw)
            if type_ not in ENTRY_TYPES:
                parsed.append(StatusResult.unsupported(type_, raw))
            else:
                parsed.append(parse_entry(raw))

        keys = list(
            dict.fromkeys(
                (p.list_url, p.kind) for p in parsed if isinstance(p, StatusEntry)
            )
        )
        if len({url for url, _kind in keys}) > self.max_lists:
            raise StatusError(
                f"the entries name {len(keys)} status lists; at most"
                f" {self.max_lists} are fetched for one credential"
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
            cached_list = outcome.value
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
                    cached=outcome.cached,
                    retrieved=cached_list.retrieved,
                    list_issuer=sl.issuer,
                )
            )
        return results

    # -- loading, caching, single-flight --------------------------------------

    async def _load(self, url: str, kind: StatusListKind) -> Lookup[CachedList]:
        # A space never occurs in a kind's name: the key splits one way only.
        key = f"{kind.value} {url}"
        return await self.cache.get_or_load(key, partial(self._fetch, url, kind))

    async def _fetch(self, url: str, kind: StatusListKind) -> tuple[CachedList, float]:
        """Fetch, verify and decode one list; return it with its cache TTL.

        Raises:
            StatusError: see ``check``.
        """
        try:
            async with asyncio.timeout(self.timeout):
                fetched = await self._get(url)
                doc = fetched.data
                # Cheap shape checks first, so a document that is no list
                # credential never reaches proof verification (DID resolution).
                require_list_type(doc, kind=kind, url=url)
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
        ttl = self._ttl(status_list)
        log.info(
            "status list %s fetched: %d bytes, cached for %.0f s",
            url,
            len(status_list.bits),
            max(0.0, ttl),
        )
        return CachedList(status_list, fetched.retrieved), ttl

    async def _get(self, url: str) -> FetchedJSON:
        try:
            return await self._fetcher.get_json(url)
        except FetchRefusedError as e:
            raise StatusError(f"status list {url} refused ({e.reason}): {e}") from e
        except FetchStatusError as e:
            raise StatusError(f"status list {url} answered http {e.status}") from e
        except FetchError as e:
            raise StatusError(f"status list {url} could not be fetched: {e}") from e

    def _ttl(self, status_list: StatusList) -> float:
        """Seconds to keep a list: least of ``cache_ttl``, ``ttl``, ``validUntil``."""
        ttl = self.cache_ttl
        if status_list.ttl is not None:
            ttl = min(ttl, status_list.ttl)
        if status_list.valid_until is not None:
            ttl = min(ttl, status_list.valid_until.timestamp() - self._clock())
        return ttl


def _nbytes(entry: CachedList) -> int:
    return entry.nbytes
