"""did:web through the whole server: real DNS on loopback, real HTTPS (trustme).

The app is built from Settings exactly as `didtrust serve` builds it; only the
test CA, the loopback DNS server and the unsafe loopback allowance differ.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from aiohttp import web

from didtrust.app import create_app
from tests.helpers.did_web import did_for, get, web_document
from tests.helpers.dns_server import serve_dns
from tests.helpers.https_server import TestPKI, serve_app
from tests.helpers.loopback import loopback_settings

HOST = "registrar.test"
DOCS = web.AppKey("docs", dict)
ERR = "https://www.w3.org/ns/did#"


async def serve_doc(request: web.Request) -> web.StreamResponse:
    behaviour = request.app[DOCS].get(request.path)
    if behaviour is None:
        raise web.HTTPNotFound()
    status, body, headers = behaviour
    await asyncio.sleep(0.01)  # long enough for concurrent requests to pile up
    return web.Response(
        status=status,
        body=json.dumps(body).encode(),
        headers={"Content-Type": "application/did+json", **headers},
    )


@pytest.fixture
async def dns():
    async with serve_dns({HOST: ["127.0.0.1"]}) as server:
        yield server


@pytest.fixture
async def site(tmp_path):
    pki = TestPKI(tmp_path)
    app = web.Application()
    app[DOCS] = {}
    app.router.add_get("/{tail:.*}", serve_doc)
    async with serve_app(app, ssl_context=pki.server_context(HOST)) as srv:
        yield srv, app[DOCS], pki


async def test_did_web_resolves_and_second_answer_comes_from_cache(
    aiohttp_client, dns, site, tmp_path
):
    srv, docs, pki = site
    did = did_for(srv, HOST)
    docs["/.well-known/did.json"] = (
        200,
        web_document(did),
        {"Cache-Control": "max-age=600"},
    )
    client = await aiohttp_client(create_app(loopback_settings(dns, pki, tmp_path)))

    resp, body = await get(client, did)
    assert resp.status == 200, body
    assert body["didDocument"]["id"] == did
    meta = body["didResolutionMetadata"]
    assert (meta["driver"], meta["cached"]) == ("did-web", False)
    assert resp.headers["Cache-Control"] == "public, max-age=600"

    resp, body = await get(client, did)
    assert body["didResolutionMetadata"]["cached"] is True
    assert body["didResolutionMetadata"]["retrieved"] == meta["retrieved"]
    assert srv.requests == ["/.well-known/did.json"]

    resp, body = await get(client, did + "?noCache=true")
    assert body["didResolutionMetadata"]["cached"] is False
    assert len(srv.requests) == 2


async def test_thousand_concurrent_requests_make_one_upstream_fetch(
    aiohttp_client, dns, site, tmp_path
):
    srv, docs, pki = site
    did = did_for(srv, HOST) + ":campus"
    docs["/campus/did.json"] = (200, web_document(did), {})
    client = await aiohttp_client(create_app(loopback_settings(dns, pki, tmp_path)))
    results = await asyncio.gather(*(get(client, did) for _ in range(1000)))
    assert all(resp.status == 200 for resp, _ in results)
    assert srv.requests == ["/campus/did.json"]


async def test_loopback_is_refused_without_the_unsafe_setting(
    aiohttp_client, dns, site, tmp_path
):
    srv, docs, pki = site
    did = did_for(srv, HOST)
    docs["/.well-known/did.json"] = (200, web_document(did), {})
    settings = loopback_settings(
        dns, pki, tmp_path, unsafe_fetch_allow_private_networks=()
    )
    client = await aiohttp_client(create_app(settings))
    resp, body = await get(client, did)
    assert resp.status == 500
    error = body["didResolutionMetadata"]["error"]
    assert error["type"] == ERR + "INTERNAL_ERROR"
    assert "127.0.0.1" in error["detail"]
    assert srv.requests == []


@pytest.mark.parametrize(
    ("status", "body", "http_status", "error_type"),
    [
        (404, {"error": "nope"}, 404, "NOT_FOUND"),
        (200, "FOREIGN", 500, "INVALID_DID_DOCUMENT"),
        (503, {"error": "down"}, 500, "INTERNAL_ERROR"),
    ],
    ids=["not-found", "foreign-id", "upstream-5xx"],
)
async def test_upstream_failures_map_to_resolution_errors(
    aiohttp_client, dns, site, tmp_path, status, body, http_status, error_type
):
    srv, docs, pki = site
    did = did_for(srv, HOST)
    if body == "FOREIGN":
        body = web_document("did:web:attacker.test")
    docs["/.well-known/did.json"] = (status, body, {})
    client = await aiohttp_client(create_app(loopback_settings(dns, pki, tmp_path)))
    resp, answer = await get(client, did)
    assert resp.status == http_status
    assert answer["didResolutionMetadata"]["error"]["type"] == ERR + error_type


async def test_gone_document_is_410_deactivated(aiohttp_client, dns, site, tmp_path):
    srv, docs, pki = site
    did = did_for(srv, HOST)
    docs["/.well-known/did.json"] = (410, {}, {})
    client = await aiohttp_client(create_app(loopback_settings(dns, pki, tmp_path)))
    resp, body = await get(client, did)
    assert resp.status == 410
    assert body["didDocumentMetadata"]["deactivated"] is True


async def test_stale_if_error_serves_the_last_good_document_marked_stale(
    aiohttp_client, dns, site, tmp_path
):
    srv, docs, pki = site
    did = did_for(srv, HOST)
    docs["/.well-known/did.json"] = (
        200,
        web_document(did),
        {"Cache-Control": "max-age=1"},
    )
    settings = loopback_settings(
        dns,
        pki,
        tmp_path,
        web_min_ttl=0.0,
        web_default_ttl=0.0,
        cache_stale_if_error=3600.0,
    )
    client = await aiohttp_client(create_app(settings))
    resp, _ = await get(client, did)
    assert resp.status == 200
    await asyncio.sleep(1.2)
    docs["/.well-known/did.json"] = (503, {"error": "down"}, {})
    resp, body = await get(client, did)
    assert resp.status == 200
    meta = body["didResolutionMetadata"]
    assert meta["stale"] is True
    assert meta["staleSeconds"] > 0
    assert resp.headers["Cache-Control"] == "no-cache"
    assert len(srv.requests) == 2
