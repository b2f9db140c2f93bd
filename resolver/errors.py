"""The project's exception tree, ordered by what a caller can do about each error.

Resolution errors carry the W3C DID Resolution error type (``error_type``) that
is rendered as ``https://www.w3.org/ns/did#<error_type>`` in RFC 9457 problem
details. They carry no HTTP status: the composition root owns the one table that
maps them to statuses (W3C DID Resolution, HTTP(S) binding).

::

    DidTrustError
    ├── BadRequestError              a request is malformed before any service runs:
    │   │                            not JSON, a duplicate member, a bad parameter
    │   └── UnsupportedMediaTypeError    the body's media type is not one it reads
    └── ResolutionError              .error_type (W3C: "INVALID_DID", …)
        ├── InvalidDIDError          (also ValueError, for pydantic validators)
        │   └── InvalidPublicKeyError    did:key/did:jwk key material is wrong
        │       ├── InvalidPublicKeyLengthError
        │       └── UnsupportedPublicKeyTypeError
        ├── InvalidDIDURLError       (also ValueError)
        ├── InvalidOptionsError
        ├── MethodNotSupportedError
        ├── FeatureNotSupportedError
        ├── NotFoundError
        ├── RepresentationNotSupportedError
        ├── InvalidDIDDocumentError
        ├── FetchError               outbound HTTP failed (INTERNAL_ERROR)
        │   └── FetchRefusedError    refused by policy (private address, …)
        └── DriverError              a driver crashed or timed out; has __cause__

The registry's and the verifier's trees (``registry.errors``,
``verifier.errors``) hang from ``DidTrustError`` too.

This module does not decide HTTP statuses, log, or format anything for users:
``didtrust.problems`` maps every error to its status and problem document.
"""

from __future__ import annotations

__all__ = [
    "BadRequestError",
    "DidTrustError",
    "DriverError",
    "FeatureNotSupportedError",
    "FetchError",
    "FetchRefusedError",
    "InvalidDIDDocumentError",
    "InvalidDIDError",
    "InvalidDIDURLError",
    "InvalidOptionsError",
    "InvalidPublicKeyError",
    "InvalidPublicKeyLengthError",
    "MethodNotSupportedError",
    "NotFoundError",
    "RepresentationNotSupportedError",
    "ResolutionError",
    "UnsupportedMediaTypeError",
    "UnsupportedPublicKeyTypeError",
]

DID_ERROR_NS = "https://www.w3.org/ns/did#"
"""Namespace of the W3C DID Resolution error type URIs."""


class DidTrustError(Exception):
    """Root of every error the project raises on purpose."""


class BadRequestError(DidTrustError):
    """A request to a route is malformed: the service was not asked anything.

    The body is not JSON (or repeats a member), a query parameter is missing or
    out of range, a body is not a credential at all. Shared by every package's
    routes, so that one row of the status table renders them all.
    """


class UnsupportedMediaTypeError(BadRequestError):
    """The request body's media type is not one the route reads."""


class ResolutionError(DidTrustError):
    """Resolving a DID or dereferencing a DID URL failed.

    Attributes:
        error_type: The W3C DID Resolution error name, e.g. ``"INVALID_DID"``.
        title: A short, fixed, human-readable summary of the error type.
        detail: What exactly went wrong (the exception message).
    """

    error_type: str = "INTERNAL_ERROR"
    title: str = "internal error"

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title

    @property
    def type_uri(self) -> str:
        """The RFC 9457 ``type`` member: the error's URI in the DID namespace."""
        return DID_ERROR_NS + self.error_type


class InvalidDIDError(ResolutionError, ValueError):
    """The DID does not conform to the DID syntax or to its method's rules."""

    error_type = "INVALID_DID"
    title = "invalid DID"


class InvalidPublicKeyError(InvalidDIDError):
    """The key material carried in the DID is not a valid public key."""

    error_type = "INVALID_PUBLIC_KEY"
    title = "invalid public key"


class InvalidPublicKeyLengthError(InvalidPublicKeyError):
    """The key material has the wrong length for its declared key type."""

    error_type = "INVALID_PUBLIC_KEY_LENGTH"
    title = "invalid public key length"


class UnsupportedPublicKeyTypeError(InvalidPublicKeyError):
    """The key type (multicodec, JWK kty/crv) is not one this resolver knows."""

    error_type = "UNSUPPORTED_PUBLIC_KEY_TYPE"
    title = "unsupported public key type"


class InvalidDIDURLError(ResolutionError, ValueError):
    """The DID URL does not conform to the DID URL syntax."""

    error_type = "INVALID_DID_URL"
    title = "invalid DID URL"


class InvalidOptionsError(ResolutionError):
    """A resolution or dereferencing option is malformed or contradictory."""

    error_type = "INVALID_OPTIONS"
    title = "invalid options"


class MethodNotSupportedError(ResolutionError):
    """No driver is registered for the DID method."""

    error_type = "METHOD_NOT_SUPPORTED"
    title = "method not supported"


class FeatureNotSupportedError(ResolutionError):
    """A well-formed option or DID URL feature that this resolver does not offer."""

    error_type = "FEATURE_NOT_SUPPORTED"
    title = "feature not supported"


class NotFoundError(ResolutionError):
    """The DID, or the resource a DID URL names, does not exist."""

    error_type = "NOT_FOUND"
    title = "not found"


class RepresentationNotSupportedError(ResolutionError):
    """The requested media type cannot be produced."""

    error_type = "REPRESENTATION_NOT_SUPPORTED"
    title = "representation not supported"


class InvalidDIDDocumentError(ResolutionError):
    """The DID document obtained for the DID is malformed or does not belong to it."""

    error_type = "INVALID_DID_DOCUMENT"
    title = "invalid DID document"


class FetchError(ResolutionError):
    """An outbound fetch failed: timeout, TLS, connection, oversized or bad body."""

    error_type = "INTERNAL_ERROR"
    title = "fetch failed"


class FetchRefusedError(FetchError):
    """An outbound fetch was refused by policy before any byte was sent.

    Attributes:
        reason: A short machine-readable reason, e.g. ``"private-address"``.
    """

    title = "fetch refused"

    def __init__(self, detail: str, *, reason: str) -> None:
        super().__init__(detail)
        self.reason = reason


class DriverError(ResolutionError):
    """A driver failed in a way it did not report as a resolution error.

    Always raised ``from`` the original exception, so ``__cause__`` is set.
    """

    error_type = "INTERNAL_ERROR"
    title = "driver error"
