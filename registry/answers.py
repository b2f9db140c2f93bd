"""Signed registry answers: a JWS by the registry key over a query's answer.

With ``Accept: application/jwt`` any registry query answer comes back as a
compact JWS (``typ: didtrust-answer+jwt``, EdDSA, ``kid`` = the registry key's
DID URL) whose payload binds:

- ``query_sha256``: hex SHA-256 of the RFC 8785 (JCS) form of the query, so an
  answer cannot be replayed for another question;
- ``at``: the instant the answer applies to (RFC 3339);
- ``iat`` / ``exp``: when it was evaluated and until when it may be relied on;
- ``checkpoint``: the signed checkpoint (C2SP note) the answer's proofs lead to;
- ``answer``: the answer itself, as served in JSON.

Pure: no I/O. The registry key never leaves ``RegistryIdentity``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Final

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from registry.errors import AnswerSignatureError
from registry.identity import RegistryIdentity
from registry.statements import MAX_JWS_BYTES, RESTRICTED_JWS_REGISTRY
from resolver import strictjson
from resolver.jose import (
    JoseErrors,
    check_key,
    parse_compact,
    sign_compact,
    signing_key,
    verify_compact,
)
from resolver.timefmt import format_time

__all__ = [
    "ANSWER_TYP",
    "query_sha256",
    "sign_answer",
    "verify_answer",
]

ANSWER_TYP: Final = "didtrust-answer+jwt"


def query_sha256(query: Mapping[str, Any]) -> str:
    """Hex SHA-256 of the JCS form of ``query``."""
    return hashlib.sha256(rfc8785.dumps(dict(query))).hexdigest()


class _AnswerJoseError(AnswerSignatureError):
    """A JWS-level refusal, reported as "does not verify"."""


_ERRORS: Final = JoseErrors.every(_AnswerJoseError)
# joserfc caps the decoded payload at MAX_JWS_BYTES (RESTRICTED_JWS_REGISTRY);
# its base64url text, a header and a signature fit in twice that.
_MAX_ANSWER_CHARS: Final = 2 * MAX_JWS_BYTES


def _answer_header(header: dict[str, Any]) -> None:
    if header.get("typ") != ANSWER_TYP or header.get("alg") != "EdDSA":
        raise AnswerSignatureError("not a didtrust signed answer (typ/alg)")


def sign_answer(
    answer: Mapping[str, Any],
    *,
    identity: RegistryIdentity,
    query: Mapping[str, Any],
    at: datetime,
    evaluated: datetime,
    ttl: timedelta,
    checkpoint: Mapping[str, Any],
) -> str:
    """Sign ``answer`` to ``query`` as a compact JWS by the registry key."""
    payload: dict[str, Any] = {
        "iss": str(identity.did),
        "iat": int(evaluated.timestamp()),
        "exp": int((evaluated + ttl).timestamp()),
        "query_sha256": query_sha256(query),
        "at": format_time(at),
        "checkpoint": dict(checkpoint),
        "answer": dict(answer),
    }
    key, alg = signing_key(identity.signing_key, AnswerSignatureError)
    header = {"alg": alg, "kid": identity.key_id, "typ": ANSWER_TYP}
    return sign_compact(
        header, rfc8785.dumps(payload), key, registry=RESTRICTED_JWS_REGISTRY
    )


def verify_answer(
    token: str,
    *,
    public_key: bytes,
    now: datetime,
    query: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Verify a signed answer with the registry's raw Ed25519 public key.

    The JWS is parsed and verified by ``resolver.jose``; its payload is read
    with ``resolver.strictjson``, so a payload naming a member twice (which
    two readers could take two ways) is refused.

    Args:
        token: The compact JWS.
        public_key: The registry's 32-byte Ed25519 key (from its DID).
        now: The current instant, for ``exp``.
        query: If given, the query the answer must be bound to.

    Returns:
        The verified payload.

    Raises:
        AnswerSignatureError: malformed, wrong typ/alg, bad signature, a
            payload that is not a JSON object without duplicate members,
            expired, or bound to another query.
    """
    jws = token.strip()
    try:
        try:
            key = Ed25519PublicKey.from_public_bytes(public_key)
        except ValueError:
            raise _AnswerJoseError("the registry key is not an ed25519 key") from None
        parsed = parse_compact(
            jws,
            errors=_ERRORS,
            max_bytes=_MAX_ANSWER_CHARS,
            header_policy=_answer_header,
            what="signed answer",
        )
        check_key("EdDSA", key, _ERRORS)
        verify_compact(
            jws,
            parsed,
            key,
            registry=RESTRICTED_JWS_REGISTRY,
            errors=_ERRORS,
            signer="the registry key",
        )
    except _AnswerJoseError as exc:
        raise AnswerSignatureError(f"signed answer does not verify: {exc}") from None
    try:
        payload = strictjson.loads_object(parsed.payload, "signed answer payload")
    except ValueError as exc:
        raise AnswerSignatureError(str(exc)) from None
    except RecursionError:
        raise AnswerSignatureError(
            "the signed answer payload nests too deeply"
        ) from None
    exp = payload.get("exp")
    if not isinstance(exp, int) or exp <= int(now.timestamp()):
        raise AnswerSignatureError("signed answer has expired")
    if query is not None and payload.get("query_sha256") != query_sha256(query):
        raise AnswerSignatureError("signed answer is for another query")
    return payload
