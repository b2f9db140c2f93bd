"""Graceful shutdown of ``didtrust serve``, run as a real process.

The server is a real ``python -m didtrust serve`` over a registry made by
``python -m didtrust registry init``. Slow requests are slow for real: they
resolve did:web DIDs on a local HTTPS server (trustme CA) found through a
loopback DNS server, and that server holds its answers until the test lets
them go. The loopback allowance is the unsafe setting made for tests.

What is proven, in order, for one SIGTERM:

- the listening socket closes at once (new connections are refused) while
  requests are still in flight;
- those requests (a DID resolution, registry statements whose signing key is
  being resolved) then complete with their normal answers (200, 201);
- the process exits 0, without a traceback;
- every statement acknowledged before or during the shutdown is in the log
  when the server is started again on the same data directory (the registry
  writer drained its queue before the store closed);

and that ``DIDTRUST_SHUTDOWN_TIMEOUT`` bounds how long a stuck request can hold
the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from yarl import URL

from tests.helpers.did_web import web_document
from tests.helpers.dns_server import serve_dns
from tests.helpers.https_server import TestPKI, serve_app
from tests.helpers.processes import free_port, registry_init
from tests.helpers.registry import ACCREDITOR, ROOT, make_statement

pytestmark = pytest.mark.slow  # each test runs ``didtrust serve`` as a child process

HOST = "authority.test"
JOSE = {"Content-Type": "application/jose"}
HELD = web.AppKey("held", dict)


class DocServer:
    """Serves DID documents by path; paths in ``slow`` wait for ``release``."""

    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}
        self.slow: set[str] = set()
        self.release = asyncio.Event()
        self.waiting: set[str] = set()
        self.changed = asyncio.Event()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        doc = self.docs.get(request.path)
        if doc is None:
            raise web.HTTPNotFound()
        if request.path in self.slow:
            self.waiting.add(request.path)
            self.changed.set()
            await self.release.wait()
        return web.json_response(doc, content_type="application/did+json")

    async def wait_for(self, count: int, within: float = 20.0) -> None:
        """Until ``count`` slow requests are held."""
        async with asyncio.timeout(within):
            while len(self.waiting) < count:
                self.changed.clear()
                await self.changed.wait()


class Site:
    def __init__(self, port: int, docs: DocServer, pki: TestPKI, dns: Any) -> None:
        self.port = port
        self.docs = docs
        self.pki = pki
        self.dns = dns

    def did(self, *path: str) -> str:
        """A did:web on the site, whose document is held until ``release``."""
        did = ":".join([f"did:web:{HOST}%3A{self.port}", *path])
        url_path = "/" + "/".join(path) + "/did.json"
        self.docs.docs[url_path] = web_document(
            did, ACCREDITOR.did[len("did:key:") :], absolute_refs=True
        )
        self.docs.slow.add(url_path)
        return did


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    pki = TestPKI(tmp_path)
    docs = DocServer()
    app = web.Application()
    app.router.add_get("/{tail:.*}", docs.handle)
    async with (
        serve_dns({HOST: ["127.0.0.1"]}) as dns,
        serve_app(app, ssl_context=pki.server_context(HOST)) as srv,
    ):
        try:
            yield Site(srv.port, docs, pki, dns)
        finally:
            docs.release.set()  # let held handlers end before the server stops


def server_env(site: Site, data: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DIDTRUST_DATA_DIR": str(data),
        "DIDTRUST_LOG_FORMAT": "text",
        "DIDTRUST_FETCH_CA_FILE": site.pki.ca_file,
        "DIDTRUST_FETCH_NAMESERVERS": f"{site.dns.address[0]}:{site.dns.address[1]}",
        "DIDTRUST_UNSAFE_FETCH_ALLOW_PRIVATE_NETWORKS": "127.0.0.0/8",
        "DIDTRUST_FETCH_TOTAL_TIMEOUT": "60",
        "DIDTRUST_RESOLVE_TIMEOUT": "60",
        **extra,
    }


async def didtrust(*args: str, env: dict[str, str]) -> str:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "didtrust",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == 0, err.decode()
    return out.decode()


async def init_registry(env: dict[str, str]) -> str:
    out = await didtrust(
        *registry_init(ROOT.did, sha256=hashlib.sha256(b"rules").hexdigest()),
        env=env,
    )
    registry: str = json.loads(out)["registry"]
    return registry


class Server:
    """A running ``didtrust serve`` whose stderr goes to a file."""

    def __init__(self, proc: asyncio.subprocess.Process, port: int, log: Path) -> None:
        self.proc = proc
        self.port = port
        self.log = log
        self.base = f"http://127.0.0.1:{port}"

    def stderr(self) -> str:
        return self.log.read_text(errors="replace")

    async def wait(self, within: float) -> int:
        return await asyncio.wait_for(self.proc.wait(), timeout=within)


@contextlib.asynccontextmanager
async def serve(env: dict[str, str], log: Path) -> AsyncIterator[Server]:
    port = free_port()
    with log.open("ab") as err:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "didtrust",
            "serve",
            "--port",
            str(port),
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=err,
        )
    server = Server(proc, port, log)
    try:
        await wait_ready(server)
        yield server
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def wait_ready(server: Server, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if server.proc.returncode is not None:
                raise AssertionError(f"server exited: {server.stderr()}")
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(f"{server.base}/ready") as resp:
                    if resp.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise AssertionError("server did not become ready")


async def refuses_connections(port: int, within: float = 10.0) -> bool:
    """True once a new TCP connection to ``port`` is refused.

    A connection that was still in the listen backlog when the socket closed
    is reset rather than refused: not served either, so it counts.
    """
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except (ConnectionRefusedError, ConnectionResetError):
            return True
        writer.close()
        await asyncio.sleep(0.02)
    return False


async def post_statement(
    session: aiohttp.ClientSession, server: Server, jws: str
) -> tuple[int, Any]:
    async with session.post(
        f"{server.base}/registry/v1/statements", data=jws, headers=JOSE
    ) as resp:
        return resp.status, await resp.json(content_type=None)


async def resolve(
    session: aiohttp.ClientSession, server: Server, did: str
) -> tuple[int, Any]:
    url = URL(f"{server.base}/1.0/identifiers/{did}", encoded=True)
    async with session.get(url, headers={"Accept": "application/did+json"}) as resp:
        return resp.status, await resp.json(content_type=None)


async def test_sigterm_drains_requests_in_flight_and_keeps_every_statement(
    site: Site, tmp_path: Path
):
    data = tmp_path / "data"
    env = server_env(site, data, DIDTRUST_SHUTDOWN_TIMEOUT="30")
    registry = await init_registry(env)
    accreditors = [site.did("acc", str(i)) for i in range(3)]
    resolved = site.did("res")

    def statement(signer_did: str | None, sub: str, **kwargs: Any) -> str:
        if signer_did is None:  # the root authority, a did:key
            return make_statement(
                ROOT, aud=registry, sub=sub, iat=int(time.time()), **kwargs
            )
        return make_statement(
            ACCREDITOR,
            aud=registry,
            sub=sub,
            iat=int(time.time()),
            iss=signer_did,
            kid=f"{signer_did}#k1",
        )

    async with (
        serve(env, tmp_path / "first.log") as server,
        aiohttp.ClientSession() as session,
    ):
        # Before SIGTERM: the root accredits three accreditors (did:web, slow
        # to resolve) and one issuer; all acknowledged.
        early = [
            statement(None, did, actions=("issue", "accredit")) for did in accreditors
        ]
        early.append(statement(None, "did:example:early-issuer"))
        for jws in early:
            status, body = await post_statement(session, server, jws)
            assert status == 201, body

        # In flight at SIGTERM: each accreditor accredits an issuer (its key
        # is being resolved, held by the DID server), and a DID resolution.
        late = [
            asyncio.create_task(
                post_statement(
                    session, server, statement(acc, f"did:example:late-issuer-{i}")
                )
            )
            for i, acc in enumerate(accreditors)
        ]
        resolution = asyncio.create_task(resolve(session, server, resolved))
        await site.docs.wait_for(len(accreditors) + 1)

        server.proc.send_signal(signal.SIGTERM)
        assert await refuses_connections(server.port), "still accepting connections"
        await asyncio.sleep(0.5)  # a while with the listener closed, still held
        assert not any(t.done() for t in [*late, resolution])
        assert server.proc.returncode is None

        site.docs.release.set()
        status, doc = await asyncio.wait_for(resolution, timeout=30)
        assert status == 200, doc
        assert doc["id"] == resolved
        answers = await asyncio.wait_for(asyncio.gather(*late), timeout=30)
        assert [status for status, _ in answers] == [201, 201, 201], answers
        late_indices = sorted(body["index"] for _, body in answers)
        assert late_indices == [5, 6, 7]

        assert await server.wait(within=30) == 0, server.stderr()
    assert "Traceback" not in server.stderr()

    # Started again on the same data directory: everything acknowledged is there.
    env = server_env(site, data)
    async with (
        serve(env, tmp_path / "second.log") as again,
        aiohttp.ClientSession() as session,
    ):
        async with session.get(f"{again.base}/registry/v1/log/checkpoint") as resp:
            assert resp.status == 200
            assert (await resp.text()).splitlines()[1] == "8"  # genesis + 4 + 3
        subjects = ["did:example:early-issuer"] + [
            f"did:example:late-issuer-{i}" for i in range(3)
        ]
        for subject in subjects:
            async with session.get(
                f"{again.base}/registry/v1/entities/{subject}"
            ) as resp:
                body = await resp.json()
                assert resp.status == 200, body
                assert body["roles"] == ["issuer"]
        again.proc.send_signal(signal.SIGTERM)
        assert await again.wait(within=30) == 0, again.stderr()


async def test_request_stuck_past_the_shutdown_timeout_does_not_hold_the_process(
    site: Site, tmp_path: Path
):
    env = server_env(site, tmp_path / "data", DIDTRUST_SHUTDOWN_TIMEOUT="1")
    stuck = site.did("stuck")
    async with (
        serve(env, tmp_path / "server.log") as server,
        aiohttp.ClientSession() as session,
    ):
        request = asyncio.create_task(resolve(session, server, stuck))
        await site.docs.wait_for(1)
        started = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        assert await server.wait(within=20) == 0, server.stderr()
        took = time.monotonic() - started
        # It waited for the grace period, and not for the stuck request.
        assert 1.0 <= took < 15.0, took
        with contextlib.suppress(aiohttp.ClientError):
            status, _ = await asyncio.wait_for(request, timeout=5)
            assert status >= 500  # if an answer came at all, it is not a success
        assert not site.docs.release.is_set()
    assert "Traceback" not in server.stderr()
