"""did:web: DID → URL mapping, and resolution against a real local HTTPS server.

The server listens on 127.0.0.1 at a free port; names resolve through a loopback
DNS server; the fetcher allows loopback only through its unsafe setting, and the
test that leaves it off checks that loopback is refused.
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web

from drivers.web import WebDriver, did_to_url
from resolver.did import DID
from resolver.driver import Driver
from resolver.errors import (
    FetchError,
    FetchRefusedError,
    InvalidDIDDocumentError,
    InvalidDIDError,
    NotFoundError,
)
from resolver.fetch import Fetcher
from resolver.models import ResolutionOptions
from tests.helpers.dns_server import serve_dns
from tests.helpers.https_server import LocalServer, TestPKI, serve_app
from tests.helpers.loopback import loopback_policy

# --- did_to_url (pure) --------------------------------------------------------------

URLS = {
    "bare-domain": (
        "did:web:w3c-ccg.github.io",
        "https://w3c-ccg.github.io/.well-known/did.json",
    ),
    "path": (
        "did:web:w3c-ccg.github.io:user:alice",
        "https://w3c-ccg.github.io/user/alice/did.json",
    ),
    "port": (
        "did:web:example.com%3A3000:user:alice",
        "https://example.com:3000/user/alice/did.json",
    ),
    "port-lowercase-hex": (
        "did:web:example.com%3a8443",
        "https://example.com:8443/.well-known/did.json",
    ),
    "uppercase-host": (
        "did:web:Example.COM",
        "https://example.com/.well-known/did.json",
    ),
    "encoded-path-char": (
        "did:web:example.com:a%20b",
        "https://example.com/a%20b/did.json",
    ),
    "punycode": (
        "did:web:xn--bcher-kva.example",
        "https://xn--bcher-kva.example/.well-known/did.json",
    ),
    "digit-first-label": (
        "did:web:1password.com",
        "https://1password.com/.well-known/did.json",
    ),
}


@pytest.mark.parametrize(("did", "url"), URLS.values(), ids=URLS.keys())
def test_did_to_url(did, url):
    assert did_to_url(DID(did)) == url


INVALID = {
    "not-web": ("did:key:z6Mk", "not a did:web"),
    "ipv4-literal": ("did:web:127.0.0.1", "ip-literal"),
    "ipv4-literal-port": ("did:web:10.0.0.1%3A8443", "ip-literal"),
    "decimal-ipv4": ("did:web:2130706433", "ip-literal"),
    "short-ipv4": ("did:web:127.1", "ip-literal"),
    "ipv6-encoded": ("did:web:%5B%3A%3A1%5D", "percent-encoding"),
    "ipv6-as-ports": ("did:web:%3A%3A1", "domain is empty"),
    "single-label": ("did:web:localhost", "not a fully qualified"),
    "empty-label": ("did:web:example..com", "label ''"),
    "hyphen-start": ("did:web:-example.com", "label '-example'"),
    "hyphen-end": ("did:web:example-.com", "label 'example-'"),
    "underscore": ("did:web:ex_ample.com", "label 'ex_ample'"),
    "long-label": ("did:web:" + "a" * 64 + ".com", "label"),
    "long-name": ("did:web:" + ".".join(["a" * 60] * 5), "not a fully qualified"),
    "encoded-dot-host": ("did:web:example%2Ecom", "percent-encoding"),
    "port-zero": ("did:web:example.com%3A0", "port '0'"),
    "port-too-big": ("did:web:example.com%3A65536", "port '65536'"),
    "port-leading-zero": ("did:web:example.com%3A0443", "port '0443'"),
    "port-not-number": ("did:web:example.com%3Ahttps", "port 'https'"),
    "two-ports": ("did:web:example.com%3A1%3A2", "port '1%3A2'"),
    "empty-segment": ("did:web:example.com::alice", "segment ''"),
    "dot-dot-segment": ("did:web:example.com:..:admin", "segment '..'"),
    "encoded-dot-dot": ("did:web:example.com:%2E%2E:admin", "segment '%2E%2E'"),
    "encoded-slash": ("did:web:example.com:a%2Fb", "segment 'a%2Fb'"),
    "encoded-query": ("did:web:example.com:a%3Fb", "segment"),
    "double-encoding": ("did:web:example.com:a%252Fb", "segment"),
    "control-char": ("did:web:example.com:a%0Ab", "segment"),
}


@pytest.mark.parametrize(("did", "message"), INVALID.values(), ids=INVALID.keys())
def test_did_to_url_rejects(did, message):
    with pytest.raises(InvalidDIDError, match=re.escape(message)) as info:
        did_to_url(DID(did))
    assert info.value.error_type == "INVALID_DID"


# --- the driver against a local HTTPS server ------------------------------------

HOST = "uni.test"
KEY = "z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
DOCS = web.AppKey("docs", dict)
"""path → (status, body, headers); the test fills it."""


def did_doc(did: str) -> dict[str, Any]:
    return {
        "@context": "https://www.w3.org/ns/did/v1",
        "id": did,
        "verificationMethod": [
            {
                "id": f"{did}#key-1",
                "type": "Multikey",
                "controller": did,
                "publicKeyMultibase": KEY,
            }
        ],
        "assertionMethod": ["#key-1"],
    }


async def serve_path(request: web.Request) -> web.StreamResponse:
    entry = request.app[DOCS].get(request.path)
    if entry is None:
        raise web.HTTPNotFound()
    status, body, headers = entry
    if body == "trickle":
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        resp.content_length = 1000
        await resp.prepare(request)
        for _ in range(100):
            await resp.write(b" ")
            await asyncio.sleep(0.05)
        return resp
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return web.Response(
        status=status,
        body=raw,
        headers={"Content-Type": "application/did+json", **headers},
    )


@pytest.fixture
async def dns():
    async with serve_dns({HOST: ["127.0.0.1"]}) as server:
        yield server


@pytest.fixture
async def site(pki):
    app = web.Application()
    app[DOCS] = {}
    app.router.add_get("/{tail:.*}", serve_path)
    async with serve_app(app, ssl_context=pki.server_context(HOST)) as srv:
        yield srv, app[DOCS]


@pytest.fixture
async def driver(dns, pki):
    async with Fetcher.open(loopback_policy(dns, pki)) as fetcher:
        yield WebDriver(fetcher)


def web_did(server: LocalServer, *path: str) -> DID:
    return DID(":".join([f"did:web:{HOST}%3A{server.port}", *path]))


OPTIONS = ResolutionOptions()


def test_web_driver_is_a_driver(driver):
    assert isinstance(driver, Driver)
    assert driver.name == "did-web"
    assert driver.methods == {"web"}
    assert driver.options == frozenset()
    assert driver.example_dids == ()
    assert driver.traits["deactivatable"] is True
    assert driver.traits["updateable"] is True
    assert driver.traits["enumerable"] is False


async def test_web_driver_resolves_document_at_port_and_path(driver, site):
    server, docs = site
    did = web_did(server, "staff", "registrar")
    docs["/staff/registrar/did.json"] = (200, did_doc(did), {})
    before = datetime.now(UTC).replace(microsecond=0)
    result = await driver.resolve(did, OPTIONS)
    assert result.document == did_doc(did)
    assert result.document_metadata == {}
    assert not result.deactivated
    assert result.resolution_metadata["url"] == server.url(
        HOST, "/staff/registrar/did.json"
    )
    retrieved = datetime.strptime(
        result.resolution_metadata["retrieved"], "%Y-%m-%dT%H:%M:%SZ"
    ).replace(tzinfo=UTC)
    assert before <= retrieved <= datetime.now(UTC)
    assert server.requests == ["/staff/registrar/did.json"]


async def test_web_driver_resolves_bare_domain_at_well_known(driver, site):
    server, docs = site
    did = web_did(server)
    docs["/.well-known/did.json"] = (200, did_doc(did), {})
    result = await driver.resolve(did, OPTIONS)
    assert result.document["id"] == did


TTLS = {
    "absent": ({}, 300),
    "within-bounds": ({"Cache-Control": "public, max-age=900"}, 900),
    "below-min": ({"Cache-Control": "max-age=5"}, 60),
    "above-max": ({"Cache-Control": "max-age=86400"}, 3600),
    "s-maxage-wins": ({"Cache-Control": "max-age=900, s-maxage=120"}, 120),
    "no-store": ({"Cache-Control": "no-store"}, 0),
    "no-cache": ({"Cache-Control": "no-cache"}, 0),
    "max-age-zero": ({"Cache-Control": "max-age=0"}, 0),
    "malformed": ({"Cache-Control": "max-age=soon"}, 0),
}


@pytest.mark.parametrize(("headers", "ttl"), TTLS.values(), ids=TTLS.keys())
async def test_web_driver_ttl_follows_cache_control_within_bounds(
    driver, site, headers, ttl
):
    server, docs = site
    did = web_did(server)
    docs["/.well-known/did.json"] = (200, did_doc(did), headers)
    result = await driver.resolve(did, OPTIONS)
    assert result.ttl == ttl


async def test_web_driver_rejects_document_with_foreign_id(driver, site):
    server, docs = site
    did = web_did(server)
    docs["/.well-known/did.json"] = (200, did_doc("did:web:attacker.example"), {})
    with pytest.raises(
        InvalidDIDDocumentError, match=r"'did:web:attacker\.example' is not"
    ) as info:
        await driver.resolve(did, OPTIONS)
    assert info.value.error_type == "INVALID_DID_DOCUMENT"


async def test_web_driver_rejects_document_of_another_path_on_same_host(driver, site):
    server, docs = site
    did = web_did(server, "alice")
    docs["/alice/did.json"] = (200, did_doc(str(web_did(server, "bob"))), {})
    with pytest.raises(InvalidDIDDocumentError, match="bob"):
        await driver.resolve(did, OPTIONS)


BAD_BODIES = {
    "invalid-json": (b'{"id": ', "not json"),
    "deep-nesting": (b"[" * 200 + b"]" * 200, "deeper than 64 levels"),
    "array": (b"[]", "not a json object"),
    "duplicate-id": (
        b'{"id": "did:web:a.example", "id": "did:web:b.example"}',
        "duplicate key",
    ),
}


@pytest.mark.parametrize(
    ("body", "message"), BAD_BODIES.values(), ids=BAD_BODIES.keys()
)
async def test_web_driver_rejects_malformed_body_as_invalid_document(
    driver, site, body, message
):
    server, docs = site
    docs["/.well-known/did.json"] = (200, body, {})
    with pytest.raises(InvalidDIDDocumentError, match=message):
        await driver.resolve(web_did(server), OPTIONS)


async def test_web_driver_reports_404_as_not_found(driver, site):
    server, _ = site
    with pytest.raises(NotFoundError, match="http 404") as info:
        await driver.resolve(web_did(server, "nobody"), OPTIONS)
    assert info.value.error_type == "NOT_FOUND"


async def test_web_driver_reports_410_as_deactivated(driver, site):
    server, docs = site
    did = web_did(server)
    docs["/.well-known/did.json"] = (
        410,
        {"gone": True},
        {"Cache-Control": "max-age=600"},
    )
    result = await driver.resolve(did, OPTIONS)
    assert result.deactivated
    assert result.document_metadata == {"deactivated": True}
    assert result.document["id"] == did
    assert "verificationMethod" not in result.document
    assert result.ttl == 600
    assert "retrieved" in result.resolution_metadata


async def test_web_driver_reports_unknown_domain_as_not_found(driver, site):
    server, _ = site
    did = DID(f"did:web:missing.test%3A{server.port}")
    with pytest.raises(NotFoundError, match="nxdomain"):
        await driver.resolve(did, OPTIONS)


@pytest.mark.parametrize("code", [500, 502, 503, 403])
async def test_web_driver_reports_server_errors_as_internal(driver, site, code):
    server, docs = site
    docs["/.well-known/did.json"] = (code, {"error": "x"}, {})
    with pytest.raises(FetchError, match=f"http {code}") as info:
        await driver.resolve(web_did(server), OPTIONS)
    assert info.value.error_type == "INTERNAL_ERROR"


async def test_web_driver_times_out_on_slowloris_server(dns, pki, site):
    server, docs = site
    docs["/.well-known/did.json"] = (200, "trickle", {})
    async with Fetcher.open(loopback_policy(dns, pki, total_timeout=0.5)) as fetcher:
        with pytest.raises(FetchError, match="timed out") as info:
            await WebDriver(fetcher).resolve(web_did(server), OPTIONS)
    assert info.value.error_type == "INTERNAL_ERROR"


async def test_web_driver_reports_tls_failure_as_internal(dns, pki, site, tmp_path):
    server, _ = site
    (tmp_path / "other").mkdir()
    other_ca = TestPKI(tmp_path / "other").ca_file
    async with Fetcher.open(loopback_policy(dns, pki, ca_file=other_ca)) as fetcher:
        with pytest.raises(FetchError, match="tls failed") as info:
            await WebDriver(fetcher).resolve(web_did(server), OPTIONS)
    assert info.value.error_type == "INTERNAL_ERROR"
    assert server.requests == []


async def test_web_driver_refuses_loopback_without_the_unsafe_setting(dns, pki, site):
    server, docs = site
    did = web_did(server)
    docs["/.well-known/did.json"] = (200, did_doc(did), {})
    strict = loopback_policy(dns, pki, unsafe_allow_private_networks=frozenset())
    async with Fetcher.open(strict) as fetcher:
        with pytest.raises(FetchRefusedError, match="loopback") as info:
            await WebDriver(fetcher).resolve(did, OPTIONS)
    assert info.value.reason == "private-address"
    assert server.requests == []


async def test_web_driver_rejects_ip_literal_did_before_fetching(driver, dns):
    with pytest.raises(InvalidDIDError, match="ip-literal"):
        await driver.resolve(DID("did:web:169.254.169.254"), OPTIONS)
    assert dns.queries == []


@pytest.mark.parametrize(
    ("bounds", "ok"),
    [
        ({}, True),
        ({"min_ttl": 0, "default_ttl": 0, "max_ttl": 0}, True),
        ({"min_ttl": -1}, False),
        ({"min_ttl": 600}, False),
        ({"default_ttl": 7200}, False),
    ],
    ids=[
        "defaults",
        "all-zero",
        "negative-min",
        "min-over-default",
        "default-over-max",
    ],
)
async def test_web_driver_checks_ttl_bounds(dns, pki, bounds, ok):
    async with Fetcher.open(loopback_policy(dns, pki)) as fetcher:
        if ok:
            WebDriver(fetcher, **bounds)
        else:
            with pytest.raises(ValueError, match="min_ttl"):
                WebDriver(fetcher, **bounds)
