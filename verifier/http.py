"""``POST /credentials/verify`` in the shape of the W3C VC API.

Body: ``{"verifiableCredential": <credential>, "options": {...}}`` where the
credential is a JSON-LD credential with Data Integrity proofs, a compact
VC-JOSE/VC-JWT string, or an ``EnvelopedVerifiableCredential`` whose ``id``
is a ``data:application/vc+jwt,<token>`` URL. A bare credential (no wrapper)
is accepted too, and so is a bare compact JWS (e.g. ``application/vc+jwt``). A
body declared as JSON (``application/json`` or any ``+json`` type) must parse
as JSON; an undeclared one is JSON when it starts like JSON.

Answer: 200 with the report (``verified``, ``checks``, ``warnings``,
``errors`` and each check's detail) whether or not the credential verified.
A body that is not a credential at all raises ``BadRequestError`` (not JSON,
through the one strict parser, so a repeated member is refused, not read as
its last value) or ``VerificationError``; the composition root renders both as
RFC 9457 problems.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from resolver import strictjson
from resolver.errors import BadRequestError
from verifier.errors import VerifierUnavailableError
from verifier.service import CredentialVerifier

__all__ = ["VerifierRoutes", "unwrap"]

_ENVELOPE_PREFIXES = ("data:application/vc+jwt,", "data:application/jwt,")


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


class VerifierRoutes:
    """The verifier's HTTP handlers, finding the verifier under ``key``."""

    def __init__(self, key: web.AppKey[CredentialVerifier]) -> None:
        self.key = key

    def routes(self) -> list[web.RouteDef]:
        """The route table."""
        return [web.post("/credentials/verify", self.verify)]

    async def verify(self, request: web.Request) -> web.Response:
        """Verify one credential and report every check.

        Raises:
            VerifierUnavailableError: the verifier is not up yet.
            BadRequestError: the body is not UTF-8, not JSON though it should
                be, or holds nothing that could be a credential.
            VerificationError: the credential cannot be read at all (too
                large, too deep, …).
        """
        verifier = request.app.get(self.key)
        if verifier is None:
            raise VerifierUnavailableError("the verifier is starting")
        raw = await request.read()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequestError("the body is not UTF-8") from None
        # A JSON media type promises JSON: anything else in it is malformed,
        # not a token to try. Without one, a body that looks like JSON is JSON
        # and anything else is a compact JWS (application/vc+jwt).
        media = request.content_type
        declared_json = media == "application/json" or media.endswith("+json")
        body: Any = (
            strictjson.loads_body(text, BadRequestError)
            if declared_json or text.lstrip()[:1] in ("{", "[", '"')
            else text
        )
        report = await verifier.verify(unwrap(body))
        return web.json_response(
            report.to_json(), headers={"Cache-Control": "no-store"}
        )
