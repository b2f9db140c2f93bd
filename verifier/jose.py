"""VC-JOSE / VC-JWT: credentials secured as a compact JWS (RFC 7515, RFC 7519).

Two forms are read, told apart by the protected header's ``typ`` and, when it
is absent, by the payload:

``"vc+jwt"`` — W3C Securing Verifiable Credentials using JOSE and COSE
    (Recommendation, 15 May 2025), §3.1.1: the payload *is* a VC Data Model
    2.0 credential (first ``@context`` ``https://www.w3.org/ns/credentials/v2``).
    ``typ`` SHOULD be ``vc+jwt`` (media type ``application/vc+jwt``) and may be
    absent; ``cty``, when present, SHOULD be ``vc`` (any other ``cty`` is
    refused). The drafts' ``vc+ld+jwt``, ``vc-ld+jwt`` and ``vc+ld+json+jwt``
    were dropped before the Recommendation and are refused. ``typ`` and ``cty``
    compare as media types (RFC 7515 §4.1.9: case-insensitive, the
    ``application/`` prefix optional). The JWT claims ``vc`` and ``vp`` MUST
    NOT be present (§3.1.1). An ``iss`` (claim or header) MUST match
    ``issuer``/``issuer.id`` (§4.1.2); ``jti``/``id`` and
    ``sub``/``credentialSubject.id`` must not conflict either (the spec
    RECOMMENDS avoiding it; a verifier that let two readers see two values
    would make it matter). ``nbf``, ``exp`` and ``iat`` secure the JWT, not the
    credential: they are returned, not mapped.

``"vc-1.1"`` — VC Data Model 1.1, §6.3.1 "JWT Encoding": ``typ``, if present,
    MUST be ``JWT`` (no ``cty``: nested JWTs are not supported); the credential
    is the ``vc`` claim, and the registered claims stand "instead of, or in
    addition to" its properties. Decoding (§6.3.1.2) maps them back: ``iss`` →
    ``issuer`` (or ``issuer.id``), ``nbf`` → ``issuanceDate``, ``exp`` →
    ``expirationDate``, ``jti`` → ``id``, ``sub`` → ``credentialSubject.id``.
    When both are present they must agree (dates to the second, as NumericDate
    counts whole seconds); a conflict is refused rather than resolved, so no two
    readers of one token see two credentials. ``iss`` is required (it is what
    the key is checked against).

Both forms: ``alg`` is one of ``EdDSA`` (Ed25519, RFC 8037), ``ES256``
(P-256), ``ES384`` (P-384, RFC 7518 §3.4) or ``ES256K`` (secp256k1, RFC 8812),
and must be the one algorithm of the key's curve (RFC 8725 §3.1); ``none``,
HMAC and RSA are refused before any key is looked at. ``kid`` MUST be present
(VC-JOSE-COSE §4.1.1, the issuer's key is a DID URL): an absolute
``<did>#<fragment>``, or a bare ``#fragment`` relative to ``iss`` when ``iss``
is present (§4.3 requires an absolute URL otherwise). Its DID must be the
issuer. Header members that bring their own key or change the signing input
(``jwk``, ``jku``, ``x5u``, ``x5c``, ``x5t``, ``x5t#S256``, ``crit``, ``b64``,
``zip``) are refused; other members not understood are ignored, as
VC-JOSE-COSE asks (an ``iss`` header member is understood: it must agree too).
Duplicate JSON member names are refused everywhere (RFC 7515 §4 lets parsers
disagree on them), as are ``NaN``, numbers out of range, lone surrogates
(RFC 7493 §2.1), tokens over ``MAX_TOKEN_BYTES`` and JSON nested deeper than
``MAX_JSON_DEPTH``.

Use: ``peek`` parses everything (without verifying anything) and gives the
absolute ``kid``; the caller resolves ``kid.did``, picks the method with
``verifier.keys.find_verification_method(doc, kid)`` and calls ``verify``,
which checks the signature over the exact bytes received (joserfc) before it
trusts the payload. ``sign`` makes tokens of both forms (fixtures, tools).

This module is pure and does no I/O. It does not resolve DIDs, check validity
periods (``nbf``/``exp`` and the credential's own dates are returned for the
caller to check against its clock), status, JSON-LD or registry trust.
ECDSA signatures are malleable (``(r, s)`` and ``(r, n - s)`` both verify): a
token string is not a unique name for a credential.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal

import rfc8785

from resolver import strictjson
from resolver.did import DID, DIDURL, parse_did_url
from resolver.errors import ResolutionError
from resolver.jose import (
    ALGORITHMS,
    CompactJws,
    JoseErrors,
    PrivateKey,
    check_alg_allowed,
    check_key,
    parse_compact,
    restricted_registry,
    sign_compact,
    signing_key,
    verify_compact,
)
from resolver.jose import show as _show
from resolver.timefmt import (
    MAX_NUMERIC_DATE,
    TimeSyntaxError,
    format_time,
    parse_time,
)
from verifier.errors import (
    InvalidSignatureError,
    KeyBindingError,
    MalformedCredentialError,
    ProofError,
    UnsupportedCryptosuiteError,
)
from verifier.keys import public_key_of

__all__ = [
    "ALGORITHMS",
    "FORBIDDEN_HEADER_MEMBERS",
    "MAX_HEADER_BYTES",
    "MAX_JSON_DEPTH",
    "MAX_TOKEN_BYTES",
    "VC_V1_CONTEXT",
    "VC_V2_CONTEXT",
    "JoseCredential",
    "JoseCredentialHeader",
    "JoseForm",
    "PrivateKey",
    "peek",
    "sign",
    "verify",
]

JoseForm = Literal["vc+jwt", "vc-1.1"]
"""``"vc+jwt"``: VC-JOSE-COSE, payload is a VC 2.0 credential.
``"vc-1.1"``: VC Data Model 1.1 JWT, the credential is the ``vc`` claim."""

MAX_TOKEN_BYTES: Final = 512 * 1024
"""Largest token accepted or produced, in characters of its compact form. Open
Badges may embed images as data URLs, hence more than a statement's 64 KiB."""
MAX_HEADER_BYTES: Final = 8 * 1024
"""Largest decoded protected header accepted, in bytes."""
MAX_JSON_DEPTH: Final = 32
"""Deepest nesting of objects and arrays accepted in the header or payload (the
top-level object is level 1)."""

VC_V2_CONTEXT: Final = "https://www.w3.org/ns/credentials/v2"
"""First ``@context`` of a VC Data Model 2.0 credential."""
VC_V1_CONTEXT: Final = "https://www.w3.org/2018/credentials/v1"
"""First ``@context`` of a VC Data Model 1.1 credential."""

FORBIDDEN_HEADER_MEMBERS: Final = frozenset(
    {"jwk", "jku", "x5u", "x5c", "x5t", "x5t#S256", "crit", "b64", "zip"}
)
"""Header members refused: a key shipped with its own signature proves nothing
(the key comes from the issuer's DID document), ``crit`` names extensions this
verifier does not understand (RFC 7515 §4.1.11), ``b64`` changes the signing
input (RFC 7797) and ``zip`` belongs to JWE."""

_STRING_HEADER_MEMBERS: Final = ("alg", "kid", "typ", "cty", "iss")


_ERRORS: Final = JoseErrors(
    malformed=MalformedCredentialError,
    algorithm=UnsupportedCryptosuiteError,
    unsigned=ProofError,
    mismatch=ProofError,
    key_use=KeyBindingError,
    signature=InvalidSignatureError,
)


# -- values --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class JoseCredentialHeader:
    """What ``peek`` found: enough to resolve the key, nothing verified."""

    alg: str
    """One of ``ALGORITHMS``."""
    kid: DIDURL
    """The signing key, absolute (``<did>#<fragment>``), relative ids resolved."""
    typ: str | None
    """The ``typ`` header as given, or ``None``."""
    cty: str | None
    """The ``cty`` header as given, or ``None``."""
    form: JoseForm
    """Which of the two JWT forms the token is."""


@dataclass(frozen=True, slots=True)
class JoseCredential:
    """A credential whose JWS verified with a key of its issuer."""

    form: JoseForm
    credential: dict[str, Any]
    """The credential as a JSON object: the payload (``vc+jwt``), or the ``vc``
    claim with the registered claims mapped in (``vc-1.1``)."""
    issuer: DID
    """The issuer's DID (``issuer``/``issuer.id``/``iss``, all agreeing)."""
    kid: DIDURL
    """The absolute id of the verification method that verified the token."""
    alg: str
    """The JWS algorithm, one of ``ALGORITHMS``."""
    nbf: datetime | None
    """The JWT ``nbf`` claim (UTC), if present."""
    exp: datetime | None
    """The JWT ``exp`` claim (UTC), if present."""
    iat: datetime | None
    """The JWT ``iat`` claim (UTC), if present."""
    claims: dict[str, Any]
    """The verified JWT claims set, as decoded from the payload. It shares
    structure with ``credential`` (for ``vc+jwt`` it is the same object):
    treat both as read-only."""


@dataclass(frozen=True, slots=True)
class _Token:
    compact: CompactJws[None]
    header: dict[str, Any]
    alg: str
    kid: str
    typ: str | None
    cty: str | None
    payload: bytes
    signature: bytes


@dataclass(frozen=True, slots=True)
class _Reading:
    form: JoseForm
    credential: dict[str, Any]
    issuer: DID
    kid: DIDURL
    nbf: datetime | None
    exp: datetime | None
    iat: datetime | None


# -- public API ------------------------------------------------------------------


def peek(token: str) -> JoseCredentialHeader:
    """Parse a VC-JWT strictly and find its key; verify nothing.

    The payload is read (unverified) because the form may depend on it and a
    relative ``kid`` is relative to ``iss``; every check of the module
    docstring except the signature runs, so a token that fails here would fail
    ``verify`` too. Call it, resolve ``kid.did``, then call ``verify``.

    Raises:
        MalformedCredentialError: not a string; over ``MAX_TOKEN_BYTES``; not
            three strict base64url segments; a header or payload that is not
            a JSON object without duplicate members within the caps; a header
            member of the wrong type; a missing or malformed ``kid``; a
            ``typ``/``cty`` of neither form; a payload that is not a
            credential of its form; conflicting ``iss``/``issuer``,
            ``jti``/``id``, ``sub``/``credentialSubject.id``,
            ``nbf``/``issuanceDate`` or ``exp``/``expirationDate``; a time
            claim that is not a NumericDate.
        UnsupportedCryptosuiteError: ``alg`` is not one of ``ALGORITHMS``
            (``none``, ``HS256``, ``RS256``…).
        ProofError: a forbidden header member (``jwk``, ``jku``, ``x5c``,
            ``crit``, ``b64``…), or an empty signature.
        KeyBindingError: ``kid``'s DID is not the issuer.
    """
    parsed = _parse(token)
    reading = _read(parsed, _json_object("payload", parsed.payload))
    return JoseCredentialHeader(
        alg=parsed.alg,
        kid=reading.kid,
        typ=parsed.typ,
        cty=parsed.cty,
        form=reading.form,
    )


def verify(token: str, *, verification_method: Mapping[str, Any]) -> JoseCredential:
    """Verify a VC-JWT with the issuer's verification method; pure, no I/O.

    Steps: (1) the strict structural parse of the header; (2) load the
    method's key (``verifier.keys.public_key_of``); (3) check ``alg`` against
    the key's curve and the JWK's own ``alg``; (4) verify the signature over
    the exact signing input with joserfc; (5) only then read the payload
    (``peek``'s checks); (6) require the method to be the one ``kid`` names
    and to be controlled by the issuer, and ``kid``'s DID to be the issuer.

    Args:
        token: The compact JWS, as received.
        verification_method: The method ``kid`` names, as returned by
            ``verifier.keys.find_verification_method`` (which checked it is in
            ``assertionMethod`` of the issuer's document).

    Returns:
        The form, the credential as a JSON object, the issuer, the key id, the
        alg, the JWT time claims and the verified claims set.

    Raises:
        MalformedCredentialError: see ``peek``.
        UnsupportedCryptosuiteError: see ``peek``.
        ProofError: see ``peek``; also an ``alg`` that does not fit the key's
            curve (``ES256`` with an Ed25519 key…) or the JWK's ``alg``.
        InvalidSignatureError: the signature has the wrong length or does not
            verify.
        KeyBindingError: the method's key is unusable (``public_key_of``); the
            method is not the one ``kid`` names, or not controlled by the
            issuer; ``kid``'s DID is not the issuer.
    """
    parsed = _parse(token)
    key = public_key_of(verification_method)
    jwk = verification_method.get("publicKeyJwk")
    check_key(parsed.alg, key, _ERRORS, jwk if isinstance(jwk, Mapping) else None)
    verify_compact(
        token,
        parsed.compact,
        key,
        registry=_REGISTRY,
        errors=_ERRORS,
        signer="the issuer's key",
    )
    claims = _json_object("payload", parsed.payload)
    reading = _read(parsed, claims)
    kid = str(reading.kid)
    if verification_method.get("id") != kid:
        raise KeyBindingError(
            f"verification method {_show(verification_method.get('id'))} "
            f"is not the kid {kid}"
        )
    if verification_method.get("controller") != reading.issuer:
        raise KeyBindingError(
            f"key {kid} is controlled by "
            f"{_show(verification_method.get('controller'))}, not the issuer"
        )
    return JoseCredential(
        form=reading.form,
        credential=reading.credential,
        issuer=reading.issuer,
        kid=reading.kid,
        alg=parsed.alg,
        nbf=reading.nbf,
        exp=reading.exp,
        iat=reading.iat,
        claims=claims,
    )


def sign(
    credential: Mapping[str, Any],
    *,
    private_key: PrivateKey,
    kid: str,
    form: JoseForm = "vc+jwt",
) -> str:
    """Secure a credential as a VC-JWT (for fixtures and tools).

    ``"vc+jwt"``: header ``{"alg", "kid", "typ": "vc+jwt"}``, payload the JCS
    (RFC 8785) form of the credential, nothing added. ``"vc-1.1"``: header
    ``{"alg", "kid", "typ": "JWT"}``, payload ``iss`` and, where the credential
    has them, ``nbf``, ``exp``, ``jti``, ``sub``, "in addition to" the
    credential kept whole in ``vc`` (VC Data Model 1.1 §6.3.1). The ``alg``
    follows from the key. Ed25519 tokens are deterministic; ECDSA ones are not.
    The token is checked with ``peek`` before it is returned.

    Args:
        credential: A VC 2.0 (``"vc+jwt"``) or 1.1 (``"vc-1.1"``) credential.
        private_key: An Ed25519 key (``cryptography`` or PyNaCl), or an EC key
            on P-256, P-384 or secp256k1.
        kid: The absolute DID URL of the key's method in the issuer's document.
        form: Which form to produce.

    Returns:
        The compact JWS.

    Raises:
        MalformedCredentialError: the credential is not one of ``form`` (no
            issuer, wrong ``@context``, a date that is not an XML Schema
            dateTime…), cannot be serialized as JSON, or the token would
            exceed ``MAX_TOKEN_BYTES``.
        KeyBindingError: ``kid`` is not ``<did>#<fragment>`` of the issuer.
        UnsupportedCryptosuiteError: the key is of another type or curve.
    """
    key, alg = signing_key(private_key, UnsupportedCryptosuiteError)
    if not isinstance(credential, Mapping):
        raise MalformedCredentialError("the credential is not a json object")
    vc = dict(credential)
    issuer = _issuer_id(vc.get("issuer"), "issuer")
    if issuer is None:
        raise MalformedCredentialError("the credential has no issuer")
    try:
        url = parse_did_url(kid)
    except ResolutionError as err:
        raise KeyBindingError(f"kid is not a did url: {err}") from None
    if url.did != issuer:
        raise KeyBindingError(f"kid is a key of {url.did}, but the issuer is {issuer}")
    claims: dict[str, Any]
    if form == "vc+jwt":
        typ, claims = "vc+jwt", vc
    else:
        typ, claims = "JWT", _claims_v1(vc, issuer)
    try:
        payload = rfc8785.dumps(claims)
    except rfc8785.CanonicalizationError as err:
        raise MalformedCredentialError(f"credential is not json: {err}") from None
    header = {"alg": alg, "kid": str(url), "typ": typ}
    token = sign_compact(header, payload, key, registry=_REGISTRY)
    peek(token)  # the token must be one this module accepts (size, form, kid)
    return token


# -- structure and header ----------------------------------------------------------


def _parse(token: object) -> _Token:
    """Split and check the token and its header; the payload stays bytes."""
    # The header first (parse_compact runs _check_header before the payload),
    # so that "alg none" is reported as such whatever (or however little)
    # follows it.
    compact = parse_compact(
        token,
        errors=_ERRORS,
        max_bytes=MAX_TOKEN_BYTES,
        max_header_bytes=MAX_HEADER_BYTES,
        header_policy=_check_header,
        what="jwt credential",
    )
    header = compact.header
    return _Token(
        compact=compact,
        header=header,
        alg=header["alg"],
        kid=header["kid"],
        typ=header.get("typ"),
        cty=header.get("cty"),
        payload=compact.payload,
        signature=compact.signature,
    )


def _check_header(header: dict[str, Any]) -> None:
    """The VC-JOSE header policy of the module docstring."""
    _check_tree("header", header)
    for name in _STRING_HEADER_MEMBERS:
        if name in header and not isinstance(header[name], str):
            raise MalformedCredentialError(f"header member {name!r} is not a string")
    alg = header.get("alg")
    if alg is None:
        raise MalformedCredentialError("header has no 'alg'")
    check_alg_allowed(alg, _ERRORS)
    forbidden = sorted(FORBIDDEN_HEADER_MEMBERS.intersection(header))
    if forbidden:
        raise ProofError(
            f"header member {_show(forbidden[0])} is not allowed: the key comes "
            "from the issuer's did document, and no extension is understood"
        )
    if header.get("kid") is None:
        raise MalformedCredentialError(
            "header has no 'kid': a did issuer's key must be named by a did url"
        )


def _media_type(value: str) -> str:
    """RFC 7515 §4.1.9: case-insensitive, ``application/`` may be left out."""
    lowered = value.lower()
    return lowered.removeprefix("application/")


def _form(parsed: _Token, claims: Mapping[str, Any]) -> JoseForm:
    typ = None if parsed.typ is None else _media_type(parsed.typ)
    cty = None if parsed.cty is None else _media_type(parsed.cty)
    if typ == "vc+jwt" or (typ is None and "vc" not in claims):
        if cty not in (None, "vc"):
            raise MalformedCredentialError(
                f"cty {_show(parsed.cty)} is not 'vc' (vc-jose-cose §3.1.1)"
            )
        return "vc+jwt"
    if typ in ("jwt", None):
        if cty is not None:
            raise MalformedCredentialError(
                f"cty {_show(parsed.cty)} is not allowed in a vc 1.1 jwt "
                "(nested jwts are not supported)"
            )
        return "vc-1.1"
    raise MalformedCredentialError(
        f"typ {_show(parsed.typ)} is neither 'vc+jwt' (vc-jose-cose) "
        "nor 'JWT' (vc data model 1.1)"
    )


# -- reading the payload ---------------------------------------------------------


def _read(parsed: _Token, claims: dict[str, Any]) -> _Reading:
    """Interpret a claims set: form, credential, issuer, absolute kid, times."""
    form = _form(parsed, claims)
    nbf = _numeric_date(claims, "nbf")
    exp = _numeric_date(claims, "exp")
    iat = _numeric_date(claims, "iat")
    for name in ("iss", "jti", "sub"):
        if name in claims and not isinstance(claims[name], str):
            raise MalformedCredentialError(f"claim {name!r} is not a string")
    iss = claims.get("iss")
    header_iss = parsed.header.get("iss")
    if header_iss is not None and iss is not None and header_iss != iss:
        raise MalformedCredentialError(
            f"header iss {_show(header_iss)} does not match claim iss {_show(iss)}"
        )
    iss = iss if iss is not None else header_iss
    if form == "vc+jwt":
        credential, issuer = _read_v2(claims, iss)
    else:
        credential, issuer = _read_v1(claims, iss, nbf, exp)
    kid = _kid(parsed.kid, iss)
    if kid.did != issuer:
        raise KeyBindingError(f"kid is a key of {kid.did}, but the issuer is {issuer}")
    return _Reading(
        form=form,
        credential=credential,
        issuer=kid.did,
        kid=kid,
        nbf=nbf,
        exp=exp,
        iat=iat,
    )


def _read_v2(claims: dict[str, Any], iss: str | None) -> tuple[dict[str, Any], str]:
    """VC-JOSE-COSE §3.1.1: the payload is the credential."""
    for name in ("vc", "vp"):
        if name in claims:
            raise MalformedCredentialError(
                f"claim {name!r} must not be present in a vc+jwt (vc-jose-cose §3.1.1)"
            )
    _check_credential(claims, VC_V2_CONTEXT, "vc data model 2.0")
    issuer = _issuer_id(claims.get("issuer"), "issuer")
    if issuer is None:
        raise MalformedCredentialError("the credential has no issuer")
    if iss is not None and iss != issuer:
        raise MalformedCredentialError(
            f"iss {_show(iss)} does not match issuer {_show(issuer)} "
            "(vc-jose-cose §4.1.2)"
        )
    jti = claims.get("jti")
    if jti is not None and "id" in claims and jti != claims["id"]:
        raise MalformedCredentialError(
            f"jti {_show(jti)} does not match id {_show(claims['id'])}"
        )
    sub = claims.get("sub")
    subject_ids = _subject_ids(claims.get("credentialSubject"))
    if sub is not None and subject_ids and sub not in subject_ids:
        raise MalformedCredentialError(
            f"sub {_show(sub)} does not match credentialSubject.id "
            f"{_show(subject_ids[0])}"
        )
    return claims, issuer


def _read_v1(
    claims: dict[str, Any],
    iss: str | None,
    nbf: datetime | None,
    exp: datetime | None,
) -> tuple[dict[str, Any], str]:
    """VC Data Model 1.1 §6.3.1.2: the ``vc`` claim, registered claims mapped in."""
    vc = claims.get("vc")
    if not isinstance(vc, dict):
        raise MalformedCredentialError(
            "a vc 1.1 jwt needs a 'vc' claim that is an object"
        )
    credential = dict(vc)
    _check_credential(credential, VC_V1_CONTEXT, "vc data model 1.1")
    if iss is None:
        raise MalformedCredentialError(
            "a vc 1.1 jwt needs an 'iss' claim (vc data model 1.1 §6.3.1)"
        )
    # iss → issuer (issuer.id for an issuer object)
    issuer_value = credential.get("issuer")
    issuer = _issuer_id(issuer_value, "vc.issuer")
    if issuer is None:
        if isinstance(issuer_value, dict):
            credential["issuer"] = {**issuer_value, "id": iss}
        else:
            credential["issuer"] = iss
    elif issuer != iss:
        raise MalformedCredentialError(
            f"iss {_show(iss)} does not match vc.issuer {_show(issuer)}"
        )
    # nbf → issuanceDate, exp → expirationDate
    _map_date(credential, "issuanceDate", "nbf", nbf)
    _map_date(credential, "expirationDate", "exp", exp)
    # jti → id
    jti = claims.get("jti")
    if jti is not None:
        if "id" not in credential:
            credential["id"] = jti
        elif credential["id"] != jti:
            raise MalformedCredentialError(
                f"jti {_show(jti)} does not match vc.id {_show(credential['id'])}"
            )
    # sub → credentialSubject.id
    sub = claims.get("sub")
    if sub is not None:
        credential["credentialSubject"] = _map_subject(
            credential.get("credentialSubject"), sub
        )
    return credential, iss


def _check_credential(value: Mapping[str, Any], context: str, model: str) -> None:
    """The least that makes a JSON object a credential of one data model."""
    contexts = value.get("@context")
    first = contexts[0] if isinstance(contexts, list) and contexts else contexts
    if first != context:
        raise MalformedCredentialError(
            f"the first @context of a {model} credential must be {context}"
        )
    types = value.get("type")
    names = types if isinstance(types, list) else [types]
    if "VerifiableCredential" not in names:
        raise MalformedCredentialError(
            "the credential type has no 'VerifiableCredential'"
        )


def _issuer_id(value: object, where: str) -> str | None:
    """The issuer's id: a string issuer, or ``issuer.id``; ``None`` if absent."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        issuer_id = value.get("id")
        if issuer_id is None:
            return None
        if isinstance(issuer_id, str):
            return issuer_id
    raise MalformedCredentialError(f"{where} is not a string or an object with an id")


def _subject_ids(subject: object) -> list[Any]:
    subjects = subject if isinstance(subject, list) else [subject]
    return [s["id"] for s in subjects if isinstance(s, dict) and "id" in s]


def _map_subject(subject: object, sub: str) -> object:
    """Set ``credentialSubject.id`` from ``sub``, or check that it agrees."""
    if subject is None:
        return {"id": sub}
    if isinstance(subject, dict):
        if "id" not in subject:
            return {**subject, "id": sub}
        if subject["id"] != sub:
            raise MalformedCredentialError(
                f"sub {_show(sub)} does not match credentialSubject.id "
                f"{_show(subject['id'])}"
            )
        return subject
    if isinstance(subject, list):
        if len(subject) == 1:
            return [_map_subject(subject[0], sub)]
        if sub in _subject_ids(subject):
            return subject
        raise MalformedCredentialError(
            f"sub {_show(sub)} names none of the {len(subject)} credential subjects"
        )
    raise MalformedCredentialError("credentialSubject is not an object or an array")


def _map_date(
    credential: dict[str, Any], name: str, claim: str, value: datetime | None
) -> None:
    """Set a 1.1 date property from a NumericDate, or check that they agree."""
    if value is None:
        return
    if name not in credential:
        credential[name] = format_time(value, fraction="full")
        return
    text = credential[name]
    stated = _xsd_datetime(text, name)
    if math.floor(stated.timestamp()) != math.floor(value.timestamp()):
        raise MalformedCredentialError(
            f"{claim} {format_time(value, fraction='full')} does not match "
            f"{name} {_show(text)}"
        )


def _xsd_datetime(text: object, name: str) -> datetime:
    """Parse an XML Schema dateTime; no time zone means UTC (``resolver.timefmt``)."""
    try:
        return parse_time(text, grammar="xsd")
    except TimeSyntaxError:
        raise MalformedCredentialError(
            f"{name} {_show(text)} is not an xml schema datetime"
        ) from None
    except ValueError as err:
        raise MalformedCredentialError(f"{name} {_show(text)}: {err}") from None


def _numeric_date(claims: Mapping[str, Any], name: str) -> datetime | None:
    """RFC 7519 §2 NumericDate: seconds since the epoch, not before it."""
    if name not in claims:
        return None
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MalformedCredentialError(f"claim {name!r} is not a number")
    if not 0 <= value <= MAX_NUMERIC_DATE:
        raise MalformedCredentialError(
            f"claim {name!r} is {value}, outside 0 to {MAX_NUMERIC_DATE}"
        )
    return datetime.fromtimestamp(value, tz=UTC)


def _kid(text: str, iss: str | None) -> DIDURL:
    """Make ``kid`` an absolute DID URL (VC-JOSE-COSE §4.1.1, §4.3)."""
    if text.startswith("#"):
        if iss is None:
            raise MalformedCredentialError(
                f"kid {_show(text)} is relative, but there is no iss to resolve it "
                "against (vc-jose-cose §4.3)"
            )
        text = iss + text
    try:
        url = parse_did_url(text)
    except ResolutionError as err:
        raise MalformedCredentialError(f"kid is not a did url: {err}") from None
    if url.path or url.query is not None or not url.fragment:
        raise MalformedCredentialError(
            f"kid {_show(text)} must be a did and a #fragment, without path or query"
        )
    return url


def _claims_v1(vc: dict[str, Any], issuer: str) -> dict[str, Any]:
    """The JWT claims of a 1.1 credential, "in addition to" its properties."""
    claims: dict[str, Any] = {"iss": issuer}
    for name, claim in (("issuanceDate", "nbf"), ("expirationDate", "exp")):
        if name in vc:
            claims[claim] = math.floor(_xsd_datetime(vc[name], name).timestamp())
    if isinstance(vc.get("id"), str):
        claims["jti"] = vc["id"]
    subject = vc.get("credentialSubject")
    if isinstance(subject, dict) and isinstance(subject.get("id"), str):
        claims["sub"] = subject["id"]
    claims["vc"] = vc
    return claims


# -- strict JSON -------------------------------------------------------------------


def _json_object(name: str, data: bytes) -> dict[str, Any]:
    """Decode UTF-8 JSON that must be an object, within the module's caps."""
    try:
        value = strictjson.loads_object(data, name)
    except ValueError as err:
        raise MalformedCredentialError(str(err)) from None
    except RecursionError:
        raise MalformedCredentialError(
            f"the {name} nests deeper than {MAX_JSON_DEPTH} levels"
        ) from None
    _check_tree(name, value)
    return value


def _check_tree(name: str, value: object) -> None:
    """Depth cap, iteratively (strings were checked by the strict parser)."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise MalformedCredentialError(
                    f"the {name} nests deeper than {MAX_JSON_DEPTH} levels"
                )
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)


# -- joserfc ---------------------------------------------------------------------------

# Defence in depth: _check_header already refused FORBIDDEN_HEADER_MEMBERS and
# checked these types; other members pass (not strict).
_REGISTRY: Final = restricted_registry(
    members=_STRING_HEADER_MEMBERS,
    required=("alg", "kid"),
    strict=False,
    max_header=MAX_HEADER_BYTES,
    max_payload=MAX_TOKEN_BYTES,
)
