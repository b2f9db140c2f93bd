"""A did:web issuer site and an app over an initialised registry, for verify tests.

``Site`` is the issuer's HTTPS server (trustme) behind a loopback DNS server,
serving its DID document and status lists; ``Trusted`` is the app built with
``create_app`` as ``didtrust serve`` builds it, over a registry whose root
accredited the accreditor. The ``trusted`` fixture (tests/conftest.py) puts
them together.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from didtrust.app import create_app
from didtrust.settings import Settings
from registry.answers import verify_answer
from registry.identity import RegistryIdentity
from tests.helpers.clock import Clock
from tests.helpers.dns_server import DNSServer, serve_dns
from tests.helpers.https_server import ClientFactory, LocalServer, TestPKI, serve_app
from tests.helpers.loopback import loopback_settings
from tests.helpers.registry import (
    ACCREDITOR,
    ROOT,
    init_registry,
    make_statement,
)
from tests.helpers.verifier import (
    BADGE_TYPE,
    WEB_HOST,
)


def result(report: dict[str, Any], name: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [c for c in report["results"] if c["name"] == name]
    assert len(found) == 1, (name, found)
    return found[0]


VERIFY_AT = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
"""The verifier's "now" unless a test says otherwise."""


DOCS = web.AppKey("docs", dict)


async def serve_doc(request: web.Request) -> web.StreamResponse:
    found = request.app[DOCS].get(request.path)
    if found is None:
        raise web.HTTPNotFound()
    content_type, body = found
    return web.Response(body=json.dumps(body).encode(), content_type=content_type)


@dataclass
class Site:
    """The HTTPS server of the did:web issuer and its status lists."""

    server: LocalServer
    docs: dict[str, tuple[str, Any]]
    pki: TestPKI

    def url(self, path: str) -> str:
        return self.server.url(WEB_HOST, path)

    def publish(self, path: str, body: Any, content_type: str) -> None:
        self.docs[path] = (content_type, body)


def document_app() -> web.Application:
    app = web.Application()
    app[DOCS] = {}
    app.router.add_get("/{tail:.*}", serve_doc)
    return app


@asynccontextmanager
async def serve_issuer(tmp_path: Path) -> AsyncIterator[tuple[DNSServer, Site]]:
    """The loopback DNS server naming ``WEB_HOST``, and the issuer's HTTPS site."""
    pki = TestPKI(tmp_path)
    app = document_app()
    async with (
        serve_dns({WEB_HOST: ["127.0.0.1"]}) as dns,
        serve_app(app, ssl_context=pki.server_context(WEB_HOST)) as srv,
    ):
        yield dns, Site(srv, app[DOCS], pki)


def settings_for(tmp_path: Path, dns: DNSServer, site: Site) -> Settings:
    """The app's settings for fetching from ``site`` (loopback, test CA and DNS)."""
    return loopback_settings(dns, site.pki, tmp_path)


@dataclass
class Trusted:
    """An app over an initialised registry whose root accredited the accreditor."""

    client: TestClient[Any, Any]
    identity: RegistryIdentity
    clock: Clock
    site: Site

    async def submit(self, signer: Any, **claims: Any) -> None:
        claims.setdefault("iat", self.clock.iat)
        jws = make_statement(signer, aud=str(self.identity.did), **claims)
        resp = await self.client.post(
            "/registry/v1/statements",
            data=jws.encode(),
            headers={"Content-Type": "application/jose"},
        )
        assert resp.status == 201, await resp.text()

    async def accredit(self, issuer: str) -> None:
        """The accreditor accredits ``issuer`` for Open Badges, from now on."""
        await self.submit(
            ACCREDITOR, sub=issuer, actions=("issue",), resources=(BADGE_TYPE,)
        )

    def check_answer(
        self, report: dict[str, Any], name: str, at: str, *, authorized: bool
    ) -> dict[str, Any]:
        """The check's registryAnswer verifies and is bound to its query."""
        check = result(report, name)
        query = {
            "type": "authorization",
            "entity_id": report["issuer"]["id"],
            "authority_id": ROOT.did,
            "action": "issue",
            "resource": check["resource"],
            "context": {"time": at},
        }
        payload = verify_answer(
            check["registryAnswer"],
            public_key=self.identity.public_key,
            now=self.clock.instant,
            query=query,
        )
        assert payload["iss"] == str(self.identity.did)
        assert payload["at"] == at
        assert payload["answer"]["authorized"] is authorized
        assert payload["answer"]["entity_id"] == report["issuer"]["id"]
        return payload


async def trusted_app(
    aiohttp_client: ClientFactory, tmp_path: Path, dns: DNSServer, site: Site
) -> Trusted:
    """The app over a new registry (clock at 2021-03-01) trusting the accreditor."""
    data = tmp_path / "data"
    identity = await init_registry(data)
    clock = Clock()  # 2021-03-01, when the registry was created
    app = create_app(settings_for(tmp_path, dns, site), clock=clock)
    reg = Trusted(await aiohttp_client(app), identity, clock, site)
    await reg.submit(
        ROOT,
        sub=ACCREDITOR.did,
        actions=("issue", "accredit"),
        resources=(BADGE_TYPE, "Diploma"),
    )
    return reg
