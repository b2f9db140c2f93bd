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
import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Final

import rfc8785
from joserfc import errors as jose_errors
from joserfc import jwk as jose_jwk
from joserfc import jws as jose_jws

from registry.errors import AnswerSignatureError
from registry.identity import RegistryIdentity
from registry.statements import RESTRICTED_JWS_REGISTRY
from resolver.multibase import b64url_encode
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


def _okp_key(public_key: bytes, private_seed: bytes | None = None) -> jose_jwk.OKPKey:
    b64 = b64url_encode
    members: dict[str, str | list[str]] = {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": b64(public_key),
    }
    if private_seed is not None:
        members["d"] = b64(private_seed)
    return jose_jwk.OKPKey.import_key(members)


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
    header = {"alg": "EdDSA", "kid": identity.key_id, "typ": ANSWER_TYP}
    key = _okp_key(identity.public_key, bytes(identity.signing_key))
    return jose_jws.serialize_compact(
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

    Args:
        token: The compact JWS.
        public_key: The registry's 32-byte Ed25519 key (from its DID).
        now: The current instant, for ``exp``.
        query: If given, the query the answer must be bound to.

    Returns:
        The verified payload.

    Raises:
        AnswerSignatureError: malformed, wrong typ/alg, bad signature, expired,
            or bound to another query.
    """
    try:
        obj = jose_jws.deserialize_compact(
            token.strip(), _okp_key(public_key), registry=RESTRICTED_JWS_REGISTRY
        )
    except (jose_errors.JoseError, ValueError) as exc:
        raise AnswerSignatureError(f"signed answer does not verify: {exc}") from None
    header = obj.protected
    if header.get("typ") != ANSWER_TYP or header.get("alg") != "EdDSA":
        raise AnswerSignatureError("not a didtrust signed answer (typ/alg)")
    try:
        payload = json.loads(obj.payload)
    except ValueError:
        raise AnswerSignatureError("signed answer payload is not JSON") from None
    if not isinstance(payload, dict):
        raise AnswerSignatureError("signed answer payload is not an object")
    exp = payload.get("exp")
    if not isinstance(exp, int) or exp <= int(now.timestamp()):
        raise AnswerSignatureError("signed answer has expired")
    if query is not None and payload.get("query_sha256") != query_sha256(query):
        raise AnswerSignatureError("signed answer is for another query")
    return payload
