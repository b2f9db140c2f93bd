"""DID and DID URL syntax (DID Core §3.1, §3.2)."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from resolver.did import DID, MAX_DID_LENGTH, parse_did, parse_did_url
from resolver.errors import InvalidDIDError, InvalidDIDURLError, ResolutionError


@pytest.mark.parametrize(
    ("text", "method", "msid"),
    [
        ("did:example:123456789abcdefghi", "example", "123456789abcdefghi"),
        ("did:web:example.com%3A8443", "web", "example.com%3A8443"),
        ("did:web:example.com:user:alice", "web", "example.com:user:alice"),
        ("did:a1:b", "a1", "b"),
        ("did:example::x", "example", ":x"),
        ("did:example:a.b-c_d", "example", "a.b-c_d"),
    ],
    ids=[
        "plain",
        "pct-port-kept",
        "colons",
        "digit-method",
        "leading-colon",
        "idchars",
    ],
)
def test_parse_did_accepts_abnf(text, method, msid):
    did = parse_did(text)
    assert did == text
    assert did.method == method
    assert did.method_specific_id == msid


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "starts with 'did:'"),
        ("DID:example:1", "starts with 'did:'"),
        ("did:Example:1", "lowercase"),
        ("did:ex-ample:1", "lowercase"),
        ("did::1", "method name is empty"),
        ("did:example", "method-specific id"),
        ("did:example:", "method-specific id is empty"),
        ("did:example:abc:", "must not end with ':'"),
        ("did:example:a%zz", "two hex digits"),
        ("did:example:a%2", "two hex digits"),
        ("did:example:a b", "not allowed"),
        ("did:example:caf\u00e9", "not allowed"),
        ("did:example:a\x00b", "not allowed"),
        ("did:example:a/b", "not allowed"),
    ],
    ids=[
        "empty",
        "uppercase-scheme",
        "uppercase-method",
        "dash-in-method",
        "empty-method",
        "no-msid",
        "empty-msid",
        "trailing-colon",
        "bad-pct",
        "short-pct",
        "space",
        "non-ascii",
        "nul-byte",
        "path-in-did",
    ],
)
def test_parse_did_rejects_malformed_with_reason(text, reason):
    with pytest.raises(InvalidDIDError, match=reason):
        parse_did(text)


def test_parse_did_rejects_oversized_input():
    with pytest.raises(InvalidDIDError, match="over the limit"):
        parse_did("did:example:" + "a" * MAX_DID_LENGTH)


def test_invalid_did_error_is_a_value_error_for_validators():
    assert issubclass(InvalidDIDError, ValueError)


@pytest.mark.parametrize(
    ("text", "path", "query", "fragment"),
    [
        ("did:example:123", "", None, None),
        ("did:example:123/path/to", "/path/to", None, None),
        (
            "did:example:123?service=files&relativeRef=/a",
            "",
            "service=files&relativeRef=/a",
            None,
        ),
        ("did:example:123#key-1", "", None, "key-1"),
        ("did:example:123/p?q=1#f", "/p", "q=1", "f"),
        ("did:example:123?", "", "", None),
        ("did:example:123#", "", None, ""),
    ],
    ids=["bare", "path", "query", "fragment", "all", "empty-query", "empty-fragment"],
)
def test_parse_did_url_splits_components(text, path, query, fragment):
    url = parse_did_url(text)
    assert url.did == "did:example:123"
    assert (url.path, url.query, url.fragment) == (path, query, fragment)
    assert str(url) == text
    assert url.is_bare_did == (text == "did:example:123")


@pytest.mark.parametrize(
    "text",
    [
        "did:example:123#a#b",
        "did:example:123/a b",
        "did:example:123?x=<",
        "did:example:1/%g0",
    ],
    ids=["two-hashes", "space-in-path", "angle-in-query", "bad-pct-in-path"],
)
def test_parse_did_url_rejects_malformed_tail(text):
    with pytest.raises(InvalidDIDURLError):
        parse_did_url(text)


def test_parse_did_url_reports_bad_did_part_as_invalid_did():
    with pytest.raises(InvalidDIDError):
        parse_did_url("did:Bad:1#frag")


def test_did_url_params_decoded_and_repeats_refused():
    url = parse_did_url("did:example:1?service=agent&relativeRef=%2Fpath%3Fx")
    assert url.params() == {"service": "agent", "relativeRef": "/path?x"}
    with pytest.raises(InvalidDIDURLError, match="repeated"):
        parse_did_url("did:example:1?service=a&service=b").params()


def test_did_validates_as_a_pydantic_field():
    class Holder(BaseModel):
        did: DID

    assert Holder(did="did:key:z6Mk").did.method == "key"
    assert Holder(did="did:key:z6Mk").model_dump() == {"did": "did:key:z6Mk"}
    with pytest.raises(ValidationError):
        Holder(did="not-a-did")


@given(st.text(max_size=300))
def test_parse_did_url_never_raises_anything_but_resolution_errors(text):
    try:
        url = parse_did_url(text)
    except ResolutionError:
        return
    assert str(url) == text


@pytest.mark.parametrize(
    "ref", ["/doc?v=1", "doc", "a/b:c", "", "?x=1", "#frag", "./a:b", "%25"]
)
def test_relative_ref_accepts_relative_references(ref):
    url = parse_did_url(f"did:example:1?service=s&relativeRef={quote(ref, safe='')}")
    assert url.relative_ref() == ref


@pytest.mark.parametrize(
    "ref",
    [
        "http://169.254.169.254/",
        "//evil.example/x",
        "javascript:alert(1)",
        "a:b",
        "/a b",
        "/a\\b",
        "a#b#c",
    ],
    ids=[
        "absolute",
        "network-path",
        "javascript",
        "scheme-like",
        "space",
        "backslash",
        "two-fragments",
    ],
)
def test_open_redirect_relative_ref_is_invalid_did_url(ref):
    url = parse_did_url(f"did:example:1?service=s&relativeRef={quote(ref, safe='')}")
    with pytest.raises(InvalidDIDURLError, match="relativeRef"):
        url.relative_ref()
