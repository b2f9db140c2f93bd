"""Builds the services from Settings, the same way for the server and the CLI.

One place says how the fetcher, the resolver with its drivers and cache, the
registry service and the credential verifier (with its status checker) are
made from :class:`~didtrust.settings.Settings`: the app factory
(``didtrust.app``) and the commands that run the services in-process
(``didtrust verify``, ``didtrust resolve``, ``didtrust registry verify``) all
call it, so a setting honoured by one is honoured by all.

What this does not do: routes, middleware, rate limits (``didtrust.app``), or
the registry's own commands (``didtrust.registry_cli``).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from didtrust.plugins import build_registry
from didtrust.settings import Settings
from drivers.web import WebDriver
from registry.identity import load_key_file
from registry.service import RegistryService
from resolver.cache import MemoryCache
from resolver.did import DID
from resolver.driver import DriverRegistry
from resolver.errors import NotFoundError
from resolver.fetch import Fetcher
from resolver.service import Resolver, resolution_weight
from verifier.service import CredentialVerifier
from verifier.status import StatusChecker

__all__ = [
    "Services",
    "build_resolver",
    "build_verifier",
    "document_resolver",
    "open_registry",
    "open_resolver",
    "open_services",
    "web_driver",
]

Clock = Callable[[], float]
"""A wall clock, seconds since the epoch."""


@dataclass(frozen=True, slots=True)
class Services:
    """What :func:`open_services` built; valid until its block exits."""

    fetcher: Fetcher
    resolver: Resolver
    registry: RegistryService | None
    """``None`` until ``didtrust registry init`` has been run."""
    verifier: CredentialVerifier


def web_driver(settings: Settings, fetcher: Fetcher) -> WebDriver:
    """The did:web driver for ``settings``."""
    return WebDriver(
        fetcher,
        min_ttl=settings.web_min_ttl,
        max_ttl=settings.web_max_ttl,
        default_ttl=settings.web_default_ttl,
    )


def build_resolver(settings: Settings, drivers: DriverRegistry) -> Resolver:
    """The Resolver over ``drivers``, with the cache and limits of ``settings``."""
    return Resolver(
        drivers=drivers,
        cache=MemoryCache(
            max_entries=settings.cache_max_entries,
            max_bytes=settings.cache_max_bytes,
            weigh=resolution_weight,
            stale_if_error=settings.cache_stale_if_error,
        ),
        timeout=settings.resolve_timeout,
        max_document_bytes=settings.max_document_bytes,
    )


def document_resolver(resolver: Resolver) -> Callable[[DID], Awaitable[dict[str, Any]]]:
    """Resolve a DID to the document whose keys may sign (for statements, proofs).

    A deactivated DID's keys sign nothing any more (DID Core §7.1.2), even if
    its driver still returns the last document.
    """

    async def resolve(did: DID) -> dict[str, Any]:
        resolution = await resolver.resolve(did)
        if resolution.result.deactivated:
            raise NotFoundError(f"{did} is deactivated")
        return resolution.document

    return resolve


def build_verifier(
    resolver: Resolver,
    fetcher: Fetcher,
    registry: RegistryService | None,
    *,
    clock: Clock = time.time,
) -> CredentialVerifier:
    """A credential verifier over the resolver, the fetcher and the registry."""
    verifier = CredentialVerifier(
        resolve=document_resolver(resolver), trust=registry, clock=clock
    )
    verifier.use_status(StatusChecker(fetcher, verifier.check_secured, clock=clock))
    return verifier


@asynccontextmanager
async def open_resolver(
    settings: Settings, *, offline: bool = False
) -> AsyncIterator[Resolver]:
    """A Resolver for one command; ``offline`` leaves did:web (and any fetch) out.

    Raises:
        SettingsError: a plugin driver cannot be loaded.
    """
    if offline:
        yield build_resolver(settings, build_registry(settings))
        return
    async with Fetcher.open(settings.fetch_policy()) as fetcher:
        yield build_resolver(
            settings, build_registry(settings, web_driver(settings, fetcher))
        )


@asynccontextmanager
async def open_registry(
    settings: Settings, resolver: Resolver, *, clock: Clock = time.time
) -> AsyncIterator[RegistryService | None]:
    """Open the registry's store and start its service, if it was initialised.

    Yields ``None`` when there is no registry key file (``didtrust registry
    init`` was not run). On exit the service stops, then the store closes.
    """
    if not settings.registry_key_file.exists():
        yield None
        return
    identity = load_key_file(settings.registry_key_file)
    # The one place the services open the registry store: the backend is the
    # one DIDTRUST_DATABASE_URL names (registry.database, ADR 0008).
    store = await settings.database().open()
    try:
        service = RegistryService(
            store=store,
            identity=identity,
            resolve=document_resolver(resolver),
            clock=clock,
            max_batch=settings.registry_max_batch,
            max_skew=timedelta(seconds=settings.registry_max_skew),
            max_age=timedelta(seconds=settings.registry_max_age),
            answer_ttl=timedelta(seconds=settings.registry_answer_ttl),
        )
        try:
            await service.start()
            yield service
        finally:
            await service.stop()
    finally:
        await store.close()


@asynccontextmanager
async def open_services(
    settings: Settings,
    *,
    drivers: DriverRegistry | None = None,
    clock: Clock = time.time,
) -> AsyncIterator[Services]:
    """Build every service ``settings`` describe; close them in reverse order.

    Args:
        settings: The configuration.
        drivers: Drivers to use instead of those ``settings`` name (tests).
        clock: The registry's and the verifier's wall clock.

    Raises:
        SettingsError: a plugin driver cannot be loaded.
        StorageError: the registry store cannot be opened.
    """
    async with AsyncExitStack() as stack:
        fetcher = await stack.enter_async_context(Fetcher.open(settings.fetch_policy()))
        if drivers is None:
            drivers = build_registry(settings, web_driver(settings, fetcher))
        resolver = build_resolver(settings, drivers)
        registry = await stack.enter_async_context(
            open_registry(settings, resolver, clock=clock)
        )
        verifier = build_verifier(resolver, fetcher, registry, clock=clock)
        yield Services(fetcher, resolver, registry, verifier)
