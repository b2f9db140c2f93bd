"""The DID Resolution HTTP binding: negotiation, errors, statuses, caching headers."""

from __future__ import annotations

import json

import pytest
from yarl import URL

from tests.helpers.fakes import EXAMPLE_DID

BASE = "/1.0/identifiers/"
ERR = "https://www.w3.org/ns/did#"


def raw_get(client, path, **kwargs):
    """GET ``path`` exactly as written: no re-encoding by the client library."""
    url = URL(str(client.make_url("/")).rstrip("/") + path, encoded=True)
    return client.session.get(url, **kwargs)


async def test_no_accept_gives_full_resolution_result(static_client):
    resp = await static_client.get(BASE + EXAMPLE_DID)
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("application/did-resolution")
    body = await resp.json(content_type=None)
    assert body["didDocument"]["id"] == EXAMPLE_DID
    meta = body["didResolutionMetadata"]
    assert meta["contentType"] == "application/did+ld+json"
    assert meta["driver"] == "static-example"
    assert isinstance(meta["duration"], float)
    assert meta["retrieved"].endswith("Z")
    assert body["didDocumentMetadata"] == {}


@pytest.mark.parametrize(
    ("accept", "ctype", "full"),
    [
        ("application/did-resolution", "application/did-resolution", True),
        (
            'application/ld+json;profile="https://w3id.org/did-resolution"',
            'application/ld+json;profile="https://w3id.org/did-resolution"',
            True,
        ),
        ("application/did+ld+json", "application/did+ld+json", False),
        ("application/did+json", "application/did+json", False),
        ("application/did", "application/did", False),
        ("*/*", "application/did-resolution", True),
        ("text/html;q=0.9, application/did+json;q=0.5", "application/did+json", False),
    ],
    ids=[
        "resolution",
        "legacy-profile",
        "did+ld+json",
        "did+json",
        "did",
        "any",
        "q-values",
    ],
)
async def test_content_negotiation(static_client, accept, ctype, full):
    resp = await static_client.get(BASE + EXAMPLE_DID, headers={"Accept": accept})
    assert resp.status == 200
    assert resp.headers["Content-Type"] == ctype
    body = json.loads(await resp.read())
    if full:
        assert body["didDocument"]["id"] == EXAMPLE_DID
    else:
        assert body["id"] == EXAMPLE_DID
        assert ("@context" in body) is (ctype != "application/did+json")


async def test_unknown_accept_is_406_with_problem(static_client):
    resp = await static_client.get(BASE + EXAMPLE_DID, headers={"Accept": "text/html"})
    assert resp.status == 406
    body = await resp.json(content_type=None)
    assert body["didDocument"] is None
    assert body["didDocumentMetadata"] == {}
    error = body["didResolutionMetadata"]["error"]
    assert error["type"] == ERR + "REPRESENTATION_NOT_SUPPORTED"
    assert error["status"] == 406
    assert error["title"]


@pytest.mark.parametrize(
    ("path", "status", "error_type"),
    [
        ("did:example:", 400, "INVALID_DID"),
        ("did:Example:1", 400, "INVALID_DID"),
        ("not-a-did", 400, "INVALID_DID"),
        ("did:example:1%zz", 400, "INVALID_DID"),
        ("did:example:missing", 404, "NOT_FOUND"),
        ("did:nomethod:1", 501, "METHOD_NOT_SUPPORTED"),
        ("did:example:alice?colour=red", 501, "FEATURE_NOT_SUPPORTED"),
        ("did%3Aexample%3Aalice?colour=red", 400, "INVALID_OPTIONS"),
        (
            "did:example:alice?versionTime=2020-01-01T00:00:00Z",
            501,
            "FEATURE_NOT_SUPPORTED",
        ),
        ("did:example:alice?noCache=perhaps", 400, "INVALID_OPTIONS"),
        ("did:example:alice?noCache=true&noCache=false", 400, "INVALID_OPTIONS"),
        ("did%3Aexample%3Aalice%23nope", 404, "NOT_FOUND"),
        ("did%3Aexample%3Aalice%FF", 400, "INVALID_DID"),
    ],
    ids=[
        "empty-msid",
        "uppercase-method",
        "not-a-did",
        "bad-pct",
        "unknown-did",
        "unknown-method",
        "unknown-did-parameter",
        "unknown-option-encoded-form",
        "version-time",
        "bad-option-value",
        "repeated-option",
        "unknown-fragment",
        "encoded-not-utf8",
    ],
)
async def test_error_statuses_follow_the_spec_table(
    static_client, path, status, error_type
):
    resp = await raw_get(static_client, BASE + path)
    assert resp.status == status
    body = await resp.json(content_type=None)
    meta = body.get("didResolutionMetadata") or body.get("dereferencingMetadata")
    assert meta["error"]["type"] == ERR + error_type
    assert meta["error"]["detail"]
    assert resp.headers["Cache-Control"] == "no-store"


async def test_deactivated_did_is_410_with_document(static_client):
    resp = await static_client.get(BASE + "did:example:gone")
    assert resp.status == 410
    body = await resp.json(content_type=None)
    assert body["didDocumentMetadata"]["deactivated"] is True
    assert body["didDocument"]["id"] == "did:example:gone"


async def test_percent_encoded_port_is_kept_not_decoded(static_client, static_driver):
    did = "did:example:host.example%3A8443"
    static_driver.documents[did] = {"id": did}
    resp = await raw_get(static_client, BASE + did)
    assert resp.status == 200
    body = await resp.json(content_type=None)
    assert body["didDocument"]["id"] == did


async def test_fully_encoded_identifier_decoded_once_and_query_is_options(
    static_client, static_driver
):
    resp = await raw_get(static_client, BASE + "did%3Aexample%3Aalice?flavour=mint")
    assert resp.status == 200
    assert static_driver.seen_options[-1].get("flavour") == "mint"


async def test_plain_identifier_takes_driver_options_from_query(
    static_client, static_driver
):
    resp = await static_client.get(BASE + EXAMPLE_DID + "?flavour=lemon&noCache=true")
    assert resp.status == 200
    assert static_driver.seen_options[-1].get("flavour") == "lemon"
    assert static_driver.seen_options[-1].no_cache is True


async def test_fragment_dereferencing_via_encoded_identifier(static_client):
    resp = await raw_get(static_client, BASE + "did%3Aexample%3Aalice%23key-1")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "application/did-url-dereferencing"
    body = await resp.json(content_type=None)
    assert body["content"]["id"] == EXAMPLE_DID + "#key-1"
    assert body["dereferencingMetadata"]["contentType"] == "application/did+ld+json"


async def test_fragment_dereferencing_document_only(static_client):
    resp = await raw_get(
        static_client,
        BASE + "did%3Aexample%3Aalice%23key-1",
        headers={"Accept": "application/did+json"},
    )
    body = await resp.json(content_type=None)
    assert body["type"] == "Multikey"


async def test_service_dereferencing_is_303_to_endpoint(static_client):
    resp = await static_client.get(
        BASE + EXAMPLE_DID + "?service=files&relativeRef=%2Freport.pdf",
        allow_redirects=False,
    )
    assert resp.status == 303
    assert resp.headers["Location"] == "https://files.example/report.pdf"


@pytest.mark.parametrize(
    "ref",
    [
        "http%3A%2F%2F169.254.169.254%2F",  # the metadata address, absolute
        "%2F%2F169.254.169.254%2Flatest",  # network-path: keeps the scheme only
        "javascript%3Aalert(1)",
    ],
    ids=["absolute-url", "network-path", "javascript"],
)
async def test_open_redirect_through_relative_ref_refused(static_client, ref):
    resp = await static_client.get(
        BASE + EXAMPLE_DID + "?service=files&relativeRef=" + ref,
        allow_redirects=False,
    )
    assert resp.status == 400
    assert "Location" not in resp.headers
    body = await resp.json(content_type=None)
    assert body["dereferencingMetadata"]["error"]["type"] == (
        "https://www.w3.org/ns/did#INVALID_DID_URL"
    )


async def test_immutable_documents_get_immutable_cache_control_and_etag(static_client):
    resp = await static_client.get(
        BASE + EXAMPLE_DID, headers={"Accept": "application/did+json"}
    )
    assert resp.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    etag = resp.headers["ETag"]
    again = await static_client.get(
        BASE + EXAMPLE_DID,
        headers={"Accept": "application/did+json", "If-None-Match": etag},
    )
    assert again.status == 304
    assert again.headers["ETag"] == etag


async def test_full_result_has_weak_etag_and_revalidates(static_client):
    resp = await static_client.get(BASE + EXAMPLE_DID)
    etag = resp.headers["ETag"]
    assert etag.startswith("W/")
    again = await static_client.get(BASE + EXAMPLE_DID, headers={"If-None-Match": etag})
    assert again.status == 304


async def test_cors_header_on_get(static_client):
    resp = await static_client.get(
        BASE + EXAMPLE_DID, headers={"Origin": "https://wallet.example"}
    )
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert resp.headers["Vary"] == "Accept"


async def test_post_takes_options_from_json_body(static_client, static_driver):
    resp = await static_client.post(BASE + EXAMPLE_DID, json={"flavour": "x"})
    assert resp.status == 200
    assert static_driver.seen_options[-1].get("flavour") == "x"


@pytest.mark.parametrize(
    "body", [b"{not json", b"[1,2]", b"\xff\xfe"], ids=["broken", "array", "not-utf8"]
)
async def test_post_with_malformed_body_is_invalid_options(static_client, body):
    resp = await static_client.post(BASE + EXAMPLE_DID, data=body)
    assert resp.status == 400
    payload = await resp.json(content_type=None)
    assert payload["didResolutionMetadata"]["error"]["type"] == ERR + "INVALID_OPTIONS"


async def test_duplicate_member_in_resolution_options_body_refused(
    static_client, static_driver
):
    body = b'{"flavour": "plain", "flavour": "x"}'
    resp = await static_client.post(BASE + EXAMPLE_DID, data=body)
    assert resp.status == 400
    payload = await resp.json(content_type=None)
    error = payload["didResolutionMetadata"]["error"]
    assert error["type"] == ERR + "INVALID_OPTIONS"
    assert "duplicate member 'flavour'" in error["detail"]
    assert all("flavour" not in seen for seen in static_driver.seen_options)


async def test_deeply_nested_options_body_is_invalid_options_not_a_500(static_client):
    resp = await static_client.post(BASE + EXAMPLE_DID, data=b'{"a":' * 5000)
    assert resp.status == 400
    payload = await resp.json(content_type=None)
    error = payload["didResolutionMetadata"]["error"]
    assert error["type"] == ERR + "INVALID_OPTIONS"
    assert error["status"] == 400


async def test_oversized_identifier_is_refused_not_crashed(static_client):
    resp = await static_client.get(BASE + "did:example:" + "a" * 5000)
    assert resp.status == 400
    body = await resp.json(content_type=None)
    assert "over the limit" in body["didResolutionMetadata"]["error"]["detail"]


async def test_universal_resolver_extras(static_client):
    methods = await (await static_client.get("/1.0/methods")).json()
    assert methods == ["example"]
    tests = await (await static_client.get("/1.0/testIdentifiers")).json()
    assert EXAMPLE_DID in tests["example"]
    traits = await (await static_client.get("/1.0/traits")).json()
    assert traits["example"] == {"updateable": False}
    props = await (await static_client.get("/1.0/properties")).json()
    assert props["static-example"]["methods"] == ["example"]


async def test_health_and_ready(static_client):
    assert (await static_client.get("/health")).status == 200
    ready = await static_client.get("/ready")
    assert ready.status == 200
    assert (await ready.json())["methods"] == ["example"]


async def test_unknown_route_is_a_problem_document_not_html(static_client):
    resp = await static_client.get("/nope")
    assert resp.status == 404
    assert resp.headers["Content-Type"].startswith("application/problem+json")


async def test_driver_crash_is_500_without_traceback(static_client, static_driver):
    static_driver.fail = RuntimeError("secret internals")
    resp = await static_client.get(BASE + EXAMPLE_DID + "?noCache=true")
    assert resp.status == 500
    text = await resp.text()
    assert "Traceback" not in text
    assert "secret internals" not in text
    body = json.loads(text)
    assert body["didResolutionMetadata"]["error"]["type"] == ERR + "INTERNAL_ERROR"


async def test_request_line_over_the_limit_is_refused_not_crashed(static_client):
    # 10,000 characters: past the server's 8 KiB request-line limit.
    resp = await raw_get(static_client, BASE + "did:example:" + "a" * 10_000)
    assert resp.status in (400, 414)
    follow = await static_client.get(BASE + EXAMPLE_DID)
    assert follow.status == 200


async def test_request_line_limit_applies_before_routing(static_client):
    # Not a resolver route: only the server's parser limit can refuse this.
    resp = await raw_get(static_client, "/" + "x" * 9_000)
    assert resp.status in (400, 414)
