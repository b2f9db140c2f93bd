"""The OpenAPI document (didtrust/openapi.json) tells the truth about the server.

- It is a valid OpenAPI 3.1 document (openapi-spec-validator, which checks it
  against the OpenAPI Initiative's 3.1 schema and each Schema Object against
  JSON Schema 2020-12).
- Every route the real app registers is documented with its method, and every
  documented path and method is registered: the two cannot drift apart.
- Real answers of the real app (did:key resolution in each media type, errors,
  /health, /ready, TRQP over an initialised registry, /credentials/verify) have
  a documented status and media type, and their JSON bodies validate against
  the documented schema with jsonschema (Draft 2020-12).
- /docs is HTML that names every path and carries no script.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse, web
from jsonschema import Draft202012Validator, FormatChecker
from openapi_spec_validator import validate as validate_openapi
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from yarl import URL

from didtrust.apidocs import (
    curl_example,
    openapi_routes,
    operations,
    render_docs,
)
from didtrust.app import create_app
from didtrust.settings import Settings
from tests.helpers.clock import Clock
from tests.helpers.https_server import ClientFactory
from tests.helpers.openapi import DOC, deref
from tests.helpers.paths import VECTORS
from tests.helpers.registry import ROOT, UNIVERSITY, init_registry

DOC_URI = "urn:didtrust:openapi"
DID_KEY = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
ID = f"/1.0/identifiers/{DID_KEY}"
_PARAM = re.compile(r"\{([^}:]+)(?::[^}]*)?\}")


def openapi_path(template: str) -> str:
    """aiohttp's ``{name}`` / ``{name:regex}`` template as OpenAPI's ``{name}``."""
    return _PARAM.sub(r"{\1}", template)


def build_app(settings: Settings, **kwargs: Any) -> web.Application:
    """The real app, with the API description mounted if the lead has not yet."""
    app = create_app(settings, **kwargs)
    mounted = {r.resource.canonical for r in app.router.routes() if r.resource}
    if "/openapi.json" not in mounted:
        app.router.add_routes(openapi_routes())
    return app


def registered(app: web.Application) -> set[tuple[str, str]]:
    out = set()
    for route in app.router.routes():
        if route.method in ("HEAD", "OPTIONS") or route.resource is None:
            continue
        out.add((openapi_path(route.resource.canonical), route.method.lower()))
    return out


def documented() -> set[tuple[str, str]]:
    return {(path, method) for path, method, _op in operations(DOC)}


# -- the document itself ---------------------------------------------------------


def test_document_is_valid_openapi_3_1():
    assert DOC["openapi"].startswith("3.1.")
    validate_openapi(DOC)


def test_validator_catches_a_broken_document():
    """The validity test above can fail: a response without a description."""
    broken = json.loads(json.dumps(DOC))
    del broken["paths"]["/health"]["get"]["responses"]["200"]["description"]
    with pytest.raises(OpenAPIValidationError, match="description"):
        validate_openapi(broken)


@pytest.mark.parametrize(
    "name",
    [
        "trqp_authorization_request",
        "trqp_authorization_response",
        "trqp_recognition_request",
        "trqp_recognition_response",
    ],
)
def test_embedded_trqp_schema_is_the_official_one(name):
    official = json.loads((VECTORS / "trqp-v2" / f"{name}.schema.json").read_text())
    component = "Trqp" + "".join(
        w.capitalize() for w in name.removeprefix("trqp_").split("_")
    )
    embedded = dict(DOC["components"]["schemas"][component])
    embedded.pop("$comment")
    assert embedded == official


@pytest.mark.parametrize(
    ("aiohttp_template", "expected"),
    [
        ("/1.0/identifiers/{identifier:.+}", "/1.0/identifiers/{identifier}"),
        ("/{path:.+}/did.json", "/{path}/did.json"),
        ("/registry/v1/entities/{did}", "/registry/v1/entities/{did}"),
        ("/health", "/health"),
    ],
    ids=["regex", "regex-in-middle", "plain", "static"],
)
def test_route_templates_map_to_openapi(aiohttp_template, expected):
    assert openapi_path(aiohttp_template) == expected


# -- routes and document agree -----------------------------------------------------


def test_every_registered_route_is_documented(tmp_path: Path):
    app = build_app(Settings(data_dir=str(tmp_path)))
    missing = registered(app) - documented()
    assert not missing, f"routes not in openapi.json: {sorted(missing)}"


def test_every_documented_route_is_registered(tmp_path: Path):
    app = build_app(Settings(data_dir=str(tmp_path)))
    extra = documented() - registered(app)
    assert not extra, f"documented but not served: {sorted(extra)}"


def test_drift_is_caught_both_ways(tmp_path: Path):
    """An undocumented route shows up in the difference the tests above check."""
    app = build_app(Settings(data_dir=str(tmp_path)))

    async def handler(request: web.Request) -> web.Response:
        return web.Response()

    app.router.add_get("/undocumented/{x:\\d+}", handler)
    assert registered(app) - documented() == {("/undocumented/{x}", "get")}


def test_api_description_routes_are_served_and_documented(tmp_path: Path):
    app = build_app(Settings(data_dir=str(tmp_path)))
    for route in [("/openapi.json", "get"), ("/docs", "get")]:
        assert route in registered(app)
        assert route in documented()


# -- real answers conform ----------------------------------------------------------

_REGISTRY = Registry().with_resource(
    DOC_URI, Resource.from_contents(DOC, default_specification=DRAFT202012)
)


def _absolute(schema: Any) -> Any:
    """``schema`` with its local refs made absolute (so they resolve in the doc)."""
    if isinstance(schema, dict):
        return {
            k: (
                DOC_URI + v
                if k == "$ref" and isinstance(v, str) and v.startswith("#")
                else _absolute(v)
            )
            for k, v in schema.items()
        }
    if isinstance(schema, list):
        return [_absolute(v) for v in schema]
    return schema


async def assert_documented(
    resp: ClientResponse, path: str, method: str
) -> dict[str, Any] | None:
    """The answer's status and media type are documented; a JSON body validates.

    Returns the JSON body (or None for a body that is not JSON).
    """
    responses = DOC["paths"][path][method]["responses"]
    status = str(resp.status)
    assert status in responses, f"{method.upper()} {path}: status {status} undocumented"
    response = deref(responses[status])
    content = response.get("content", {})
    raw = await resp.read()
    if not content:
        assert not raw
        return None
    ctype = resp.headers["Content-Type"].split(";", 1)[0].strip()
    # Media type keys may carry parameters (the legacy ld+json profile).
    full = resp.headers["Content-Type"].replace("; ", ";")
    key = full if full in content else ctype
    assert key in content, f"{path} {status}: {full!r} not in {sorted(content)}"
    if not (ctype.endswith("json") or ctype.startswith("application/did")):
        return None
    body = json.loads(raw)
    schema = _absolute(content[key]["schema"])
    validator = Draft202012Validator(
        schema, registry=_REGISTRY, format_checker=FormatChecker()
    )
    errors = [e.message for e in validator.iter_errors(body)]
    assert not errors, f"{method.upper()} {path} {status}: {errors[:3]}"
    return dict(body) if isinstance(body, dict) else {"value": body}


@pytest.fixture
async def plain(aiohttp_client: ClientFactory, tmp_path: Path):
    """The app without a registry (nothing initialised in its data directory)."""
    return await aiohttp_client(build_app(Settings(data_dir=str(tmp_path))))


IDENTIFIERS = "/1.0/identifiers/{identifier}"


@pytest.mark.parametrize(
    ("accept", "status", "content_type"),
    [
        (None, 200, "application/did-resolution"),
        ("application/did-resolution", 200, "application/did-resolution"),
        ("application/json", 200, "application/json"),
        (
            'application/ld+json;profile="https://w3id.org/did-resolution"',
            200,
            'application/ld+json;profile="https://w3id.org/did-resolution"',
        ),
        ("application/did+ld+json", 200, "application/did+ld+json"),
        ("application/did", 200, "application/did"),
        ("application/did+json", 200, "application/did+json"),
        ("image/png", 406, "application/did-resolution"),
    ],
    ids=[
        "no-accept",
        "did-resolution",
        "json",
        "legacy-ld-json",
        "did-ld-json",
        "did",
        "did-json",
        "unacceptable-406",
    ],
)
async def test_resolution_answers_match_the_document(
    plain, accept, status, content_type
):
    headers = {"Accept": accept} if accept else {}
    resp = await plain.get(ID, headers=headers)
    assert resp.status == status
    assert resp.headers["Content-Type"] == content_type
    await assert_documented(resp, IDENTIFIERS, "get")


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/1.0/identifiers/did:key:zBAD", 400),
        ("/1.0/identifiers/did:nope:abc", 501),
        ("/1.0/identifiers/not-a-did", 400),
        (f"{ID}?versionId=1", 501),
    ],
    ids=["bad-key", "unknown-method", "not-a-did", "unsupported-option"],
)
async def test_resolution_errors_match_the_document(plain, url, status):
    resp = await plain.get(url)
    assert resp.status == status
    body = await assert_documented(resp, IDENTIFIERS, "get")
    assert body is not None
    assert body["didDocument"] is None


FRAGMENT = f"{DID_KEY}#{DID_KEY.removeprefix('did:key:')}"
IDENTIFIER_KINDS = {
    "did": DID_KEY,
    "did-url": FRAGMENT.replace(":", "%3A").replace("#", "%23"),
    "unknown-fragment": f"{DID_KEY}%23nope".replace(":", "%3A"),
    "unknown-service": f"{DID_KEY}?service=nope",
    "invalid-did": "did:key:zBAD",
    "unknown-method": "did:nope:x",
}
ACCEPTS = [
    "application/did-resolution",
    "application/did-url-dereferencing",
    'application/ld+json;profile="https://w3id.org/did-resolution"',
    "application/json",
    "application/did+ld+json",
    "application/did",
    "*/*",
]


@pytest.mark.parametrize("accept", ACCEPTS)
@pytest.mark.parametrize("kind", list(IDENTIFIER_KINDS))
@pytest.mark.parametrize("method", ["get", "post"])
async def test_every_representation_has_the_documented_shape(
    plain, method, kind, accept
):
    """The body has the shape its media type names, answer or error.

    Found by the schemathesis fuzz: a DID asked for as
    ``application/did-url-dereferencing`` came back as a resolution result, and
    a DID URL asked for as ``application/did-resolution`` as a dereferencing
    result, each under the type of the other.
    """
    url = URL("/1.0/identifiers/" + IDENTIFIER_KINDS[kind], encoded=True)
    resp = await plain.request(method.upper(), url, headers={"Accept": accept})
    body = await assert_documented(resp, IDENTIFIERS, method)
    if resp.content_type == "application/did-url-dereferencing":
        assert body is not None
        assert "content" in body
    elif resp.content_type == "application/did-resolution":
        assert body is not None
        assert "didDocument" in body


async def test_a_did_dereferenced_is_its_document(plain):
    resp = await plain.get(ID, headers={"Accept": "application/did-url-dereferencing"})
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "application/did-url-dereferencing"
    body = await assert_documented(resp, IDENTIFIERS, "get")
    assert body is not None
    assert body["content"]["id"] == DID_KEY


async def test_a_did_url_asked_for_as_a_resolution_is_dereferenced(plain):
    url = URL("/1.0/identifiers/" + IDENTIFIER_KINDS["did-url"], encoded=True)
    resp = await plain.get(url, headers={"Accept": "application/did-resolution"})
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "application/did-url-dereferencing"
    body = await assert_documented(resp, IDENTIFIERS, "get")
    assert body is not None
    assert body["content"]["id"] == FRAGMENT


async def test_identifier_with_a_line_break_is_an_invalid_did(plain):
    """Found by the fuzz: ``%0A`` in the identifier was the router's bare 404."""
    resp = await plain.get(URL("/1.0/identifiers/did:key:z%0Ax", encoded=True))
    assert resp.status == 400
    body = await assert_documented(resp, IDENTIFIERS, "get")
    assert body is not None
    error = body["didResolutionMetadata"]["error"]
    assert error["type"] == "https://www.w3.org/ns/did#INVALID_DID"


async def test_writes_over_the_rate_limit_match_the_document(
    aiohttp_client: ClientFactory, tmp_path: Path
):
    data = tmp_path / "data"
    await init_registry(data)
    settings = Settings(
        data_dir=str(data),
        rate_limit_writes=0.001,
        rate_limit_writes_burst=1,
        rate_limit_verify=0.001,
        rate_limit_verify_burst=1,
    )
    client = await aiohttp_client(build_app(settings, clock=Clock()))
    for path, media in [
        ("/registry/v1/statements", "application/jose"),
        ("/credentials/verify", "application/json"),
    ]:
        statuses = []
        for _ in range(2):
            resp = await client.post(path, data=b"x", headers={"Content-Type": media})
            statuses.append(resp.status)
        assert statuses[1] == 429, statuses
        assert int(resp.headers["Retry-After"]) >= 1
        body = await assert_documented(resp, path, "post")
        assert body is not None
        assert body["type"] == "urn:didtrust:problem:rate-limited"


async def test_dereferenced_fragment_matches_the_document(plain):
    url = f"{DID_KEY}#{DID_KEY.removeprefix('did:key:')}"
    encoded = url.replace(":", "%3A").replace("#", "%23")
    # encoded=True: yarl would otherwise turn %3A back into ':'.
    resp = await plain.get(URL("/1.0/identifiers/" + encoded, encoded=True))
    assert resp.status == 200
    body = await assert_documented(resp, IDENTIFIERS, "get")
    assert body is not None
    assert body["content"]["id"] == url


async def test_post_resolution_and_bad_body_match_the_document(plain):
    resp = await plain.post(ID, json={"publicKeyFormat": "JsonWebKey2020"})
    assert resp.status == 200
    await assert_documented(resp, IDENTIFIERS, "post")
    resp = await plain.post(ID, data=b"[1]")
    assert resp.status == 400
    await assert_documented(resp, IDENTIFIERS, "post")


@pytest.mark.parametrize(
    "path",
    [
        "/1.0/methods",
        "/1.0/properties",
        "/1.0/testIdentifiers",
        "/1.0/traits",
        "/health",
        "/ready",
        "/openapi.json",
        "/docs",
        "/",
        "/ui/app.js",
        "/ui/style.css",
    ],
)
async def test_simple_gets_match_the_document(plain, path):
    resp = await plain.get(path)
    assert resp.status == 200
    await assert_documented(resp, path, "get")


@pytest.mark.parametrize(
    ("method", "path", "url"),
    [
        ("get", "/registry/v1/log/checkpoint", "/registry/v1/log/checkpoint"),
        ("post", "/trqp/authorization", "/trqp/authorization"),
        ("get", "/registry/v1/entities/{did}", f"/registry/v1/entities/{DID_KEY}"),
        ("get", "/.well-known/did.json", "/.well-known/did.json"),
    ],
    ids=["checkpoint", "trqp", "entity", "well-known"],
)
async def test_registry_routes_without_a_registry_match_the_document(
    plain, method, path, url
):
    resp = await plain.request(method.upper(), url, json={})
    assert resp.status in (503, 404)
    body = await assert_documented(resp, path, method)
    assert body is not None
    assert body["status"] == resp.status


async def test_verify_with_a_bad_body_matches_the_document(plain):
    resp = await plain.post(
        "/credentials/verify",
        data=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert resp.status == 400
    await assert_documented(resp, "/credentials/verify", "post")


async def test_verify_report_matches_the_document(plain):
    credential = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential"],
        "issuer": DID_KEY,
        "credentialSubject": {"id": "did:example:alice"},
    }
    resp = await plain.post(
        "/credentials/verify", json={"verifiableCredential": credential}
    )
    assert resp.status == 200
    body = await assert_documented(resp, "/credentials/verify", "post")
    assert body is not None
    assert body["verified"] is False


@pytest.fixture
async def registry_client(aiohttp_client: ClientFactory, tmp_path: Path):
    data = tmp_path / "data"
    await init_registry(data)
    return await aiohttp_client(build_app(Settings(data_dir=str(data)), clock=Clock()))


@pytest.mark.parametrize("kind", ["authorization", "recognition"])
async def test_trqp_answers_match_the_document(registry_client, kind):
    query = {
        "entity_id": UNIVERSITY.did,
        "authority_id": ROOT.did,
        "action": "issue",
        "resource": "UniversityDegreeCredential",
        "context": {"time": "2021-06-30T00:00:00Z"},
    }
    resp = await registry_client.post(f"/trqp/{kind}", json=query)
    assert resp.status == 200
    body = await assert_documented(resp, f"/trqp/{kind}", "post")
    assert body is not None
    assert body["evidence"]["treeSize"] == 1
    signed = await registry_client.post(
        f"/trqp/{kind}", json=query, headers={"Accept": "application/jwt"}
    )
    assert signed.status == 200
    assert signed.content_type == "application/jwt"
    await assert_documented(signed, f"/trqp/{kind}", "post")
    bad = await registry_client.post(f"/trqp/{kind}", json={"entity_id": 1})
    assert bad.status == 400
    await assert_documented(bad, f"/trqp/{kind}", "post")


@pytest.mark.parametrize(
    ("path", "url", "status"),
    [
        ("/registry/v1/log/checkpoint", "/registry/v1/log/checkpoint", 200),
        ("/registry/v1/log/entries", "/registry/v1/log/entries?start=0", 200),
        ("/registry/v1/log/entries", "/registry/v1/log/entries?start=9", 400),
        (
            "/registry/v1/log/proof/inclusion",
            "/registry/v1/log/proof/inclusion?index=0",
            200,
        ),
        (
            "/registry/v1/log/proof/consistency",
            "/registry/v1/log/proof/consistency?first=1",
            200,
        ),
        ("/registry/v1/entities", "/registry/v1/entities?role=issuer", 200),
        ("/registry/v1/entities/{did}", f"/registry/v1/entities/{ROOT.did}", 200),
        ("/registry/v1/entities/{did}", f"/registry/v1/entities/{DID_KEY}", 404),
    ],
    ids=[
        "checkpoint",
        "entries",
        "entries-beyond-log",
        "inclusion",
        "consistency",
        "entities",
        "entity-root",
        "entity-unknown",
    ],
)
async def test_registry_reads_match_the_document(registry_client, path, url, status):
    resp = await registry_client.get(url)
    assert resp.status == status, await resp.text()
    await assert_documented(resp, path, "get")


async def test_statement_refusal_matches_the_document(registry_client):
    resp = await registry_client.post(
        "/registry/v1/statements", data=b"x", headers={"Content-Type": "image/png"}
    )
    assert resp.status == 415
    await assert_documented(resp, "/registry/v1/statements", "post")


async def test_undocumented_status_is_caught(plain):
    """assert_documented fails for a status the operation does not list."""
    resp = await plain.get("/health")
    resp.status = 418
    with pytest.raises(AssertionError, match="418 undocumented"):
        await assert_documented(resp, "/health", "get")


async def test_schema_mismatch_is_caught(plain):
    """A body that breaks the documented schema fails validation."""
    validator = Draft202012Validator(
        _absolute({"$ref": "#/components/schemas/Health"}), registry=_REGISTRY
    )
    assert not validator.is_valid({"status": "up"})
    assert not validator.is_valid({"status": "ok", "version": "1"})  # no versions
    assert validator.is_valid({"status": "ok"})
    # Through allOf and the embedded TRQP schema (with its own $id):
    answer = Draft202012Validator(
        _absolute({"$ref": "#/components/schemas/TrqpAuthorizationAnswer"}),
        registry=_REGISTRY,
    )
    good = {
        "entity_id": "did:x:1",
        "authority_id": "did:x:2",
        "action": "issue",
        "resource": "r",
        "authorized": False,
        "time_evaluated": "2021-01-01T00:00:00Z",
        "evidence": {"checkpoint": "c", "treeSize": 1, "leaves": {}},
    }
    assert answer.is_valid(good)
    assert not answer.is_valid({**good, "authorized": "no"})
    assert not answer.is_valid({k: v for k, v in good.items() if k != "evidence"})


# -- the docs page -----------------------------------------------------------------


async def test_docs_page_names_every_path(plain):
    resp = await plain.get("/docs")
    assert resp.status == 200
    assert resp.content_type == "text/html"
    assert "default-src 'none'" in resp.headers["Content-Security-Policy"]
    page = await resp.text()
    for path, method, _op in operations(DOC):
        assert (
            f'<span class="m">{method.upper()}</span><code>{html.escape(path)}</code>'
            in page
        )
    assert "<script" not in page.lower()


async def test_docs_and_spec_are_cached_with_etags(plain):
    for path in ("/docs", "/openapi.json"):
        first = await plain.get(path)
        etag = first.headers["ETag"]
        again = await plain.get(path, headers={"If-None-Match": etag})
        assert again.status == 304


async def test_openapi_json_is_the_packaged_document(plain):
    resp = await plain.get("/openapi.json")
    assert resp.content_type == "application/json"
    assert await resp.json() == DOC


def test_docs_escape_the_document():
    """Text from the document cannot inject markup into the page."""
    doc = {
        "openapi": "3.1.0",
        "info": {"title": "<script>alert(1)</script>", "version": "1"},
        "paths": {
            "/x": {
                "get": {
                    "summary": "<img src=x onerror=alert(1)>",
                    "responses": {"200": {"description": "</table><script>"}},
                }
            }
        },
    }
    page = render_docs(doc)
    assert "<script" not in page
    assert "<img" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


@pytest.mark.parametrize(
    ("path", "method", "expected"),
    [
        (
            IDENTIFIERS,
            "get",
            f"curl -s -H 'Accept: application/did-resolution' http://localhost:8080/1.0/identifiers/{DID_KEY}",
        ),
        (
            "/registry/v1/log/entries",
            "get",
            "curl -s 'http://localhost:8080/registry/v1/log/entries?start=0&end=1'",
        ),
    ],
    ids=["resolve", "entries"],
)
def test_curl_examples_come_from_the_document(path, method, expected):
    assert curl_example(DOC, path, method) == expected


def test_curl_example_posts_the_documented_body():
    command = curl_example(DOC, "/trqp/authorization", "post")
    assert command.startswith("curl -s -X POST ")
    assert (
        "-H 'Content-Type: application/json' --data-binary '{\"entity_id\"" in command
    )
