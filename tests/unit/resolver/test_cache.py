"""The cache mechanism (resolver.cache): LRU, single-flight and the Cache contract.

The contract tests run over every ``Cache`` implementation in ``CACHES``: the
in-process one keeping live objects, and the same one storing encoded bytes as
a shared cache (Redis) would. A new implementation joins the parametrisation.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Callable
from typing import Any

import pytest

from resolver.cache import (
    LRU,
    Cache,
    MemoryCache,
    SingleFlight,
    Source,
    pack,
    unpack,
)
from tests.helpers.clock import Clock


class TextCodec:
    """Strings as UTF-8: the simplest codec that really encodes."""

    def encode(self, value: str) -> bytes:
        return value.encode()

    def decode(self, data: bytes) -> str:
        return data.decode()


Factory = Callable[..., Cache[str]]

CACHES: dict[str, Factory] = {
    "memory-objects": lambda **kw: MemoryCache(**kw),
    "memory-encoded": lambda **kw: MemoryCache(codec=TextCodec(), **kw),
}


@pytest.fixture(params=list(CACHES), ids=list(CACHES))
def make(request) -> Factory:
    return CACHES[request.param]


@pytest.fixture
def clock() -> Clock:
    return Clock()


class Upstream:
    """A load that counts its calls, can be slowed, and can fail."""

    def __init__(self, value: str = "v", ttl: float | None = 60.0) -> None:
        self.value = value
        self.ttl = ttl
        self.calls = 0
        self.delay = 0.0
        self.fail: BaseException | None = None
        self.release = asyncio.Event()
        self.release.set()

    async def __call__(self) -> tuple[str, float | None]:
        self.calls += 1
        n = self.calls
        await self.release.wait()
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail is not None:
            raise self.fail
        return f"{self.value}{n}", self.ttl


async def waiting(
    cache: Cache[str], upstream: Upstream, *, refresh: bool = False
) -> asyncio.Future[Any]:
    """A ``get_or_load`` of ``k``, started and run up to its first wait."""
    task = asyncio.ensure_future(cache.get_or_load("k", upstream, refresh=refresh))
    await asyncio.sleep(0)
    return task


async def settle() -> None:
    """Let every ready task run for a few rounds."""
    for _ in range(5):
        await asyncio.sleep(0)


# -- TTL, in wall-clock terms -----------------------------------------------------


async def test_entry_expires_at_its_ttl_on_the_injected_clock(make, clock):
    cache = make(clock=clock)
    await cache.put("k", "v", ttl=60)
    clock.advance(59.9)
    assert await cache.get("k") == "v"
    clock.advance(0.1)
    assert await cache.get("k") is None


async def test_entry_without_ttl_never_expires(make, clock):
    cache = make(clock=clock)
    await cache.put("k", "v", ttl=None)
    clock.advance(10**9)
    assert await cache.get("k") == "v"


@pytest.mark.parametrize("ttl", [0, -5], ids=["zero", "negative"])
async def test_entry_with_no_positive_ttl_is_not_kept(make, clock, ttl):
    cache = make(clock=clock)
    await cache.put("k", "old", ttl=None)
    await cache.put("k", "v", ttl=ttl)
    assert await cache.get("k") is None
    assert len(cache) == 0


async def test_loaded_value_is_kept_for_the_ttl_the_load_returned(make, clock):
    cache = make(clock=clock)
    upstream = Upstream(ttl=10)
    first = await cache.get_or_load("k", upstream)
    assert (first.value, first.source) == ("v1", Source.LOADED)
    hit = await cache.get_or_load("k", upstream)
    assert (hit.value, hit.source, hit.cached) == ("v1", Source.HIT, True)
    clock.advance(10)
    again = await cache.get_or_load("k", upstream)
    assert (again.value, again.cached) == ("v2", False)
    assert (cache.hits, cache.misses, cache.coalesced) == (1, 2, 0)


async def test_expired_entry_is_served_stale_only_within_the_window(make, clock):
    cache = make(clock=clock, stale_if_error=100)
    await cache.put("k", "v", ttl=10)
    assert await cache.get_stale("k") is None  # fresh is not stale
    clock.advance(30)
    assert await cache.get("k") is None
    assert await cache.get_stale("k") == ("v", pytest.approx(20))
    clock.advance(100)
    assert await cache.get_stale("k") is None


async def test_entry_past_its_stale_window_is_forgotten_when_read(make, clock):
    cache = make(clock=clock, stale_if_error=5)
    await cache.put("k", "v", ttl=10)
    clock.advance(12)
    assert await cache.get("k") is None
    assert len(cache) == 1  # still servable stale
    clock.advance(4)
    assert await cache.get("k") is None
    assert len(cache) == 0


async def test_refresh_loads_anew_and_stores_the_answer(make, clock):
    cache = make(clock=clock)
    upstream = Upstream()
    await cache.get_or_load("k", upstream)
    fresh = await cache.get_or_load("k", upstream, refresh=True)
    assert (fresh.value, fresh.source) == ("v2", Source.LOADED)
    assert await cache.get("k") == "v2"


async def test_delete_and_clear_forget_entries(make, clock):
    cache = make(clock=clock)
    for key in ("a", "b", "c"):
        await cache.put(key, key, ttl=None)
    await cache.delete("a")
    assert await cache.get("a") is None
    assert len(cache) == 2
    await cache.clear()
    assert len(cache) == 0


# -- LRU bound ----------------------------------------------------------------------


async def test_lru_bound_evicts_the_least_recently_used(make, clock):
    cache = make(clock=clock, max_entries=2)
    await cache.put("a", "A", ttl=None)
    await cache.put("b", "B", ttl=None)
    assert await cache.get("a") == "A"  # a is now the most recent
    await cache.put("c", "C", ttl=None)
    assert len(cache) == 2
    assert await cache.get("b") is None
    assert await cache.get("a") == "A"
    assert await cache.get("c") == "C"


async def test_weight_bound_evicts_and_refuses_what_can_never_fit(make, clock):
    cache = make(clock=clock, max_bytes=10, weigh=len)
    await cache.put("a", "x" * 6, ttl=None)
    await cache.put("b", "y" * 4, ttl=None)
    await cache.put("c", "z" * 3, ttl=None)  # 13 > 10: a goes
    assert await cache.get("a") is None
    assert await cache.get("b") == "yyyy"
    await cache.put("huge", "h" * 11, ttl=None)
    assert await cache.get("huge") is None
    assert await cache.get("c") == "zzz"


# -- single-flight ------------------------------------------------------------------


async def test_concurrent_loads_of_one_key_make_one_upstream_call(make, clock):
    cache = make(clock=clock)
    upstream = Upstream()
    upstream.delay = 0.02
    results = await asyncio.gather(
        *(cache.get_or_load("k", upstream) for _ in range(50))
    )
    assert upstream.calls == 1
    assert {r.value for r in results} == {"v1"}
    assert [r.source for r in results].count(Source.LOADED) == 1
    assert (cache.misses, cache.coalesced) == (1, 49)


async def test_refresh_does_not_join_a_load_in_flight(make, clock):
    cache = make(clock=clock)
    upstream = Upstream()
    upstream.release.clear()
    first = await waiting(cache, upstream)
    second = await waiting(cache, upstream, refresh=True)
    upstream.release.set()
    assert {(await first).value, (await second).value} == {"v1", "v2"}
    assert upstream.calls == 2


class Refused(Exception):
    pass


async def refuse() -> None:
    raise Refused


async def admitted() -> None:
    return None


async def test_refused_admission_fails_only_a_caller_that_would_load(make, clock):
    cache = make(clock=clock)
    upstream = Upstream()
    # A caller that would start a load is refused, and no load starts.
    with pytest.raises(Refused):
        await cache.get_or_load("k", upstream, admit=refuse)
    assert upstream.calls == 0
    # One that joins a load in flight, or hits, never pays.
    upstream.release.clear()
    leader = asyncio.ensure_future(cache.get_or_load("k", upstream, admit=admitted))
    await asyncio.sleep(0)
    joiner = asyncio.ensure_future(cache.get_or_load("k", upstream, admit=refuse))
    await asyncio.sleep(0)
    upstream.release.set()
    assert (await leader).value == (await joiner).value == "v1"
    hit = await cache.get_or_load("k", upstream, admit=refuse)
    assert hit.source is Source.HIT
    # A refresh (noCache) starts a load of its own: it pays.
    with pytest.raises(Refused):
        await cache.get_or_load("k", upstream, refresh=True, admit=refuse)
    assert upstream.calls == 1


async def test_failure_reaches_every_waiter_and_is_not_cached(make, clock):
    cache = make(clock=clock)
    upstream = Upstream()
    upstream.delay = 0.02
    upstream.fail = LookupError("upstream down")
    outcomes = await asyncio.gather(
        *(cache.get_or_load("k", upstream) for _ in range(20)), return_exceptions=True
    )
    assert upstream.calls == 1
    assert all(isinstance(o, LookupError) for o in outcomes)
    assert len(cache) == 0
    upstream.fail = None
    assert (await cache.get_or_load("k", upstream)).value == "v2"


async def test_failed_load_nobody_waits_for_logs_no_unretrieved_exception(
    make, clock, caplog
):
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    try:
        cache = make(clock=clock)
        upstream = Upstream()
        upstream.release.clear()
        upstream.fail = LookupError("upstream down")
        waiters = [await waiting(cache, upstream) for _ in range(3)]
        for waiter in waiters:
            waiter.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)
        upstream.release.set()
        await settle()
        # Drop every reference to the waiters (their tracebacks hold the load's
        # task): only then can the task be collected and report, if it would.
        del waiters, waiter
        with caplog.at_level(logging.ERROR, logger="asyncio"):
            gc.collect()
            await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(None)
    assert upstream.calls == 1
    assert reported == []
    assert "never retrieved" not in caplog.text


async def test_cancelling_one_waiter_does_not_cancel_the_others(make, clock):
    cache = make(clock=clock)
    upstream = Upstream()
    upstream.release.clear()
    first = await waiting(cache, upstream)
    second = await waiting(cache, upstream)
    first.cancel()
    await asyncio.sleep(0)
    upstream.release.set()
    joined = await asyncio.wait_for(second, 2)
    assert (joined.value, joined.source) == ("v1", Source.JOINED)
    assert first.cancelled()
    assert upstream.calls == 1


async def test_load_whose_waiters_all_left_still_fills_the_cache(make, clock):
    cache = make(clock=clock)
    upstream = Upstream()
    upstream.release.clear()
    waiter = await waiting(cache, upstream)
    waiter.cancel()
    upstream.release.set()
    await settle()
    assert await cache.get("k") == "v1"


# -- the pieces on their own -----------------------------------------------------------


def test_lru_read_entry_outlives_newer_ones_not_first_in_first_out():
    # Two of the copies this class replaced evicted in insertion order (the
    # JSON-LD context cache, the proof cache): a context read on every call
    # was evicted as soon as 256 newer ones had been seen.
    lru: LRU[str, int] = LRU(2)
    lru.put("hot", 0)
    lru.put("b", 1)
    assert lru.get("hot") == 0
    lru.put("c", 2)
    assert "hot" in lru
    assert "b" not in lru


def test_lru_reads_refresh_recency_and_bounds_hold():
    lru: LRU[str, int] = LRU(3)
    for i, key in enumerate("abc"):
        lru.put(key, i)
    assert lru.get("a") == 0
    lru["d"] = 3  # the dict-style store pyld uses
    assert list(lru) == ["c", "a", "d"]
    assert lru.oldest() == ("c", 2)
    assert "b" not in lru
    assert lru.pop("c") == 2
    assert lru.pop("c") is None
    assert len(lru) == 2


def test_lru_weight_is_tracked_through_replacement_and_eviction():
    lru: LRU[str, str] = LRU(10, max_weight=5)
    lru.put("a", "aaa", weight=3)
    lru.put("a", "aa", weight=2)
    assert lru.weight == 2
    lru.put("b", "bbb", weight=3)
    lru.put("c", "c", weight=1)  # 6 > 5: a goes
    assert (list(lru), lru.weight) == (["b", "c"], 4)
    lru.clear()
    assert (len(lru), lru.weight, lru.oldest()) == (0, 0, None)


@pytest.mark.parametrize(
    ("entries", "weight"), [(0, None), (1, 0)], ids=["no-entries", "no-weight"]
)
def test_lru_nonsense_bounds_are_refused(entries, weight):
    with pytest.raises(ValueError, match="at least"):
        LRU(entries, max_weight=weight)


async def test_single_flight_forgets_a_key_once_its_load_is_done():
    flights: SingleFlight[str, int] = SingleFlight()

    async def load() -> int:
        await asyncio.sleep(0)
        return 7

    task, joined = flights.start("k", load)
    again, joined_again = flights.start("k", load)
    assert (again is task, joined, joined_again) == (True, False, True)
    assert len(flights) == 1
    assert await SingleFlight.wait(task) == 7
    assert len(flights) == 0


def test_pack_round_trips_a_header_and_binary_parts():
    data = pack({"a": "x\ny"}, b"\n\x00\xff", b"", b"tail")
    assert unpack(data) == ({"a": "x\ny"}, [b"\n\x00\xff", b"", b"tail"])


@pytest.mark.parametrize(
    "data", [b"", b"no newline", b'{"parts":[5]}\nabc', b"[1]\n"], ids=str
)
def test_unpack_refuses_what_pack_did_not_make(data):
    with pytest.raises(ValueError, match="cache frame"):
        unpack(data)
