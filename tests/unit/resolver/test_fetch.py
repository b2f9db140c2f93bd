"""The hardened fetcher against a real loopback DNS server and real HTTPS servers.

All traffic stays on 127.0.0.0/8: public addresses appear only in DNS answers
that are refused before any connection, or are checked at the resolver level,
which never connects.
"""

from __future__ import annotations

import asyncio
import gzip
import ipaddress
import json
import logging
import socket
import time
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from resolver.errors import FetchError, FetchRefusedError
from resolver.fetch import (
    FetchBodyError,
    FetchedJSON,
    Fetcher,
    FetchPolicy,
    FetchStatusError,
    HostNotFoundError,
    VettingResolver,
    address_refusal,
    is_dns_name,
    is_ip_literal,
    parse_cache_control,
    parse_json,
)
from tests.helpers.dns_server import DNSServer, serve_dns
from tests.helpers.https_server import TestPKI, serve_app
from tests.helpers.loopback import LOOPBACK
from tests.helpers.loopback import loopback_policy as policy

DNS_KEY = web.AppKey("dns", DNSServer)
DOC = {"id": "did:web:did.test", "nested": {"list": [1, 2, 3]}}


# --- servers ------------------------------------------------------------------


async def doc(request: web.Request) -> web.StreamResponse:
    return web.json_response(
        DOC, headers={"Cache-Control": "max-age=120", "ETag": '"v1"'}
    )


async def body(request: web.Request) -> web.StreamResponse:
    """Fixed bodies by name, each a way a server can get JSON wrong."""
    bodies: dict[str, tuple[bytes, dict[str, str]]] = {
        "invalid": (b'{"id": "did:web:did.test",', {}),
        "deep": (b"[" * 100 + b"]" * 100, {}),
        "duplicate-key": (b'{"id": "did:web:a.test", "id": "did:web:b.test"}', {}),
        "nan": (b'{"n": NaN}', {}),
        "latin1": ('{"n": "\xe9"}'.encode("latin-1"), {}),
        "html": (b"<html></html>", {"Content-Type": "text/html"}),
        "gzip": (
            gzip.compress(json.dumps(DOC).encode()),
            {"Content-Encoding": "gzip"},
        ),
        "ld-json": (
            json.dumps(DOC).encode(),
            {"Content-Type": "application/did+ld+json"},
        ),
        "octet-stream": (json.dumps(DOC).encode(), {}),
        "text-plain": (json.dumps(DOC).encode(), {"Content-Type": "text/plain"}),
        "vc": (json.dumps(DOC).encode(), {"Content-Type": "application/vc"}),
    }
    raw, headers = bodies[request.match_info["name"]]
    resp = web.Response(body=raw, headers=headers)
    if "Content-Type" not in headers and request.match_info["name"] != "octet-stream":
        resp.content_type = "application/json"
    return resp


async def status(request: web.Request) -> web.StreamResponse:
    return web.json_response({"error": True}, status=int(request.match_info["code"]))


async def redirect(request: web.Request) -> web.StreamResponse:
    port = request.url.port
    targets = {
        "same-origin": "/doc",
        "relative": "../doc",
        "loop": "/redirect/loop",
        "other-host": f"https://metadata.test:{port}/doc",
        "other-port": f"https://did.test:{(port or 0) + 1}/doc",
        "to-http": f"http://did.test:{port}/doc",
        "ip-literal": f"https://127.0.0.1:{port}/doc",
    }
    raise web.HTTPFound(targets[request.match_info["kind"]])


async def rebind_then_redirect(request: web.Request) -> web.StreamResponse:
    """The attacker's move: point the name at a private address, force a new
    connection, and send the client back to the same origin."""
    request.app[DNS_KEY].records["did.test"] = ["10.0.0.1"]
    resp = web.HTTPFound("/doc")
    resp.force_close()
    raise resp


async def trickle(request: web.Request) -> web.StreamResponse:
    """Slowloris: headers promise a body that arrives one byte at a time."""
    resp = web.StreamResponse(headers={"Content-Type": "application/json"})
    resp.content_length = 10_000
    await resp.prepare(request)
    for _ in range(200):
        await resp.write(b" ")
        await asyncio.sleep(0.05)
    return resp


async def silent(request: web.Request) -> web.StreamResponse:
    await asyncio.sleep(30)  # cancelled when the test server shuts down
    raise AssertionError("unreachable")


async def endless(request: web.Request) -> web.StreamResponse:
    resp = web.StreamResponse(headers={"Content-Type": "application/json"})
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    await resp.write(b"[")
    for _ in range(10_000):  # 10 MB, far past any cap; the client hangs up first
        await resp.write(b"1," * 512)
    return resp


async def big(request: web.Request) -> web.StreamResponse:
    return web.Response(body=b" " * 4096, content_type="application/json")


def make_app(dns: DNSServer) -> web.Application:
    app = web.Application()
    app[DNS_KEY] = dns
    app.router.add_get("/doc", doc)
    app.router.add_get("/body/{name}", body)
    app.router.add_get("/status/{code}", status)
    app.router.add_get("/redirect/{kind}", redirect)
    app.router.add_get("/rebind-then-redirect", rebind_then_redirect)
    app.router.add_get("/trickle", trickle)
    app.router.add_get("/silent", silent)
    app.router.add_get("/endless", endless)
    app.router.add_get("/big", big)
    return app


@pytest.fixture
async def dns():
    async with serve_dns({"did.test": ["127.0.0.1"]}) as server:
        yield server


@pytest.fixture
async def server(dns, pki):
    ctx = pki.server_context("did.test", "metadata.test")
    async with serve_app(make_app(dns), ssl_context=ctx) as srv:
        yield srv


async def fetch(
    dns: DNSServer, pki: TestPKI, url: str, **overrides: Any
) -> FetchedJSON:
    async with Fetcher.open(policy(dns, pki, **overrides)) as fetcher:
        return await fetcher.get_json(url)


# --- the happy path -------------------------------------------------------------


async def test_fetch_returns_json_headers_and_time(dns, pki, server):
    before = datetime.now(UTC)
    got = await fetch(dns, pki, server.url("did.test", "/doc"))
    assert got.data == DOC
    assert got.status == 200
    assert got.url == server.url("did.test", "/doc")
    assert got.headers["cache-control"] == "max-age=120"
    assert got.headers["etag"] == '"v1"'
    assert "date" in got.headers
    assert before <= got.retrieved <= datetime.now(UTC)
    assert server.requests == ["/doc"]


@pytest.mark.parametrize("name", ["ld-json", "octet-stream", "text-plain", "vc"])
async def test_fetch_accepts_json_and_untyped_media_types(dns, pki, server, name):
    got = await fetch(dns, pki, server.url("did.test", f"/body/{name}"))
    assert got.data == DOC


async def test_fetch_sends_accept_header_and_asks_for_no_compression(dns, pki):
    seen: dict[str, str] = {}

    async def echo(request: web.Request) -> web.StreamResponse:
        seen.update(request.headers)
        return web.json_response({})

    app = web.Application()
    app.router.add_get("/", echo)
    async with (
        serve_app(app, ssl_context=pki.server_context("did.test")) as srv,
        Fetcher.open(policy(dns, pki)) as fetcher,
    ):
        await fetcher.get_json(srv.url("did.test"), accept="application/did+json")
    assert seen["Accept"] == "application/did+json"
    assert seen["Accept-Encoding"] == "identity"
    assert "Cookie" not in seen


# --- addresses ------------------------------------------------------------------

REFUSED_ADDRESSES = {
    "loopback-v4": ("127.0.0.1", "loopback"),
    "loopback-v4-other": ("127.8.9.10", "loopback"),
    "rfc1918-10": ("10.1.2.3", "rfc 1918"),
    "rfc1918-172": ("172.16.5.4", "rfc 1918"),
    "rfc1918-192": ("192.168.1.1", "rfc 1918"),
    "link-local-v4": ("169.254.10.20", "link-local"),
    "cgnat": ("100.64.0.1", "cgnat"),
    "unspecified-v4": ("0.0.0.0", "unspecified"),  # noqa: S104 - a DNS answer
    "this-network": ("0.1.2.3", "unspecified"),
    "multicast-v4": ("224.0.0.251", "multicast"),
    "reserved-v4": ("240.0.0.1", "reserved"),
    "broadcast": ("255.255.255.255", "reserved"),
    "documentation-v4": ("192.0.2.10", "documentation"),
    "benchmarking": ("198.18.0.1", "benchmarking"),
    "aws-metadata": ("169.254.169.254", "cloud metadata"),
    "ecs-metadata": ("169.254.170.2", "cloud metadata"),
    "alibaba-metadata": ("100.100.100.200", "cloud metadata"),
    "aws-metadata-v6": ("fd00:ec2::254", "cloud metadata"),
    "loopback-v6": ("::1", "loopback"),
    "unspecified-v6": ("::", "unspecified"),
    "ula": ("fd12:3456::1", "unique local"),
    "ula-fc": ("fc00::1", "unique local"),
    "link-local-v6": ("fe80::1", "link-local"),
    "site-local-v6": ("fec0::1", "site-local"),
    "multicast-v6": ("ff02::1", "multicast"),
    "documentation-v6": ("2001:db8::1", "documentation"),
    "teredo": ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "teredo"),
    "mapped-loopback": ("::ffff:127.0.0.1", "ipv4-mapped of 127.0.0.1, loopback"),
    "mapped-rfc1918": ("::ffff:10.0.0.1", "ipv4-mapped of 10.0.0.1"),
    "mapped-metadata": ("::ffff:169.254.169.254", "cloud metadata"),
    "compatible": ("::8.8.8.8", "deprecated ipv4-compatible"),
    "compatible-loopback": ("::127.0.0.1", "deprecated ipv4-compatible"),
    "nat64-rfc1918": ("64:ff9b::a00:1", "nat64 of 10.0.0.1"),
    "siit-rfc1918": ("::ffff:0:a00:1", "ipv4-translated of 10.0.0.1"),
    "nat64-local-use": ("64:ff9b:1::1", "local-use nat64"),
    "6to4-loopback": ("2002:7f00:1::1", "6to4 of 127.0.0.1"),
    "6to4-metadata": ("2002:a9fe:a9fe::1", "6to4 of 169.254.169.254"),
}


@pytest.mark.parametrize(
    ("address", "label"), REFUSED_ADDRESSES.values(), ids=REFUSED_ADDRESSES.keys()
)
async def test_fetch_refuses_name_resolving_to_non_public_address(dns, address, label):
    dns.records["victim.test"] = [address]
    async with Fetcher.open(FetchPolicy(nameservers=(dns.address,))) as fetcher:
        with pytest.raises(FetchRefusedError, match=label) as info:
            await fetcher.get_json("https://victim.test/did.json")
    assert info.value.reason == "private-address"
    assert info.value.error_type == "INTERNAL_ERROR"


@pytest.mark.parametrize(
    "address",
    ["8.8.8.8", "1.1.1.1", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"],
)
def test_address_refusal_lets_public_addresses_through(address):
    assert address_refusal(ipaddress.ip_address(address)) is None


async def test_fetch_refuses_loopback_without_the_unsafe_setting(dns, pki, server):
    with pytest.raises(FetchRefusedError, match=r"127\.0\.0\.1 \(loopback\)") as info:
        await fetch(
            dns,
            pki,
            server.url("did.test", "/doc"),
            unsafe_allow_private_networks=frozenset(),
        )
    assert info.value.reason == "private-address"
    assert server.requests == []


async def test_fetch_refuses_name_mixing_public_and_private_answers(dns):
    # The public address must never be connected to: the whole name is refused.
    dns.records["mixed.test"] = ["8.8.8.8", "10.0.0.1"]
    async with Fetcher.open(FetchPolicy(nameservers=(dns.address,))) as fetcher:
        with pytest.raises(FetchRefusedError, match=r"10\.0\.0\.1"):
            await fetcher.get_json("https://mixed.test/")


async def test_resolver_rebinding_public_then_private_is_refused_at_second_lookup(dns):
    # Resolver level only: 8.8.8.8 is vetted and returned, never connected to.
    resolver = VettingResolver(FetchPolicy(nameservers=(dns.address,)))
    dns.records["rebind.test"] = ["8.8.8.8"]
    first = await resolver.resolve("rebind.test", 443)
    assert [r["host"] for r in first] == ["8.8.8.8"]
    dns.records["rebind.test"] = ["10.0.0.1"]
    with pytest.raises(FetchRefusedError, match=r"10\.0\.0\.1") as info:
        await resolver.resolve("rebind.test", 443)
    assert info.value.reason == "private-address"


async def test_fetch_connects_to_the_vetted_address_even_if_dns_changes_after(dns, pki):
    """The DNS answer flips right after the A lookup: a fetcher that looked the
    name up again to connect would reach the attacker's server on 127.0.0.2."""

    def serve(text: str) -> web.Application:
        async def handler(request: web.Request) -> web.StreamResponse:
            resp = web.json_response({"server": text})
            resp.force_close()  # the next request needs a new connection
            return resp

        app = web.Application()
        app.router.add_get("/", handler)
        return app

    def rebind(name: str, rdtype: str) -> None:
        if name == "pinned.test" and rdtype == "A":
            dns.records["pinned.test"] = ["127.0.0.2"]

    ctx = pki.server_context("pinned.test")
    only_first = frozenset({ipaddress.ip_network("127.0.0.1/32")})
    async with (
        serve_app(serve("vetted"), host="127.0.0.1", ssl_context=ctx) as good,
        serve_app(
            serve("attacker"), host="127.0.0.2", port=good.port, ssl_context=ctx
        ) as evil,
        Fetcher.open(
            policy(dns, pki, unsafe_allow_private_networks=only_first)
        ) as fetcher,
    ):
        # Same port on both addresses: only the address tells them apart.
        dns.records["pinned.test"] = ["127.0.0.1"]
        dns.after_query = rebind
        got = await fetcher.get_json(f"https://pinned.test:{good.port}/")
        assert got.data == {"server": "vetted"}
        assert dns.count("pinned.test", "A") == 1
        # The next connection looks the name up again and vets the new answer.
        with pytest.raises(FetchRefusedError, match=r"127\.0\.0\.2"):
            await fetcher.get_json(f"https://pinned.test:{good.port}/")
        assert dns.count("pinned.test", "A") == 2
    assert good.requests == ["/"]
    assert evil.requests == []


async def test_resolver_keeps_metadata_refused_inside_an_allowed_network(dns):
    allow = frozenset({ipaddress.ip_network("169.254.0.0/16")})
    resolver = VettingResolver(
        FetchPolicy(nameservers=(dns.address,), unsafe_allow_private_networks=allow)
    )
    dns.records["link.test"] = ["169.254.1.1"]
    assert [r["host"] for r in await resolver.resolve("link.test")] == ["169.254.1.1"]
    dns.records["meta.test"] = ["169.254.169.254"]
    with pytest.raises(FetchRefusedError, match="cloud metadata"):
        await resolver.resolve("meta.test")


async def test_resolver_allowlist_covers_the_ipv4_inside_a_mapped_address(dns):
    resolver = VettingResolver(
        FetchPolicy(nameservers=(dns.address,), unsafe_allow_private_networks=LOOPBACK)
    )
    dns.records["mapped.test"] = ["::ffff:127.0.0.1"]
    got = await resolver.resolve("mapped.test", 443, family=socket.AF_UNSPEC)
    assert [ipaddress.ip_address(r["host"]) for r in got] == [
        ipaddress.ip_address("::ffff:127.0.0.1")
    ]


async def test_fetch_reports_unknown_host(dns, pki):
    with pytest.raises(HostNotFoundError, match="nxdomain"):
        await fetch(dns, pki, "https://nowhere.test/did.json")


async def test_fetch_reports_name_without_addresses(dns, pki):
    dns.records["empty.test"] = []
    with pytest.raises(HostNotFoundError, match="no a or aaaa"):
        await fetch(dns, pki, "https://empty.test/did.json")


async def test_fetch_times_out_when_dns_never_answers(dns, pki):
    dns.silent = True
    started = time.monotonic()
    with pytest.raises(FetchError, match=r"timed out after 0\.5 s"):
        await fetch(dns, pki, "https://did.test/x", connect_timeout=0.5)
    assert time.monotonic() - started < 1.5


# --- URLs -------------------------------------------------------------------------

REFUSED_URLS = {
    "plain-http": ("http://did.test:{port}/doc", "scheme"),
    "ftp": ("ftp://did.test:{port}/doc", "scheme"),
    "file": ("file:///etc/passwd", "url"),
    "relative": ("/doc", "url"),
    "credentials": ("https://user:pw@did.test:{port}/doc", "url"),
    "ipv4-literal": ("https://127.0.0.1:{port}/doc", "ip-literal"),
    "ipv6-literal": ("https://[::1]:{port}/doc", "ip-literal"),
    "decimal-ipv4": ("https://2130706433:{port}/doc", "ip-literal"),
    "short-ipv4": ("https://127.1:{port}/doc", "ip-literal"),
    "hex-ipv4": ("https://0x7f.1:{port}/doc", "ip-literal"),
    # aiohttp reads any host with ':' as an IP literal and hands it to the
    # system resolver (/etc/hosts), past the vetting resolver.
    "ipvfuture-literal-skips-vetting": ("https://[v1.a:b]:{port}/doc", "url"),
    "ipvfuture-localhost": ("https://[v1.localhost:x]:{port}/doc", "url"),
    "zone-id": ("https://[fe80::1%25eth0]:{port}/doc", "ip-literal"),
    "space-in-host": ("https://did .test:{port}/doc", "url"),
}


@pytest.mark.parametrize(
    ("url", "reason"), REFUSED_URLS.values(), ids=REFUSED_URLS.keys()
)
async def test_fetch_refuses_url_before_any_lookup(
    dns, pki, server, url, reason, caplog
):
    caplog.set_level(logging.INFO, logger="resolver.fetch")
    with pytest.raises(FetchRefusedError) as info:
        await fetch(dns, pki, url.format(port=server.port))
    assert info.value.reason == reason
    assert dns.queries == []
    assert server.requests == []
    assert f"fetch refused ({reason})" in caplog.text


async def test_fetch_allows_plain_http_only_for_listed_hosts(dns, pki):
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.json_response({"plain": True})

    app = web.Application()
    app.router.add_get("/", handler)
    dns.records["plain.test"] = ["127.0.0.1"]
    async with serve_app(app) as srv:
        got = await fetch(
            dns,
            pki,
            srv.url("plain.test"),
            unsafe_allow_http_hosts=frozenset({"Plain.Test"}),
        )
        assert got.data == {"plain": True}
        with pytest.raises(FetchRefusedError, match="only https"):
            await fetch(dns, pki, srv.url("plain.test"))
    assert srv.requests == ["/"]


# --- redirects --------------------------------------------------------------------


async def test_fetch_refuses_redirect_by_default(dns, pki, server):
    with pytest.raises(FetchRefusedError, match="not followed") as info:
        await fetch(dns, pki, server.url("did.test", "/redirect/same-origin"))
    assert info.value.reason == "redirect"
    assert server.requests == ["/redirect/same-origin"]


@pytest.mark.parametrize("kind", ["same-origin", "relative"])
async def test_fetch_follows_same_origin_redirect_when_allowed(dns, pki, server, kind):
    got = await fetch(
        dns, pki, server.url("did.test", f"/redirect/{kind}"), max_redirects=2
    )
    assert got.data == DOC
    assert got.url == server.url("did.test", "/doc")


@pytest.mark.parametrize("kind", ["other-host", "other-port", "to-http", "ip-literal"])
async def test_fetch_refuses_cross_origin_redirect(dns, pki, server, kind):
    dns.records["metadata.test"] = ["169.254.169.254"]
    with pytest.raises(FetchRefusedError, match="cross-origin") as info:
        await fetch(
            dns, pki, server.url("did.test", f"/redirect/{kind}"), max_redirects=3
        )
    assert info.value.reason == "redirect"
    assert dns.count("metadata.test") == 0
    assert server.requests == [f"/redirect/{kind}"]


async def test_fetch_stops_redirect_loop_at_hop_limit(dns, pki, server):
    with pytest.raises(FetchRefusedError, match="more than 3 redirects") as info:
        await fetch(dns, pki, server.url("did.test", "/redirect/loop"), max_redirects=3)
    assert info.value.reason == "redirect-limit"
    assert len(server.requests) == 4


async def test_fetch_vets_each_redirect_hop_again(dns, pki, server):
    with pytest.raises(FetchRefusedError, match=r"10\.0\.0\.1") as info:
        await fetch(
            dns, pki, server.url("did.test", "/rebind-then-redirect"), max_redirects=2
        )
    assert info.value.reason == "private-address"
    assert server.requests == ["/rebind-then-redirect"]


# --- slow, endless and malformed bodies -------------------------------------------


@pytest.mark.parametrize(
    "path", ["/trickle", "/silent"], ids=["slowloris", "no-answer"]
)
async def test_fetch_gives_up_at_total_timeout(dns, pki, server, path):
    started = time.monotonic()
    with pytest.raises(FetchError, match=r"timed out after 0\.6 s"):
        await fetch(dns, pki, server.url("did.test", path), total_timeout=0.6)
    assert time.monotonic() - started < 1.5


async def test_fetch_caps_endless_body(dns, pki, server):
    with pytest.raises(FetchError, match="over the 1024 bytes cap"):
        await fetch(dns, pki, server.url("did.test", "/endless"), max_bytes=1024)


async def test_fetch_refuses_announced_oversized_body_before_reading(dns, pki, server):
    with pytest.raises(FetchError, match="body of 4096 bytes over the 1024 cap"):
        await fetch(dns, pki, server.url("did.test", "/big"), max_bytes=1024)


BAD_BODIES = {
    "invalid": "body is not json",
    "deep": "deeper than 64 levels",
    "duplicate-key": "duplicate key 'id'",
    "nan": "NaN is not json",
    "latin1": "not utf-8",
    "html": "text/html",
    "gzip": "content-encoding 'gzip'",
}


@pytest.mark.parametrize(("name", "message"), BAD_BODIES.items(), ids=BAD_BODIES.keys())
async def test_fetch_rejects_body_that_is_not_strict_json(
    dns, pki, server, name, message
):
    with pytest.raises(FetchBodyError, match=message):
        await fetch(dns, pki, server.url("did.test", f"/body/{name}"))


@pytest.mark.parametrize("code", [404, 410, 500, 503, 204])
async def test_fetch_reports_status_other_than_200(dns, pki, server, code):
    with pytest.raises(FetchStatusError, match=f"http {code}") as info:
        await fetch(dns, pki, server.url("did.test", f"/status/{code}"))
    assert info.value.status == code
    assert info.value.url == server.url("did.test", f"/status/{code}")
    assert info.value.error_type == "INTERNAL_ERROR"


# --- TLS ----------------------------------------------------------------------------


async def test_fetch_rejects_certificate_from_unknown_ca(dns, pki, server, tmp_path):
    (tmp_path / "other").mkdir()
    other = TestPKI(tmp_path / "other")
    with pytest.raises(FetchError, match="tls failed"):
        await fetch(dns, pki, server.url("did.test", "/doc"), ca_file=other.ca_file)
    assert server.requests == []


async def test_fetch_checks_certificate_against_host_name_not_address(dns, pki):
    app = web.Application()
    dns.records["wrong-name.test"] = ["127.0.0.1"]
    async with serve_app(app, ssl_context=pki.server_context("did.test")) as srv:
        with pytest.raises(FetchError, match=r"(?i)tls failed.*hostname mismatch"):
            await fetch(dns, pki, srv.url("wrong-name.test"))


async def test_fetch_reports_refused_connection(dns, pki):
    async with serve_app(web.Application()) as srv:
        port = srv.port  # free again once the server is gone
    with pytest.raises(FetchError, match="cannot connect"):
        await fetch(dns, pki, f"https://did.test:{port}/")


async def test_fetch_rejects_plain_http_server_behind_https(dns, pki):
    app = web.Application()
    async with serve_app(app) as srv:
        with pytest.raises(FetchError):
            await fetch(dns, pki, f"https://did.test:{srv.port}/")


# --- policy and construction --------------------------------------------------------


@pytest.mark.parametrize(
    "overrides",
    [
        {"connect_timeout": 0},
        {"total_timeout": -1},
        {"max_bytes": 0},
        {"max_json_depth": 0},
        {"max_json_depth": 10_000},
        {"max_redirects": -1},
        {"max_redirects": 11},
        {"nameservers": (("ns.example", 53),)},
        {"nameservers": (("127.0.0.1", 0),)},
    ],
    ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()),
)
def test_policy_rejects_out_of_range_values(overrides):
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        FetchPolicy(**overrides)


async def test_fetcher_warns_about_each_unsafe_setting(caplog):
    unsafe = FetchPolicy(
        unsafe_allow_http_hosts=frozenset({"a.test"}),
        unsafe_allow_private_networks=LOOPBACK,
    )
    with caplog.at_level(logging.WARNING, logger="resolver.fetch"):
        async with Fetcher.open(unsafe):
            pass
        async with Fetcher.open(FetchPolicy()):
            pass
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert messages == [
        "unsafe: plain http allowed for a.test",
        "unsafe: non-public addresses allowed in 127.0.0.0/8",
    ]


async def test_fetcher_refuses_a_session_without_the_vetting_connector():
    async with aiohttp.ClientSession() as session:
        with pytest.raises(ValueError, match="new_session"):
            Fetcher(session, policy=FetchPolicy())


async def test_fetcher_refuses_a_session_built_for_another_policy():
    async with Fetcher.new_session(FetchPolicy()) as session:
        with pytest.raises(ValueError, match="new_session"):
            Fetcher(session, policy=FetchPolicy(max_bytes=10))


# --- pure helpers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "max_depth", "expected"),
    [
        ('{"a": [1, {"b": null}]}', 3, {"a": [1, {"b": None}]}),
        ('{"a": "[[[[[[{{{{"}', 1, {"a": "[[[[[[{{{{"}),
        ('{"a": "\\"[[[["}', 1, {"a": '"[[[['}),
        ("[]", 1, []),
        ("42", 1, 42),
    ],
    ids=[
        "nested",
        "brackets-in-string",
        "escaped-quote-in-string",
        "empty-array",
        "scalar",
    ],
)
def test_parse_json_counts_only_real_nesting(text, max_depth, expected):
    assert parse_json(text.encode(), max_depth=max_depth) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"[[[]]]", "deeper than 2"),
        (b"[" * 100_000, "deeper than 2"),
        (b'{"a": Infinity}', "Infinity is not json"),
        (b'{"a": 1, "a": 1}', "duplicate key"),
        (b"1" * 5000, "not json"),
        (b"\xef\xbb\xbf{}", "not json"),
        (b"", "not json"),
    ],
    ids=[
        "too-deep",
        "stack-exhaustion",
        "infinity",
        "duplicate",
        "huge-int",
        "bom",
        "empty",
    ],
)
def test_parse_json_rejects(raw, message):
    with pytest.raises(FetchBodyError, match=message):
        parse_json(raw, max_depth=2)


def test_parse_json_stays_linear_on_unterminated_strings():
    # Each quote used to start a scan to the end: minutes for 256 KiB.
    raw = b'"' + b'\\"' * (128 * 1024)
    started = time.monotonic()
    with pytest.raises(FetchBodyError, match="not json"):
        parse_json(raw, max_depth=64)
    assert time.monotonic() - started < 2


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("public", None),
        ("max-age=300", 300),
        ("public, max-age=300", 300),
        ("max-age=300, s-maxage=30", 30),
        ('max-age="60"', 60),
        ("MAX-AGE=60", 60),
        ("max-age=0", 0),
        ("no-store", 0),
        ("max-age=600, no-cache", 0),
        ("private, max-age=600", 0),
        ("max-age=abc", 0),
        ("max-age=-5", 0),
        ("max-age", 0),
        ("max-age=60, max-age=600", 0),
        ("max-age=" + "9" * 5000, 2**31),
    ],
)
def test_parse_cache_control(header, expected):
    assert parse_cache_control(header) == expected


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("[::1]", True),
        ("2130706433", True),
        ("127.1", True),
        ("0x7f000001", True),
        ("example.com", False),
        ("1password.com", False),
        ("xn--bcher-kva.example", False),
    ],
)
def test_is_ip_literal(host, expected):
    assert is_ip_literal(host) is expected


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("example.com", True),
        ("example.com.", True),
        ("xn--bcher-kva.example", True),
        ("_dmarc.example", True),
        ("v1.a:b", False),
        ("fe80::1%eth0", False),
        ("a..b", False),
        ("", False),
        ("-" * 64 + ".example", False),
        ("bücher.example", False),
    ],
)
def test_is_dns_name(host, expected):
    assert is_dns_name(host) is expected


async def test_vetting_resolver_refuses_a_host_that_is_no_dns_name(dns, pki):
    resolver = VettingResolver(policy(dns, pki))
    try:
        with pytest.raises(FetchRefusedError) as info:
            await resolver.resolve("v1.localhost:x", 443)
    finally:
        await resolver.close()
    assert info.value.reason == "url"
    assert dns.queries == []
