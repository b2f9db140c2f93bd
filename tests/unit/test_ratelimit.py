"""Token buckets, client identity behind proxies, and bucketing (didtrust.ratelimit).

Pure logic with an injected clock: no server, no sleeping; and the async
``Limiter`` protocol that the route guard awaits.
"""

from __future__ import annotations

import ipaddress

import pytest
from aiohttp import web

from didtrust.ratelimit import (
    RateLimiter,
    TokenBuckets,
    client_address,
    client_key,
    parse_networks,
)
from resolver.limiter import Limiter
from tests.helpers.clock import Clock


def buckets(rate=1.0, burst=3, max_clients=100):
    clock = Clock()
    return TokenBuckets(
        rate=rate, burst=burst, max_clients=max_clients, clock=clock
    ), clock


# -- the bucket -----------------------------------------------------------------


def test_a_new_client_may_send_its_burst_then_is_refused():
    limiter, _ = buckets(rate=1.0, burst=3)
    assert [limiter.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("a") == pytest.approx(1.0)
    assert limiter.refused == 1


def test_refused_request_takes_nothing_so_waiting_is_enough():
    limiter, clock = buckets(rate=2.0, burst=1)
    assert limiter.take("a") == 0.0
    assert limiter.take("a") == pytest.approx(0.5)
    assert limiter.take("a") == pytest.approx(0.5)  # hammering does not push it back
    clock.now += 0.5
    assert limiter.take("a") == 0.0


def test_bucket_refills_at_the_rate_and_never_beyond_the_burst():
    limiter, clock = buckets(rate=0.5, burst=2)
    limiter.take("a")
    limiter.take("a")
    clock.now += 1.0  # half a token
    assert limiter.take("a") == pytest.approx(1.0)
    clock.now += 1000.0  # refilled long ago: still only the burst
    assert [limiter.take("a") for _ in range(3)][:2] == [0.0, 0.0]
    assert limiter.take("a") > 0


def test_clock_going_backwards_does_not_mint_tokens():
    limiter, clock = buckets(rate=1.0, burst=1)
    limiter.take("a")
    clock.now -= 50.0
    assert limiter.take("a") > 0


def test_one_client_over_its_budget_does_not_limit_another():
    limiter, _ = buckets(rate=1.0, burst=1)
    limiter.take("a")
    assert limiter.take("a") > 0
    assert limiter.take("b") == 0.0


def test_address_flood_cannot_grow_the_table_beyond_its_bound():
    limiter, _ = buckets(rate=1.0, burst=5, max_clients=50)
    for i in range(10_000):
        limiter.take(f"10.0.{i // 256}.{i % 256}")
        assert len(limiter) <= 50
    assert len(limiter) == 50


def test_eviction_drops_the_least_recently_seen_client():
    limiter, _ = buckets(rate=1.0, burst=5, max_clients=3)
    for key in ("a", "b", "c"):
        limiter.take(key)
    limiter.take("a")  # a is now the most recent
    limiter.take("d")
    assert "b" not in limiter
    assert {"a", "c", "d"} <= {k for k in ("a", "b", "c", "d") if k in limiter}
    assert limiter.evicted == 1  # b had not refilled: that eviction lost state


def test_idle_refilled_buckets_are_forgotten_first_and_lose_nothing():
    limiter, clock = buckets(rate=1.0, burst=2, max_clients=1000)
    limiter.take("old-1")
    limiter.take("old-2")
    clock.now += 10.0  # both refilled
    limiter.take("new")
    assert "old-1" not in limiter
    assert "old-2" not in limiter
    assert limiter.evicted == 0


def test_limited_client_stays_limited_while_others_arrive_within_the_bound():
    limiter, _ = buckets(rate=0.01, burst=1, max_clients=10)
    limiter.take("abuser")
    for i in range(8):
        limiter.take(f"other-{i}")
    assert limiter.take("abuser") > 0


@pytest.mark.parametrize(
    ("rate", "burst", "max_clients", "match"),
    [(0, 1, 1, "rate"), (1, 0.5, 1, "burst"), (1, 1, 0, "max_clients")],
    ids=["zero-rate", "burst-below-one", "no-clients"],
)
def test_nonsense_bounds_are_refused(rate, burst, max_clients, match):
    with pytest.raises(ValueError, match=match):
        TokenBuckets(rate=rate, burst=burst, max_clients=max_clients)


# -- who is the client ---------------------------------------------------------

PROXIES = parse_networks(["10.0.0.0/8", "2001:db8:ffff::/48"])
ip = ipaddress.ip_address


def test_forwarded_for_from_an_untrusted_peer_is_ignored_spoofing():
    # The attacker talks to us directly and claims to be someone else each time.
    assert client_address("198.51.100.9", ["203.0.113.1"], PROXIES) == ip(
        "198.51.100.9"
    )


def test_forwarded_for_is_ignored_when_no_proxy_is_trusted():
    assert client_address("10.0.0.1", ["203.0.113.1"], ()) == ip("10.0.0.1")


def test_proxy_trusted_in_ipv4_mapped_form_is_still_trusted():
    # A dual-stack listener logs its peers as ::ffff:a.b.c.d; an operator who
    # copies that form into the setting must not make every client share one
    # bucket (the proxy's).
    mapped = parse_networks(["::ffff:10.0.0.0/104"])
    assert mapped == (ipaddress.ip_network("10.0.0.0/8"),)
    assert client_address("::ffff:10.0.0.1", ["203.0.113.7"], mapped) == ip(
        "203.0.113.7"
    )


def test_trusted_proxy_names_the_client():
    assert client_address("10.0.0.1", ["203.0.113.7"], PROXIES) == ip("203.0.113.7")


def test_client_prepending_a_fake_hop_is_not_believed_spoofing():
    # The client sends "X-Forwarded-For: 1.1.1.1"; our proxy appends the real peer.
    assert client_address("10.0.0.1", ["1.1.1.1, 203.0.113.7"], PROXIES) == ip(
        "203.0.113.7"
    )


def test_chain_of_trusted_proxies_is_walked_right_to_left():
    header = ["198.51.100.1, 203.0.113.7, 10.2.3.4", "10.9.9.9"]  # two field lines
    assert client_address("10.0.0.1", header, PROXIES) == ip("203.0.113.7")


def test_garbage_left_of_the_client_does_not_matter():
    assert client_address("10.0.0.1", ["<script>, 203.0.113.7"], PROXIES) == ip(
        "203.0.113.7"
    )


@pytest.mark.parametrize(
    "header",
    [
        ["not-an-address"],
        ["203.0.113.7, unknown"],
        ["203.0.113.7,,"],
        ["[2001:db8::1"],
        ["203.0.113.7:http"],
        [""],
        [],
    ],
    ids=[
        "word",
        "unknown-hop",
        "empty-hop",
        "open-bracket",
        "bad-port",
        "empty",
        "absent",
    ],
)
def test_malformed_forwarded_for_falls_back_to_the_peer(header):
    assert client_address("10.0.0.1", header, PROXIES) == ip("10.0.0.1")


@pytest.mark.parametrize(
    ("hop", "expected"),
    [
        ("203.0.113.7:4711", "203.0.113.7"),
        ("[2001:db8::5]", "2001:db8::5"),
        ("[2001:db8::5]:443", "2001:db8::5"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
    ],
    ids=["v4-port", "v6-brackets", "v6-brackets-port", "v4-mapped"],
)
def test_forwarded_for_forms_proxies_write(hop, expected):
    assert client_address("10.0.0.1", [hop], PROXIES) == ip(expected)


def test_every_hop_trusted_gives_the_left_most():
    assert client_address("10.0.0.1", ["10.1.1.1, 10.2.2.2"], PROXIES) == ip("10.1.1.1")


def test_trusted_ipv6_proxy_and_v4_mapped_peer():
    assert client_address("2001:db8:ffff::1", ["203.0.113.7"], PROXIES) == ip(
        "203.0.113.7"
    )
    assert client_address("::ffff:10.0.0.1", ["203.0.113.7"], PROXIES) == ip(
        "203.0.113.7"
    )


def test_peer_that_is_not_an_address_has_its_own_bucket():
    assert client_address(None, ["203.0.113.7"], PROXIES) is None
    assert client_key(None, None) == "peer:unknown"
    assert client_key(None, "/run/didtrust.sock") == "peer:/run/didtrust.sock"


# -- buckets by address --------------------------------------------------------


def test_ipv6_addresses_of_one_slash_64_share_a_bucket():
    a = client_key(ip("2001:db8:1:2:aaaa::1"))
    b = client_key(ip("2001:db8:1:2:ffff:ffff:ffff:ffff"))
    c = client_key(ip("2001:db8:1:3::1"))
    assert a == b == "2001:db8:1:2::/64"
    assert c != a


def test_ipv4_addresses_are_bucketed_one_by_one():
    assert client_key(ip("203.0.113.7")) == "203.0.113.7"
    assert client_key(ip("203.0.113.8")) != client_key(ip("203.0.113.7"))


def test_rotating_ipv6_addresses_in_one_prefix_stay_limited():
    limiter, _ = buckets(rate=0.01, burst=2)
    results = [
        limiter.take(client_key(ip(f"2001:db8:0:1::{i:x}"))) for i in range(1, 6)
    ]
    assert results[:2] == [0.0, 0.0]
    assert all(r > 0 for r in results[2:])


def test_malformed_trusted_network_is_refused():
    with pytest.raises(ValueError, match="does not appear"):
        parse_networks(["10.0.0.0/33x"])


# -- the Limiter protocol ------------------------------------------------------


async def test_token_buckets_are_a_limiter_whose_acquire_takes_a_token():
    limiter, clock = buckets(rate=1.0, burst=2)
    assert [await limiter.acquire("a") for _ in range(3)] == [0.0, 0.0, 1.0]
    clock.now += 1.0
    assert await limiter.acquire("a") == 0.0
    assert limiter.refused == 1
    assert isinstance(limiter, Limiter)


class Ledger:
    """A Limiter that is no token bucket: it lets ``allow`` requests per key through."""

    rate = 0.5
    burst = 1.0

    def __init__(self, allow: int) -> None:
        self.allow = allow
        self.seen: dict[str, int] = {}

    async def acquire(self, key: str) -> float:
        self.seen[key] = self.seen.get(key, 0) + 1
        return 0.0 if self.seen[key] <= self.allow else 2.5


async def test_any_limiter_guards_the_limited_routes_and_only_those(aiohttp_client):
    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    ledger = Ledger(allow=1)
    guard = RateLimiter(writes=ledger)
    app = web.Application()
    app.add_routes(
        guard.limit(
            [web.post("/registry/v1/things", ok), web.get("/registry/v1/x", ok)]
        )
    )
    client = await aiohttp_client(app)
    assert (await client.post("/registry/v1/things")).status == 200
    refused = await client.post("/registry/v1/things")
    assert refused.status == 429
    assert refused.headers["Retry-After"] == "3"
    body = await refused.json(content_type="application/problem+json")
    assert "more than 0.5 writes per second (bursts of 1)" in body["detail"]
    assert [(await client.get("/registry/v1/x")).status for _ in range(3)] == [200] * 3
    assert list(ledger.seen.values()) == [2]
