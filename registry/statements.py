"""Statements: compact JWS signed by a registry authority (RFC 7515, RFC 8725).

A statement is a JWS Compact Serialization whose protected header is exactly
``{"alg", "kid", "typ"}`` and whose payload is the JSON of a
``registry.models.StatementClaims``:

- ``alg`` is one of ``EdDSA`` (Ed25519 only, RFC 8037), ``ES256`` (P-256),
  ``ES384`` (P-384, both RFC 7518 §3.4) or ``ES256K`` (secp256k1, RFC 8812),
  and must match the key's type and curve exactly. ``none``, HMAC, RSA and
  anything else are refused before a key is even looked up (RFC 8725 §3.1,
  §3.2): an ``HS256`` statement whose "secret" is the authority's public key
  never reaches a verifier.
- ``kid`` is a DID URL ``<did>#<fragment>`` naming a verification method of
  the authority; its DID must be the payload's ``iss``.
- ``typ`` is ``didtrust-statement+jwt`` (explicit typing, RFC 8725 §3.11),
  compared exactly.
- Any other header member is refused: ``crit`` (nothing here is critical),
  ``jwk``/``jku``/``x5u``/``x5c`` (a key the signer ships with its own
  signature proves nothing), ``b64`` (RFC 7797's unencoded payloads), ``cty``
  and unknown names. Duplicate member names are refused too (RFC 7515 §4
  leaves them to the parser; two parsers can pick different ones).
- The whole JWS is at most ``MAX_JWS_BYTES``; every segment is strict,
  unpadded, canonical base64url.

Verification (``verify_statement``) is pure: given the JWS and the DID
document of the kid's DID (resolved by the caller, e.g. the registry service
with its ``Resolver``), it finds the verification method, checks it is
referenced from ``assertionMethod`` or ``capabilityInvocation`` and controlled
by the kid's DID, loads its key (``publicKeyJwk`` through
``resolver.jwk.validate_public_jwk``; ``publicKeyMultibase`` of a ``Multikey``
or ``Ed25519VerificationKey2020`` through ``resolver.keys.decode_multikey``),
checks ``alg`` against the key, verifies the signature over the exact bytes
with joserfc, and only then parses the payload. Finally the payload's ``iss``
must be the kid's DID.

The compact parsing, the ``alg``-to-key binding, the signature check over the
exact bytes and signing are ``resolver.jose``'s (over joserfc); this module
adds the statement's header policy, key lookup and claims above.

This module does no I/O and does not check what a statement *means*: audience,
replay (``jti``), expiry and authority scope are ``registry.rules``' business.
ECDSA signatures are malleable (``(r, s)`` and ``(r, n - s)`` both verify), so
a JWS string is not a unique name for a statement: use its ``jti``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Final

import rfc8785
from joserfc.jws import JWSRegistry
from pydantic import ValidationError

from registry.errors import (
    MalformedStatementError,
    StatementSignatureError,
    UnknownKeyError,
    UnsupportedAlgorithmError,
)
from registry.models import STATEMENT_TYP, StatementClaims
from resolver.did import DIDURL, parse_did_url
from resolver.document import VERIFICATION_RELATIONSHIPS
from resolver.errors import ResolutionError
from resolver.jose import (
    ALGORITHMS,
    CompactJws,
    JoseErrors,
    PrivateKey,
    check_alg_allowed,
    check_key,
    find_method,
    header_object,
    method_key,
    parse_compact,
    restricted_registry,
    sign_compact,
    signing_key,
    verify_compact,
)
from resolver.jose import (
    show as _show,
)

__all__ = [
    "ALGORITHMS",
    "DEFAULT_RELATIONSHIPS",
    "MAX_JWS_BYTES",
    "RESTRICTED_JWS_REGISTRY",
    "StatementHeader",
    "VerifiedStatement",
    "peek_header",
    "sign_statement",
    "verify_statement",
]

MAX_JWS_BYTES: Final = 64 * 1024
"""Largest statement accepted or produced, in bytes of its compact form."""

DEFAULT_RELATIONSHIPS: Final = ("assertionMethod", "capabilityInvocation")
"""The verification relationships a statement key must be referenced from."""

_HEADER_MEMBERS: Final = frozenset({"alg", "kid", "typ"})


_ERRORS: Final = JoseErrors(
    malformed=MalformedStatementError,
    algorithm=UnsupportedAlgorithmError,
    unsigned=MalformedStatementError,
    mismatch=StatementSignatureError,
    key_use=StatementSignatureError,
    signature=StatementSignatureError,
)


# -- values ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StatementHeader:
    """The checked protected header of a statement."""

    alg: str
    """One of ``ALGORITHMS``."""
    kid: DIDURL
    """The signing key: a DID plus a fragment, no path or query."""
    typ: str
    """Always ``registry.models.STATEMENT_TYP``."""


@dataclass(frozen=True, slots=True)
class VerifiedStatement:
    """A statement whose signature verified with a key of its issuer."""

    jws: str
    """The compact JWS, verbatim."""
    header: StatementHeader
    claims: StatementClaims
    vm_id: str
    """The absolute id of the verification method that verified it."""


# -- structural parsing --------------------------------------------------------


def peek_header(jws: str) -> StatementHeader:
    """Parse a statement's structure and header strictly; verify nothing.

    Call it before resolving anything: the caller resolves ``kid.did`` and
    then calls ``verify_statement``. All three segments are checked, so a JWS
    that passes has the shape of a statement.

    Raises:
        MalformedStatementError: not a string, over ``MAX_JWS_BYTES``, not
            three strict base64url segments, an empty payload or signature, a
            header that is not a JSON object, a duplicate, unknown or
            forbidden header member (``crit``, ``jwk``, ``b64``, …), a wrong
            ``typ``, or a ``kid`` that is not ``<did>#<fragment>``.
        UnsupportedAlgorithmError: ``alg`` is not one of ``ALGORITHMS``.
    """
    return _parse(jws).checked


def _parse(jws: object) -> CompactJws[StatementHeader]:
    # The header first (parse_compact runs _header before the payload), so
    # that "alg none" is reported as such whatever (or however little)
    # follows it.
    return parse_compact(
        jws,
        errors=_ERRORS,
        max_bytes=MAX_JWS_BYTES,
        header_policy=_header,
        what="statement",
    )


def _header(members: dict[str, Any]) -> StatementHeader:
    alg = members.get("alg")
    if not isinstance(alg, str):
        raise MalformedStatementError("header has no string 'alg'")
    check_alg_allowed(alg, _ERRORS)
    extra = sorted(set(members) - _HEADER_MEMBERS)
    if extra:
        names = ", ".join(_show(name) for name in extra[:5])
        raise MalformedStatementError(
            f"header member {names} not allowed; only alg, kid, typ"
        )
    typ = members.get("typ")
    if typ != STATEMENT_TYP:
        shown = "missing" if typ is None else _show(typ)
        raise MalformedStatementError(f"typ {shown} is not {STATEMENT_TYP!r}")
    kid = members.get("kid")
    if not isinstance(kid, str):
        raise MalformedStatementError("header has no string 'kid'")
    return StatementHeader(alg=alg, kid=_kid(kid), typ=STATEMENT_TYP)


def _kid(text: str) -> DIDURL:
    try:
        url = parse_did_url(text)
    except ResolutionError as err:
        raise MalformedStatementError(f"kid is not a did url: {err}") from None
    if url.path or url.query is not None or not url.fragment:
        raise MalformedStatementError(
            "kid must be a did and a #fragment, without path or query"
        )
    return url


# -- joserfc --------------------------------------------------------------------


_REGISTRY: Final = restricted_registry(
    members=_HEADER_MEMBERS,
    required=_HEADER_MEMBERS,
    strict=True,
    max_header=MAX_JWS_BYTES,
    max_payload=MAX_JWS_BYTES,
)

RESTRICTED_JWS_REGISTRY: Final[JWSRegistry] = _REGISTRY
"""The narrowed joserfc registry (four algs; alg, kid, typ only), for other
JWS the registry signs or checks, such as its signed answers."""


# -- verification ----------------------------------------------------------------


def verify_statement(
    jws: str,
    *,
    did_document: Mapping[str, Any],
    relationships: Collection[str] = DEFAULT_RELATIONSHIPS,
) -> VerifiedStatement:
    """Verify a statement with a key of its issuer; pure, no I/O.

    Steps, in order: (1) ``peek_header``'s strict parse; (2) find the method
    ``kid`` names in ``did_document`` (ids absolute or ``#fragment``, in
    ``verificationMethod`` or embedded in a relationship), referenced from
    one of ``relationships`` and controlled by the kid's DID; (3) load its
    key; (4) check ``alg`` against it; (5) verify the signature over the
    exact signing input with joserfc; (6) only then parse the payload into
    ``StatementClaims``; (7) require ``iss`` to be the kid's DID.

    Args:
        jws: The compact JWS, as received.
        did_document: The DID document of ``peek_header(jws).kid.did``, as
            resolved (e.g. ``ResolutionResult.document``).
        relationships: Verification relationships that may hold the key.

    Returns:
        The statement, its header, its claims and the method's absolute id.

    Raises:
        MalformedStatementError: see ``peek_header``; also a payload that is
            not a JSON object without duplicate members, or claims that do not
            validate (the message names the field).
        UnsupportedAlgorithmError: see ``peek_header``.
        UnknownKeyError: the document is not the kid's DID's; the kid names
            no method or several; the method is referenced from no relationship
            in ``relationships`` (the message names where it is); its
            controller is not the kid's DID; its type or key is unsupported or
            invalid; or ``iss`` is not the kid's DID.
        StatementSignatureError: ``alg`` does not fit the key's type or curve,
            the JWK restricts itself to another use or alg, or the signature
            does not verify.
        ValueError: ``relationships`` is a string, empty, or names something
            that is not a verification relationship (a programming error).
    """
    allowed = _relationships(relationships)
    parsed = _parse(jws)
    header = parsed.checked
    if not isinstance(did_document, Mapping):
        raise UnknownKeyError("the did document is not a json object")
    vm = find_method(did_document, header.kid, allowed, UnknownKeyError)
    key, jwk = method_key(vm, UnknownKeyError)
    check_key(header.alg, key, _ERRORS, jwk)
    verify_compact(
        jws, parsed, key, registry=_REGISTRY, errors=_ERRORS, signer=f"key {header.kid}"
    )
    claims = _claims(parsed.payload)
    if claims.iss != header.kid.did:
        raise UnknownKeyError(
            f"kid is a key of {header.kid.did}, but iss is {claims.iss}"
        )
    return VerifiedStatement(
        jws=jws, header=header, claims=claims, vm_id=str(header.kid)
    )


def _relationships(relationships: Collection[str]) -> tuple[str, ...]:
    if isinstance(relationships, str) or not relationships:
        raise ValueError("relationships must be a non-empty collection of names")
    unknown = [r for r in relationships if r not in VERIFICATION_RELATIONSHIPS]
    if unknown:
        raise ValueError(f"not verification relationships: {unknown}")
    return tuple(relationships)


def _claims(payload: bytes) -> StatementClaims:
    """Parse verified payload bytes (never a re-serialization) into claims."""
    header_object(payload, _ERRORS, "payload")  # duplicates, NaN, non-objects
    try:
        return StatementClaims.model_validate_json(payload)
    except ValidationError as err:
        raise MalformedStatementError(_invalid_claims(err)) from None


def _invalid_claims(err: ValidationError) -> str:
    """Name the first invalid field (its dotted path) and count the others."""
    first = err.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "claims"
    message = first["msg"][:1].lower() + first["msg"][1:]
    count = err.error_count()
    more = f" (and {count - 1} more)" if count > 1 else ""
    return f"claims invalid at {where!r}: {message}{more}"


# -- signing ---------------------------------------------------------------------


def sign_statement(
    claims: StatementClaims | Mapping[str, Any],
    *,
    private_key: PrivateKey,
    kid: str,
) -> str:
    """Sign claims as a statement (for ``didtrust registry sign`` and fixtures).

    The ``alg`` follows from the key (``ALGORITHMS``); the payload is the JCS
    (RFC 8785) form of the claims dumped by alias without ``None`` members.
    Ed25519 statements are deterministic; ECDSA ones are not.

    Args:
        claims: The claims, or a JSON-like mapping validated into them.
        private_key: An ``Ed25519PrivateKey``, an ``EllipticCurvePrivateKey``
            on P-256, P-384 or secp256k1, or a PyNaCl ``SigningKey``.
        kid: The DID URL of the key's verification method in ``iss``'s
            document.

    Returns:
        The compact JWS.

    Raises:
        MalformedStatementError: the claims do not validate, ``kid`` is not
            ``<did>#<fragment>``, or the JWS would exceed ``MAX_JWS_BYTES``.
        UnknownKeyError: ``kid``'s DID is not ``claims.iss``.
        UnsupportedAlgorithmError: the key is of another type or curve.
    """
    if not isinstance(claims, StatementClaims):
        try:
            claims = StatementClaims.model_validate(claims)
        except ValidationError as err:
            raise MalformedStatementError(_invalid_claims(err)) from None
    url = _kid(kid)
    if url.did != claims.iss:
        raise UnknownKeyError(f"kid is a key of {url.did}, but iss is {claims.iss}")
    key, alg = signing_key(private_key, UnsupportedAlgorithmError)
    payload = rfc8785.dumps(
        claims.model_dump(mode="json", by_alias=True, exclude_none=True)
    )
    header = {"alg": alg, "kid": str(url), "typ": STATEMENT_TYP}
    jws = sign_compact(header, payload, key, registry=_REGISTRY)
    if len(jws) > MAX_JWS_BYTES:
        raise MalformedStatementError(
            f"statement is {len(jws)} bytes, over the limit of {MAX_JWS_BYTES}"
        )
    return jws
