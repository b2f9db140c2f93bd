"""didtrust.problems: every status table, the one problem builder, the middleware."""

from __future__ import annotations

import json

import pytest
from aiohttp import web

from didtrust.problems import (
    PROBLEM_BASE,
    error_middleware,
    problem_for,
    resolution_problem,
    status_for,
)
from registry.errors import (
    InclusionProofError,
    RegistryError,
    ReplayError,
    ScopeWideningError,
    StorageError,
)
from resolver.errors import (
    BadRequestError,
    DriverError,
    FetchRefusedError,
    InvalidPublicKeyLengthError,
    NotFoundError,
    UnsupportedMediaTypeError,
)
from verifier.errors import MalformedCredentialError, VerifierUnavailableError
from verifier.http import VerifierRoutes
from verifier.service import CredentialVerifier


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (InvalidPublicKeyLengthError("31 bytes"), 400),
        (NotFoundError("gone"), 404),
        (FetchRefusedError("private address", reason="private-address"), 500),
        (DriverError("crashed"), 500),
    ],
    ids=["invalid-key-length", "not-found", "fetch-refused", "driver"],
)
def test_resolution_errors_follow_the_w3c_table(error, status):
    got, problem = resolution_problem(error)
    assert got == status == status_for(error)
    assert problem == {
        "type": "https://www.w3.org/ns/did#" + error.error_type,
        "title": error.title,
        "status": status,
        "detail": error.detail,
    }


def test_registry_errors_are_named_after_their_class():
    status, problem = problem_for(ScopeWideningError("wider than granted"))
    assert status == 403  # a NotAuthorizedError
    assert problem == {
        "type": PROBLEM_BASE + "scope-widening",
        "title": "scope widening",
        "status": 403,
        "detail": "wider than granted",
    }
    assert status_for(ReplayError("jti used")) == 409
    assert status_for(InclusionProofError("bad path")) == 400


def test_registry_error_in_no_row_is_a_named_500():
    class OddError(RegistryError):
        pass

    assert problem_for(OddError("odd")) == (
        500,
        {
            "type": PROBLEM_BASE + "odd",
            "title": "odd",
            "status": 500,
            "detail": "odd",
        },
    )


def test_storage_error_detail_is_never_shown():
    status, problem = problem_for(StorageError("/var/lib/didtrust/registry.sqlite3"))
    assert status == 503
    assert "/" not in problem["detail"]


@pytest.mark.parametrize(
    ("error", "status", "title"),
    [
        (BadRequestError("the body is not JSON"), 400, "bad request"),
        (UnsupportedMediaTypeError("send jose"), 415, "unsupported media type"),
        (MalformedCredentialError("too deep"), 400, "not a credential"),
        (VerifierUnavailableError("starting"), 503, "service unavailable"),
    ],
    ids=["bad-request", "media-type", "not-a-credential", "verifier-starting"],
)
def test_request_and_verifier_errors_are_generic_problems(error, status, title):
    assert problem_for(error) == (
        status,
        {"type": "about:blank", "title": title, "status": status, "detail": str(error)},
    )


async def test_middleware_answers_an_unknown_error_with_a_bare_500(aiohttp_client):
    async def crash(request: web.Request) -> web.Response:
        raise RuntimeError("secret internals")

    app = web.Application(middlewares=[error_middleware])
    app.router.add_get("/crash", crash)
    client = await aiohttp_client(app)
    resp = await client.get("/crash")
    assert resp.status == 500
    assert resp.content_type == "application/problem+json"
    text = await resp.text()
    assert "secret internals" not in text
    assert json.loads(text) == {
        "type": "about:blank",
        "title": "internal error",
        "status": 500,
    }


async def test_verifier_that_is_not_up_answers_503(aiohttp_client):
    app = web.Application(middlewares=[error_middleware])
    app.router.add_routes(
        VerifierRoutes(web.AppKey("verifier", CredentialVerifier)).routes()
    )
    client = await aiohttp_client(app)
    resp = await client.post("/credentials/verify", json={})
    assert resp.status == 503
    problem = await resp.json(content_type="application/problem+json")
    assert problem["detail"] == "the verifier is starting"
