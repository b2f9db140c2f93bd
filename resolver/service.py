"""The Resolver service: cross-cutting resolution policy around the drivers.

What it owns (W3C DID Resolution §4 and §5, DID URL dereferencing):

- DID and DID URL syntax, before any driver sees the input;
- option checking: core options, the driver's declared options, spec-defined
  options it does not offer (``FEATURE_NOT_SUPPORTED``) and unknown ones
  (``INVALID_OPTIONS``);
- per-driver time limits, and wrapping anything a driver raises that is not a
  ``ResolutionError`` in ``DriverError``;
- the document policy every driver is held to: a JSON object whose ``id`` is the
  DID, within a size cap;
- the cache (a ``resolver.cache.Cache``): LRU-bounded, entries kept for the
  driver's ``ttl`` (forever for did:key and did:jwk), single-flight for
  concurrent identical requests,
  ``noCache`` honoured, failures never cached, optional stale-if-error with the
  staleness stated;
- dereferencing of fragments (a verification method or service node) and of
  ``?service=…&relativeRef=…`` (a redirect target).

It renders each document's JSON bytes once, when they enter the cache, so the
HTTP layer can answer a cached DID without serialising anything large. It does
not know about HTTP: statuses and media types are the HTTP layer's business.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import logging
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from types import MappingProxyType
from typing import Any, Final
from urllib.parse import urljoin, urlsplit

from resolver.cache import Admit, Cache, MemoryCache, Source, pack, unpack
from resolver.did import DID, DIDURL, parse_did, parse_did_url
from resolver.driver import Driver, DriverRegistry
from resolver.errors import (
    DriverError,
    FeatureNotSupportedError,
    FetchError,
    InvalidDIDDocumentError,
    InvalidOptionsError,
    NotFoundError,
    ResolutionError,
)
from resolver.models import (
    JSONObject,
    ResolutionOptions,
    ResolutionResult,
    parse_bool_option,
)
from resolver.timefmt import format_time

__all__ = [
    "CORE_OPTIONS",
    "FULL_RESULT_CONTENT_TYPE",
    "UNSUPPORTED_SPEC_OPTIONS",
    "CachedResolution",
    "Dereferenced",
    "Resolution",
    "ResolutionCodec",
    "Resolver",
    "resolution_weight",
]

log = logging.getLogger(__name__)

FULL_RESULT_CONTENT_TYPE = "application/did+ld+json"
"""The representation of the document inside a full resolution result."""

CORE_OPTIONS = frozenset({"accept", "noCache"})
"""Options the Resolver itself understands, for every method."""

UNSUPPORTED_SPEC_OPTIONS = frozenset({"versionId", "versionTime", "expandRelativeUrls"})
"""Options the DID Resolution spec defines that this resolver does not offer."""

_ACCEPT_ONLY = frozenset({"accept"})
_NO_OPTIONS: Final = ResolutionOptions()
"""The options of a plain request (frozen, so one serves every request)."""

_DID_PARAMETERS_UNSUPPORTED = frozenset(
    {"versionId", "versionTime", "hl", "transformKeys"}
)
"""DID parameters (DID Core §3.2.1) that are well defined but not offered."""

_RELATIONSHIPS = (
    "authentication",
    "assertionMethod",
    "keyAgreement",
    "capabilityInvocation",
    "capabilityDelegation",
)


def _now_rfc3339(clock: Callable[[], float]) -> str:
    return format_time(datetime.fromtimestamp(clock(), UTC))


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass(frozen=True, slots=True)
class CachedResolution:
    """One resolved DID, with its rendered bytes, as the cache keeps it."""

    result: ResolutionResult
    driver: str
    retrieved: str
    duration_ms: float
    document_bytes: bytes
    metadata_bytes: bytes
    etag: str
    memo: dict[str, Resolution] = field(default_factory=dict, compare=False)
    """The ``Resolution`` served on cache hits, built once (hot path)."""


_ENTRY_OVERHEAD: Final = 2048
"""Bytes an entry costs beyond its document (the objects around it, the memo)."""


def resolution_weight(entry: CachedResolution) -> int:
    """The memory ``entry`` holds, in bytes, for a cache's byte bound.

    The parsed document is counted object by object (``sys.getsizeof`` over
    the JSON tree: dicts, lists and strings cost several times their JSON
    text), then its rendered bytes and the metadata, plus a fixed overhead.
    Computed once, when the entry is stored (a resolution just ran).
    """
    total = _ENTRY_OVERHEAD + len(entry.document_bytes) + len(entry.metadata_bytes)
    stack: list[Any] = [entry.result.document]
    while stack:
        value = stack.pop()
        total += sys.getsizeof(value)
        if isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return total


class ResolutionCodec:
    """``CachedResolution`` as bytes, for a cache that stores bytes (Redis).

    The document and its metadata travel as the very bytes served, so a node
    that reads an entry serves what the node that stored it rendered.
    """

    def encode(self, value: CachedResolution) -> bytes:
        """The bytes of ``value``."""
        header = {
            "driver": value.driver,
            "retrieved": value.retrieved,
            "duration": value.duration_ms,
            "etag": value.etag,
            "resolutionMetadata": value.result.resolution_metadata,
            "ttl": value.result.ttl,
        }
        return pack(header, value.document_bytes, value.metadata_bytes)

    def decode(self, data: bytes) -> CachedResolution:
        """The ``CachedResolution`` ``encode`` turned into ``data``.

        Raises:
            ValueError: ``data`` is not such an encoding.
        """
        header, (document_bytes, metadata_bytes) = unpack(data)
        result = ResolutionResult(
            document=json.loads(document_bytes),
            document_metadata=json.loads(metadata_bytes),
            resolution_metadata=header["resolutionMetadata"],
            ttl=header["ttl"],
        )
        return CachedResolution(
            result=result,
            driver=header["driver"],
            retrieved=header["retrieved"],
            duration_ms=header["duration"],
            document_bytes=document_bytes,
            metadata_bytes=metadata_bytes,
            etag=header["etag"],
        )


@dataclass(frozen=True, slots=True)
class Resolution:
    """A resolved DID, ready to render.

    ``document_bytes`` and ``metadata_bytes`` are the compact JSON of the
    document and its metadata, rendered once when the DID was resolved.
    """

    did: DID
    result: ResolutionResult
    driver: str
    retrieved: str
    duration_ms: float
    cached: bool
    document_bytes: bytes
    metadata_bytes: bytes
    etag: str
    """A strong validator of the document bytes (quoted, per RFC 9110)."""
    stale_seconds: float | None = None
    """How long past its expiry a stale answer is, when served on error."""
    resolution_metadata_bytes: bytes = b""
    """``resolution_metadata(FULL_RESULT_CONTENT_TYPE)`` as compact JSON."""

    @property
    def document(self) -> JSONObject:
        """The DID document."""
        return self.result.document

    def resolution_metadata(self, content_type: str) -> JSONObject:
        """The ``didResolutionMetadata`` for this answer as ``content_type``."""
        meta: JSONObject = dict(self.result.resolution_metadata)
        meta["contentType"] = content_type
        meta["retrieved"] = self.retrieved
        meta["duration"] = self.duration_ms
        meta["driver"] = self.driver
        meta["cached"] = self.cached
        if self.stale_seconds is not None:
            meta["stale"] = True
            meta["staleSeconds"] = round(self.stale_seconds, 3)
        return meta


@dataclass(frozen=True, slots=True)
class Dereferenced:
    """The outcome of dereferencing a DID URL.

    Exactly one of ``content`` (a node of the document, or the whole document)
    and ``redirect`` (a service endpoint URL) is set.
    """

    resolution: Resolution
    content: JSONObject | None = None
    redirect: str | None = None
    content_metadata: JSONObject = field(default_factory=dict)


class Resolver:
    """Resolves DIDs and dereferences DID URLs through the registered drivers.

    Args:
        drivers: Where to find the driver for each method.
        cache: The resolution cache (default: an in-process ``MemoryCache``
            of 10,000 entries); entries are kept for the driver's ``ttl``.
        timeout: Seconds a driver may take for one resolution.
        max_document_bytes: Largest DID document (compact JSON) accepted.
        clock: Wall clock, for ``retrieved`` timestamps.
    """

    def __init__(
        self,
        *,
        drivers: DriverRegistry,
        cache: Cache[CachedResolution] | None = None,
        timeout: float = 10.0,
        max_document_bytes: int = 1 << 20,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.drivers = drivers
        self.cache: Cache[CachedResolution] = (
            cache if cache is not None else MemoryCache(clock=clock)
        )
        self.timeout = timeout
        self.max_document_bytes = max_document_bytes
        self._clock = clock

    # -- options -----------------------------------------------------------

    def check_options(
        self, driver: Driver, raw: Mapping[str, Any]
    ) -> ResolutionOptions:
        """Check raw resolution options against the core's and ``driver``'s.

        Raises:
            InvalidOptionsError: an option is unknown or its value malformed.
            FeatureNotSupportedError: a spec-defined option this resolver lacks.
        """
        accept: str | None = None
        no_cache = False
        extra: dict[str, Any] = {}
        for name, value in raw.items():
            if name == "accept":
                if not isinstance(value, str):
                    raise InvalidOptionsError(
                        "option 'accept' must be a media type string"
                    )
                accept = value
            elif name == "noCache":
                no_cache = parse_bool_option(name, value)
            elif name in driver.options:
                extra[name] = value
            elif name in UNSUPPORTED_SPEC_OPTIONS:
                raise FeatureNotSupportedError(
                    f"resolution option {name!r} is not supported"
                )
            else:
                method = sorted(driver.methods)[0]
                raise InvalidOptionsError(
                    f"unknown resolution option {name!r} for did:{method}"
                )
        return ResolutionOptions(
            accept=accept, no_cache=no_cache, extra=MappingProxyType(extra)
        )

    # -- resolution --------------------------------------------------------

    async def resolve(
        self,
        did: DID | str,
        raw_options: Mapping[str, Any] | None = None,
        *,
        admit: Admit | None = None,
    ) -> Resolution:
        """Resolve a DID.

        Args:
            did: The DID (validated here if given as a string).
            raw_options: Resolution options as received (query or JSON body).
            admit: Awaited before this call starts a resolution of its own
                (not for a cached answer, nor when joining one in flight);
                what it raises (a rate limit) reaches this caller only.

        Raises:
            ResolutionError: any failure, typed per W3C DID Resolution; a driver's
                unexpected exception or timeout arrives as ``DriverError``.
        """
        did = did if isinstance(did, DID) else parse_did(did)
        driver = self.drivers.get(did.method)
        if not raw_options or raw_options.keys() <= _ACCEPT_ONLY:
            # Hot path: no option that changes the answer, nothing to check
            # beyond ``accept`` (informational for drivers).
            accept = raw_options.get("accept") if raw_options else None
            if accept is not None and not isinstance(accept, str):
                raise InvalidOptionsError("option 'accept' must be a media type string")
            options = (
                _NO_OPTIONS if accept is None else ResolutionOptions(accept=accept)
            )
            key: str = did
        else:
            options = self.check_options(driver, raw_options)
            key = _cache_key(did, options.cache_key(driver.options))

        try:
            lookup = await self.cache.get_or_load(
                key,
                partial(self._fetch, driver, did, options),
                refresh=options.no_cache,
                admit=admit,
            )
        except FetchError as exc:
            stale = await self.cache.get_stale(key)
            if stale is None:
                raise
            old, age = stale
            log.warning("serving stale %s (%.0f s past expiry): %s", did, age, exc)
            return self._resolution(did, old, cached=True, stale_seconds=age)
        entry = lookup.value
        if lookup.source is not Source.HIT:
            return self._resolution(did, entry, cached=lookup.cached)
        hit = entry.memo.get("hit")
        if hit is None or hit.did != did:
            hit = entry.memo["hit"] = self._resolution(did, entry, cached=True)
        return hit

    def _resolution(
        self,
        did: DID,
        entry: CachedResolution,
        *,
        cached: bool,
        stale_seconds: float | None = None,
    ) -> Resolution:
        resolution = Resolution(
            did=did,
            result=entry.result,
            driver=entry.driver,
            retrieved=entry.retrieved,
            duration_ms=entry.duration_ms,
            cached=cached,
            document_bytes=entry.document_bytes,
            metadata_bytes=entry.metadata_bytes,
            etag=entry.etag,
            stale_seconds=stale_seconds,
        )
        meta = _dumps(resolution.resolution_metadata(FULL_RESULT_CONTENT_TYPE))
        return dataclasses.replace(resolution, resolution_metadata_bytes=meta)

    async def _fetch(
        self, driver: Driver, did: DID, options: ResolutionOptions
    ) -> tuple[CachedResolution, float | None]:
        """Resolve through ``driver``; the answer with the TTL to cache it for."""
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.timeout):
                result = await driver.resolve(did, options)
        except ResolutionError:
            raise
        except TimeoutError as exc:
            raise DriverError(
                f"{driver.name} timed out after {self.timeout:g} s"
            ) from exc
        except Exception as exc:
            log.exception("driver %s failed on %s", driver.name, did)
            raise DriverError(f"{driver.name} failed: {type(exc).__name__}") from exc
        duration_ms = round((time.perf_counter() - started) * 1000, 3)
        return self._admit(driver, did, result, duration_ms), result.ttl

    def _admit(
        self, driver: Driver, did: DID, result: ResolutionResult, duration_ms: float
    ) -> CachedResolution:
        """Hold a driver's answer to the document policy and render it once."""
        if not isinstance(result, ResolutionResult):
            raise DriverError(
                f"{driver.name} returned {type(result).__name__}, not a result"
            )
        doc = result.document
        if not isinstance(doc, dict):
            raise InvalidDIDDocumentError("the DID document is not a JSON object")
        if doc.get("id") != did:
            raise InvalidDIDDocumentError(
                f"document id {str(doc.get('id'))[:200]!r} does not match the DID"
            )
        document_bytes = _dumps(doc)
        if len(document_bytes) > self.max_document_bytes:
            raise InvalidDIDDocumentError(
                f"document is {len(document_bytes)} bytes, over the limit of "
                f"{self.max_document_bytes}"
            )
        metadata_bytes = _dumps(result.document_metadata)
        etag = '"' + hashlib.sha256(document_bytes).hexdigest()[:32] + '"'
        return CachedResolution(
            result=result,
            driver=driver.name,
            retrieved=result.resolution_metadata.get("retrieved")
            or _now_rfc3339(self._clock),
            duration_ms=duration_ms,
            document_bytes=document_bytes,
            metadata_bytes=metadata_bytes,
            etag=etag,
        )

    # -- dereferencing -----------------------------------------------------

    async def dereference(
        self,
        url: DIDURL | str,
        raw_options: Mapping[str, Any] | None = None,
        *,
        admit: Admit | None = None,
    ) -> Dereferenced:
        """Dereference a DID URL (DID Resolution §5).

        Supported: a bare DID (the whole document), ``#fragment`` (the node
        with that id), and ``?service=<id>[&relativeRef=<ref>]`` (a redirect
        to the service endpoint). Paths and other DID parameters are
        ``FEATURE_NOT_SUPPORTED``.

        Raises:
            ResolutionError: as for ``resolve``; ``NotFoundError`` when the
                fragment or service is not in the document.
        """
        url = url if isinstance(url, DIDURL) else parse_did_url(url)
        params = url.params()
        if url.path:
            raise FeatureNotSupportedError("DID URL paths are not supported")
        for name in params:
            if name in ("service", "relativeRef"):
                continue
            if name in _DID_PARAMETERS_UNSUPPORTED:
                raise FeatureNotSupportedError(
                    f"DID parameter {name!r} is not supported"
                )
            raise FeatureNotSupportedError(f"unknown DID parameter {name!r}")
        relative_ref = url.relative_ref()
        if relative_ref is not None and "service" not in params:
            raise FeatureNotSupportedError("'relativeRef' needs a 'service' parameter")

        resolution = await self.resolve(url.did, raw_options, admit=admit)
        doc = resolution.document

        if "service" in params:
            service = _find_service(doc, url.did, params["service"])
            endpoint = _service_url(service)
            if relative_ref is not None:
                endpoint = urljoin(endpoint, relative_ref)
            if url.fragment is not None and "#" not in endpoint:
                endpoint += "#" + url.fragment
            if urlsplit(endpoint).scheme not in ("https", "http"):
                raise FeatureNotSupportedError(
                    "only http(s) service endpoints are followed"
                )
            return Dereferenced(resolution=resolution, redirect=endpoint)

        if url.fragment is None:
            return Dereferenced(
                resolution=resolution,
                content=doc,
                content_metadata=resolution.result.document_metadata,
            )
        node = _find_node(doc, url.did, url.fragment)
        content = dict(node)
        if "@context" in doc and "@context" not in content:
            content = {"@context": doc["@context"], **content}
        return Dereferenced(resolution=resolution, content=content)


def _cache_key(did: DID, options: tuple[tuple[str, str], ...]) -> str:
    """The cache key of ``did`` resolved with driver ``options``.

    A string, as a shared cache needs; a space never occurs in a DID.
    """
    if not options:
        return did
    return f"{did} {json.dumps(options, separators=(',', ':'))}"


def _ids_for(did: DID, fragment: str) -> tuple[str, str]:
    return (f"{did}#{fragment}", f"#{fragment}")


def _find_node(doc: JSONObject, did: DID, fragment: str) -> JSONObject:
    wanted = _ids_for(did, fragment)
    candidates: list[Any] = []
    for key in ("verificationMethod", "service"):
        value = doc.get(key)
        if isinstance(value, list):
            candidates.extend(value)
    for rel in _RELATIONSHIPS:
        value = doc.get(rel)
        if isinstance(value, list):
            candidates.extend(v for v in value if isinstance(v, dict))
    for node in candidates:
        if isinstance(node, dict) and node.get("id") in wanted:
            return node
    raise NotFoundError(f"no verification method or service with id '#{fragment}'")


def _find_service(doc: JSONObject, did: DID, service_id: str) -> JSONObject:
    wanted = _ids_for(did, service_id)
    services = doc.get("service")
    if isinstance(services, list):
        for node in services:
            if isinstance(node, dict) and node.get("id") in wanted:
                return node
    raise NotFoundError(f"no service with id '#{service_id}'")


def _service_url(service: JSONObject) -> str:
    endpoint = service.get("serviceEndpoint")
    if isinstance(endpoint, list):
        endpoint = next((e for e in endpoint if isinstance(e, str)), None)
    if not isinstance(endpoint, str):
        raise FeatureNotSupportedError("the service endpoint is not a URL")
    return endpoint
