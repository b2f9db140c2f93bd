"""The did:web driver (W3C CCG "did:web Method Specification", 2024 draft).

``did_to_url`` maps a DID to the HTTPS URL of its document (spec §3.2, "Read"):
the method-specific id's ``:``-separated parts become the host and path, a
percent-encoded ``%3A`` in the host part introduces a port, a bare domain maps
to ``/.well-known/did.json`` and a path to ``/<path>/did.json``. Hosts must be
domain names: IP literals and malformed names are ``INVALID_DID``.

``WebDriver.resolve`` fetches through the hardened ``resolver.fetch.Fetcher``
(the only outbound path), checks the document with
``resolver.document.check_document``, and turns the upstream Cache-Control into
a ``ttl`` within bounds. Deactivation (spec §3.4) is the removal of ``did.json``:
a ``410 Gone`` is the host saying so on purpose and is reported as deactivated;
a ``404`` cannot tell "deactivated" from "never existed" and is ``NOT_FOUND``.

This driver does not cache (the Resolver does), does not verify keys, and does
not implement the did:web create/update operations (they are file uploads).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Final
from urllib.parse import unquote

from resolver.did import DID
from resolver.document import check_document
from resolver.errors import InvalidDIDDocumentError, InvalidDIDError, NotFoundError
from resolver.fetch import (
    FetchBodyError,
    Fetcher,
    FetchStatusError,
    HostNotFoundError,
    is_ip_literal,
    parse_cache_control,
)
from resolver.models import ResolutionOptions, ResolutionResult
from resolver.timefmt import format_time

__all__ = ["ACCEPT", "WebDriver", "did_to_url"]

ACCEPT: Final = (
    "application/did+json, application/did+ld+json;q=0.9, application/json;q=0.8"
)
"""The Accept header sent for a did.json."""
_LABEL: Final = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_PORT_SEP: Final = re.compile("%3A", re.IGNORECASE)
_PORT: Final = re.compile(r"[1-9][0-9]{0,4}")  # no leading zeros: one DID per URL
_UNSAFE_SEGMENT_CHARS: Final = (
    frozenset("/\\?#%") | {chr(c) for c in range(0x20)} | {"\x7f"}
)


def _timestamp(moment: datetime) -> str:
    """DID Core §7.3 style: UTC, seconds precision, ``Z``."""
    return format_time(moment)


def _check_host(host: str, did: DID) -> None:
    """Raise ``InvalidDIDError`` unless ``host`` is a multi-label DNS name."""
    if not host:
        raise InvalidDIDError(f"{did}: the domain is empty")
    if "%" in host:
        raise InvalidDIDError(f"{did}: the domain may hold no percent-encoding but %3A")
    if is_ip_literal(host):
        raise InvalidDIDError(f"{did}: ip-literal hosts are not allowed in did:web")
    labels = host.split(".")
    if len(host) > 253 or len(labels) < 2:
        raise InvalidDIDError(f"{did}: {host!r} is not a fully qualified domain name")
    for label in labels:
        if not _LABEL.fullmatch(label):
            raise InvalidDIDError(f"{did}: domain label {label!r} is malformed")


def did_to_url(did: DID) -> str:
    """Return the HTTPS URL of ``did``'s document (did:web spec §3.2).

    ``did:web:example.com`` → ``https://example.com/.well-known/did.json``;
    ``did:web:example.com%3A8443:u:alice`` → ``https://example.com:8443/u/alice/did.json``.

    Raises:
        InvalidDIDError: not a did:web, the host is an IP literal or not a
            domain name, the port is not 1-65535, or a path segment is empty,
            a dot segment, or encodes a delimiter.
    """
    if did.method != "web":
        raise InvalidDIDError(f"{did} is not a did:web")
    host_part, *segments = did.method_specific_id.split(":")
    host, *ports = _PORT_SEP.split(host_part)
    host = host.lower()
    _check_host(host, did)
    authority = host
    if ports:
        port = ports[0]
        if len(ports) > 1 or not _PORT.fullmatch(port) or int(port) > 65535:
            raise InvalidDIDError(f"{did}: port {'%3A'.join(ports)!r} is not 1-65535")
        authority = f"{host}:{port}"
    for segment in segments:
        decoded = unquote(segment)
        if (
            not segment
            or decoded in (".", "..")
            or _UNSAFE_SEGMENT_CHARS & set(decoded)
        ):
            raise InvalidDIDError(f"{did}: path segment {segment!r} is not allowed")
    path = "/".join(segments) if segments else ".well-known"
    return f"https://{authority}/{path}/did.json"


class WebDriver:
    """Resolves did:web DIDs over HTTPS, through the hardened fetcher.

    ``ttl`` follows the document's Cache-Control (``s-maxage``/``max-age``)
    clamped to ``[min_ttl, max_ttl]``; ``default_ttl`` when there is none; 0
    (never cache) for ``no-store``, ``no-cache``, ``private`` or ``max-age=0``.
    """

    name = "did-web"
    methods = frozenset({"web"})
    options: frozenset[str] = frozenset()
    # A did:web resolves only over the network, so none can run in offline CI.
    example_dids: tuple[str, ...] = ()

    def __init__(
        self,
        fetcher: Fetcher,
        *,
        min_ttl: float = 60,
        max_ttl: float = 3600,
        default_ttl: float = 300,
    ) -> None:
        """Build the driver around the app's fetcher.

        Raises:
            ValueError: the ttl bounds are not ``0 <= min <= default <= max``.
        """
        if not 0 <= min_ttl <= default_ttl <= max_ttl:
            raise ValueError(
                f"need 0 <= min_ttl ({min_ttl}) <= default_ttl ({default_ttl})"
                f" <= max_ttl ({max_ttl})"
            )
        self._fetcher = fetcher
        self._min_ttl = float(min_ttl)
        self._max_ttl = float(max_ttl)
        self._default_ttl = float(default_ttl)
        self.traits: dict[str, bool] = {
            "updateable": True,  # replace did.json
            "deactivatable": True,  # remove did.json (410 Gone)
            "deletable": True,  # same operation: the spec's "Deactivate (Delete)"
            "enumerable": False,
            "historyAvailable": False,
            "humanReadable": True,  # a domain name
        }

    def ttl(self, cache_control: str | None) -> float:
        """Seconds to cache an answer served with this Cache-Control value."""
        seconds = parse_cache_control(cache_control)
        if seconds is None:
            return self._default_ttl
        if seconds == 0:
            return 0.0
        return min(max(seconds, self._min_ttl), self._max_ttl)

    async def resolve(self, did: DID, options: ResolutionOptions) -> ResolutionResult:
        """Fetch and check ``did``'s document.

        Raises:
            InvalidDIDError: the DID does not map to a URL (see ``did_to_url``).
            NotFoundError: http 404, or the domain does not exist.
            InvalidDIDDocumentError: the body is not JSON, or not a valid
                document for ``did`` (e.g. a foreign ``id``).
            FetchRefusedError: the fetch was refused by policy (INTERNAL_ERROR).
            FetchError: timeout, TLS, connection, 5xx or other status, body
                over the cap (INTERNAL_ERROR).
        """
        url = did_to_url(did)
        try:
            fetched = await self._fetcher.get_json(url, accept=ACCEPT)
        except FetchStatusError as e:
            if e.status == 404:
                raise NotFoundError(f"no DID document at {url} (http 404)") from e
            if e.status == 410:
                return ResolutionResult(
                    document={"@context": "https://www.w3.org/ns/did/v1", "id": did},
                    document_metadata={"deactivated": True},
                    resolution_metadata={
                        "retrieved": _timestamp(e.retrieved),
                        "url": e.url,
                    },
                    ttl=self.ttl(e.headers.get("cache-control")),
                )
            raise
        except HostNotFoundError as e:
            raise NotFoundError(f"{did}: {e.detail}") from e
        except FetchBodyError as e:
            raise InvalidDIDDocumentError(f"document at {url}: {e.detail}") from e
        try:
            document = check_document(fetched.data, did)
        except InvalidDIDDocumentError as e:
            raise InvalidDIDDocumentError(
                f"document at {fetched.url}: {e.detail}"
            ) from e
        return ResolutionResult(
            document=document,
            resolution_metadata={
                "retrieved": _timestamp(fetched.retrieved),
                "url": fetched.url,
            },
            ttl=self.ttl(fetched.headers.get("cache-control")),
        )
