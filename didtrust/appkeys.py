"""The one home for the application's typed keys (aiohttp ``AppKey``).

Keys compare by identity, so every module that reaches into the application
imports them from here.
"""

from __future__ import annotations

from aiohttp import web

from didtrust.observability import Metrics
from didtrust.settings import Settings
from registry.service import RegistryService
from resolver.fetch import Fetcher
from resolver.service import Resolver
from verifier.service import CredentialVerifier

__all__ = ["FETCHER", "METRICS", "REGISTRY", "RESOLVER", "SETTINGS", "VERIFIER"]

SETTINGS = web.AppKey("settings", Settings)
"""The settings the application was built with."""
RESOLVER = web.AppKey("resolver", Resolver)
"""The Resolver service, set by the app's services cleanup context."""
FETCHER = web.AppKey("fetcher", Fetcher)
"""The hardened outbound fetcher (did:web documents, status lists)."""
REGISTRY = web.AppKey("registry", RegistryService)
"""The registry service; absent until ``didtrust registry init`` has been run."""
VERIFIER = web.AppKey("verifier", CredentialVerifier)
"""The credential verifier (uses the resolver, the registry and the fetcher)."""
METRICS = web.AppKey("metrics", Metrics)
"""The app's Prometheus metrics (``didtrust.observability``)."""
