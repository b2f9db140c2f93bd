"""HTTP routes of the registry: statements, the log, entity queries, TRQP v2.

::

    POST /registry/v1/statements                 application/jose → 201 receipt
    GET  /registry/v1/log/checkpoint             the signed note (text/plain)
    GET  /registry/v1/log/entries?start=&end=
    GET  /registry/v1/log/proof/inclusion?index=&tree_size=
    GET  /registry/v1/log/proof/consistency?first=&second=
    GET  /registry/v1/entities/{did}?at=&consistency_from=
    GET  /registry/v1/entities?role=&resource=&at=&cursor=&limit=
    POST /trqp/authorization                     TRQP v2
    POST /trqp/recognition                       TRQP v2
    GET  /.well-known/did.json (or the registry did:web's path)

Query answers (entities, TRQP) come as JSON, or with ``Accept:
application/jwt`` as a JWS by the registry key (``registry.answers``).

Handlers parse, call one service method and render. Errors are raised, never
rendered here: a malformed query or body is a ``BadRequestError`` (bodies go
through the one strict JSON parser), the rest are registry errors, and the
composition root's error middleware (``didtrust.problems``) turns each into an
RFC 9457 problem with its status, never a traceback.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from registry.errors import MalformedStatementError, NotInitializedError
from registry.models import Role
from registry.service import RegistryService, b64
from resolver import strictjson
from resolver.errors import BadRequestError, UnsupportedMediaTypeError
from resolver.timefmt import parse_time

__all__ = ["RegistryRoutes"]

_TRQP_REQUIRED = ("entity_id", "authority_id", "action", "resource")
_MAX_TRQP_FIELD = 2000

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ServiceHandler = Callable[[web.Request, RegistryService], Awaitable[web.StreamResponse]]


def _int_param(request: web.Request, name: str, *, default: int | None = None) -> int:
    raw = request.query.get(name)
    if raw is None:
        if default is None:
            raise BadRequestError(f"query parameter {name!r} is required")
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 19:
        raise BadRequestError(
            f"query parameter {name!r} must be a non-negative integer"
        )
    return int(raw)


def _time_param(request: web.Request, name: str = "at") -> datetime | None:
    raw = request.query.get(name)
    if raw is None:
        return None
    try:
        return parse_time(raw)
    except (ValueError, OverflowError):
        raise BadRequestError(
            f"{name!r} must be an RFC 3339 date-time, e.g. 2024-01-31T00:00:00Z"
        ) from None


def _optional_int(request: web.Request, name: str) -> int | None:
    return _int_param(request, name) if name in request.query else None


def _path_did(request: web.Request) -> str:
    """The DID in the last path segment, as sent (docs/adr/0001).

    Percent-encoding is DID syntax (``did:web:example.com%3A8443`` is not
    ``did:web:example.com:8443``), so the DID is cut from the raw request
    target, not from the router's decoded match; a fully encoded DID
    (``did%3A…``) is decoded exactly once.
    """
    did = request.raw_path.partition("?")[0].rpartition("/")[2]
    if len(did) > 4096:
        raise BadRequestError("the DID is too long")
    if did[:6].lower() == "did%3a":
        try:
            did = unquote(did, errors="strict")
        except UnicodeDecodeError:
            raise BadRequestError("the DID is not valid UTF-8") from None
    return did


class RegistryRoutes:
    """The registry's HTTP handlers.

    Args:
        key: The application key under which the RegistryService is found.
    """

    def __init__(self, key: web.AppKey[RegistryService]) -> None:
        self.key = key

    def routes(self) -> list[web.RouteDef]:
        """The route table to add to an application."""
        v1 = "/registry/v1"
        on = self._with_service
        return [
            web.post(f"{v1}/statements", on(self._post_statement)),
            web.get(f"{v1}/log/checkpoint", on(self._get_checkpoint)),
            web.get(f"{v1}/log/entries", on(self._get_entries)),
            web.get(f"{v1}/log/proof/inclusion", on(self._get_inclusion)),
            web.get(f"{v1}/log/proof/consistency", on(self._get_consistency)),
            web.get(f"{v1}/entities", on(self._list_entities)),
            web.get(f"{v1}/entities/{{did}}", on(self._get_entity)),
            web.post("/trqp/authorization", on(self._trqp_authorization)),
            web.post("/trqp/recognition", on(self._trqp_recognition)),
        ]

    def _service(self, request: web.Request) -> RegistryService:
        service = request.app.get(self.key)
        if service is None:
            raise NotInitializedError(
                "this server has no registry: run `didtrust registry init` and restart"
            )
        return service

    def _with_service(self, handler: ServiceHandler) -> Handler:
        """``handler`` as a route handler, given the service (or refused 503)."""

        @functools.wraps(handler)
        async def handle(request: web.Request) -> web.StreamResponse:
            return await handler(request, self._service(request))

        return handle

    # -- writes ----------------------------------------------------------------

    async def _post_statement(
        self, request: web.Request, service: RegistryService
    ) -> web.StreamResponse:
        """Submit a statement (a compact JWS)."""
        ctype = request.content_type
        if ctype not in ("application/jose", "application/jwt", "text/plain"):
            raise UnsupportedMediaTypeError("send the compact JWS as application/jose")
        raw = await request.read()
        try:
            jws = raw.decode("ascii").strip()
        except UnicodeDecodeError:
            raise MalformedStatementError("a compact JWS is ASCII") from None
        receipt = await service.submit(jws)
        return web.json_response(
            receipt.to_json(),
            status=201,
            headers={
                "Location": f"/registry/v1/log/entries?start={receipt.index}"
                f"&end={receipt.index + 1}"
            },
        )

    # -- the log ---------------------------------------------------------------

    async def _get_checkpoint(
        self, request: web.Request, service: RegistryService
    ) -> web.StreamResponse:
        """The latest signed checkpoint, as a C2SP signed note."""
        checkpoint = await service.checkpoint()
        return web.Response(
            body=checkpoint.note,
            content_type="text/plain",
            charset="utf-8",
            headers={"Cache-Control": "no-cache"},
        )

    async def _get_entries(
        self, request: web.Request, service: RegistryService
    ) -> web.StreamResponse:
        """Log entries ``[start, end)``, at most 1000."""
        start = _int_param(request, "start")
        checkpoint = await service.checkpoint()
        end = min(
            _int_param(request, "end", default=start + 100),
            start + 1000,
            checkpoint.size,
        )
        if start >= checkpoint.size:
            raise BadRequestError(
                f"start {start} is beyond the log size {checkpoint.size}"
            )
        if end <= start:
            raise BadRequestError("end must be greater than start")
        entries = await service.log_entries(start, end)
        body = {
            "treeSize": checkpoint.size,
            "entries": [
                {"index": start + i, "entry": data.decode(), "leafHash": b64(hashed)}
                for i, (data, hashed) in enumerate(entries)
            ],
        }
        return web.json_response(body)

    async def _get_inclusion(
        self, request: web.Request, service: RegistryService
    ) -> web.StreamResponse:
        """An inclusion proof of leaf ``index`` in the tree of ``tree_size``."""
        index = _int_param(request, "index")
        checkpoint = await service.checkpoint()
        size = _int_param(request, "tree_size", default=checkpoint.size)
        if size > checkpoint.size:
            raise BadRequestError(
                f"tree_size {size} is beyond the log size {checkpoint.size}"
            )
        hashed, proof = await service.log_inclusion(index, size)
        return web.json_response(
            {
                "index": index,
                "treeSize": size,
                "leafHash": b64(hashed),
                "proof": [b64(h) for h in proof],
            }
        )

    async def _get_consistency(
        self, request: web.Request, service: RegistryService
    ) -> web.StreamResponse:
        """A consistency proof between two tree sizes."""
        first = _int_param(request, "first")
        checkpoint = await service.checkpoint()
        second = _int_param(request, "second", default=checkpoint.size)
        if second > checkpoint.size:
            raise BadRequestError(
                f"second {second} is beyond the log size {checkpoint.size}"
            )
        proof = await service.log_consistency(first, second)
        return web.json_response(
            {"first": first, "second": second, "proof": [b64(h) for h in proof]}
        )

    # -- queries ---------------------------------------------------------------

    async def _get_entity(
        self, request: web.Request, service: RegistryService
    ) -> web.StreamResponse:
        """What the log says about one DID, at ``at`` (default now), with proofs."""
        did = _path_did(request)
        at = _time_param(request)
        since = _optional_int(request, "consistency_from")
        answer = await service.entity(did, at, consistency_from=since)
        query = {"type": "entity", "entity_id": did, "at": answer["at"]}
        return self._answer(request, service, answer, query, answer["at"])

    async def _list_entities(
        self, request: web.Request, service: RegistryService
    ) -> web.StreamResponse:
        """A page of the entities effective at ``at``."""
        role_text = request.query.get("role")
        role: Role | None = None
        if role_text is not None:
            try:
                role = Role(role_text)
            except ValueError:
                raise BadRequestError("role must be 'accreditor' or 'issuer'") from None
        limit = _int_param(request, "limit", default=100)
        if not 1 <= limit <= 1000:
            raise BadRequestError("limit must be 1..1000")
        answer = await service.list_entities(
            at=_time_param(request),
            role=role,
            resource=request.query.get("resource"),
            cursor=request.query.get("cursor"),
            limit=limit,
        )
        return web.json_response(answer)

    async def _trqp_authorization(
        self, request: web.Request, service: RegistryService
    ) -> web.StreamResponse:
        """TRQP v2 ``POST /authorization``."""
        query = await _trqp_query(request)
        since = _optional_int(request, "consistency_from")
        answer = await service.authorization(query, consistency_from=since)
        return self._answer(
            request, service, answer, {"type": "authorization", **query}, None
        )

    async def _trqp_recognition(
        self, request: web.Request, service: RegistryService
    ) -> web.StreamResponse:
        """TRQP v2 ``POST /recognition``."""
        query = await _trqp_query(request)
        since = _optional_int(request, "consistency_from")
        answer = await service.recognition(query, consistency_from=since)
        return self._answer(
            request, service, answer, {"type": "recognition", **query}, None
        )

    def _answer(
        self,
        request: web.Request,
        service: RegistryService,
        answer: dict[str, Any],
        query: Mapping[str, Any],
        at_text: str | None,
    ) -> web.Response:
        accept = request.headers.get("Accept", "")
        if "application/jwt" not in accept:
            return web.json_response(
                answer, dumps=_compact, headers={"Cache-Control": "no-cache"}
            )
        at = parse_time(at_text) if at_text else _trqp_instant(answer, service.now())
        token = service.sign_answer(answer, query, at)
        return web.Response(
            text=token,
            content_type="application/jwt",
            headers={"Cache-Control": "no-cache"},
        )


def _compact(value: Any) -> str:
    """Compact JSON: answers carry kilobytes of evidence, spaces add up."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _trqp_instant(answer: Mapping[str, Any], evaluated: datetime) -> datetime:
    requested = answer.get("time_requested")
    return parse_time(requested) if isinstance(requested, str) else evaluated


async def _trqp_query(request: web.Request) -> dict[str, Any]:
    """Read and check a TRQP v2 request body (the spec's JSON Schema, by hand)."""
    body = strictjson.loads_body(await request.read(), BadRequestError)
    if not isinstance(body, dict):
        raise BadRequestError("the body must be a JSON object")
    for name in _TRQP_REQUIRED:
        value = body.get(name)
        if not isinstance(value, str) or not value:
            raise BadRequestError(
                f"{name!r} is required and must be a non-empty string"
            )
        if len(value) > _MAX_TRQP_FIELD:
            raise BadRequestError(f"{name!r} is too long")
    context = body.get("context")
    if context is not None:
        if not isinstance(context, dict):
            raise BadRequestError("'context' must be an object")
        for key, value in context.items():
            if not isinstance(value, str):
                raise BadRequestError(f"context.{key} must be a string")
        if "time" in context:
            value = context["time"]
            # TRQP v2: "RFC3339 required, using only Z (+00:00) offset".
            if not value.endswith(("Z", "z", "+00:00")):
                raise BadRequestError("context.time must be RFC 3339 with the Z offset")
            try:
                parse_time(value)
            except (ValueError, OverflowError):
                raise BadRequestError(
                    "context.time must be an RFC 3339 date-time"
                ) from None
    # The TRQP v2 request schemas allow members they do not name: they are
    # ignored, and left out of the query a signed answer is bound to.
    query = {name: body[name] for name in _TRQP_REQUIRED}
    if context is not None:
        query["context"] = context
    return query
