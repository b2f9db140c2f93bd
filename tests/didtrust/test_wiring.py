"""didtrust.wiring: the server and the commands build the same services.

``didtrust verify`` used to build its own resolver and registry service with
fewer settings than the server (no cache settings; no batch, skew or age
bounds). Now every entry point goes through ``didtrust.wiring``; these tests
run the services those commands get against a real did:web site (loopback
DNS, HTTPS with a trustme CA).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest
from aiohttp import web

from didtrust.settings import Settings
from didtrust.wiring import open_resolver, open_services
from resolver.did import parse_did
from resolver.errors import ResolutionError
from resolver.service import Resolver
from tests.helpers.dns_server import serve_dns
from tests.helpers.https_server import LocalServer, TestPKI, serve_app

HOST = "issuer.test"


def document(did: str) -> dict[str, object]:
    # The least a did:web document can be: the resolver checks only its id.
    return {"@context": ["https://www.w3.org/ns/did/v1"], "id": did}


class Site:
    """A did:web site whose answer the test switches to a failure."""

    def __init__(self, server: LocalServer, pki: TestPKI) -> None:
        self.server = server
        self.pki = pki
        self.did = f"did:web:{HOST}%3A{server.port}"
        self.up = True


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[tuple[Site, Settings]]:
    pki = TestPKI(tmp_path)
    holder: list[Site] = []

    async def did_json(request: web.Request) -> web.Response:
        here = holder[0]
        if not here.up:
            return web.json_response({"error": "down"}, status=503)
        return web.Response(
            body=json.dumps(document(here.did)).encode(),
            content_type="application/did+json",
        )

    app = web.Application()
    app.router.add_get("/.well-known/did.json", did_json)
    async with (
        serve_dns({HOST: ["127.0.0.1"]}) as dns,
        serve_app(app, ssl_context=pki.server_context(HOST)) as srv,
    ):
        holder.append(Site(srv, pki))
        settings = Settings(
            data_dir=str(tmp_path / "data"),
            fetch_ca_file=pki.ca_file,
            fetch_nameservers=(f"{dns.address[0]}:{dns.address[1]}",),
            unsafe_fetch_allow_private_networks=("127.0.0.0/8",),
            fetch_total_timeout=2.0,
            fetch_connect_timeout=1.0,
            # No Cache-Control on the site: documents live 0.2 s, then go stale.
            web_min_ttl=0.0,
            web_default_ttl=0.2,
            cache_stale_if_error=3600.0,
        )
        yield holder[0], settings


@asynccontextmanager
async def verify_command_resolver(settings: Settings) -> AsyncIterator[Resolver]:
    """The resolver ``didtrust verify`` runs the verifier over."""
    async with open_services(settings) as services:
        yield services.resolver


ResolverFor = Callable[[Settings], AbstractAsyncContextManager[Resolver]]


@pytest.mark.parametrize(
    "resolver_for",
    [verify_command_resolver, open_resolver],
    ids=["didtrust-verify", "didtrust-resolve-and-registry-verify"],
)
async def test_verify_cli_honours_cache_stale_if_error(
    site: tuple[Site, Settings], resolver_for: ResolverFor
) -> None:
    here, settings = site
    did = parse_did(here.did)
    async with resolver_for(settings) as resolver:
        first = await resolver.resolve(did)
        assert first.stale_seconds is None
        await asyncio.sleep(0.3)  # past the 0.2 s lifetime: the entry expired
        here.up = False
        stale = await resolver.resolve(did)
    assert stale.document == first.document
    assert stale.stale_seconds is not None
    assert stale.stale_seconds > 0
    assert here.server.requests == ["/.well-known/did.json"] * 2


async def test_without_stale_if_error_a_failed_upstream_is_an_error(
    site: tuple[Site, Settings],
) -> None:
    here, settings = site
    strict = dataclasses.replace(settings, cache_stale_if_error=0.0)
    async with open_resolver(strict) as resolver:
        await resolver.resolve(parse_did(here.did))
        await asyncio.sleep(0.3)
        here.up = False
        with pytest.raises(ResolutionError):
            await resolver.resolve(parse_did(here.did))


async def test_services_run_the_registry_only_once_initialised(
    tmp_path: Path,
) -> None:
    settings = Settings(data_dir=str(tmp_path / "data"))
    async with open_services(settings) as services:
        assert services.registry is None
        assert services.verifier.status_checker is not None
