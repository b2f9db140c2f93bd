"""Per-client rate limiting through the real application (didtrust.ratelimit).

The app is built by ``create_app`` over a registry initialised as ``didtrust
registry init`` does; statements are really signed and verified. The rate
limiter's monotonic clock is injected, so refilling needs no sleeping. The
test client always connects from 127.0.0.1: distinct clients are made by
trusting loopback as a proxy and naming them in ``X-Forwarded-For``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from didtrust.app import create_app
from didtrust.settings import Settings
from tests.helpers.clock import Clock
from tests.helpers.registry import ROOT, init_registry, make_statement

JOSE = {"Content-Type": "application/jose"}
STATEMENTS = "/registry/v1/statements"
RATE_LIMITED = "urn:didtrust:problem:rate-limited"


class Monotonic:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


class Served:
    def __init__(self, client: Any, aud: str, clock: Clock, mono: Monotonic) -> None:
        self.client = client
        self.aud = aud
        self.clock = clock
        self.mono = mono
        self.count = 0

    def statement(self) -> str:
        self.count += 1
        return make_statement(
            ROOT, aud=self.aud, sub=f"did:example:u{self.count}", iat=self.clock.iat
        )

    async def submit(self, headers: dict[str, str] | None = None) -> Any:
        return await self.client.post(
            STATEMENTS, data=self.statement(), headers={**JOSE, **(headers or {})}
        )


async def serve(aiohttp_client, tmp_path, **overrides: Any) -> Served:
    data = tmp_path / "data"
    identity = await init_registry(data)
    clock = Clock()
    mono = Monotonic()
    values: dict[str, Any] = {
        "data_dir": str(data),
        "rate_limit_writes": 1.0,
        "rate_limit_writes_burst": 2,
    }
    values.update(overrides)
    app = create_app(Settings(**values), clock=clock, monotonic=mono)
    return Served(await aiohttp_client(app), str(identity.did), clock, mono)


async def size(served: Served) -> int:
    resp = await served.client.get("/registry/v1/log/checkpoint")
    assert resp.status == 200
    return int((await resp.text()).splitlines()[1])


async def test_statement_flood_gets_429_problem_with_retry_after(
    aiohttp_client, tmp_path
):
    served = await serve(aiohttp_client, tmp_path)
    assert [(await served.submit()).status for _ in range(2)] == [201, 201]
    resp = await served.submit()
    assert resp.status == 429
    assert resp.content_type == "application/problem+json"
    retry_after = resp.headers["Retry-After"]
    assert retry_after.isdigit()
    assert int(retry_after) >= 1
    body = await resp.json(content_type=None)
    assert body["type"] == RATE_LIMITED
    assert body["status"] == 429
    assert "1 writes per second" in body["detail"]
    assert await size(served) == 3  # genesis and two statements: nothing more


async def test_refused_client_is_served_again_after_retry_after(
    aiohttp_client, tmp_path
):
    served = await serve(aiohttp_client, tmp_path)
    for _ in range(2):
        await served.submit()
    resp = await served.submit()
    assert resp.status == 429
    served.mono.now += int(resp.headers["Retry-After"])
    assert (await served.submit()).status == 201
    assert (await served.submit()).status == 429


async def test_reads_are_never_limited(aiohttp_client, tmp_path):
    served = await serve(aiohttp_client, tmp_path)
    for _ in range(2):
        await served.submit()
    assert (await served.submit()).status == 429
    for path in (
        "/registry/v1/log/checkpoint",
        "/registry/v1/log/entries?start=0&end=1",
        f"/registry/v1/entities/{ROOT.did}",
        "/health",
    ):
        for _ in range(5):
            resp = await served.client.get(path)
            assert resp.status == 200, path
    # TRQP queries are POSTs that write nothing: not limited either.
    query = {
        "entity_id": "did:example:u1",
        "authority_id": ROOT.did,
        "action": "issue",
        "resource": "Diploma",
    }
    for _ in range(5):
        resp = await served.client.post("/trqp/authorization", json=query)
        assert resp.status == 200


async def test_one_client_limited_does_not_limit_another(aiohttp_client, tmp_path):
    served = await serve(aiohttp_client, tmp_path, trusted_proxies=("127.0.0.1",))
    alice = {"X-Forwarded-For": "203.0.113.1"}
    bob = {"X-Forwarded-For": "203.0.113.2"}
    assert [(await served.submit(alice)).status for _ in range(3)] == [201, 201, 429]
    assert [(await served.submit(bob)).status for _ in range(2)] == [201, 201]
    assert (await served.submit(alice)).status == 429


async def test_forwarded_for_from_an_untrusted_peer_does_not_escape_the_limit(
    aiohttp_client, tmp_path
):
    # Spoofing: without trusted proxies, a made-up X-Forwarded-For per request
    # must not buy a fresh bucket.
    served = await serve(aiohttp_client, tmp_path)
    statuses = [
        (await served.submit({"X-Forwarded-For": f"198.51.100.{i}"})).status
        for i in range(4)
    ]
    assert statuses == [201, 201, 429, 429]


async def test_clients_in_one_ipv6_slash_64_share_a_budget(aiohttp_client, tmp_path):
    served = await serve(aiohttp_client, tmp_path, trusted_proxies=("127.0.0.0/8",))
    statuses = [
        (await served.submit({"X-Forwarded-For": f"2001:db8:7:7::{i:x}"})).status
        for i in range(1, 4)
    ]
    assert statuses == [201, 201, 429]
    other = {"X-Forwarded-For": "2001:db8:7:8::1"}
    assert (await served.submit(other)).status == 201


async def test_zero_rate_turns_the_limit_off(aiohttp_client, tmp_path):
    served = await serve(aiohttp_client, tmp_path, rate_limit_writes=0)
    assert {(await served.submit()).status for _ in range(6)} == {201}


async def test_refused_statement_is_counted_as_rate_limited(aiohttp_client, tmp_path):
    served = await serve(aiohttp_client, tmp_path)
    for _ in range(3):
        await served.submit()
    text = await (await served.client.get("/metrics")).text()
    assert 'reason="rate-limited"' in text
    assert 'status="429"' in text


@pytest.mark.parametrize(
    "body",
    [b"{}", json.dumps({"verifiableCredential": "not a credential"}).encode()],
    ids=["empty-object", "junk-credential"],
)
async def test_verification_has_its_own_budget(aiohttp_client, tmp_path, body):
    served = await serve(
        aiohttp_client, tmp_path, rate_limit_verify=1.0, rate_limit_verify_burst=1
    )
    headers = {"Content-Type": "application/json"}
    first = await served.client.post("/credentials/verify", data=body, headers=headers)
    assert first.status != 429
    second = await served.client.post("/credentials/verify", data=body, headers=headers)
    assert second.status == 429
    problem = await second.json(content_type=None)
    assert problem["type"] == RATE_LIMITED
    assert "verifications per second" in problem["detail"]
    # Registry writes take from their own budget, untouched.
    assert (await served.submit()).status == 201


# -- uncached resolutions ------------------------------------------------------------

DID_KEYS = [
    "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
    "did:key:z6MkjchhfUsD6mmvni8mCdXHw216Xrm9bQe2mBH1P5RDjVJG",
    "did:key:z6MknGc3ocHs3zdPiJbnaaqDi58NGb4pk1Sp9WxWufuXSdxf",
]


async def test_cold_resolution_flood_is_rate_limited_per_client(
    aiohttp_client, tmp_path
):
    mono = Monotonic()
    settings = Settings(
        data_dir=str(tmp_path / "data"),
        rate_limit_resolve=1.0,
        rate_limit_resolve_burst=2,
        trusted_proxies=("127.0.0.1/32",),
    )
    client = await aiohttp_client(create_app(settings, monotonic=mono))
    path = "/1.0/identifiers/"
    one = {"X-Forwarded-For": "198.51.100.1"}
    two = {"X-Forwarded-For": "198.51.100.2"}
    assert (await client.get(path + DID_KEYS[0], headers=one)).status == 200
    assert (await client.get(path + DID_KEYS[1], headers=one)).status == 200
    refused = await client.get(path + DID_KEYS[2], headers=one)
    assert refused.status == 429
    assert refused.headers["Retry-After"] == "1"
    body = json.loads(await refused.text())
    assert body["type"] == RATE_LIMITED
    assert "uncached resolutions" in body["detail"]
    # Cached answers cost nothing, for this client and any other.
    for _ in range(5):
        assert (await client.get(path + DID_KEYS[0], headers=one)).status == 200
    # Another client has its own budget; a refill lets the first go on.
    assert (await client.get(path + DID_KEYS[2], headers=two)).status == 200
    mono.now += 1.0
    assert (
        await client.get(path + DID_KEYS[1] + "?noCache=true", headers=one)
    ).status == 200
