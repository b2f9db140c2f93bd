"""The application factory: settings, services and routes together.

The services are built by ``didtrust.wiring``, as for the CLI, and run in one
``cleanup_ctx``: every resource lives in a ``cleanup_ctx`` so its cleanup runs
exactly when its startup succeeded, in reverse order. Errors that escape a
handler are rendered as RFC 9457 problem details by ``didtrust.problems``'
middleware, which holds every status table; unknown ones are logged and
answered with a bare 500 (never a traceback).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

from aiohttp import web, web_response
from aiohttp.http_exceptions import HttpProcessingError

from didtrust.apidocs import openapi_routes
from didtrust.appkeys import FETCHER, METRICS, REGISTRY, RESOLVER, SETTINGS, VERIFIER
from didtrust.observability import setup_observability
from didtrust.problems import error_middleware, problem_response, resolution_problem
from didtrust.ratelimit import RateLimiter, TokenBuckets, client_address
from didtrust.settings import Settings
from didtrust.webpage import page_routes
from didtrust.wiring import open_services
from registry.http import RegistryRoutes
from registry.identity import RegistryIdentity
from resolver.driver import DriverRegistry
from resolver.http import ResolverRoutes
from resolver.limiter import Limiter
from verifier.http import VerifierRoutes

__all__ = ["create_app"]

log = logging.getLogger(__name__)


def services_ctx(
    drivers: DriverRegistry | None, clock: Callable[[], float]
) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup context running the services ``didtrust.wiring`` builds.

    Without a registry key file the server still resolves DIDs; registry
    routes then answer 503 with a problem saying how to initialise.
    """

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        settings = app[SETTINGS]
        async with open_services(settings, drivers=drivers, clock=clock) as svc:
            app[FETCHER] = svc.fetcher
            app[RESOLVER] = svc.resolver
            log.info(
                "resolver ready for methods: %s",
                ", ".join(svc.resolver.drivers.methods),
            )
            if svc.registry is None:
                log.warning(
                    "no registry key at %s: registry routes are off until "
                    "`didtrust registry init`",
                    settings.registry_key_file,
                )
            else:
                app[REGISTRY] = svc.registry
            app[VERIFIER] = svc.verifier
            yield

    return ctx


def _did_document_path(identity: RegistryIdentity) -> str | None:
    """Where a did:web registry serves its own DID document (did:web spec)."""
    if identity.did.method != "web":
        return None
    parts = identity.did.method_specific_id.split(":")
    return (
        "/" + "/".join(parts[1:]) + "/did.json"
        if len(parts) > 1
        else "/.well-known/did.json"
    )


async def registry_did_document(request: web.Request) -> web.Response:
    """The registry's own DID document, when its DID is a did:web."""
    service = request.app.get(REGISTRY)
    if service is None or _did_document_path(service.identity) != request.path:
        raise web.HTTPNotFound()
    return web.json_response(
        service.identity.did_document(),
        content_type="application/did+json",
        headers={"Cache-Control": "public, max-age=300"},
    )


async def health(request: web.Request) -> web.Response:
    """Liveness: the process answers (no version: nothing for a scanner)."""
    return web.json_response({"status": "ok"})


SERVER_NAME = "didtrust"
"""The ``Server`` header of every answer: a name, no versions to fingerprint."""


def _hide_versions() -> None:
    # aiohttp writes ``Server: Python/3.x aiohttp/3.y`` on every response it
    # prepares, its own parser errors too (they never reach an app signal), by
    # default from this one module constant; it is process-wide either way.
    web_response.SERVER_SOFTWARE = SERVER_NAME  # type: ignore[attr-defined]


def expect_within(max_body: int) -> Callable[[web.Request], Any]:
    """An ``Expect: 100-continue`` handler that refuses bodies over ``max_body``.

    aiohttp's default sends ``100 Continue`` to any declared length; a client
    announcing a body over the limit gets the 413 problem at once instead, and
    never sends it.
    """

    async def expect(request: web.Request) -> web.StreamResponse | None:
        if request.headers.get("Expect", "").lower() != "100-continue":
            # RFC 9110 §10.1.1: the only expectation there is.
            return _refuse_unsent_body(
                request,
                problem_response(
                    417, "expectation failed", "only 100-continue can be expected"
                ),
            )
        length = request.content_length
        if length is not None and length > max_body:
            return _refuse_unsent_body(
                request,
                problem_response(
                    413,
                    "request body too large",
                    f"the body may be at most {max_body} bytes;"
                    f" {length} were announced",
                ),
            )
        if request.version >= (1, 1):
            await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            request.writer.output_size = 0  # the interim answer is not the body
        return None

    return expect


def _refuse_unsent_body(request: web.Request, response: web.Response) -> web.Response:
    """``response``, then close: the announced body is never sent nor waited for.

    aiohttp would otherwise linger up to 10 s reading a body the client holds
    back until it gets ``100 Continue``.
    """
    request.content.feed_eof()
    response.force_close()
    return response


def _with_expect(
    routes: Iterable[web.RouteDef], expect: Callable[[web.Request], Any]
) -> list[web.RouteDef]:
    out = []
    for route in routes:
        if route.method in ("POST", "PUT", "PATCH"):
            route = web.RouteDef(
                route.method,
                route.path,
                route.handler,
                {**route.kwargs, "expect_handler": expect},
            )
        out.append(route)
    return out


def metrics_guard(settings: Settings) -> Callable[[web.Request], bool]:
    """Whether a request's client may read ``/metrics`` (``metrics_allow``).

    Raises:
        SettingsError: ``metrics_allow`` or ``trusted_proxies`` is malformed.
    """
    allowed = settings.metrics_allow_networks()
    proxies = settings.trusted_proxy_networks()

    def allow(request: web.Request) -> bool:
        address = client_address(
            request.remote, request.headers.getall("X-Forwarded-For", ()), proxies
        )
        return address is not None and any(address in net for net in allowed)

    return allow


async def ready(request: web.Request) -> web.Response:
    """Readiness: the services are up and can take traffic."""
    resolver = request.app.get(RESOLVER)
    if resolver is None or len(resolver.drivers) == 0:
        return web.json_response({"status": "starting"}, status=503)
    registry = request.app.get(REGISTRY)
    return web.json_response(
        {
            "status": "ready",
            "methods": resolver.drivers.methods,
            "registry": str(registry.identity.did) if registry else None,
        }
    )


class ServerLog(logging.LoggerAdapter[logging.Logger]):
    """aiohttp's per-connection logger, with malformed requests told in one line.

    aiohttp logs every request its parser refuses (a request line or header
    over the limits, too many headers, bad syntax) as an ERROR with a
    traceback. Anyone can send those, and the client already got its 400, so
    here they are one INFO line without a traceback; every other record passes
    unchanged.
    """

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        """Log ``msg``; a parser refusal at ERROR becomes one INFO line."""
        exc = kwargs.get("exc_info")
        if level >= logging.ERROR and isinstance(exc, HttpProcessingError):
            kwargs["exc_info"] = None
            reason = str(exc.message)[:200]
            msg = f"{msg}: %s %s: %s"
            args = (*args, exc.code, type(exc).__name__, reason)
            level = logging.INFO
        super().log(level, msg, *args, **kwargs)


def rate_limiter(
    settings: Settings, clock: Callable[[], float] = time.monotonic
) -> RateLimiter:
    """The per-client rate limiter ``settings`` describe (a budget of 0 is off).

    Raises:
        SettingsError: ``trusted_proxies`` is malformed.
    """

    def buckets(rate: float, burst: int) -> Limiter | None:
        if rate <= 0:
            return None
        return TokenBuckets(
            rate=rate,
            burst=burst,
            max_clients=settings.rate_limit_max_clients,
            clock=clock,
        )

    return RateLimiter(
        writes=buckets(settings.rate_limit_writes, settings.rate_limit_writes_burst),
        verify=buckets(settings.rate_limit_verify, settings.rate_limit_verify_burst),
        cold_resolutions=buckets(
            settings.rate_limit_resolve, settings.rate_limit_resolve_burst
        ),
        trusted_proxies=settings.trusted_proxy_networks(),
    )


def create_app(
    settings: Settings,
    *,
    registry: DriverRegistry | None = None,
    clock: Callable[[], float] = time.time,
    monotonic: Callable[[], float] = time.monotonic,
) -> web.Application:
    """Build the application for ``settings``; resources start with it.

    Args:
        settings: The configuration.
        registry: Drivers to use instead of those ``settings`` name (tests).
        clock: The trust registry's wall clock, seconds since the epoch
            (tests set it to replay years of accreditations).
        monotonic: The rate limiter's clock, monotonic seconds (tests move it
            to refill buckets without waiting).

    Raises:
        SettingsError: ``trusted_proxies`` is malformed.
    """
    limiter = rate_limiter(settings, monotonic)
    _hide_versions()
    app = web.Application(
        middlewares=[error_middleware],
        client_max_size=settings.max_request_body,
        # Limits of the request parser, per connection (aiohttp RequestHandler):
        # a request over them is refused by the parser with a bare 400.
        handler_args={
            "max_line_size": settings.max_request_line,
            "max_field_size": settings.max_header_size,
            "max_headers": settings.max_headers,
            "keepalive_timeout": settings.keepalive_timeout,
            "logger": ServerLog(logging.getLogger("aiohttp.server")),
        },
    )
    app[SETTINGS] = settings
    app.cleanup_ctx.append(services_ctx(registry, clock))
    routes = ResolverRoutes(
        RESOLVER,
        problem=resolution_problem,
        max_identifier_length=settings.max_did_length,
        cors=settings.cors,
        admission=limiter.admission,
    )
    expect = expect_within(settings.max_request_body)
    app.router.add_routes(
        _with_expect(limiter.limit_resolutions(routes.routes()), expect)
    )
    # Limited routes refuse over-budget clients before the handler reads a body
    # or resolves a DID; the observability middleware, added below, is outside
    # and so counts every status, 429 included.
    app.router.add_routes(
        _with_expect(limiter.limit(RegistryRoutes(REGISTRY).routes()), expect)
    )
    app.router.add_routes(
        _with_expect(limiter.limit(VerifierRoutes(VERIFIER).routes()), expect)
    )
    app.router.add_get("/.well-known/did.json", registry_did_document)
    app.router.add_get("/{path:.+}/did.json", registry_did_document)
    app.router.add_routes(openapi_routes())
    app.router.add_routes(page_routes())
    app.router.add_get("/health", health)
    app.router.add_get("/ready", ready)

    def status_checker() -> object:
        verifier = app.get(VERIFIER)
        return verifier.status_checker if verifier is not None else None

    if settings.metrics:
        app[METRICS] = setup_observability(
            app,
            resolver=lambda: app.get(RESOLVER),
            registry=lambda: app.get(REGISTRY),
            status=status_checker,
            verifier=lambda: app.get(VERIFIER),
            fetcher=lambda: app.get(FETCHER),
            access_log=settings.access_log,
            allow=metrics_guard(settings),
        )
    return app
