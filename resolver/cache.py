"""The one cache mechanism: a bounded LRU map, single-flight, and an async cache.

Three layers, each usable alone:

- :class:`LRU` is a synchronous map bounded in entries (and, optionally, in a
  total weight such as bytes) that forgets its least recently used entry. It is
  the storage of :class:`MemoryCache`, and the whole cache where a caller is
  synchronous and process-local by nature (pyld's context cache, the registry's
  inclusion proofs over its in-memory tree, the Accept-header memo).
- :class:`SingleFlight` coalesces concurrent loads of one key into one call.
  The load runs as a task of its own: a waiter that is cancelled does not
  cancel it for the others, and its exception is marked as retrieved, so a
  load whose waiters all went away logs no "Task exception was never
  retrieved".
- :class:`Cache` is the async protocol the services hold (the Resolver, the
  status-list checker): TTL with absolute wall-clock expiry from an injected
  clock, an LRU bound, single-flight loading, stale-if-error, and the
  ``hits``/``misses``/``coalesced`` counters the metrics read.
  :class:`MemoryCache` is its in-process implementation.

Written for a shared implementation (Redis) to slot in behind :class:`Cache`:
keys are strings, every method is a coroutine, expiry is an instant on the
wall clock (``SET key value EXAT``-style, never a monotonic reading that means
nothing to another process), and every value a cache holds has a
:class:`Codec` that turns it into bytes and back. :class:`MemoryCache` keeps
live objects by default (no encoding on the hot path); given a codec it stores
bytes exactly as a shared cache would, which is how the tests prove that each
cached value round-trips. Single-flight stays per process even in front of a
shared cache: it saves the duplicate upstream calls of one node.

This module does no I/O and knows nothing of DIDs, HTTP or status lists.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from functools import partial
from typing import Any, Generic, NamedTuple, Protocol, TypeVar

__all__ = [
    "LRU",
    "Admit",
    "Cache",
    "CacheCounters",
    "Codec",
    "Lookup",
    "MemoryCache",
    "SingleFlight",
    "Source",
    "pack",
    "unpack",
]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

Loader = Callable[[], Awaitable[tuple[V, float | None]]]
"""Loads a value for a cache: returns it with its TTL in seconds (``None``:
forever; ``0`` or less: do not keep it)."""

Admit = Callable[[], Awaitable[None]]
"""Lets a caller start a load, or raises (see :meth:`Cache.get_or_load`)."""


# --- the bounded map (sync) -------------------------------------------------------


class LRU(Generic[K, V]):
    """A map holding at most ``max_entries`` entries (and ``max_weight``).

    Reading an entry with :meth:`get` makes it the most recently used; storing
    one beyond a bound drops the least recently used until the map fits. An
    entry heavier than ``max_weight`` on its own is not stored at all. Not
    thread-safe.

    Args:
        max_entries: Most entries held; at least 1.
        max_weight: Most total weight held (``None``: unbounded), e.g. bytes.

    Raises:
        ValueError: a bound is below 1.
    """

    __slots__ = ("_entries", "_weight", "max_entries", "max_weight")

    def __init__(self, max_entries: int, *, max_weight: int | None = None) -> None:
        if max_entries < 1:
            raise ValueError("cache needs room for at least one entry")
        if max_weight is not None and max_weight < 1:
            raise ValueError("cache weight bound must be at least 1")
        self.max_entries = max_entries
        self.max_weight = max_weight
        self._entries: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._weight = 0

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __iter__(self) -> Iterator[K]:
        return iter(self._entries)

    @property
    def weight(self) -> int:
        """The total weight of the entries held."""
        return self._weight

    def get(self, key: K) -> V | None:
        """The value under ``key`` (now the most recently used), or ``None``."""
        slot = self._entries.get(key)
        if slot is None:
            return None
        self._entries.move_to_end(key)
        return slot[0]

    def put(self, key: K, value: V, *, weight: int = 0) -> None:
        """Store ``value`` as the most recently used, evicting beyond the bounds."""
        self.pop(key)
        if self.max_weight is not None and weight > self.max_weight:
            return
        self._entries[key] = (value, weight)
        self._weight += weight
        while len(self._entries) > self.max_entries or (
            self.max_weight is not None and self._weight > self.max_weight
        ):
            _, (_, dropped) = self._entries.popitem(last=False)
            self._weight -= dropped

    def oldest(self) -> tuple[K, V] | None:
        """The least recently used entry (left in place), or ``None`` if empty."""
        for key, (value, _) in self._entries.items():
            return key, value
        return None

    def __setitem__(self, key: K, value: V) -> None:
        """``put(key, value)``: the dict-style store pyld's context resolver uses."""
        self.put(key, value)

    def pop(self, key: K) -> V | None:
        """Remove and return the value under ``key``, or ``None``."""
        slot = self._entries.pop(key, None)
        if slot is None:
            return None
        self._weight -= slot[1]
        return slot[0]

    def clear(self) -> None:
        """Drop every entry."""
        self._entries.clear()
        self._weight = 0


# --- coalescing (async) -------------------------------------------------------------


def _retrieve_exception(task: asyncio.Future[Any]) -> None:
    """Mark a finished task's exception as seen: its waiters may all be gone."""
    if not task.cancelled():
        task.exception()


class SingleFlight(Generic[K, V]):
    """At most one load in flight per key; concurrent callers share its outcome.

    One per event loop (the in-flight map is not thread-safe).
    """

    __slots__ = ("_inflight",)

    def __init__(self) -> None:
        self._inflight: dict[K, asyncio.Future[V]] = {}

    def __len__(self) -> int:
        return len(self._inflight)

    def start(
        self, key: K, load: Callable[[], Awaitable[V]], *, share: bool = True
    ) -> tuple[asyncio.Future[V], bool]:
        """The load in flight for ``key``, started now unless one already is.

        Await the returned future through :meth:`wait`.

        Args:
            key: What is being loaded.
            load: Starts the load; called only if no load for ``key`` is in
                flight (or ``share`` is false).
            share: False to start a load of one's own that nobody else joins
                (a caller that must not be given an older answer).

        Returns:
            The load's future and whether it was already in flight (joined).
        """
        task = self._inflight.get(key) if share else None
        if task is not None:
            return task, True
        task = asyncio.ensure_future(load())
        task.add_done_callback(_retrieve_exception)
        if share:
            self._inflight[key] = task
            task.add_done_callback(partial(self._forget, key))
        return task, False

    def running(self, key: K) -> bool:
        """Whether a shared load for ``key`` is in flight."""
        return key in self._inflight

    @staticmethod
    async def wait(task: asyncio.Future[V]) -> V:
        """The outcome of ``task``; cancelling the caller does not cancel it."""
        # shield(): a caller that goes away must not cancel the load that the
        # other callers are waiting on.
        return await asyncio.shield(task)

    def _forget(self, key: K, task: asyncio.Future[V]) -> None:
        if self._inflight.get(key) is task:
            del self._inflight[key]


# --- the async cache protocol -------------------------------------------------------


class Codec(Protocol[V]):
    """Turns a cached value into bytes and back (what a shared cache stores).

    ``decode(encode(v))`` must be equivalent to ``v`` for the value's user.
    """

    def encode(self, value: V) -> bytes:
        """The bytes of ``value``."""
        ...

    def decode(self, data: bytes) -> V:
        """The value ``encode`` turned into ``data``."""
        ...


class Source(StrEnum):
    """Where a :meth:`Cache.get_or_load` answer came from."""

    HIT = "hit"
    """A fresh entry of the cache."""
    LOADED = "loaded"
    """This call's own load."""
    JOINED = "joined"
    """A load another caller had already started (single-flight)."""


class Lookup(NamedTuple, Generic[V]):
    """A value from :meth:`Cache.get_or_load`, and where it came from.

    A named tuple, not a frozen dataclass: one is made per cache hit, and a
    tuple is the cheapest value to build on that path.
    """

    value: V
    source: Source

    @property
    def cached(self) -> bool:
        """True unless this call loaded the value itself."""
        return self.source is not Source.LOADED


class CacheCounters(Protocol):
    """What a cache counts, in this process (the metrics read it)."""

    @property
    def hits(self) -> int:
        """Lookups answered by a fresh entry."""
        ...

    @property
    def misses(self) -> int:
        """Loads started."""
        ...

    @property
    def coalesced(self) -> int:
        """Lookups that joined a load already in flight."""
        ...

    def __len__(self) -> int:
        """Entries held (for a shared cache: what this process can tell)."""
        ...


class Cache(CacheCounters, Protocol[V]):
    """An async cache of values of one kind, keyed by strings.

    Entries expire at an absolute instant of the implementation's wall clock
    (``ttl`` seconds after they were stored; ``None`` never). An expired entry
    is no longer returned by :meth:`get` nor :meth:`get_or_load`, but is kept
    for ``stale_if_error`` seconds for :meth:`get_stale`. Failures are never
    cached. The counters are those of this process.
    """

    async def get(self, key: str) -> V | None:
        """The fresh value under ``key``, or ``None``."""
        ...

    async def put(self, key: str, value: V, *, ttl: float | None) -> None:
        """Store ``value`` for ``ttl`` seconds (``None``: forever; <= 0: not)."""
        ...

    async def get_stale(self, key: str) -> tuple[V, float] | None:
        """An expired value still within ``stale_if_error``, with its staleness.

        Returns:
            The value and the seconds since it expired, or ``None``.
        """
        ...

    async def get_or_load(
        self,
        key: str,
        load: Loader[V],
        *,
        refresh: bool = False,
        admit: Admit | None = None,
    ) -> Lookup[V]:
        """The fresh value under ``key``, else the outcome of one shared load.

        The load stores its value (for the TTL it returns) even if every caller
        waiting on it was cancelled meanwhile.

        Args:
            key: The entry.
            load: Loads the value and its TTL; at most one runs per key at a
                time, and concurrent callers share its value or its exception.
            refresh: Ignore any entry and any load in flight, load anew, and
                store the answer (``noCache``).
            admit: Awaited only when this caller would start a load (neither a
                hit nor joining a load in flight); what it raises reaches this
                caller alone and no load starts (a per-client budget of cold
                lookups: one client's refusal never fails another's request).

        Raises:
            Exception: whatever ``load`` raised, to every caller that shared it;
                whatever ``admit`` raised, to this caller.
        """
        ...

    async def delete(self, key: str) -> None:
        """Forget the entry under ``key``, if any."""
        ...

    async def clear(self) -> None:
        """Forget every entry."""
        ...


# --- the in-process implementation --------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Slot:
    value: Any
    """The value, or its bytes when the cache has a codec."""
    expires: float
    """Wall-clock instant (seconds since the epoch) it expires; ``inf``: never."""


class MemoryCache(Generic[V]):
    """The in-process :class:`Cache`: an :class:`LRU` with wall-clock expiry.

    One per event loop (not thread-safe).

    Args:
        max_entries: Most entries kept (LRU).
        max_bytes: Most total weight kept (LRU; ``None``: unbounded), in
            ``weigh`` units, or encoded bytes with a codec and no ``weigh``.
        weigh: The weight of a value (e.g. its bytes), for ``max_bytes``.
        stale_if_error: Seconds an expired entry is kept for ``get_stale``.
        codec: If given, values are stored encoded, as a shared cache stores
            them (each lookup decodes); if not, live objects are kept.
        clock: Wall clock, seconds since the epoch (expiry).

    Raises:
        ValueError: a bound is out of range.
    """

    def __init__(
        self,
        *,
        max_entries: int = 10_000,
        max_bytes: int | None = None,
        weigh: Callable[[V], int] | None = None,
        stale_if_error: float = 0.0,
        codec: Codec[V] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if stale_if_error < 0:
            raise ValueError("stale_if_error must be >= 0")
        self._entries: LRU[str, _Slot] = LRU(max_entries, max_weight=max_bytes)
        self._flights: SingleFlight[str, V] = SingleFlight()
        self._weigh = weigh
        self.stale_if_error = stale_if_error
        self._codec = codec
        self._clock = clock
        self.hits = 0
        """Lookups answered by a fresh entry."""
        self.misses = 0
        """Loads started."""
        self.coalesced = 0
        """Lookups that joined a load already in flight."""

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def max_entries(self) -> int:
        """Most entries kept."""
        return self._entries.max_entries

    @property
    def nbytes(self) -> int:
        """The total weight held (see ``max_bytes``)."""
        return self._entries.weight

    async def get(self, key: str) -> V | None:
        """The fresh value under ``key``, or ``None``."""
        slot = self._fresh(key)
        return None if slot is None else self._value(slot)

    async def put(self, key: str, value: V, *, ttl: float | None) -> None:
        """Store ``value`` for ``ttl`` seconds (``None``: forever; <= 0: not)."""
        self._put(key, value, ttl)

    async def get_stale(self, key: str) -> tuple[V, float] | None:
        """An expired value still within ``stale_if_error``, with its staleness."""
        slot = self._entries.get(key)
        if slot is None:
            return None
        age = self._clock() - slot.expires
        if 0 < age <= self.stale_if_error:
            return self._value(slot), age
        return None

    async def get_or_load(
        self,
        key: str,
        load: Loader[V],
        *,
        refresh: bool = False,
        admit: Admit | None = None,
    ) -> Lookup[V]:
        """The fresh value under ``key``, else the outcome of one shared load.

        Raises:
            Exception: whatever ``load`` raised, to every caller that shared it;
                whatever ``admit`` raised, to this caller.
        """
        if not refresh:
            # _fresh() inlined: this is the path of every cache hit.
            slot = self._entries.get(key)
            if slot is not None:
                if slot.expires > self._clock():
                    self.hits += 1
                    value = (
                        slot.value
                        if self._codec is None
                        else self._codec.decode(slot.value)
                    )
                    return Lookup(value, Source.HIT)
                self._drop_if_past_stale(key, slot)
        if admit is not None and (refresh or not self._flights.running(key)):
            await admit()
        task, joined = self._flights.start(
            key, partial(self._load, key, load), share=not refresh
        )
        if joined:
            self.coalesced += 1
        else:
            self.misses += 1
        value = await self._flights.wait(task)
        return Lookup(value, Source.JOINED if joined else Source.LOADED)

    async def delete(self, key: str) -> None:
        """Forget the entry under ``key``, if any."""
        self._entries.pop(key)

    async def clear(self) -> None:
        """Forget every entry."""
        self._entries.clear()

    async def _load(self, key: str, load: Loader[V]) -> V:
        value, ttl = await load()
        self._put(key, value, ttl)
        return value

    def _put(self, key: str, value: V, ttl: float | None) -> None:
        if ttl is not None and not ttl > 0:
            self._entries.pop(key)
            return
        expires = math.inf if ttl is None else self._clock() + ttl
        stored: Any = value
        weight = 0
        if self._codec is not None:
            stored = self._codec.encode(value)
            weight = len(stored)
        if self._weigh is not None:
            weight = self._weigh(value)
        self._entries.put(key, _Slot(stored, expires), weight=weight)

    def _fresh(self, key: str) -> _Slot | None:
        slot = self._entries.get(key)
        if slot is None:
            return None
        if slot.expires > self._clock():
            return slot
        self._drop_if_past_stale(key, slot)
        return None

    def _drop_if_past_stale(self, key: str, slot: _Slot) -> None:
        """Forget an expired entry that ``get_stale`` would no longer serve."""
        if self._clock() - slot.expires > self.stale_if_error:
            self._entries.pop(key)

    def _value(self, slot: _Slot) -> V:
        if self._codec is None:
            return slot.value  # type: ignore[no-any-return]  # stored as given
        return self._codec.decode(slot.value)


# --- framing for codecs ---------------------------------------------------------------


def pack(header: dict[str, Any], *parts: bytes) -> bytes:
    """Frame a JSON ``header`` and binary ``parts`` as one byte string.

    The header (compact JSON, so it holds no raw newline) comes first, then a
    newline, then the parts back to back; their lengths are in the header.
    """
    head = json.dumps(
        dict(header, parts=[len(p) for p in parts]), separators=(",", ":")
    )
    return b"".join((head.encode(), b"\n", *parts))


def unpack(data: bytes) -> tuple[dict[str, Any], list[bytes]]:
    """Split what :func:`pack` framed into its header and parts.

    Raises:
        ValueError: ``data`` is not a frame of :func:`pack`.
    """
    head, sep, body = data.partition(b"\n")
    header = json.loads(head) if sep else None
    if not isinstance(header, dict) or not isinstance(header.get("parts"), list):
        raise ValueError("not a cache frame")
    lengths: list[int] = header.pop("parts")
    if len(body) != sum(lengths):
        raise ValueError("cache frame parts do not add up")
    parts, start = [], 0
    for n in lengths:
        parts.append(body[start : start + n])
        start += n
    return header, parts
