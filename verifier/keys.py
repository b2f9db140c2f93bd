"""Issuer keys: find a verification method in a DID document and load its key.

Every proof suite of the verifier (VC-JOSE/JWT, Data Integrity) names the key
that signed a credential by a DID URL and must then answer the same two
questions before it checks a signature:

1. ``find_verification_method``: is this DID URL a verification method of the
   issuer's DID document (W3C DID Core 1.0 §5.2), referenced from the
   verification relationship the proof claims (§5.3; ``assertionMethod`` for
   credentials, VC Data Model 2.0 §4.12 and VC-JOSE-COSE §4.3), and controlled
   by the issuer itself? A method defined twice, a key listed only under
   ``keyAgreement`` or a method whose ``controller`` is another DID is refused.
2. ``public_key_of``: what public key does the method hold, and may it sign
   (a JWK's ``use``/``key_ops``)? The supported method types are those of
   ``resolver.jose`` (``Multikey``, ``Ed25519VerificationKey2020``,
   ``JsonWebKey``, ``JsonWebKey2020``).

Both are ``resolver.jose.find_method`` and ``method_key``, shared with the
registry's statements; this module adds the key id parsing, the issuer check
and the verifier's error, ``KeyBindingError``. ``key_curve`` and the method
type sets are ``resolver.jose``'s, re-exported.

This module is pure: it does not resolve DIDs (the caller passes the resolved
document), verify signatures, or decide which algorithm a suite accepts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from resolver.did import DIDURL, parse_did_url
from resolver.document import VERIFICATION_RELATIONSHIPS
from resolver.errors import ResolutionError
from resolver.jose import (
    JWK_METHOD_TYPES,
    MULTIBASE_METHOD_TYPES,
    SigningPublicKey,
    check_jwk_use,
    find_method,
    key_curve,
    method_key,
)
from resolver.jose import show as _show
from verifier.errors import KeyBindingError

__all__ = [
    "JWK_METHOD_TYPES",
    "MULTIBASE_METHOD_TYPES",
    "SigningPublicKey",
    "find_verification_method",
    "key_curve",
    "parse_key_id",
    "public_key_of",
]


def parse_key_id(text: object) -> DIDURL:
    """Parse an absolute key id: a DID and a ``#fragment``, no path or query.

    Raises:
        KeyBindingError: ``text`` is not a string of that form.
    """
    if not isinstance(text, str):
        raise KeyBindingError("a key id must be a string")
    try:
        url = parse_did_url(text)
    except ResolutionError as err:
        raise KeyBindingError(f"key id is not a did url: {err}") from None
    if url.path or url.query is not None or not url.fragment:
        raise KeyBindingError(
            f"key id {_show(text)} must be a did and a #fragment, without path or query"
        )
    return url


def find_verification_method(
    did_document: Mapping[str, Any],
    kid: str | DIDURL,
    purpose: str = "assertionMethod",
    *,
    issuer: str | None = None,
) -> dict[str, Any]:
    """Find the verification method ``kid`` names and check it may be used.

    Checks, in order: (1) ``kid`` is ``<did>#<fragment>``; (2) if ``issuer``
    is given, ``kid``'s DID is the issuer; (3) the document is the one of
    ``kid``'s DID; (4) exactly one method with that id is defined, in
    ``verificationMethod`` or embedded in a relationship (ids may be absolute
    or ``#fragment``); (5) it is referenced from ``purpose``; (6) its
    ``controller`` is the document's DID.

    Args:
        did_document: The resolved DID document of ``kid``'s DID.
        kid: The absolute DID URL of the method (``<did>#<fragment>``).
        purpose: The verification relationship the proof claims.
        issuer: The credential's issuer, when the caller already knows it.

    Returns:
        A shallow copy of the method with its ``id`` made absolute, ready for
        ``public_key_of``.

    Raises:
        KeyBindingError: ``kid`` is not a DID URL with a fragment; its DID is
            not ``issuer``; the document is not ``kid``'s DID's; ``kid`` names
            no method or several; the method is not referenced from
            ``purpose`` (the message says where it is); or its controller is
            another DID.
        ValueError: ``purpose`` is not a verification relationship of DID Core
            (a programming error).
    """
    if purpose not in VERIFICATION_RELATIONSHIPS:
        raise ValueError(f"{purpose!r} is not a verification relationship")
    url = kid if isinstance(kid, DIDURL) else parse_key_id(kid)
    if url.path or url.query is not None or not url.fragment:
        raise KeyBindingError(f"key id {url} must be a did and a #fragment")
    if issuer is not None and issuer != url.did:
        raise KeyBindingError(f"key {url} is a key of {url.did}, not of the issuer")
    return find_method(did_document, url, (purpose,), KeyBindingError)


def public_key_of(vm: Mapping[str, Any]) -> SigningPublicKey:
    """Load the public key of a verification method (see the module table).

    A ``publicKeyJwk`` that declares ``use`` must say ``"sig"``, and one that
    declares ``key_ops`` must include ``"verify"`` (RFC 7517 §4.2, §4.3). Its
    ``alg``, if any, is the suite's to compare with its own algorithm.

    Raises:
        KeyBindingError: the method is not an object; its type is missing or
            not supported; it holds no key material, both kinds, or the kind
            its type does not use; the key is invalid (off its curve, a
            private JWK, bad encoding), cannot sign (X25519) or is of an
            unsupported type (BLS12-381); or the JWK restricts itself to
            another use.
    """
    key, jwk = method_key(vm, KeyBindingError)
    if jwk is not None:
        check_jwk_use(jwk, KeyBindingError)
    return key
