"""Per-client rate limiting of writes (and, separately, of credential verification).

What it does:

- :class:`TokenBuckets` is a token bucket per client key (the classic
  algorithm: a bucket holds up to ``burst`` tokens, refills at ``rate`` tokens
  per second, and each request takes one), the in-process implementation of
  the async ``resolver.limiter.Limiter`` protocol. Its arithmetic (``take``)
  is pure and synchronous; the clock is injected (monotonic seconds). The
  number of tracked clients is bounded: when the table is full, the least
  recently seen client is dropped. A dropped client whose bucket had refilled
  loses nothing; one that had not starts again with a full bucket, which is
  the price of bounded memory under a flood of distinct addresses.
- :func:`client_address` finds who a request comes from: the TCP peer, or,
  only when the peer is one of the operator's trusted reverse proxies, the
  right-most address of ``X-Forwarded-For`` that is not itself a trusted proxy
  (the de-facto convention; RFC 7239 §5.2 describes the same chain for
  ``Forwarded``). A header from an untrusted peer is ignored: anybody can
  write one.
- :func:`client_key` groups addresses into buckets: an IPv4 address is its own
  bucket; an IPv6 address is bucketed by its /64, which one host usually owns
  whole (RFC 4291 §2.5.1 interface identifiers; RFC 7421).
- :class:`RateLimiter` guards the handlers of the limited routes with a
  ``Limiter`` each (a wrapper
  bound to each route when the app is built, so no other request pays for
  it): registry writes (POST, PUT, PATCH, DELETE under ``/registry/``) take
  from one budget and ``POST /credentials/verify`` from another; a refused
  request gets a 429
  ``application/problem+json`` with ``Retry-After`` (RFC 6585 §4, RFC 9110
  §10.2.3, RFC 9457).

What it does not do: it never limits reads (GET, HEAD, OPTIONS, nor the TRQP
queries, which are POSTs that write nothing); ``TokenBuckets`` keeps no state
shared between worker processes (each worker has its own buckets, so with N
workers a client may get up to N times the budget, until a shared ``Limiter``
replaces it); it does not parse ``Forwarded`` (RFC 7239).
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Final

from aiohttp import web

from didtrust.problems import PROBLEM_BASE, problem_response
from resolver.cache import LRU, Admit
from resolver.limiter import Limiter

__all__ = [
    "RATE_LIMITED",
    "IPAddress",
    "IPNetwork",
    "RateLimiter",
    "TokenBuckets",
    "client_address",
    "client_key",
    "parse_networks",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
_RESOLUTION_PREFIX: Final = "/1.0/identifiers/"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

RATE_LIMITED: Final = PROBLEM_BASE + "rate-limited"
"""Problem type of a refused request."""

_WRITE_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_REGISTRY_PREFIX: Final = "/registry/"
_VERIFY_PATH: Final = "/credentials/verify"
_PRUNE_PER_INSERT: Final = 4
"""Idle (refilled) buckets dropped at most per new client: O(1) per request."""
_MAX_FORWARDED_HOPS: Final = 64
"""Addresses of ``X-Forwarded-For`` examined at most, from the right."""


@dataclass(slots=True)
class _Bucket:
    tokens: float
    stamp: float


class TokenBuckets:
    """Token buckets by client key, at most ``max_clients`` of them.

    Args:
        rate: Tokens added per second (the sustained rate); must be positive.
        burst: Most tokens a bucket holds (the burst a new client may send at
            once); at least 1.
        max_clients: Most clients tracked at once; at least 1.
        clock: Monotonic seconds (``time.monotonic`` unless a test injects one).

    Raises:
        ValueError: a bound is out of range.
    """

    def __init__(
        self,
        *,
        rate: float,
        burst: float,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not rate > 0:
            raise ValueError(f"rate must be positive, not {rate}")
        if not burst >= 1:
            raise ValueError(f"burst must be at least 1, not {burst}")
        if max_clients < 1:
            raise ValueError(f"max_clients must be at least 1, not {max_clients}")
        self.rate = float(rate)
        self.burst = float(burst)
        self.max_clients = max_clients
        self._clock = clock
        self._buckets: LRU[str, _Bucket] = LRU(max_clients)
        self.refused = 0
        """Requests refused so far."""
        self.evicted = 0
        """Clients dropped while their bucket was not full (the table was full)."""

    def __len__(self) -> int:
        return len(self._buckets)

    def __contains__(self, key: object) -> bool:
        return key in self._buckets

    async def acquire(self, key: str) -> float:
        """Take one token from ``key``'s bucket (the ``Limiter`` protocol).

        Returns:
            As ``take``.
        """
        return self.take(key)

    def take(self, key: str) -> float:
        """Take one token from ``key``'s bucket.

        Returns:
            0.0 if the request may go ahead (a token was taken), else the
            seconds until a token will be there (nothing was taken).
        """
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            self._make_room(now)
            bucket = _Bucket(self.burst, now)
            self._buckets.put(key, bucket)
        else:
            self._refill(bucket, now)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        self.refused += 1
        return (1.0 - bucket.tokens) / self.rate

    def _refill(self, bucket: _Bucket, now: float) -> None:
        elapsed = max(0.0, now - bucket.stamp)  # never negative, whatever the clock
        bucket.tokens = min(self.burst, bucket.tokens + elapsed * self.rate)
        bucket.stamp = now

    def _full_at(self, bucket: _Bucket, now: float) -> bool:
        return bucket.tokens + max(0.0, now - bucket.stamp) * self.rate >= self.burst

    def _make_room(self, now: float) -> None:
        """Drop idle buckets, then the least recently used one if still full.

        Room is made here, before the insert, rather than by the table's own
        bound, so that a drop that lost state is counted.
        """
        for _ in range(_PRUNE_PER_INSERT):
            oldest = self._buckets.oldest()
            if oldest is None or not self._full_at(oldest[1], now):
                break
            self._buckets.pop(oldest[0])  # refilled: forgetting it loses nothing
        while len(self._buckets) >= self.max_clients and (
            oldest := self._buckets.oldest()
        ):
            self._buckets.pop(oldest[0])
            if not self._full_at(oldest[1], now):
                self.evicted += 1


def parse_networks(texts: Iterable[str]) -> tuple[IPNetwork, ...]:
    """Networks from CIDR strings (a bare address is a /32 or /128).

    An IPv4-mapped IPv6 network (``::ffff:10.0.0.0/104``, as a dual-stack
    listener logs its peers) becomes the IPv4 network it maps, because peers
    and forwarded addresses are compared in their IPv4 form.

    Raises:
        ValueError: a string is not an address or network.
    """
    return tuple(
        _unmapped(ipaddress.ip_network(t.strip(), strict=False)) for t in texts
    )


def _unmapped(network: IPNetwork) -> IPNetwork:
    if isinstance(network, ipaddress.IPv6Network) and network.prefixlen >= 96:
        mapped = network.network_address.ipv4_mapped
        if mapped is not None:
            return ipaddress.IPv4Network(f"{mapped}/{network.prefixlen - 96}")
    return network


def _address(text: str) -> IPAddress | None:
    """An address from ``1.2.3.4``, ``1.2.3.4:80``, ``::1``, ``[::1]``, ``[::1]:80``."""
    text = text.strip()
    if text.startswith("["):
        inner, sep, rest = text[1:].partition("]")
        if not sep or (rest and not (rest[:1] == ":" and rest[1:].isdigit())):
            return None
        text = inner
    elif text.count(":") == 1:  # IPv4 with a port (some proxies add it)
        host, _, port = text.partition(":")
        if not port.isdigit():
            return None
        text = host
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _trusted(address: IPAddress, networks: tuple[IPNetwork, ...]) -> bool:
    return any(address in network for network in networks)


def client_address(
    peer: str | None,
    forwarded_for: Iterable[str],
    trusted_proxies: tuple[IPNetwork, ...],
) -> IPAddress | None:
    """The address a request comes from.

    Args:
        peer: The TCP peer's address (``request.remote``).
        forwarded_for: The ``X-Forwarded-For`` field lines, in order.
        trusted_proxies: Networks of the operator's reverse proxies.

    Returns:
        The right-most address of ``X-Forwarded-For`` that is not a trusted
        proxy, when the peer is a trusted proxy (the left-most one if every
        hop is trusted); else the peer. ``None`` when the peer is not an IP
        address (a Unix socket). A malformed or empty ``X-Forwarded-For``
        (an entry that is not an address, met before the client is found)
        gives the peer.
    """
    address = _address(peer) if peer else None
    if address is None or not trusted_proxies or not _trusted(address, trusted_proxies):
        return address
    hops = [hop for line in forwarded_for for hop in line.split(",")]
    if not hops:
        return address
    client: IPAddress | None = None
    for hop in reversed(hops[-_MAX_FORWARDED_HOPS:]):
        client = _address(hop)
        if client is None:
            return address
        if not _trusted(client, trusted_proxies):
            return client
    # Every hop examined is a trusted proxy: the left-most is where it started.
    return client if client is not None else address


def client_key(address: IPAddress | None, peer: str | None = None) -> str:
    """The bucket of ``address``: the IPv4 address itself, or the IPv6 /64.

    ``None`` (a peer that is not an IP address) gives one bucket per peer text.
    """
    if address is None:
        return f"peer:{peer or 'unknown'}"
    if isinstance(address, ipaddress.IPv4Address):
        return str(address)
    prefix = ipaddress.IPv6Network((int(address) >> 64 << 64, 64))
    return str(prefix)


class _OverBudget(Exception):
    """Raised through a handler by an admission refused; carries the 429."""

    def __init__(self, response: web.Response) -> None:
        super().__init__("over budget")
        self.response = response


def _answer_over_budget(handler: Handler) -> Handler:
    async def answered(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except _OverBudget as refused:
            return refused.response

    return answered


class RateLimiter:
    """A budget for registry writes, one for verification, bound to routes.

    Args:
        writes: The budget of POST/PUT/PATCH/DELETE under ``/registry/``
            (``None``: not limited).
        verify: The budget of ``POST /credentials/verify`` (``None``: not
            limited).
        trusted_proxies: Networks whose ``X-Forwarded-For`` is believed.
    """

    def __init__(
        self,
        *,
        writes: Limiter | None,
        verify: Limiter | None = None,
        cold_resolutions: Limiter | None = None,
        trusted_proxies: tuple[IPNetwork, ...] = (),
    ) -> None:
        self.writes = writes
        self.verify = verify
        self.cold_resolutions = cold_resolutions
        self.trusted_proxies = trusted_proxies

    def admission(self, request: web.Request) -> Admit | None:
        """What a resolution for ``request`` awaits before it resolves afresh.

        Cached answers, and answers joined while another request resolves the
        same DID, cost nothing: only a resolution this request would start (an
        outbound fetch for did:web, key decoding for did:key) takes a token
        from the client's budget of cold resolutions. Over budget, the request
        is answered 429 by :meth:`limit_resolutions`'s wrapper.
        """
        limiter = self.cold_resolutions
        if limiter is None:
            return None

        async def admit() -> None:
            # The client is worked out only here: a cached answer, the hot
            # path, never pays for reading X-Forwarded-For.
            wait = await limiter.acquire(self.key_of(request))
            if wait > 0.0:
                raise _OverBudget(self._refusal(limiter, "uncached resolutions", wait))

        return admit

    def limit_resolutions(self, routes: Iterable[web.RouteDef]) -> list[web.RouteDef]:
        """``routes`` (the resolver's), answering 429 when admission refuses."""
        if self.cold_resolutions is None:
            return list(routes)
        out = []
        for route in routes:
            if route.path.startswith(_RESOLUTION_PREFIX) and not isinstance(
                route.handler, type
            ):
                route = web.RouteDef(
                    route.method,
                    route.path,
                    _answer_over_budget(route.handler),
                    route.kwargs,
                )
            out.append(route)
        return out

    def budget_for(self, method: str, path: str) -> tuple[Limiter, str] | None:
        """The budget a request takes from and what it counts, or ``None``."""
        if (
            self.writes is not None
            and method in _WRITE_METHODS
            and path.startswith(_REGISTRY_PREFIX)
        ):
            return self.writes, "writes"
        if self.verify is not None and method == "POST" and path == _VERIFY_PATH:
            return self.verify, "verifications"
        return None

    def key_of(self, request: web.Request) -> str:
        """The bucket key of the client behind ``request``."""
        peer = request.remote
        address = client_address(
            peer, request.headers.getall("X-Forwarded-For", ()), self.trusted_proxies
        )
        return client_key(address, peer)

    def limit(self, routes: Iterable[web.RouteDef]) -> list[web.RouteDef]:
        """``routes``, each limited one with its handler guarded by its budget.

        The budget is bound to the handler when the app is built: requests to
        other routes (every read) pay nothing, and a limited route is limited
        however its path is spelled on the wire.
        """
        out = []
        for route in routes:
            budget = self.budget_for(route.method, route.path)
            if budget is not None and not isinstance(route.handler, type):
                guarded = self._guard(route.handler, *budget)
                route = web.RouteDef(route.method, route.path, guarded, route.kwargs)
            out.append(route)
        return out

    def _guard(self, handler: Handler, limiter: Limiter, what: str) -> Handler:
        async def guarded(request: web.Request) -> web.StreamResponse:
            wait = await limiter.acquire(self.key_of(request))
            if wait <= 0.0:
                return await handler(request)
            return self._refusal(limiter, what, wait)

        return guarded

    @staticmethod
    def _refusal(limiter: Limiter, what: str, wait: float) -> web.Response:
        """The 429 problem for a request over its client's budget."""
        retry_after = max(1, math.ceil(wait))
        detail = (
            f"more than {limiter.rate:g} {what} per second (bursts of "
            f"{limiter.burst:g}) from this client; retry in {retry_after} s"
        )
        return problem_response(
            429,
            "too many requests",
            detail,
            type_=RATE_LIMITED,
            headers={"Retry-After": str(retry_after)},
        )
