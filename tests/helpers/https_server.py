"""A real aiohttp server on loopback, with TLS from a trustme test CA.

Only for tests. ``serve_app`` binds 127.0.0.x at a free port (plain http when
no TLS context is given) and counts the requests it receives, so a test can
assert that a refused fetch never reached the server. ``TestPKI`` holds a test
CA, writes its certificate to a file (for ``FetchPolicy.ca_file``) and makes
server TLS contexts for chosen host names.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import trustme
from aiohttp import web
from aiohttp.test_utils import TestClient

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

ClientFactory = Callable[..., Awaitable[TestClient[Any, Any]]]
"""The type of pytest-aiohttp's ``aiohttp_client`` fixture."""


class TestPKI:
    """A trustme CA with its certificate written to ``ca_file``."""

    __test__ = False  # not a test class, whatever pytest thinks of the name

    def __init__(self, directory: Path) -> None:
        self.ca = trustme.CA()
        self.ca_file = str(directory / "test-ca.pem")
        self.ca.cert_pem.write_to_path(self.ca_file)

    def server_context(self, *names: str) -> ssl.SSLContext:
        """A server TLS context with a certificate for ``names``."""
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ca.issue_cert(*names).configure_cert(ctx)
        return ctx


class LocalServer:
    """What a test needs to know about a running ``serve_app`` server."""

    def __init__(self, host: str, port: int, scheme: str) -> None:
        self.host = host
        self.port = port
        self.scheme = scheme
        self.requests: list[str] = []
        """Paths requested, in order."""

    def url(self, name: str, path: str = "/") -> str:
        """The URL of ``path`` on this server under host ``name`` (resolved by DNS)."""
        return f"{self.scheme}://{name}:{self.port}{path}"


@asynccontextmanager
async def serve_app(
    app: web.Application,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    ssl_context: ssl.SSLContext | None = None,
    shutdown_timeout: float = 0.25,
) -> AsyncIterator[LocalServer]:
    """Serve ``app`` on ``host`` at ``port`` (0: a free one) for the block's duration.

    Handlers still running at the end (a test's never-answering server) are
    cancelled after ``shutdown_timeout`` seconds.
    """
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.bind((host, port))
    port = sock.getsockname()[1]
    server = LocalServer(host, port, "https" if ssl_context else "http")

    @web.middleware
    async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
        server.requests.append(request.path)
        return await handler(request)

    app.middlewares.append(record)
    runner = web.AppRunner(app, shutdown_timeout=shutdown_timeout, access_log=None)
    await runner.setup()
    try:
        await web.SockSite(runner, sock, ssl_context=ssl_context).start()
        yield server
    finally:
        await runner.cleanup()
        sock.close()
