"""Shared fixtures: test settings, app clients, a did:web issuer and a registry."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from didtrust.app import create_app
from didtrust.settings import Settings
from resolver.driver import DriverRegistry
from tests.helpers.dns_server import DNSServer
from tests.helpers.fakes import EXAMPLE_DID, SERVICES, StaticDriver, example_document
from tests.helpers.https_server import ClientFactory, TestPKI
from tests.helpers.verify_app import Site, Trusted, serve_issuer, trusted_app


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # Every test request comes from one loopback client, and the fuzz tests
    # resolve thousands of distinct DIDs: the budget of uncached resolutions
    # is off here and tested on its own (tests/didtrust/test_ratelimit.py).
    return Settings(data_dir=str(tmp_path / "data"), rate_limit_resolve=0.0)


@pytest.fixture
def static_driver() -> StaticDriver:
    return StaticDriver(
        {
            EXAMPLE_DID: example_document(EXAMPLE_DID, services=SERVICES),
            "did:example:gone": example_document("did:example:gone"),
        },
        deactivated=frozenset({"did:example:gone"}),
    )


@pytest.fixture
async def static_client(
    aiohttp_client: ClientFactory, settings: Settings, static_driver
):
    """A client for an app whose only driver is the StaticDriver (did:example)."""
    registry = DriverRegistry()
    registry.register(static_driver)
    return await aiohttp_client(create_app(settings, registry=registry))


@pytest.fixture
async def client(aiohttp_client: ClientFactory, settings: Settings):
    """A client for the app with its built-in drivers, as served."""
    return await aiohttp_client(create_app(settings))


@pytest.fixture
def pki(tmp_path: Path) -> TestPKI:
    """A fresh test CA (trustme), its certificate written into ``tmp_path``."""
    return TestPKI(tmp_path)


@pytest.fixture
async def issuer_servers(tmp_path: Path) -> AsyncIterator[tuple[DNSServer, Site]]:
    async with serve_issuer(tmp_path) as servers:
        yield servers


@pytest.fixture
def issuer_dns(issuer_servers: tuple[DNSServer, Site]) -> DNSServer:
    """The loopback DNS server that names the did:web issuer's host."""
    return issuer_servers[0]


@pytest.fixture
def issuer_site(issuer_servers: tuple[DNSServer, Site]) -> Site:
    """The did:web issuer's HTTPS site (DID document, status lists)."""
    return issuer_servers[1]


@pytest.fixture
async def trusted(
    aiohttp_client: ClientFactory,
    tmp_path: Path,
    issuer_dns: DNSServer,
    issuer_site: Site,
) -> Trusted:
    """An app over a new registry whose root accredited the accreditor."""
    return await trusted_app(aiohttp_client, tmp_path, issuer_dns, issuer_site)
