"""Every error→HTTP status table and the one RFC 9457 problem builder.

Domain errors carry no HTTP status (DESIGN.md): the packages raise, and this
module, in the composition root, decides what a client sees.

- :data:`RESOLUTION_STATUS` is the W3C DID Resolution HTTP(S) binding's table,
  by error type (``INVALID_DID`` → 400, …). The resolver's routes get
  :func:`resolution_problem` handed in, because a resolution error is answered
  as a resolution (or dereferencing) result with the problem inside its
  metadata, in the media type the client negotiated.
- :data:`STATUS_BY_ERROR` is the table for every other error (requests,
  registry, verifier), by class: the first row an error is an instance of
  wins. A row with a ``title`` renders a generic problem (``about:blank``); a
  row without one names the problem after the error class
  (``urn:didtrust:problem:<kebab-name>``), as registry refusals always were.
- :func:`problem` builds the problem object and :func:`problem_response` the
  ``application/problem+json`` response; nothing else in the project does.
- :func:`error_middleware` renders whatever escapes a handler: an aiohttp HTTP
  error, a project error by the tables above, anything else as a bare 500
  that is logged and never shows a traceback.

RFC 9457: https://www.rfc-editor.org/rfc/rfc9457. W3C DID Resolution,
§ "HTTP(S) Binding".

This module does not parse requests or decide what is an error; it renders.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from aiohttp import web

from registry.errors import (
    ConflictError,
    InvalidCursorError,
    MalformedStatementError,
    MerkleProofError,
    NotAuthorizedError,
    NotInitializedError,
    RejectedStatementError,
    ReplayError,
    ServiceUnavailableError,
    StatementSignatureError,
    StorageError,
    UnknownEntityError,
    UnknownKeyError,
    UnsupportedAlgorithmError,
)
from resolver.errors import (
    BadRequestError,
    DidTrustError,
    ResolutionError,
    UnsupportedMediaTypeError,
)
from resolver.models import JSONObject
from verifier.errors import VerificationError, VerifierUnavailableError

__all__ = [
    "PROBLEM_BASE",
    "RESOLUTION_STATUS",
    "STATUS_BY_ERROR",
    "Row",
    "error_middleware",
    "problem",
    "problem_for",
    "problem_response",
    "resolution_problem",
    "status_for",
]

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

PROBLEM_BASE: Final = "urn:didtrust:problem:"
"""Prefix of the project's own problem type URIs (then a kebab-case name)."""

RESOLUTION_STATUS: Final[Mapping[str, int]] = {
    # W3C DID Resolution, HTTP(S) binding, by error type.
    "INVALID_DID": 400,
    "INVALID_DID_URL": 400,
    "INVALID_OPTIONS": 400,
    "INVALID_PUBLIC_KEY": 400,
    "INVALID_PUBLIC_KEY_LENGTH": 400,
    "UNSUPPORTED_PUBLIC_KEY_TYPE": 400,
    "NOT_FOUND": 404,
    "REPRESENTATION_NOT_SUPPORTED": 406,
    "METHOD_NOT_SUPPORTED": 501,
    "FEATURE_NOT_SUPPORTED": 501,
    "INVALID_DID_DOCUMENT": 500,
    "INTERNAL_ERROR": 500,
}
"""HTTP status by W3C error type; a type not listed is a 500."""


@dataclass(frozen=True, slots=True)
class Row:
    """One row of :data:`STATUS_BY_ERROR`."""

    error: type[Exception]
    status: int
    title: str | None = None
    """A fixed title of an ``about:blank`` problem; ``None``: named after the class."""
    detail: str | None = None
    """A fixed detail that replaces the error's message (which is only logged)."""


STATUS_BY_ERROR: Final[tuple[Row, ...]] = (
    # Requests that never reached a service.
    Row(UnsupportedMediaTypeError, 415, "unsupported media type"),
    Row(BadRequestError, 400, "bad request"),
    # The verifier: a bad credential is a 200 report; only what is not a
    # credential at all is an error.
    Row(VerifierUnavailableError, 503, "service unavailable"),
    Row(VerificationError, 400, "not a credential"),
    # The registry.
    Row(MalformedStatementError, 400),
    Row(UnsupportedAlgorithmError, 400),
    Row(UnknownKeyError, 401),
    Row(StatementSignatureError, 401),
    Row(NotAuthorizedError, 403),
    Row(ReplayError, 409),
    Row(ConflictError, 409),
    Row(RejectedStatementError, 422),
    Row(UnknownEntityError, 404),
    Row(MerkleProofError, 400),
    Row(InvalidCursorError, 400),
    Row(NotInitializedError, 503),
    Row(ServiceUnavailableError, 503),
    # The text names the database file and the driver's error: logged only.
    Row(StorageError, 503, detail="the registry's storage failed; try again later"),
)
"""Statuses of every project error but resolution errors; first match wins.

An error in none of the rows is a 500 named after its class.
"""


def problem(
    status: int,
    title: str,
    detail: str = "",
    *,
    type_: str = "about:blank",
    **extra: Any,
) -> JSONObject:
    """The RFC 9457 problem details object (§3.1 members, then ``extra``).

    An empty ``detail`` is left out.
    """
    body: JSONObject = {"type": type_, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    return body


def problem_response(
    status: int,
    title: str,
    detail: str = "",
    *,
    type_: str = "about:blank",
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    """An ``application/problem+json`` response carrying :func:`problem`."""
    return _send(problem(status, title, detail, type_=type_), headers)


def _send(body: JSONObject, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.json_response(
        body,
        status=body["status"],
        content_type="application/problem+json",
        headers=headers,
    )


def resolution_problem(error: ResolutionError) -> tuple[int, JSONObject]:
    """The HTTP status of a resolution error and its problem object.

    The problem's ``type`` is the error's URI in the W3C DID namespace
    (``https://www.w3.org/ns/did#INVALID_DID``).
    """
    status = RESOLUTION_STATUS.get(error.error_type, 500)
    return status, problem(status, error.title, error.detail, type_=error.type_uri)


def _row_for(error: BaseException) -> Row | None:
    for row in STATUS_BY_ERROR:
        if isinstance(error, row.error):
            return row
    return None


def status_for(error: DidTrustError) -> int:
    """The HTTP status of any project error (500 when no table lists it)."""
    if isinstance(error, ResolutionError):
        return RESOLUTION_STATUS.get(error.error_type, 500)
    row = _row_for(error)
    return row.status if row is not None else 500


def _kebab(name: str) -> str:
    out = "".join("-" + c.lower() if c.isupper() else c for c in name).lstrip("-")
    return out.removesuffix("-error")


def problem_for(error: DidTrustError) -> tuple[int, JSONObject]:
    """The HTTP status of a project error and its problem object."""
    if isinstance(error, ResolutionError):
        return resolution_problem(error)
    row = _row_for(error)
    status = row.status if row is not None else 500
    detail = row.detail if row is not None and row.detail is not None else str(error)
    if row is not None and row.title is not None:
        return status, problem(status, row.title, detail)
    kind = _kebab(type(error).__name__)
    return status, problem(
        status, kind.replace("-", " "), detail, type_=PROBLEM_BASE + kind
    )


@web.middleware
async def error_middleware(
    request: web.Request, handler: Handler
) -> web.StreamResponse:
    """Render escaping errors as problem details; never leak a traceback."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400 or exc.empty_body:
            raise
        return problem_response(exc.status, exc.reason, exc.text or "")
    except DidTrustError as exc:
        status, body = problem_for(exc)
        if status >= 500:
            log.warning("%s on %s: %s", type(exc).__name__, request.path, exc)
        return _send(body)
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return problem_response(500, "internal error")
