"""The application factory: wires settings, services and routes together.

Every resource lives in a ``cleanup_ctx`` so its cleanup runs exactly when its
startup succeeded, in reverse order. Errors that escape a handler are rendered
here as RFC 9457 problem details; unknown ones are logged and answered with a
bare 500 (never a traceback).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web

from didtrust import __version__
from didtrust.appkeys import FETCHER, RESOLVER, SETTINGS
from didtrust.plugins import build_registry
from didtrust.settings import Settings
from drivers.web import WebDriver
from resolver.driver import DriverRegistry
from resolver.errors import ResolutionError
from resolver.fetch import Fetcher
from resolver.http import ResolverRoutes, status_for
from resolver.service import ResolutionCache, Resolver

__all__ = ["create_app", "problem_response"]

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def problem_response(
    status: int, title: str, detail: str = "", **extra: Any
) -> web.Response:
    """An RFC 9457 ``application/problem+json`` response."""
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    return web.json_response(
        body, status=status, content_type="application/problem+json"
    )


@web.middleware
async def error_middleware(
    request: web.Request, handler: Handler
) -> web.StreamResponse:
    """Render escaping errors as problem details; never leak a traceback."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400 or exc.empty_body:
            raise
        return problem_response(exc.status, exc.reason, exc.text or "")
    except ResolutionError as exc:
        status = status_for(exc)
        return problem_response(status, exc.title, exc.detail, type=exc.type_uri)
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return problem_response(500, "internal error")


def resolver_service(
    registry: DriverRegistry | None,
) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup context that builds the Resolver and its drivers."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        async for _ in _resolver_service(app, registry):
            yield

    return ctx


async def fetcher_ctx(app: web.Application) -> AsyncIterator[None]:
    """The hardened outbound fetcher, with its own pinned-address session."""
    async with Fetcher.open(app[SETTINGS].fetch_policy()) as fetcher:
        app[FETCHER] = fetcher
        yield


def web_driver(settings: Settings, fetcher: Fetcher) -> WebDriver:
    """The did:web driver for ``settings``."""
    return WebDriver(
        fetcher,
        min_ttl=settings.web_min_ttl,
        max_ttl=settings.web_max_ttl,
        default_ttl=settings.web_default_ttl,
    )


async def _resolver_service(
    app: web.Application, registry: DriverRegistry | None
) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    if registry is None:
        registry = build_registry(settings, web_driver(settings, app[FETCHER]))
    cache = ResolutionCache(
        max_entries=settings.cache_max_entries,
        stale_if_error=settings.cache_stale_if_error,
    )
    app[RESOLVER] = Resolver(
        drivers=registry,
        cache=cache,
        timeout=settings.resolve_timeout,
        max_document_bytes=settings.max_document_bytes,
    )
    log.info("resolver ready for methods: %s", ", ".join(registry.methods))
    yield


async def health(request: web.Request) -> web.Response:
    """Liveness: the process answers."""
    return web.json_response({"status": "ok", "version": __version__})


async def ready(request: web.Request) -> web.Response:
    """Readiness: the services are up and can take traffic."""
    resolver = request.app.get(RESOLVER)
    if resolver is None or len(resolver.drivers) == 0:
        return web.json_response({"status": "starting"}, status=503)
    return web.json_response({"status": "ready", "methods": resolver.drivers.methods})


def create_app(
    settings: Settings, *, registry: DriverRegistry | None = None
) -> web.Application:
    """Build the application for ``settings``; resources start with it.

    Args:
        settings: The configuration.
        registry: Drivers to use instead of those ``settings`` name (tests).
    """
    app = web.Application(
        middlewares=[error_middleware],
        client_max_size=settings.max_request_body,
    )
    app[SETTINGS] = settings
    app.cleanup_ctx.append(fetcher_ctx)
    app.cleanup_ctx.append(resolver_service(registry))
    routes = ResolverRoutes(
        RESOLVER,
        max_identifier_length=settings.max_did_length,
        cors=settings.cors,
    )
    app.router.add_routes(routes.routes())
    app.router.add_get("/health", health)
    app.router.add_get("/ready", ready)
    return app
