"""``POST /credentials/verify`` in the shape of the W3C VC API.

Body: ``{"verifiableCredential": <credential>, "options": {...}}`` where the
credential is a JSON-LD credential with Data Integrity proofs, a compact
VC-JOSE/VC-JWT string, or an ``EnvelopedVerifiableCredential`` whose ``id``
is a ``data:application/vc+jwt,<token>`` URL. A bare credential (no wrapper)
is accepted too, and so is a bare compact JWS (e.g. ``application/vc+jwt``). A
body declared as JSON (``application/json`` or any ``+json`` type) must parse
as JSON; an undeclared one is JSON when it starts like JSON.

Answer: 200 with the report (``verified``, ``checks``, ``warnings``,
``errors`` and each check's detail) whether or not the credential verified; 400
with an RFC 9457 problem when the body is not a credential at all.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import web

from verifier.errors import VerificationError
from verifier.service import CredentialVerifier

__all__ = ["BadRequestError", "VerifierRoutes", "unwrap"]

log = logging.getLogger(__name__)

_ENVELOPE_PREFIXES = ("data:application/vc+jwt,", "data:application/jwt,")


class BadRequestError(VerificationError):
    """The body is not something to verify (400)."""


def unwrap(body: Any) -> Any:
    """Find the credential in a VC API body (or a bare credential).

    Raises:
        BadRequestError: nothing that could be a credential.
    """
    if isinstance(body, str):
        if not body.strip():
            raise BadRequestError("the body is empty")
        return body.strip()
    if not isinstance(body, dict):
        raise BadRequestError("the body must be a JSON object or a compact JWS")
    credential = body.get("verifiableCredential", body)
    kinds = credential.get("type") if isinstance(credential, dict) else None
    if "EnvelopedVerifiableCredential" in (
        kinds if isinstance(kinds, list) else [kinds]
    ):
        ident = credential.get("id")
        if isinstance(ident, str):
            for prefix in _ENVELOPE_PREFIXES:
                if ident.startswith(prefix):
                    return ident[len(prefix) :]
        raise BadRequestError(
            "an enveloped credential needs a data:application/vc+jwt id"
        )
    if isinstance(credential, str | dict):
        return credential
    raise BadRequestError(
        "verifiableCredential must be an object or a compact JWS string"
    )


def _problem(status: int, title: str, detail: str) -> web.Response:
    return web.json_response(
        {"type": "about:blank", "title": title, "status": status, "detail": detail},
        status=status,
        content_type="application/problem+json",
    )


class VerifierRoutes:
    """The verifier's HTTP handlers, finding the verifier under ``key``."""

    def __init__(self, key: web.AppKey[CredentialVerifier]) -> None:
        self.key = key

    def routes(self) -> list[web.RouteDef]:
        """The route table."""
        return [web.post("/credentials/verify", self.verify)]

    async def verify(self, request: web.Request) -> web.Response:
        """Verify one credential and report every check."""
        verifier = request.app.get(self.key)
        if verifier is None:
            return _problem(503, "service unavailable", "the verifier is starting")
        raw = await request.read()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return _problem(400, "bad request", "the body is not UTF-8")
        # A JSON media type promises JSON: anything else in it is malformed,
        # not a token to try. Without one, a body that looks like JSON is JSON
        # and anything else is a compact JWS (application/vc+jwt).
        media = request.content_type
        declared_json = media == "application/json" or media.endswith("+json")
        try:
            body: Any = (
                json.loads(text)
                if declared_json or text.lstrip()[:1] in ("{", "[", '"')
                else text
            )
        except (ValueError, RecursionError):
            return _problem(400, "bad request", "the body is not JSON")
        try:
            credential = unwrap(body)
            report = await verifier.verify(credential)
        except BadRequestError as exc:
            return _problem(400, "bad request", str(exc))
        except VerificationError as exc:
            return _problem(400, "not a credential", str(exc))
        return web.json_response(
            report.to_json(), headers={"Cache-Control": "no-store"}
        )
