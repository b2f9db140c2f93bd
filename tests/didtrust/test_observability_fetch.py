"""Metrics of outbound fetches and of credential verdicts (issue 6).

Fetches run for real: a DNS server on loopback, an HTTPS server with trustme
certificates, and the app as ``didtrust serve`` builds it.
"""

from __future__ import annotations

import copy

import pytest
from aiohttp import web

from didtrust.app import create_app
from didtrust.settings import Settings
from tests.helpers.did_web import did_for, get, web_document
from tests.helpers.dns_server import serve_dns
from tests.helpers.https_server import TestPKI, serve_app
from tests.helpers.loopback import loopback_settings
from tests.helpers.metrics import scrape, value
from tests.helpers.verifier import eddsa_jcs

HOST = "registrar.test"
PRIVATE_HOST = "intranet.test"


@pytest.fixture
async def dns():
    async with serve_dns({HOST: ["127.0.0.1"], PRIVATE_HOST: ["10.0.0.7"]}) as server:
        yield server


@pytest.fixture
async def site(tmp_path):
    pki = TestPKI(tmp_path)
    app = web.Application()
    docs: dict[str, dict] = {}

    async def serve(request: web.Request) -> web.Response:
        body = docs.get(request.path)
        if body is None:
            raise web.HTTPNotFound()
        return web.json_response(body, content_type="application/did+json")

    app.router.add_get("/{tail:.*}", serve)
    async with serve_app(app, ssl_context=pki.server_context(HOST)) as srv:
        yield srv, docs, pki


async def test_fetches_timed_by_outcome_and_refusals_counted_by_reason(
    aiohttp_client, dns, site, tmp_path
):
    srv, docs, pki = site
    did = did_for(srv, HOST)
    docs["/.well-known/did.json"] = web_document(did)
    client = await aiohttp_client(create_app(loopback_settings(dns, pki, tmp_path)))

    resp, _ = await get(client, did)
    assert resp.status == 200
    resp, _ = await get(client, did + ":missing")
    assert resp.status == 404
    # A name that resolves to a private address is refused before any byte.
    resp, _ = await get(client, f"did:web:{PRIVATE_HOST}")
    assert resp.status >= 400

    samples = await scrape(client)
    count = "didtrust_fetch_duration_seconds_count"
    assert value(samples, count, outcome="ok") == 1
    assert value(samples, count, outcome="status") == 1
    assert value(samples, count, outcome="refused") == 1
    assert value(samples, "didtrust_fetch_refused_total", reason="private-address") == 1
    # The URL and host never become labels.
    assert not any(
        HOST in v or PRIVATE_HOST in v for _, labels in samples for _, v in labels
    )


async def test_verdicts_counted_by_first_failed_check(aiohttp_client, tmp_path):
    client = await aiohttp_client(create_app(Settings(data_dir=str(tmp_path / "data"))))
    good = eddsa_jcs()
    tampered = copy.deepcopy(good)
    tampered["credentialSubject"]["name"] = "Mallory"
    for credential in (good, tampered, tampered):
        resp = await client.post(
            "/credentials/verify", json={"verifiableCredential": credential}
        )
        assert resp.status == 200
    nested: dict = {}
    deep = nested
    for _ in range(100):
        deep["x"] = {}
        deep = deep["x"]
    resp = await client.post(
        "/credentials/verify", json={"verifiableCredential": nested}
    )
    assert resp.status == 400

    samples = await scrape(client)
    name = "didtrust_credential_verdicts_total"
    assert value(samples, name, verdict="verified", failed_check="") == 1
    assert value(samples, name, verdict="not_verified", failed_check="proof") == 2
    assert value(samples, name, verdict="malformed", failed_check="") == 1
