"""HTTP(S) binding of W3C DID Resolution, Universal Resolver compatible.

Routes: ``GET|POST /1.0/identifiers/{did-or-did-url}``, ``/1.0/methods``,
``/1.0/properties``, ``/1.0/testIdentifiers``, ``/1.0/traits``.

How the identifier is read (see docs/adr/0001-identifier-in-the-path.md):

- It is taken from the raw request target, never from the framework's decoded
  path, so ``did:web:example.com%3A8443`` keeps its ``%3A``.
- A fully percent-encoded identifier (``did%3A…``) is decoded once; the HTTP
  query string then holds resolution options only.
- Otherwise the identifier is used as written; HTTP query parameters that name
  a resolution option (core or the method's) are options, and the rest belong
  to the DID URL's own query (``service``, ``relativeRef``, …).

Handlers parse, call one Resolver method and render. Errors are rendered as a
resolution (or dereferencing) result whose metadata carries an RFC 9457 problem
(:func:`error_result`); the status and the problem come from the renderer the
composition root hands in (``didtrust.problems`` holds the spec's status
table), since domain errors carry no HTTP status.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Any, Final
from urllib.parse import parse_qsl, quote, unquote

from aiohttp import web

from resolver import strictjson
from resolver.cache import LRU, Admit
from resolver.did import DIDURL, MAX_DID_LENGTH, parse_did_url
from resolver.errors import (
    InvalidDIDError,
    InvalidOptionsError,
    RepresentationNotSupportedError,
    ResolutionError,
)
from resolver.models import (
    DID_DOCUMENT_TYPES,
    DID_RESOLUTION,
    DID_RESOLUTION_LEGACY,
    DID_URL_DEREFERENCING,
    JSONObject,
)
from resolver.service import (
    CORE_OPTIONS,
    UNSUPPORTED_SPEC_OPTIONS,
    Dereferenced,
    Resolution,
    Resolver,
)

__all__ = ["RenderProblem", "ResolverRoutes", "error_result"]

log = logging.getLogger(__name__)

RESOLUTION_CONTEXT: Final = "https://w3id.org/did-resolution/v1"
PREFIX: Final = "/1.0/identifiers/"
_FULL_PREFIX: Final = (
    b'{"@context":"' + RESOLUTION_CONTEXT.encode() + b'","didDocument":'
)

RenderProblem = Callable[[ResolutionError], tuple[int, JSONObject]]
"""Gives a resolution error's HTTP status and its RFC 9457 problem object."""


def error_result(problem: JSONObject, *, dereferencing: bool) -> JSONObject:
    """The resolution (or dereferencing) result of a failure carrying ``problem``.

    W3C DID Resolution: no document (or content), empty document metadata and
    the problem as the metadata's ``error``.
    """
    if dereferencing:
        return {
            "@context": RESOLUTION_CONTEXT,
            "content": None,
            "dereferencingMetadata": {"error": problem},
            "contentMetadata": {},
        }
    return {
        "@context": RESOLUTION_CONTEXT,
        "didDocument": None,
        "didResolutionMetadata": {"error": problem},
        "didDocumentMetadata": {},
    }


# Representations: what the client gets for each accepted media type.
_FULL = "full"
_DOC = "doc"
_DEFAULT_TYPE = DID_RESOLUTION


def _parse_accept(header: str) -> list[tuple[float, str, str]]:
    """Split an Accept header into (q, type, profile) triples, best first."""
    out: list[tuple[float, str, str]] = []
    for part in header.split(","):
        pieces = [p.strip() for p in part.split(";")]
        mtype = pieces[0].lower()
        if not mtype:
            continue
        q = 1.0
        profile = ""
        for param in pieces[1:]:
            name, _, value = param.partition("=")
            name = name.strip().lower()
            value = value.strip().strip('"')
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
            elif name == "profile":
                profile = value
        if q > 0:
            out.append((q, mtype, profile))
    out.sort(key=lambda t: -t[0])  # stable: header order wins among equal q
    return out


def negotiate(header: str | None, *, dereferencing: bool) -> tuple[str, str]:
    """Pick (kind, content type) for an Accept header.

    ``kind`` is ``"full"`` for a resolution/dereferencing result or ``"doc"``
    for the document (or node) alone.

    Raises:
        RepresentationNotSupportedError: nothing acceptable can be produced.
    """
    full_type = DID_URL_DEREFERENCING if dereferencing else DID_RESOLUTION
    if not header:
        return _FULL, full_type
    for _q, mtype, profile in _parse_accept(header):
        # The media type names the shape of the body. A DID URL's full answer
        # is a dereferencing result even if a resolution result was asked for
        # (RFC 9110 §12.5.1: a server may disregard Accept rather than answer
        # 406); a DID asked for as a dereferencing result is dereferenced.
        if mtype in (DID_RESOLUTION, DID_URL_DEREFERENCING):
            return _FULL, DID_URL_DEREFERENCING if dereferencing else mtype
        if mtype == "application/ld+json":
            if profile == "https://w3id.org/did-resolution":
                return _FULL, full_type if dereferencing else DID_RESOLUTION_LEGACY
            return _DOC, "application/did+ld+json"
        if mtype in DID_DOCUMENT_TYPES:
            return _DOC, mtype
        if mtype == "application/json":
            return _FULL, "application/json"
        if mtype in ("*/*", "application/*"):
            return _FULL, full_type
    raise RepresentationNotSupportedError(f"cannot produce any of: {header[:200]}")


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


class ResolverRoutes:
    """The resolver's HTTP handlers.

    Args:
        key: The application key under which the composition root puts the
            Resolver (it is built in a cleanup context, after routing).
        problem: Renders a resolution error (its status and problem object).
        max_identifier_length: Longest identifier accepted in the path.
        cors: Send ``Access-Control-Allow-Origin: *`` on GET answers.
        admission: Gives the ``admit`` a request's resolution awaits before it
            resolves afresh (a per-client budget of uncached resolutions), or
            ``None`` for no budget.
    """

    def __init__(
        self,
        key: web.AppKey[Resolver],
        *,
        problem: RenderProblem,
        max_identifier_length: int = 4096,
        cors: bool = True,
        admission: Callable[[web.Request], Admit | None] | None = None,
    ) -> None:
        self.key = key
        self.problem = problem
        self.admission = admission
        self.max_identifier_length = min(max_identifier_length, MAX_DID_LENGTH)
        self.cors = cors
        self._base_headers = {"Vary": "Accept"}
        # A bounded memo of the Accept headers seen (clients send few distinct
        # ones): per instance, not module state; sync, as negotiation is pure.
        self._accepts: LRU[tuple[str | None, bool], tuple[str, str]] = LRU(512)
        if cors:
            self._base_headers["Access-Control-Allow-Origin"] = "*"
            self._base_headers["Access-Control-Expose-Headers"] = "ETag"

    def routes(self) -> list[web.RouteDef]:
        """The route table to add to an application."""
        # Any character, line breaks too: the router matches the decoded path,
        # where ``%0A`` is a newline that ``.`` would not match (a 404 from the
        # router instead of this binding's 400 for an invalid DID).
        ident = PREFIX + "{identifier:[\\s\\S]+}"
        return [
            web.get(ident, self.get_identifier, allow_head=True),
            web.post(ident, self.post_identifier),
            web.get("/1.0/methods", self.methods),
            web.get("/1.0/properties", self.properties),
            web.get("/1.0/testIdentifiers", self.test_identifiers),
            web.get("/1.0/traits", self.traits),
        ]

    def _negotiate_cached(
        self, header: str | None, *, dereferencing: bool
    ) -> tuple[str, str]:
        key = (header, dereferencing)
        hit = self._accepts.get(key)
        if hit is None:
            hit = negotiate(header, dereferencing=dereferencing)
            self._accepts.put(key, hit)
        return hit

    # -- request parsing ---------------------------------------------------

    def _split(self, request: web.Request) -> tuple[str, str, bool]:
        """Return (identifier, HTTP query, was fully encoded) from the raw target."""
        raw = request.raw_path
        path, _, query = raw.partition("?")
        ident = path[len(PREFIX) :] if path.startswith(PREFIX) else ""
        if len(ident) > self.max_identifier_length * 3:
            raise InvalidDIDError(
                f"identifier is over the limit of {self.max_identifier_length} chars"
            )
        encoded = ident[:6].lower() == "did%3a"
        if encoded:
            try:
                ident = unquote(ident, errors="strict")
            except UnicodeDecodeError:
                raise InvalidDIDError("the identifier is not valid UTF-8") from None
        if len(ident) > self.max_identifier_length:
            raise InvalidDIDError(
                f"identifier is {len(ident)} characters, over the limit of "
                f"{self.max_identifier_length}"
            )
        return ident, query, encoded

    def _parse(
        self,
        request: web.Request,
        resolver: Resolver,
        body_options: Mapping[str, Any] | None,
    ) -> tuple[DIDURL, dict[str, Any]]:
        ident, query, encoded = self._split(request)
        if not query and not body_options:  # the common case: nothing to split
            return parse_did_url(ident), {}
        try:
            pairs = parse_qsl(query, keep_blank_values=True, errors="strict")
        except UnicodeDecodeError:
            raise InvalidOptionsError("the query string is not valid UTF-8") from None
        options: dict[str, Any] = {}
        if encoded:
            url = parse_did_url(ident)
            for name, value in pairs:
                if name in options:
                    raise InvalidOptionsError(f"option {name!r} is repeated")
                options[name] = value
        else:
            base = parse_did_url(ident)
            option_names = set(CORE_OPTIONS) | UNSUPPORTED_SPEC_OPTIONS
            if base.did.method in resolver.drivers:
                option_names |= resolver.drivers.get(base.did.method).options
            kept: list[str] = []
            for name, value in pairs:
                if name in option_names:
                    if name in options:
                        raise InvalidOptionsError(f"option {name!r} is repeated")
                    options[name] = value
                else:
                    kept.append(query_part(name, value))
            url = base
            if kept:
                if base.query is not None:
                    raise InvalidOptionsError("the DID URL's query appears twice")
                url = parse_did_url(str(base) + "?" + "&".join(kept))
        if body_options:
            for name, value in body_options.items():
                if name in options:
                    raise InvalidOptionsError(f"option {name!r} given twice")
                options[name] = value
        return url, options

    # -- handlers ----------------------------------------------------------

    async def get_identifier(self, request: web.Request) -> web.StreamResponse:
        """Resolve a DID or dereference a DID URL."""
        return await self._answer(request, None)

    async def post_identifier(self, request: web.Request) -> web.StreamResponse:
        """The same, with resolution options as a JSON object in the body."""
        body_options: dict[str, Any] | None = None
        if request.body_exists:
            try:
                body = strictjson.loads_body(await request.read(), InvalidOptionsError)
            except InvalidOptionsError as exc:
                return self._error(request, exc, dereferencing=False)
            if not isinstance(body, dict):
                return self._error(
                    request,
                    InvalidOptionsError("the body must be a JSON object of options"),
                    dereferencing=False,
                )
            body_options = body
        return await self._answer(request, body_options)

    async def _answer(
        self, request: web.Request, body_options: Mapping[str, Any] | None
    ) -> web.StreamResponse:
        accept = request.headers.get("Accept")
        resolver = request.app[self.key]
        dereferencing = False
        try:
            url, options = self._parse(request, resolver, body_options)
            dereferencing = not url.is_bare_did
            kind, ctype = self._negotiate_cached(accept, dereferencing=dereferencing)
            # A DID dereferenced (DID Resolution §5): the content is its document.
            dereferencing = dereferencing or ctype == DID_URL_DEREFERENCING
            options.setdefault("accept", ctype)
            admit = None if self.admission is None else self.admission(request)
            if not dereferencing:
                resolution = await resolver.resolve(url.did, options, admit=admit)
                return self._render_resolution(request, resolution, kind, ctype)
            deref = await resolver.dereference(url, options, admit=admit)
            return self._render_dereferenced(request, deref, kind, ctype)
        except ResolutionError as exc:
            return self._error(request, exc, dereferencing=dereferencing)

    # -- rendering ---------------------------------------------------------

    def _headers(self, resolution: Resolution | None) -> dict[str, str]:
        headers = self._base_headers.copy()
        if resolution is None:
            headers["Cache-Control"] = "no-store"
        elif resolution.result.ttl is None:
            # A pure function of the DID: it never changes.
            headers["Cache-Control"] = "public, max-age=31536000, immutable"
        elif resolution.result.ttl > 0 and resolution.stale_seconds is None:
            headers["Cache-Control"] = f"public, max-age={int(resolution.result.ttl)}"
        else:
            headers["Cache-Control"] = "no-cache"
        return headers

    def _not_modified(
        self, request: web.Request, etag: str, headers: dict[str, str]
    ) -> web.Response | None:
        inm = request.headers.get("If-None-Match")
        if not inm:
            return None
        tags = {t.strip().removeprefix("W/") for t in inm.split(",")}
        if "*" in tags or etag.removeprefix("W/") in tags:
            headers["ETag"] = etag
            return web.Response(status=304, headers=headers)
        return None

    def _render_resolution(
        self, request: web.Request, resolution: Resolution, kind: str, ctype: str
    ) -> web.Response:
        status = 410 if resolution.result.deactivated else 200
        headers = self._headers(resolution)
        if kind == _DOC:
            etag = resolution.etag
            not_modified = self._not_modified(request, etag, headers)
            if not_modified is not None:
                return not_modified
            headers["ETag"] = etag
            body = resolution.document_bytes
            if ctype == "application/did+json" and "@context" in resolution.document:
                # The plain-JSON representation carries no JSON-LD context.
                body = _dumps(
                    {k: v for k, v in resolution.document.items() if k != "@context"}
                )
            return web.Response(
                body=body, status=status, headers=headers, content_type=ctype
            )
        # A full result differs per request only in its resolution metadata.
        etag = "W/" + resolution.etag
        not_modified = self._not_modified(request, etag, headers)
        if not_modified is not None:
            return not_modified
        headers["ETag"] = etag
        body = b"".join(
            (
                _FULL_PREFIX,
                resolution.document_bytes,
                b',"didResolutionMetadata":',
                resolution.resolution_metadata_bytes,
                b',"didDocumentMetadata":',
                resolution.metadata_bytes,
                b"}",
            )
        )
        return _response(body, status, headers, ctype)

    def _render_dereferenced(
        self, request: web.Request, deref: Dereferenced, kind: str, ctype: str
    ) -> web.Response:
        headers = self._headers(deref.resolution)
        if deref.redirect is not None:
            headers["Location"] = deref.redirect
            return web.Response(status=303, headers=headers)
        content = deref.content or {}
        if kind == _DOC:
            if ctype == "application/did+json":
                content = {k: v for k, v in content.items() if k != "@context"}
            return web.Response(
                body=_dumps(content), headers=headers, content_type=ctype
            )
        body = {
            "@context": RESOLUTION_CONTEXT,
            "content": content,
            "dereferencingMetadata": deref.resolution.resolution_metadata(
                "application/did+ld+json"
            ),
            "contentMetadata": deref.content_metadata,
        }
        return _response(_dumps(body), 200, headers, ctype)

    def _error(
        self, request: web.Request, exc: ResolutionError, *, dereferencing: bool
    ) -> web.Response:
        status, problem = self.problem(exc)
        if status >= 500:
            log.warning("resolution failed (%s): %s", exc.error_type, exc.detail)
        try:
            _kind, ctype = self._negotiate_cached(
                request.headers.get("Accept"), dereferencing=dereferencing
            )
        except RepresentationNotSupportedError:
            ctype = DID_URL_DEREFERENCING if dereferencing else DID_RESOLUTION
        if ctype not in (DID_RESOLUTION, DID_RESOLUTION_LEGACY, DID_URL_DEREFERENCING):
            ctype = DID_URL_DEREFERENCING if dereferencing else DID_RESOLUTION
        # The body has the shape its media type names (a DID asked for as a
        # dereferencing result fails as one).
        body = error_result(problem, dereferencing=ctype == DID_URL_DEREFERENCING)
        return _response(_dumps(body), status, self._headers(None), ctype)

    # -- Universal Resolver extras -----------------------------------------

    async def methods(self, request: web.Request) -> web.Response:
        """The supported DID methods."""
        return self._json(request.app[self.key].drivers.methods)

    async def properties(self, request: web.Request) -> web.Response:
        """Each driver's configuration, by name."""
        props = {
            d.name: {
                "methods": sorted(d.methods),
                "options": sorted(d.options),
                "cache": "immutable" if d.name in ("did-key", "did-jwk") else "ttl",
            }
            for d in request.app[self.key].drivers.drivers()
        }
        return self._json(props)

    async def test_identifiers(self, request: web.Request) -> web.Response:
        """Example DIDs each method resolves, by method."""
        out: dict[str, list[str]] = {}
        for driver in request.app[self.key].drivers.drivers():
            for method in sorted(driver.methods):
                out[method] = [
                    d for d in driver.example_dids if d.startswith(f"did:{method}:")
                ]
        return self._json(out)

    async def traits(self, request: web.Request) -> web.Response:
        """Each method's Universal Resolver traits."""
        out = {
            method: dict(driver.traits)
            for driver in request.app[self.key].drivers.drivers()
            for method in sorted(driver.methods)
        }
        return self._json(out)

    def _json(self, value: Any) -> web.Response:
        headers = {"Cache-Control": "public, max-age=60"}
        if self.cors:
            headers["Access-Control-Allow-Origin"] = "*"
        return web.Response(
            body=_dumps(value), headers=headers, content_type="application/json"
        )


def query_part(name: str, value: str) -> str:
    """Re-encode one query parameter for a DID URL's query."""
    safe = "!$'()*+,;:@/?-._~"
    return quote(name, safe=safe) + "=" + quote(value, safe=safe)


def _response(
    body: bytes, status: int, headers: dict[str, str], ctype: str
) -> web.Response:
    # aiohttp's content_type= refuses parameters; set the header directly so the
    # legacy ``application/ld+json;profile=…`` type goes out as written.
    headers["Content-Type"] = ctype
    return web.Response(body=body, status=status, headers=headers)
