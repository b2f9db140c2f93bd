"""One worker's HTTP listener: a connection cap, load shedding, quiet logs.

An attack run held 1,500 connections against a worker whose file-descriptor
limit was 1,024: every ``accept()`` then failed, and each failure was logged,
which made 682k ERROR lines (358 MB) and 52 CPU-seconds in 30 s. Three things
keep a worker upright under such a flood:

- **A connection cap** (``DIDTRUST_MAX_CONNECTIONS``), clamped below the
  process's descriptor limit with room left for the store, DNS and outbound
  fetches (:func:`connection_cap`). The soft descriptor limit is first raised
  to the hard one.
- **Shedding at the cap.** A connection over the cap is answered ``503`` with
  ``Retry-After`` and closed; it is never handed to the application. Shed
  connections are themselves bounded: past ``SHED_BACKLOG`` of them at once,
  new ones are closed without an answer.
- **Repeated log lines are rate-limited** (:class:`RepeatFilter`): after
  ``burst`` lines of one kind (logger, level, message template) within
  ``window`` seconds the rest are dropped and counted, and one line says how
  many were dropped when the window ends.

:func:`run` takes the place of ``aiohttp.web.run_app``, with the same graceful
shutdown: on SIGTERM or SIGINT the listener closes, requests in flight get
``shutdown_timeout`` seconds, and the application's cleanup runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import resource
import socket
import time
from collections.abc import Callable
from typing import Final

from aiohttp import web

from didtrust.problems import problem

__all__ = [
    "BACKLOG",
    "FD_RESERVE",
    "SHED_BACKLOG",
    "GatedSite",
    "RepeatFilter",
    "connection_cap",
    "run",
]

log = logging.getLogger("didtrust.serving")

BACKLOG: Final = 64
"""The listen backlog, which is also how many connections asyncio accepts in
one go (a few such batches can be open before any of them is shed)."""

FD_RESERVE: Final = 320
"""Descriptors kept free of client connections: accept batches in flight (up
to three of ``BACKLOG``), the connections being shed (``SHED_BACKLOG``), and
the rest for the store, DNS, outbound fetches and the process itself. If
descriptors still run out, asyncio's accept errors are logged through the
:class:`RepeatFilter`, a few lines rather than a flood."""

SHED_BACKLOG: Final = 64
"""Connections being answered 503 at once; more are closed unanswered."""

SHED_LINGER: Final = 2.0
"""Seconds a shed connection waits for its request before it is closed."""

_SHED_BODY: Final = json.dumps(
    problem(
        503,
        "Service Unavailable",
        "the server is at its connection limit; retry shortly",
    )
).encode()
_SHED_RESPONSE: Final = (
    b"HTTP/1.1 503 Service Unavailable\r\n"
    b"Content-Type: application/problem+json\r\n"
    b"Retry-After: 1\r\n"
    b"Connection: close\r\n"
    b"Content-Length: " + str(len(_SHED_BODY)).encode() + b"\r\n\r\n" + _SHED_BODY
)


def connection_cap(requested: int) -> int:
    """The connection cap this process can honour, raising its descriptor limit.

    The soft ``RLIMIT_NOFILE`` is raised to the hard limit; the cap is then the
    smaller of ``requested`` and that limit less ``FD_RESERVE`` (at least 16).
    A cap lowered this way is logged as a warning.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = 1 << 20 if hard == resource.RLIM_INFINITY else hard
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    possible = max(16, soft - FD_RESERVE)
    if requested > possible:
        log.warning(
            "max_connections %d lowered to %d: the descriptor limit is %d",
            requested,
            possible,
            soft,
        )
        return possible
    return requested


class _Shed(asyncio.Protocol):
    """Answers 503 to the first bytes of a request (or after a pause), closes."""

    def __init__(self, gate: _Gate) -> None:
        self._gate = gate
        self._transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)  # noqa: S101 - TCP only
        self._transport = transport
        self._timer = asyncio.get_running_loop().call_later(SHED_LINGER, self._answer)

    def data_received(self, data: bytes) -> None:
        self._answer()

    def _answer(self) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(_SHED_RESPONSE)
            self._transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._gate.shedding -= 1


class _Abort(asyncio.Protocol):
    """Closes the connection at once (too many are being shed already)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)  # noqa: S101 - TCP only
        transport.abort()


class _Gate:
    """The listener's protocol factory: the application's server, or a refusal."""

    def __init__(
        self, server: web.Server, cap: int, on_shed: Callable[[], None]
    ) -> None:
        self._server = server
        self._cap = cap
        self._on_shed = on_shed
        self.shedding = 0

    def __call__(self) -> asyncio.BaseProtocol:
        if len(self._server.connections) < self._cap:
            return self._server()
        self._on_shed()
        if self.shedding >= SHED_BACKLOG:
            return _Abort()
        self.shedding += 1
        return _Shed(self)


class GatedSite(web.BaseSite):
    """A TCP site whose connections pass a :class:`_Gate` (cap and shedding)."""

    def __init__(
        self,
        runner: web.AppRunner,
        host: str,
        port: int,
        *,
        max_connections: int,
        reuse_port: bool,
        backlog: int = BACKLOG,
        on_shed: Callable[[], None] = lambda: None,
    ) -> None:
        super().__init__(runner, backlog=backlog)
        self._host = host
        self._port = port
        self._max = max_connections
        self._reuse_port = reuse_port
        self._on_shed = on_shed

    @property
    def name(self) -> str:
        """The URL the site listens on."""
        return f"http://{self._host}:{self._port}"

    async def start(self) -> None:
        """Listen (``SO_REUSEADDR`` always, ``SO_REUSEPORT`` when asked)."""
        await super().start()
        server = self._runner.server
        assert server is not None  # noqa: S101 - set by runner.setup()
        gate = _Gate(server, self._max, self._on_shed)
        self._server = await asyncio.get_running_loop().create_server(
            gate,
            self._host,
            self._port,
            backlog=self._backlog,
            reuse_address=True,
            reuse_port=self._reuse_port or None,
            family=socket.AF_UNSPEC,
        )


def run(
    app: web.Application,
    *,
    host: str,
    port: int,
    reuse_port: bool,
    shutdown_timeout: float,
    max_connections: int,
    on_shed: Callable[[], None] = lambda: None,
) -> None:
    """Serve ``app`` until SIGTERM or SIGINT, then shut down gracefully."""
    cap = connection_cap(max_connections)

    async def serve() -> None:
        runner = web.AppRunner(
            app,
            handle_signals=True,
            access_log=None,
            shutdown_timeout=shutdown_timeout,
        )
        await runner.setup()
        try:
            site = GatedSite(
                runner,
                host,
                port,
                max_connections=cap,
                reuse_port=reuse_port,
                on_shed=on_shed,
            )
            await site.start()
            await asyncio.Event().wait()  # until a signal ends the loop
        finally:
            await runner.cleanup()

    # As aiohttp's run_app: the signal handler raises GracefulExit out of the
    # loop. Only serve() is cancelled then, so its finally runs the graceful
    # shutdown (listener closed, requests in flight given shutdown_timeout,
    # the app's cleanup) while the request tasks still run; whatever is left
    # after that is cancelled.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    main = loop.create_task(serve())
    try:
        with contextlib.suppress(web.GracefulExit, KeyboardInterrupt):
            loop.run_until_complete(main)
    finally:
        try:
            if not main.done():
                main.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    loop.run_until_complete(main)
        finally:
            rest = asyncio.all_tasks(loop)
            for task in rest:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*rest, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()


class RepeatFilter(logging.Filter):
    """Lets ``burst`` records of a kind through per ``window`` seconds.

    A kind is (logger name, level, message template): the ``%s`` arguments do
    not count, so one failure repeated with different addresses is one kind.
    The first record of a kind after its window ended carries a note of how
    many were dropped in that window. At most ``max_kinds`` kinds are tracked;
    past that, kinds whose window ended are forgotten (and if none has, all).
    """

    def __init__(
        self,
        burst: int = 20,
        window: float = 10.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_kinds: int = 1024,
    ) -> None:
        super().__init__()
        self._burst = burst
        self._window = window
        self._clock = clock
        self._max_kinds = max_kinds
        # kind -> [window start, records seen in the window]
        self._kinds: dict[tuple[str, int, str], list[float]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep the record unless its kind is over its budget for this window."""
        kind = (record.name, record.levelno, str(record.msg))
        now = self._clock()
        seen = self._kinds.get(kind)
        if seen is None or now - seen[0] >= self._window:
            dropped = 0 if seen is None else int(seen[1]) - self._burst
            if seen is None and len(self._kinds) >= self._max_kinds:
                self._expire(now)
            self._kinds[kind] = [now, 1.0]
            if dropped > 0:
                record.msg = f"{record.msg} [{dropped} more like this were dropped]"
            return True
        seen[1] += 1
        return seen[1] <= self._burst

    def _expire(self, now: float) -> None:
        for kind, (start, _count) in list(self._kinds.items()):
            if now - start >= self._window:
                del self._kinds[kind]
        if len(self._kinds) >= self._max_kinds:
            self._kinds.clear()
