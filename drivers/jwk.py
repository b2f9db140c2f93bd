"""The did:jwk method: a DID that is a base64url-encoded public JWK.

Implements the did:jwk method specification (github.com/quartzjer/did-jwk,
``spec.md`` at commit 44e186c). Read (§ "Read"): the method-specific id is
decoded as strict unpadded base64url, the bytes as UTF-8 JSON holding one
object, the object as a public JWK (``resolver.jwk.validate_public_jwk``); the
document is then a fixed template around that JWK, with one verification method
``#0`` whose ``publicKeyJwk`` is the JWK exactly as the DID carries it (extra
members included; the spec says they appear there and nowhere else).

Verification relationships (§ "To create the DID Document"):

* ``use`` absent: all five relationships;
* ``use: "sig"``: ``assertionMethod``, ``authentication``,
  ``capabilityInvocation``, ``capabilityDelegation``;
* ``use: "enc"``: ``keyAgreement`` only;
* any other ``use``: the DID is refused.

The spec also says Ed25519 is only valid for ``"sig"`` and X25519 only for
``"enc"`` (RFC 8037): a key that cannot sign is never put under a signing
relationship, nor one that cannot agree keys under ``keyAgreement``. So an
X25519 key without ``use`` gets ``keyAgreement`` only, an Ed25519 key without
``use`` gets the four signing relationships, and the contradictions (X25519 with
``"sig"``, Ed25519 with ``"enc"``) are refused rather than resolved to a
document that lists the key under no relationship.

Decoding is bounded: the decoded JWK may be at most ``MAX_JWK_BYTES`` bytes and
nest at most ``MAX_JSON_DEPTH`` levels; duplicate member names, ``NaN`` and
``Infinity``, numbers that overflow a double and unpaired surrogates are
refused, so every accepted document renders as valid I-JSON (RFC 7493).

The method has no update, deactivate or history: a document is a pure function
of its DID, so results carry ``ttl=None`` (cache forever). This module does no
I/O; ``JwkDriver.resolve`` only wraps ``build_document``. It does not
dereference DID URLs (``#0`` is resolved from the document by the Resolver).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import rfc8785

from resolver import strictjson
from resolver.did import DID
from resolver.errors import (
    InvalidDIDError,
    InvalidPublicKeyError,
)
from resolver.jwk import validate_public_jwk
from resolver.models import JSONObject, ResolutionOptions, ResolutionResult
from resolver.multibase import b64url_decode, b64url_encode

__all__ = [
    "CONTEXT",
    "MAX_JSON_DEPTH",
    "MAX_JWK_BYTES",
    "JwkDriver",
    "build_document",
    "encode_did_jwk",
]

CONTEXT: Final = (
    "https://www.w3.org/ns/did/v1",
    "https://w3id.org/security/suites/jws-2020/v1",
)
"""The document's ``@context``, as the spec's template gives it."""

MAX_JWK_BYTES: Final = 4096
"""Largest decoded JWK accepted, in bytes. An 8192-bit RSA JWK, the largest key
``resolver.jwk`` accepts, is about 1,400 bytes of JSON."""

MAX_JSON_DEPTH: Final = 16
"""Deepest nesting of arrays and objects accepted in the JWK (the JWK object
itself is level 1; ``key_ops`` makes 2). Bounds the JSON parser's recursion."""

# Longest method-specific id that can decode to MAX_JWK_BYTES: checked before
# decoding so an oversized id costs nothing.
_MAX_ID_CHARS: Final = -(-MAX_JWK_BYTES * 4 // 3)

_SIGNING: Final = (
    "assertionMethod",
    "authentication",
    "capabilityInvocation",
    "capabilityDelegation",
)
_AGREEMENT: Final = ("keyAgreement",)

# What each use allows, and what each curve can do (RFC 8037 §3.1, §3.2).
_USES: Final = {"sig": _SIGNING, "enc": _AGREEMENT}
_CURVE_USES: Final = {"Ed25519": "sig", "X25519": "enc"}

# RFC 8037 Appendix A.1's Ed25519 public key with use "sig", JCS-serialized; the
# unit tests re-derive it from the RFC's private key.
_ED25519_EXAMPLE: Final = (
    "did:jwk:eyJjcnYiOiJFZDI1NTE5Iiwia3R5IjoiT0tQIiwidXNlIjoic2lnIiwieCI6IjExcVlB"
    "WUt4Q3JmVlNfN1R5V1FIT2c3aGN2UGFwaU1scndJYWFQY0hVUm8ifQ"
)


def build_document(did: DID) -> JSONObject:
    """Build the DID document of a did:jwk DID (spec § "Read").

    Args:
        did: A syntactically valid DID whose method is ``jwk``.

    Returns:
        A fresh DID document; ``verificationMethod[0].publicKeyJwk`` is the JWK
        as decoded from the DID, members and order unchanged.

    Raises:
        InvalidDIDError: the DID is not did:jwk, its method-specific id is not
            strict base64url, too long, not UTF-8, not JSON, not a JSON object,
            nested too deep, or has a duplicate member, a non-finite number or
            an unpaired surrogate.
        InvalidPublicKeyError: the JWK is not a supported public key (see
            ``resolver.jwk.validate_public_jwk``, whose subclasses it raises), or
            its ``use`` is not ``"sig"``/``"enc"`` or contradicts its curve.
    """
    if did.method != "jwk":
        raise InvalidDIDError(f"not a did:jwk DID: method is {did.method!r}")
    jwk = _decode_jwk(did.method_specific_id)
    key = validate_public_jwk(jwk)
    relationships = _relationships(jwk.get("use"), key.crv)
    vm_id = f"{did}#0"
    document: JSONObject = {
        "@context": list(CONTEXT),
        "id": str(did),
        "verificationMethod": [
            {
                "id": vm_id,
                "type": "JsonWebKey2020",
                "controller": str(did),
                "publicKeyJwk": jwk,
            }
        ],
    }
    for relationship in relationships:
        document[relationship] = [vm_id]
    return document


def encode_did_jwk(jwk: Mapping[str, Any]) -> DID:
    """Create a did:jwk from a public JWK (spec § "Create").

    The JWK is serialized with JCS (RFC 8785), which the spec allows and which
    makes the DID a function of the key's members alone.

    Raises:
        InvalidPublicKeyError: ``jwk`` is not a supported public key, or its
            ``use`` is not one the DID could be resolved with (same rules as
            ``build_document``).
        InvalidDIDError: the serialized JWK is over ``MAX_JWK_BYTES``.
    """
    key = validate_public_jwk(jwk)
    _relationships(jwk.get("use"), key.crv)
    try:
        data = rfc8785.dumps(dict(jwk))
    except rfc8785.CanonicalizationError as err:
        raise InvalidPublicKeyError(
            f"JWK cannot be serialized as JSON: {err}"
        ) from None
    if len(data) > MAX_JWK_BYTES:
        raise InvalidDIDError(
            f"JWK is {len(data)} bytes, over the limit of {MAX_JWK_BYTES}"
        )
    return DID("did:jwk:" + b64url_encode(data))


class JwkDriver:
    """Resolves did:jwk DIDs (a ``resolver.driver.Driver``); stateless, no I/O."""

    name: str
    methods: frozenset[str]
    options: frozenset[str]
    example_dids: tuple[str, ...]
    traits: dict[str, bool]

    def __init__(self) -> None:
        self.name = "did-jwk"
        self.methods = frozenset({"jwk"})
        self.options = frozenset()
        # The spec's two examples (P-256 without use, X25519 with "enc") and an
        # Ed25519 key with "sig": one DID per relationship rule.
        self.example_dids = (
            "did:jwk:eyJjcnYiOiJQLTI1NiIsImt0eSI6IkVDIiwieCI6ImFjYklRaXVNczNpOF91c3pF"
            "akoydHBUdFJNNEVVM3l6OTFQSDZDZEgyVjAiLCJ5IjoiX0tjeUxqOXZXTXB0bm1LdG00Nkdx"
            "RHo4d2Y3NEk1TEtncmwyR3pIM25TRSJ9",
            "did:jwk:eyJrdHkiOiJPS1AiLCJjcnYiOiJYMjU1MTkiLCJ1c2UiOiJlbmMiLCJ4IjoiM3A3"
            "YmZYdDl3YlRUVzJIQzdPUTFOei1EUThoYmVHZE5yZngtRkctSUswOCJ9",
            _ED25519_EXAMPLE,
        )
        # An immutable method: nothing to update, deactivate, list or look back on.
        self.traits = {
            "updateable": False,
            "deactivatable": False,
            "deletable": False,
            "enumerable": False,
            "historyAvailable": False,
            "humanReadable": False,
        }

    async def resolve(self, did: DID, options: ResolutionOptions) -> ResolutionResult:
        """Resolve ``did``; ``options`` are not used (did:jwk has none).

        Raises:
            InvalidDIDError: see ``build_document``; ``InvalidPublicKeyError``
                and its subclasses are among them.
        """
        return ResolutionResult(document=build_document(did), ttl=None)


def _relationships(use: object, crv: str | None) -> tuple[str, ...]:
    """The verification relationships for a JWK's ``use`` and curve."""
    if use is not None and use not in _USES:
        shown = repr(use) if len(repr(use)) <= 34 else repr(use)[:32] + "…"
        raise InvalidPublicKeyError(f"JWK use {shown} is neither 'sig' nor 'enc'")
    only = _CURVE_USES.get(crv or "")
    if only is not None and use is not None and use != only:
        raise InvalidPublicKeyError(
            f"a {crv} key cannot have use {use!r}, only {only!r}"
        )
    effective = use if use is not None else only
    if effective is None:
        return _SIGNING + _AGREEMENT
    return _USES[str(effective)]


def _decode_jwk(method_specific_id: str) -> JSONObject:
    """Decode the method-specific id into the JWK's JSON object (spec § "Read" 1-3)."""
    if len(method_specific_id) > _MAX_ID_CHARS:
        raise InvalidDIDError(
            f"method-specific id is {len(method_specific_id)} characters, "
            f"over the limit of {_MAX_ID_CHARS}"
        )
    try:
        data = b64url_decode(method_specific_id)
    except ValueError as err:
        raise InvalidDIDError(f"method-specific id is not base64url: {err}") from None
    if len(data) > MAX_JWK_BYTES:
        raise InvalidDIDError(
            f"JWK is {len(data)} bytes, over the limit of {MAX_JWK_BYTES}"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InvalidDIDError(
            f"JWK is not UTF-8: invalid byte at {err.start}"
        ) from None
    if strictjson.nests_deeper_than(text, MAX_JSON_DEPTH):
        raise InvalidDIDError(f"JWK nests deeper than {MAX_JSON_DEPTH} levels")
    try:
        value = strictjson.loads(text)
    except strictjson.DuplicateMemberError as err:
        raise InvalidDIDError(f"JWK has duplicate member {err.name!r}") from None
    except ValueError as err:  # JSONDecodeError, and the hooks' refusals
        raise InvalidDIDError(f"JWK is not valid JSON: {err}") from None
    if not isinstance(value, dict):
        raise InvalidDIDError("JWK must be a JSON object")
    return value  # lone surrogates were refused by the strict parser
