"""The status checker (verifier.status): fetch, verify, cache and read status lists.

The checker runs against a real local HTTPS server through a real ``Fetcher``
(trustme CA, loopback DNS server, loopback allowed only through the unsafe
setting), with list credentials signed by a real Ed25519 key over their JCS
form, verified by the injected verifier.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import rfc8785
from aiohttp import web
from nacl.signing import SigningKey

from resolver.cache import MemoryCache
from resolver.errors import FetchRefusedError
from resolver.fetch import Fetcher
from tests.helpers.clock import Clock
from tests.helpers.dns_server import serve_dns
from tests.helpers.https_server import serve_app
from tests.helpers.loopback import loopback_policy as policy
from tests.helpers.status_lists import (
    MESSAGES_2BIT,
    bits_with,
    encode,
    entry,
    list_doc,
)
from verifier.errors import StatusError
from verifier.status import CachedList, CachedListCodec, StatusChecker
from verifier.statuslist import MIN_ENTRIES, StatusList, StatusListKind

BITSTRING = StatusListKind.BITSTRING
SL2021 = StatusListKind.STATUS_LIST_2021
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)

# --- the checker against a local HTTPS server -----------------------------------

HOST = "status.test"
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


@pytest.fixture
async def fetcher(dns, pki):
    async with Fetcher.open(policy(dns, pki)) as f:
        yield f


@pytest.fixture
def clock():
    return Clock(NOW)


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
    assert (checker.cache.hits, checker.cache.misses) == (1, 1)


async def test_checker_list_round_trips_through_a_cache_that_stores_bytes(
    fetcher, site, clock
):
    cache = MemoryCache(codec=CachedListCodec(), clock=clock)
    checker = StatusChecker(fetcher, verify_proof, clock=clock, cache=cache)
    url = publish(
        site,
        "/lists/1",
        signed_list(7, subject={"ttl": 60_000}, validUntil="2026-01-01T00:00:00Z"),
    )
    [first] = await checker.check(at(url, 7), now=NOW)
    [second] = await checker.check(at(url, 7), now=NOW)
    assert second.cached is True
    assert dataclasses.replace(second, cached=False) == first
    server, _ = site
    assert server.requests == ["/lists/1"]


def test_cached_list_codec_keeps_every_member():
    status_list = StatusList(
        kind=BITSTRING,
        bits=bits_with(5),
        purposes=frozenset({"revocation", "suspension"}),
        id="https://status.example/lists/1",
        issuer=ISSUER,
        valid_from=NOW - timedelta(days=1),
        valid_until=datetime(2026, 1, 1, tzinfo=UTC),
        ttl=1.5,
    )
    value = CachedList(status_list, NOW)
    codec = CachedListCodec()
    assert codec.decode(codec.encode(value)) == value


async def test_checker_single_flight_50_concurrent_checks_one_fetch(checker, site):
    url = publish(site, "/lists/1", signed_list(9), delay=0.2)
    results = await asyncio.gather(
        *(checker.check(at(url, 9), now=NOW) for _ in range(50))
    )
    assert all(r.set for [r] in results)
    assert sum(not r.cached for [r] in results) == 1
    server, _ = site
    assert server.requests == ["/lists/1"]
    assert (checker.cache.misses, checker.cache.coalesced) == (1, 49)


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


async def test_credential_naming_many_status_lists_is_refused_before_any_fetch(
    fetcher, dns
):
    # A throwaway did:key signs a credential whose entries name URLs of the
    # sender's choice: at most two distinct lists are ever fetched for it.
    checker = StatusChecker(fetcher, verify_proof)
    entries = [
        entry(
            i,
            id=f"https://probe-{i}.example/l#{i}",
            statusListCredential=f"https://probe-{i}.example/l",
        )
        for i in range(3)
    ]
    with pytest.raises(StatusError, match="3 status lists; at most 2"):
        await checker.check(entries, now=NOW)
    assert dns.queries == []
