"""Errors of credential verification, ordered by what a caller can do.

::

    DidTrustError                      (resolver.errors)
    └── VerificationError              the credential cannot be checked as given
        ├── MalformedCredentialError   not a credential: bad JSON, missing members,
        │                              too large or too deep (HTTP 400)
        ├── JsonLdError                JSON-LD expansion/canonicalization failed
        │   └── UnknownContextError    a context that does not ship with didtrust
        ├── ProofError                 a proof is malformed, unsupported or invalid
        │   ├── UnsupportedCryptosuiteError
        │   └── InvalidSignatureError
        ├── KeyBindingError            the verification method is not the issuer's,
        │                              or not in assertionMethod
        ├── StatusError                a status list could not be fetched or read
        └── VerifierUnavailableError   the verifier is not up yet (try again)

A body that is not a credential at all (not JSON, a duplicate member) is a
``resolver.errors.BadRequestError``, shared with the other packages' routes.

A failed *check* is not an exception in the report: the service turns each
error into a failed check with its message. Exceptions carry no HTTP status.
"""

from __future__ import annotations

from resolver.errors import DidTrustError

__all__ = [
    "InvalidSignatureError",
    "JsonLdError",
    "KeyBindingError",
    "MalformedCredentialError",
    "ProofError",
    "StatusError",
    "UnknownContextError",
    "UnsupportedCryptosuiteError",
    "VerificationError",
    "VerifierUnavailableError",
]


class VerificationError(DidTrustError):
    """Root of every error credential verification raises on purpose."""


class MalformedCredentialError(VerificationError):
    """The input is not a credential this verifier can read."""


class JsonLdError(VerificationError):
    """JSON-LD processing (expansion, canonicalization) failed."""


class UnknownContextError(JsonLdError):
    """A JSON-LD context URL that is not shipped with didtrust (never fetched)."""


class ProofError(VerificationError):
    """A proof is malformed, of an unsupported kind, or does not verify."""


class UnsupportedCryptosuiteError(ProofError):
    """A proof type or cryptosuite this verifier does not implement."""


class InvalidSignatureError(ProofError):
    """The signature does not verify over the credential as given."""


class KeyBindingError(VerificationError):
    """The verification method does not belong to the issuer or its purpose."""


class StatusError(VerificationError):
    """A credential status could not be determined (fetch, proof or decoding)."""


class VerifierUnavailableError(VerificationError):
    """The verifier is not up yet (it starts with the application)."""
