"""Values that flow through resolution: options in, results out (W3C DID Resolution).

Results hold the DID document as a plain JSON mapping rather than a pydantic
model: a resolver must pass through every property a method puts in a document
(DID Core's extensibility), and the hot path renders cached bytes, so a model
would only be built to be thrown away. Documents fetched from the network are
checked by ``resolver.document.check_document`` instead.

This module does no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

from resolver.errors import InvalidOptionsError

__all__ = [
    "DID_DOCUMENT_TYPES",
    "DID_RESOLUTION",
    "DID_RESOLUTION_LEGACY",
    "DID_URL_DEREFERENCING",
    "JSONObject",
    "ResolutionOptions",
    "ResolutionResult",
    "parse_bool_option",
]

JSONObject = dict[str, Any]
"""A JSON object as decoded by ``json.loads``."""

DID_RESOLUTION: Final = "application/did-resolution"
"""Media type of a full DID resolution result."""
DID_RESOLUTION_LEGACY: Final = (
    'application/ld+json;profile="https://w3id.org/did-resolution"'
)
"""The Universal Resolver's older media type for a full resolution result."""
DID_URL_DEREFERENCING: Final = "application/did-url-dereferencing"
"""Media type of a DID URL dereferencing result."""
DID_DOCUMENT_TYPES: Final = (
    "application/did+ld+json",
    "application/did+json",
    "application/did",
)
"""Media types that ask for the DID document alone."""


def parse_bool_option(name: str, value: Any) -> bool:
    """Read a boolean resolution option given as JSON or as a query string.

    Raises:
        InvalidOptionsError: the value is neither a boolean nor "true"/"false".
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise InvalidOptionsError(f"option {name!r} must be true or false, not {value!r}")


@dataclass(frozen=True, slots=True)
class ResolutionOptions:
    """Resolution options (DID Resolution §4.1), already checked by the Resolver.

    ``extra`` holds the method-specific options a driver declared, e.g. did:key's
    ``publicKeyFormat``, with the values as given (strings from a query string,
    JSON values from a POST body).
    """

    accept: str | None = None
    """The requested representation, if any (informational for drivers)."""
    no_cache: bool = False
    """Bypass every cache for this request (``noCache``)."""
    extra: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    """Method-specific options, by their wire names."""

    def get(self, name: str, default: Any = None) -> Any:
        """Return a method-specific option by its wire name."""
        return self.extra.get(name, default)

    def cache_key(self, relevant: frozenset[str]) -> tuple[tuple[str, str], ...]:
        """The options that change a driver's answer, in a hashable, stable form."""
        return tuple(
            sorted((k, str(v)) for k, v in self.extra.items() if k in relevant)
        )


@dataclass(frozen=True, slots=True)
class ResolutionResult:
    """What a driver returns for a DID it resolved.

    The Resolver adds ``contentType``, ``retrieved``, ``duration`` and the driver
    name to the resolution metadata when it renders the answer.
    """

    document: JSONObject
    """The DID document, a JSON object whose ``id`` is the resolved DID."""
    document_metadata: JSONObject = field(default_factory=dict)
    """DID document metadata (``created``, ``deactivated``, …)."""
    resolution_metadata: JSONObject = field(default_factory=dict)
    """Driver-specific resolution metadata, merged into the rendered answer."""
    ttl: float | None = None
    """Seconds this answer may be cached: ``None`` means forever (the document
    is a pure function of the DID and options), ``0`` means not at all."""

    @property
    def deactivated(self) -> bool:
        """True when the document metadata says the DID is deactivated."""
        return self.document_metadata.get("deactivated") is True
