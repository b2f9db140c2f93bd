"""registry.client: fetching answers and proofs through one session.

Against local aiohttp servers; answers are real
(``tests.helpers.registry_answers``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from registry.client import RegistryClient
from registry.errors import RegistryFetchError
from registry.service import b64
from tests.helpers.registry_answers import (
    UNI,
    World,
)

# -- fetching ---------------------------------------------------------------------


@pytest.fixture
async def client() -> AsyncIterator[RegistryClient]:
    async with RegistryClient() as registry_client:
        yield registry_client


async def test_fetch_answer_asks_for_a_signed_answer(
    client: RegistryClient, world: World, aiohttp_server: Any
) -> None:
    accepts: list[str] = []

    async def entity(request: web.Request) -> web.Response:
        accepts.append(request.headers.get("Accept", ""))
        if "application/jwt" in request.headers.get("Accept", ""):
            return web.Response(text=world.entity5_jws, content_type="application/jwt")
        return web.json_response(world.entity5)

    app = web.Application()
    app.router.add_get("/registry/v1/entities/{did}", entity)
    server = await aiohttp_server(app)
    url = str(server.make_url(f"/registry/v1/entities/{UNI.did}"))
    assert await client.answer(url, accept_jwt=True) == world.entity5_jws
    assert await client.answer(url, accept_jwt=False) == world.entity5
    assert accepts == ["application/jwt", "application/json"]


async def test_fetch_answer_refuses_oversized_body(
    client: RegistryClient, aiohttp_server: Any
) -> None:
    async def big(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        for _ in range(8):
            await response.write(b"x" * 1024)
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_get("/answer", big)
    server = await aiohttp_server(app)
    with pytest.raises(RegistryFetchError, match="over the limit of 4096"):
        await client.answer(
            str(server.make_url("/answer")), accept_jwt=True, max_bytes=4096
        )


async def test_fetch_answer_reports_problem_status(
    client: RegistryClient, aiohttp_server: Any
) -> None:
    async def missing(request: web.Request) -> web.Response:
        return web.json_response(
            {"title": "unknown entity", "detail": "not in the registry"}, status=404
        )

    app = web.Application()
    app.router.add_get("/answer", missing)
    server = await aiohttp_server(app)
    with pytest.raises(
        RegistryFetchError, match="status 404: unknown entity: not in the"
    ):
        await client.answer(str(server.make_url("/answer")), accept_jwt=False)


@pytest.mark.parametrize(
    "url",
    ["file:///etc/passwd", "ftp://registry.example/a", "registry.example"],
    ids=["file", "ftp", "no-scheme"],
)
async def test_fetch_answer_refuses_non_http_urls(
    client: RegistryClient, url: str
) -> None:
    with pytest.raises(RegistryFetchError, match="not an http"):
        await client.answer(url, accept_jwt=True)


async def test_fetch_answer_reports_unreachable_server(client: RegistryClient) -> None:
    with pytest.raises(RegistryFetchError, match="cannot fetch"):
        await client.answer("http://127.0.0.1:9/answer", accept_jwt=True)


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ({"first": 4, "second": 6, "proof": []}, "for sizes 4 to 6"),
        ({"first": 5, "second": 6, "proof": ["not-a-hash"]}, "proof hash 0"),
        ({"first": 5, "second": 6}, "not a list"),
    ],
    ids=["other-sizes", "bad-hash", "no-proof"],
)
async def test_fetch_consistency_rejects_malformed_proofs(
    client: RegistryClient, aiohttp_server: Any, body: dict[str, Any], match: str
) -> None:
    async def consistency(request: web.Request) -> web.Response:
        return web.json_response(body)

    app = web.Application()
    app.router.add_get("/registry/v1/log/proof/consistency", consistency)
    server = await aiohttp_server(app)
    with pytest.raises(RegistryFetchError, match=match):
        await client.consistency(str(server.make_url("/")), 5, 6)


# -- the session ------------------------------------------------------------------


async def consistency_app(world: World) -> web.Application:
    async def consistency(request: web.Request) -> web.Response:
        return web.json_response(
            {"first": 5, "second": 6, "proof": [b64(h) for h in world.proof_5_6]}
        )

    async def entity(request: web.Request) -> web.Response:
        return web.json_response(world.entity5)

    app = web.Application()
    app.router.add_get("/registry/v1/log/proof/consistency", consistency)
    app.router.add_get("/registry/v1/entities/{did}", entity)
    return app


async def test_client_sends_every_request_through_the_session_it_borrows(
    world: World, aiohttp_server: Any
) -> None:
    server = await aiohttp_server(await consistency_app(world))
    sent: list[str] = []

    async def on_request_start(
        session: aiohttp.ClientSession,
        context: object,
        params: aiohttp.TraceRequestStartParams,
    ) -> None:
        sent.append(params.url.path)

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_request_start)
    async with aiohttp.ClientSession(trace_configs=[trace]) as session:
        async with RegistryClient(session=session) as client:
            url = str(server.make_url(f"/registry/v1/entities/{UNI.did}"))
            assert await client.answer(url, accept_jwt=False) == world.entity5
            base = str(server.make_url("/"))
            proofs = client.proofs_from(base)
            assert await proofs.consistency(5, 6) == world.proof_5_6
            assert proofs.source == base
        # A borrowed session is its owner's to close.
        assert not session.closed
    assert sent == [
        f"/registry/v1/entities/{UNI.did}",
        "/registry/v1/log/proof/consistency",
    ]


async def test_client_closes_the_session_it_opened() -> None:
    async with RegistryClient() as client:
        session = client.session
        open_inside = not session.closed
    assert open_inside
    assert session.closed
    with pytest.raises(RuntimeError, match="outside 'async with'"):
        _ = client.session
