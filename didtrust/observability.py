"""Prometheus metrics at ``/metrics`` and one JSON log line per request.

What it does:

- A middleware (outermost, so it sees the status ``error_middleware`` chose)
  counts requests by route template, method and status and times them in a
  histogram; derives resolutions by DID method and outcome (``/1.0/identifiers/``),
  verifications by outcome (``/credentials/verify``, from the status code) and
  refused registry statements by reason (the problem type of the refusal).
- Counters the services already keep (resolution cache hits, misses, coalesced
  waits and size; registry appends and log size; status-list cache; credential
  verdicts by first failed check) are copied into Prometheus metrics as deltas
  after each request and at each scrape.
- Outbound fetches (did:web documents, status lists) are timed by outcome and
  refusals counted by reason, through the fetcher's observer hook.
- With several workers, metrics use prometheus-client's multiprocess mode when
  ``PROMETHEUS_MULTIPROC_DIR`` is set (see :func:`multiprocess_metrics_dir` and
  ADR 0006): any worker answering ``/metrics`` reports the sum over all workers.
- Logs: :class:`JsonLogFormatter` writes one JSON object per line, with the
  request id of the request being served (a ``ContextVar``); the request id is
  taken from a sane incoming ``X-Request-ID`` or generated, and echoed.

What it does not do: it never logs request or response bodies, headers other
than a truncated User-Agent, or the raw path (a route template instead), nor the
URLs of outbound fetches. Its module-level state is the ``ContextVar`` key and
the generator of request ids (a random per-process prefix and a counter, shared
by every application in the process); metrics are per application (one
``CollectorRegistry`` each).

Exposition format: Prometheus text format 0.0.4
(https://prometheus.io/docs/instrumenting/exposition_formats/).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Final, Protocol

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as prom_multiprocess

from didtrust.problems import PROBLEM_BASE
from resolver.cache import CacheCounters

__all__ = [
    "MULTIPROC_ENV",
    "REQUEST_ID_HEADER",
    "JsonLogFormatter",
    "Metrics",
    "configure_json_logging",
    "multiprocess_metrics_dir",
    "request_id_var",
    "sane_request_id",
    "setup_observability",
    "worker_exited",
]

log = logging.getLogger(__name__)
access_log = logging.getLogger("didtrust.access")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

REQUEST_ID_HEADER: Final = "X-Request-ID"
MULTIPROC_ENV: Final = "PROMETHEUS_MULTIPROC_DIR"
"""prometheus-client reads this when it is first imported: set it before then."""

request_id_var: ContextVar[str | None] = ContextVar("didtrust_request_id", default=None)
"""The id of the request being served (a key, not state: values live per task)."""

_SANE_ID: Final = re.compile(r"[A-Za-z0-9._-]{1,64}")
_ID_PREFIX: Final = os.urandom(12).hex()
_ID_COUNTER: Final = itertools.count(1)
_REASON: Final = re.compile(r"[a-z0-9-]{1,48}")
_IDENTIFIERS: Final = "/1.0/identifiers/"
_VERIFY: Final = "/credentials/verify"
_STATEMENTS: Final = "/registry/v1/statements"
_MAX_USER_AGENT: Final = 200
_MAX_METHOD_NAME: Final = 32
_HTTP_METHODS: Final = frozenset(
    {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"}
)
_FETCH_BUCKETS: Final = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_LATENCY_BUCKETS: Final = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)

# W3C DID Resolution HTTP(S) binding: status -> outcome.
_RESOLUTION_OUTCOMES: Final = {
    200: "ok",
    303: "ok",
    400: "invalid",
    404: "not_found",
    406: "representation_not_supported",
    410: "deactivated",
    500: "error",
    501: "method_not_supported",
}


# -- request ids ---------------------------------------------------------------


def sane_request_id(value: str | None) -> str:
    """``value`` if it is ≤ 64 characters of ``[A-Za-z0-9._-]``, else a new id.

    An id from a client goes into our logs and back into a header, so anything
    that could forge a log line or a header (newlines, quotes, length) is
    replaced rather than escaped.
    """
    if value is not None and _SANE_ID.fullmatch(value):
        return value
    # Unique, not secret: a random per-process prefix and a counter, which
    # costs far less per request than drawing random bytes each time.
    return f"{_ID_PREFIX}{next(_ID_COUNTER):08x}"


# -- service counters --------------------------------------------------------


class VerdictCounters(Protocol):
    """What ``CredentialVerifier`` counts: verifications by (verdict, check)."""

    @property
    def outcomes(self) -> Mapping[tuple[str, str], int]:
        """Counts by (verdict, first failed check or "")."""
        ...


class _LogState(Protocol):
    @property
    def size(self) -> int: ...


class RegistryCounters(Protocol):
    """What ``RegistryService`` counts."""

    appended: int
    refused: int

    @property
    def state(self) -> _LogState:
        """The replayed log state (its ``size`` is the log size)."""
        ...


Getter = Callable[[], Any]
"""A getter for a service that may not exist yet (started by a cleanup context)."""


class _Mirror:
    """Copies a monotonic counter kept by a service into a Prometheus counter.

    Tracks the last value seen per service object, so a new service (a restart
    inside one process) starts from zero instead of showing a negative delta.
    """

    def __init__(self, counter: Counter) -> None:
        self._counter = counter
        self._source: object | None = None
        self._seen = 0

    def update(self, source: object, value: int) -> None:
        if source is not self._source:
            self._source, self._seen = source, 0
        if value > self._seen:
            self._counter.inc(value - self._seen)
        self._seen = value


class Metrics:
    """The application's metrics, on a registry of its own.

    Args:
        multiprocess: Write values to ``PROMETHEUS_MULTIPROC_DIR`` (files per
            process) and expose the sum over all processes. prometheus-client
            must have been imported with that variable set.
    """

    def __init__(self, *, multiprocess: bool = False) -> None:
        self.multiprocess = multiprocess
        self.registry = CollectorRegistry()
        # In multiprocess mode the values live in files; the exposition builds a
        # fresh registry over them on each scrape (prometheus-client's rule).
        reg = None if multiprocess else self.registry
        self.requests = Counter(
            "didtrust_http_requests",
            "HTTP requests answered, by route template, method and status.",
            ["route", "method", "status"],
            registry=reg,
        )
        self.latency = Histogram(
            "didtrust_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template and method.",
            ["route", "method"],
            buckets=_LATENCY_BUCKETS,
            registry=reg,
        )
        self.resolutions = Counter(
            "didtrust_resolutions",
            "DID resolutions over HTTP, by DID method and outcome.",
            ["did_method", "outcome"],
            registry=reg,
        )
        self.verifications = Counter(
            "didtrust_credential_verifications",
            "Credential verification requests, by outcome of the request "
            "(checked: a report was produced).",
            ["outcome"],
            registry=reg,
        )
        self.verdicts = Counter(
            "didtrust_credential_verdicts",
            "Credentials checked, by verdict (verified, not_verified, malformed) "
            "and the first check that failed (empty if none).",
            ["verdict", "failed_check"],
            registry=reg,
        )
        self.fetch_duration = Histogram(
            "didtrust_fetch_duration_seconds",
            "Outbound fetches (did:web documents, status lists) by outcome "
            "(ok, refused, status, body, not_found, cancelled, error).",
            ["outcome"],
            buckets=_FETCH_BUCKETS,
            registry=reg,
        )
        self.fetch_refused = Counter(
            "didtrust_fetch_refused",
            "Outbound fetches refused by policy before sending, by reason.",
            ["reason"],
            registry=reg,
        )
        self.refused_statements = Counter(
            "didtrust_registry_statements_refused",
            "Registry statements refused over HTTP, by problem type.",
            ["reason"],
            registry=reg,
        )
        self.appended_statements = Counter(
            "didtrust_registry_statements_appended",
            "Registry statements appended to the log by this service.",
            registry=reg,
        )
        self.registry_log_size = Gauge(
            "didtrust_registry_log_size",
            "Leaves in the registry log (including genesis), as last seen.",
            registry=reg,
            multiprocess_mode="livemax",
        )
        self.cache_events = Counter(
            "didtrust_cache_events",
            "Cache lookups by cache and event (hit, miss, coalesced wait).",
            ["cache", "event"],
            registry=reg,
        )
        self.cache_entries = Gauge(
            "didtrust_cache_entries",
            "Entries held by a cache (summed over workers).",
            ["cache"],
            registry=reg,
            multiprocess_mode="livesum",
        )
        self._mirrors: dict[tuple[object, ...], _Mirror] = {}
        self._appended = _Mirror(self.appended_statements)
        self._fetch_children: dict[tuple[str, str], tuple[Any, Any]] = {}

    # -- copying service counters --------------------------------------------

    def observe_cache(self, name: str, cache: CacheCounters) -> None:
        """Copy ``cache``'s counters under ``cache=name``."""
        for event, value in (
            ("hit", cache.hits),
            ("miss", cache.misses),
            ("coalesced", cache.coalesced),
        ):
            self._mirror(self.cache_events, name, event).update(cache, value)
        self.cache_entries.labels(cache=name).set(len(cache))

    def _mirror(self, metric: Counter, *labels: str) -> _Mirror:
        """The mirror of ``metric``'s child for ``labels`` (made on first use)."""
        key = (id(metric), *labels)
        mirror = self._mirrors.get(key)
        if mirror is None:
            mirror = self._mirrors[key] = _Mirror(metric.labels(*labels))
        return mirror

    def observe_verdicts(self, verifier: VerdictCounters) -> None:
        """Copy the verifier's verdict counts."""
        for (verdict, check), value in list(verifier.outcomes.items()):
            self._mirror(self.verdicts, verdict, check).update(verifier, value)

    def observe_fetch(self, outcome: str, reason: str, seconds: float) -> None:
        """Record one outbound fetch (the ``Fetcher.observer`` hook)."""
        children = self._fetch_children.get((outcome, reason))
        if children is None:
            refused = self.fetch_refused.labels(reason=reason) if reason else None
            children = (self.fetch_duration.labels(outcome=outcome), refused)
            self._fetch_children[outcome, reason] = children
        duration, refused = children
        duration.observe(seconds)
        if refused is not None:
            refused.inc()

    def observe_registry(self, registry: RegistryCounters) -> None:
        """Copy the registry service's append count and log size."""
        self._appended.update(registry, registry.appended)
        self.registry_log_size.set(registry.state.size)

    # -- exposition ----------------------------------------------------------

    def exposition(self) -> bytes:
        """The metrics in the Prometheus text format."""
        if not self.multiprocess:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        prom_multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # untyped in prometheus-client
        return generate_latest(registry)


# -- the middleware and route ------------------------------------------------


def _route_of(request: web.Request) -> str:
    """The matched resource's template; never the raw path (cardinality)."""
    resource = request.match_info.route.resource
    if resource is None:
        return "unmatched"
    return resource.canonical


def _did_method(request: web.Request, known: frozenset[str]) -> str:
    # Cheap on purpose: the text between "did:" and the next ":" of the path,
    # capped to the methods we have drivers for (a label per stranger's guess
    # would grow without bound).
    rest = request.path[len(_IDENTIFIERS) :]
    if not rest.startswith("did:"):
        return "other"
    method = rest[4 : 4 + _MAX_METHOD_NAME + 1].partition(":")[0]
    return method if method in known else "other"


def _problem_reason(response: web.StreamResponse) -> str:
    body = getattr(response, "body", None)
    if not isinstance(body, bytes) or len(body) > 8192:
        return "other"
    try:
        problem = json.loads(body)
    except ValueError:
        return "other"
    kind = problem.get("type") if isinstance(problem, dict) else None
    if isinstance(kind, str) and kind.startswith(PROBLEM_BASE):
        reason = kind[len(PROBLEM_BASE) :]
        if _REASON.fullmatch(reason):
            return reason
    return "other"


def _verification_outcome(status: int) -> str:
    if status == 200:
        return "checked"
    if status == 400:
        return "bad_request"
    if status == 503:
        return "unavailable"
    return "error" if status >= 500 else "refused"


class _Observer:
    SYNC_INTERVAL = 1.0
    """Seconds between copies of the services' counters and flushes of the
    request counts outside scrapes, by a background task of each app (in
    multiprocess mode a scrape reaches one worker, so each worker copies its
    own, idle or not; the figures lag by at most this much)."""

    def __init__(
        self,
        metrics: Metrics,
        resolver: Getter,
        registry: Getter,
        status: Getter,
        verifier: Getter,
    ) -> None:
        self.metrics = metrics
        self._resolver = resolver
        self._registry = registry
        self._status = status
        self._verifier = verifier
        self.access_log = True
        """Write one JSON line per request (costly at high request rates)."""
        self._methods: frozenset[str] | None = None
        # Label children by label values: labels() is the costly part of an
        # update, and the label sets here are small and bounded.
        self._children: dict[tuple[Any, ...], Any] = {}
        # Request counts waiting to be added to their counters: a dict
        # increment per request instead of a locked counter update, flushed
        # by sync() (at each scrape, and every SYNC_INTERVAL). The latency
        # histogram is observed per request.
        self._pending: dict[tuple[Any, ...], int] = {}

    def _child(self, metric: Any, *values: str) -> Any:
        key = (id(metric), *values)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*values)
        return child

    def _count(self, metric: Any, *values: str | int) -> None:
        key = (metric, *values)
        pending = self._pending
        pending[key] = pending.get(key, 0) + 1

    def flush(self) -> None:
        """Add the pending request counts to their counters."""
        pending, self._pending = self._pending, {}
        for (metric, *values), n in pending.items():
            self._child(metric, *map(str, values)).inc(n)

    def sync(self) -> None:
        """Flush request counts and copy the services' counters (cheap)."""
        self.flush()
        resolver = self._resolver()
        if resolver is not None:
            self.metrics.observe_cache("resolution", resolver.cache)
        status = self._status()
        if status is not None:
            self.metrics.observe_cache("status_list", status.cache)
        registry = self._registry()
        if registry is not None:
            self.metrics.observe_registry(registry)
        verifier = self._verifier()
        if verifier is not None:
            self.metrics.observe_verdicts(verifier)

    def _known_methods(self) -> frozenset[str]:
        if self._methods is None:
            resolver = self._resolver()
            if resolver is None:
                return frozenset()
            self._methods = frozenset(resolver.drivers.methods)
        return self._methods

    def record(
        self,
        request: web.Request,
        response: web.StreamResponse | None,
        route: str,
        status: int,
        seconds: float,
    ) -> None:
        method = request.method if request.method in _HTTP_METHODS else "OTHER"
        m = self.metrics
        self._count(m.requests, route, method, status)
        self._child(m.latency, route, method).observe(seconds)
        if route.startswith(_IDENTIFIERS):
            outcome = _RESOLUTION_OUTCOMES.get(status, "error")
            did_method = _did_method(request, self._known_methods())
            self._count(m.resolutions, did_method, outcome)
        elif route == _VERIFY:
            self._count(m.verifications, _verification_outcome(status))
        elif (
            route == _STATEMENTS
            and method == "POST"
            and 400 <= status < 500
            and response is not None
        ):
            m.refused_statements.labels(reason=_problem_reason(response)).inc()

    async def metrics_handler(self, request: web.Request) -> web.Response:
        self.sync()
        body = self.metrics.exposition()
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    @web.middleware
    async def middleware(
        self, request: web.Request, handler: Handler
    ) -> web.StreamResponse:
        request_id = sane_request_id(request.headers.get(REQUEST_ID_HEADER))
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        response: web.StreamResponse | None = None
        status = 500
        try:
            response = await handler(request)
            status = response.status
            if not response.prepared:
                response.headers[REQUEST_ID_HEADER] = request_id
            return response
        except web.HTTPException as exc:
            status = exc.status
            exc.headers[REQUEST_ID_HEADER] = request_id
            raise
        except BaseException as exc:
            # 499: the client went away (nginx's convention); else a 500.
            status = 499 if not isinstance(exc, Exception) else 500
            raise
        finally:
            seconds = time.perf_counter() - started
            route = _route_of(request)
            try:
                self.record(request, response, route, status, seconds)
            except Exception:
                log.exception("recording metrics failed")
            if self.access_log:
                self._log_request(request, route, status, seconds)
            request_id_var.reset(token)

    def _log_request(
        self, request: web.Request, route: str, status: int, seconds: float
    ) -> None:
        if access_log.isEnabledFor(logging.INFO):
            access_log.info(
                "%s %s %d",
                request.method,
                route,
                status,
                extra={
                    "method": request.method[:16],
                    "route": route,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 3),
                    "remote": request.remote,
                    "user_agent": request.headers.get("User-Agent", "")[
                        :_MAX_USER_AGENT
                    ],
                },
            )


def setup_observability(
    app: web.Application,
    *,
    resolver: Getter,
    registry: Getter,
    status: Getter | None = None,
    verifier: Getter | None = None,
    fetcher: Getter | None = None,
    metrics_path: str = "/metrics",
    allow: Callable[[web.Request], bool] | None = None,
    access_log: bool = True,
) -> Metrics:
    """Add request metrics, request ids and access logs to ``app``, and ``/metrics``.

    Call before the app starts (middlewares freeze then). The middleware goes
    first, outside every other, so it records the status that was sent.

    Args:
        app: The application.
        resolver: Returns the ``Resolver`` or ``None`` (read lazily: services
            start in cleanup contexts, after this call).
        registry: Returns the ``RegistryService`` or ``None``.
        status: Returns the ``StatusChecker`` or ``None``, if reachable.
        verifier: Returns the ``CredentialVerifier`` or ``None``.
        fetcher: Returns the ``Fetcher`` or ``None``; its observer is set
            once the app has started.
        metrics_path: Where to serve the exposition.
        allow: Whether a request may read it; refused ones get 404, as if
            there were nothing there (``None``: everyone).
        access_log: Write one JSON line per request.

    Returns:
        The app's metrics (tests and extra hooks may use them).
    """
    metrics = Metrics(multiprocess=MULTIPROC_ENV in os.environ)
    observer = _Observer(
        metrics,
        resolver,
        registry,
        status if status is not None else _none,
        verifier if verifier is not None else _none,
    )
    observer.access_log = access_log
    app.middlewares.insert(0, observer.middleware)

    async def watch_fetches(_app: web.Application) -> None:
        # on_startup handlers added now run after every cleanup context's
        # startup, so the fetcher exists by then.
        found = fetcher() if fetcher is not None else None
        if found is not None:
            found.observer = metrics.observe_fetch

    app.on_startup.append(watch_fetches)

    async def periodic_sync(_app: web.Application) -> AsyncIterator[None]:
        async def loop() -> None:
            while True:
                await asyncio.sleep(observer.SYNC_INTERVAL)
                try:
                    observer.sync()
                except Exception:
                    log.exception("copying the services' counters failed")

        task = asyncio.create_task(loop(), name="metrics-sync")
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def final_sync(_app: web.Application) -> None:
        observer.sync()  # the last copy of the services' counters

    app.cleanup_ctx.append(periodic_sync)
    app.on_shutdown.append(final_sync)
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    handler = observer.metrics_handler
    if allow is not None:
        served = handler

        async def guarded(request: web.Request) -> web.StreamResponse:
            if not allow(request):
                raise web.HTTPNotFound()
            return await served(request)

        handler = guarded
    app.router.add_get(metrics_path, handler)
    return metrics


def _none() -> None:
    return None


# -- several workers -------------------------------------------------------------


@contextlib.contextmanager
def multiprocess_metrics_dir() -> Iterator[Path]:
    """A fresh metrics directory for worker processes, removed on exit.

    Sets ``PROMETHEUS_MULTIPROC_DIR`` in this process's environment, which
    spawned workers inherit; they must import prometheus-client after that
    (``spawn`` start method: they import everything afresh).

    Yields:
        The directory.
    """
    path = Path(tempfile.mkdtemp(prefix="didtrust-metrics-"))
    previous = os.environ.get(MULTIPROC_ENV)
    os.environ[MULTIPROC_ENV] = str(path)
    try:
        yield path
    finally:
        if previous is None:
            os.environ.pop(MULTIPROC_ENV, None)
        else:
            os.environ[MULTIPROC_ENV] = previous
        shutil.rmtree(path, ignore_errors=True)


def worker_exited(pid: int, path: Path) -> None:
    """Drop a dead worker's live gauges (its counters keep counting in the sum)."""
    prom_multiprocess.mark_process_dead(pid, str(path))  # type: ignore[no-untyped-call]  # untyped in prometheus-client


# -- JSON logs -------------------------------------------------------------------

_STANDARD_ATTRS: Final = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys()
    | {"message", "asctime", "taskName"}
)
_REDACTED_KEYS: Final = re.compile(
    r"authorization|cookie|secret|password|passphrase|token|seed|private|key_file|jws",
    re.IGNORECASE,
)


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, request_id, extras.

    ``extra=`` fields whose names suggest a secret (authorization, token, seed,
    private, jws, …) are written as ``"[redacted]"``: a second line of defence,
    the first being not to pass them.
    """

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as one line of JSON."""
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or request_id_var.get(),
        }
        for key, value in vars(record).items():
            if key in _STANDARD_ATTRS or key in out:
                continue
            out[key] = "[redacted]" if _REDACTED_KEYS.search(key) else _jsonable(value)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        return json.dumps(out, ensure_ascii=False, separators=(",", ":"))


_QUIET_LOGGERS: Final = ("aiosqlite",)
"""Loggers that write data at DEBUG: aiosqlite logs every call with its
arguments, i.e. the statements (JWS) the registry stores."""


def configure_json_logging(level: str, *, stream: IO[str] | None = None) -> None:
    """Log JSON lines at ``level`` (a logging level name) to ``stream``.

    Side effects: replaces the root logger's handlers; holds the loggers in
    ``_QUIET_LOGGERS`` at INFO or above whatever ``level`` is.

    Args:
        level: A logging level name (any case).
        stream: Where to write (default: standard error).

    Raises:
        ValueError: ``level`` is not a logging level name.
    """
    number = logging.getLevelNamesMapping().get(level.upper())
    if number is None:
        raise ValueError(f"unknown log level {level!r}")
    handler = logging.StreamHandler(sys.stderr if stream is None else stream)
    handler.setFormatter(JsonLogFormatter())
    logging.basicConfig(level=number, handlers=[handler], force=True)
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(number, logging.INFO))
