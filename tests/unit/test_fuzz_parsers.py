"""Fuzz targets, one per parser of network input (issue 18, item 8).

Schemathesis drives the HTTP API by its OpenAPI document and missed inputs
that broke parsers underneath it (deep nesting, lone surrogates). Here each
parser gets hostile text directly, from hypothesis: it may refuse it, but only
with the errors its docstring names, never with anything else (a
``RecursionError``, ``UnicodeEncodeError``, ``OverflowError``, ``KeyError``
would each be a 500 or a broken batch somewhere above it).
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from registry.errors import StatementError
from registry.statements import verify_statement
from resolver import strictjson
from resolver.did import parse_did_url
from resolver.errors import ResolutionError
from resolver.jwk import validate_public_jwk
from resolver.multibase import b64url_decode, decode_multibase
from resolver.timefmt import parse_time
from verifier.errors import VerificationError
from verifier.jose import peek

# Derandomized: the same examples on every run, so CI never flakes on a find;
# raise max_examples locally to search further.
FUZZ = settings(max_examples=300, deadline=None, derandomize=True)

# JSON-ish text: brackets, quotes, escapes (surrogates among them), numbers.
JSONISH = st.lists(
    st.sampled_from(
        [
            *'{}[]",:0123456789-+.eE ',
            "\\",
            "\\u",
            "\\ud800",
            "\\udc00",
            "1" * 30,
            "true",
            "null",
            '"a"',
        ]
    ),
    max_size=80,
).map("".join)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@FUZZ
@given(JSONISH | st.text(max_size=200))
def test_fuzz_strict_json_only_raises_value_error(text: str) -> None:
    try:
        value = strictjson.loads(text)
    except ValueError:  # JSONDecodeError, duplicates, surrogates, ranges
        return
    except RecursionError:  # documented: callers bound depth first
        assert strictjson.nests_deeper_than(text, 500)
        return
    # Whatever it accepts can be written back as UTF-8 JSON.
    json.dumps(value, ensure_ascii=False).encode()


@FUZZ
@given(st.text(max_size=300))
def test_fuzz_nesting_scan_never_raises(text: str) -> None:
    assert strictjson.nests_deeper_than(text, 64) in (True, False)


@FUZZ
@given(
    st.text(max_size=120)
    | st.builds(lambda t: "did:example:" + t, st.text(max_size=80))
)
def test_fuzz_did_url_parser_only_raises_resolution_errors(text: str) -> None:
    try:
        url = parse_did_url(text)
        url.params()
        url.relative_ref()
    except ResolutionError:
        return


@FUZZ
@given(
    st.text(max_size=60)
    | st.from_regex(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?")
)
def test_fuzz_time_parser_only_raises_value_error(text: str) -> None:
    for grammar in ("rfc3339", "xsd"):
        with contextlib.suppress(ValueError):
            parse_time(text, grammar=grammar)


@FUZZ
@given(st.text(max_size=120))
def test_fuzz_multibase_and_base64url_only_raise_value_error(text: str) -> None:
    for decode in (decode_multibase, b64url_decode):
        with contextlib.suppress(ValueError):
            decode(text)


@FUZZ
@given(
    st.dictionaries(st.sampled_from(["kty", "crv", "x", "y", "d", "use"]), JSON_VALUES)
)
def test_fuzz_jwk_validation_only_raises_resolution_errors(jwk: dict[str, Any]) -> None:
    with contextlib.suppress(ResolutionError):
        validate_public_jwk(jwk)


def _segments() -> st.SearchStrategy[str]:
    part = st.text(
        alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=",
        max_size=60,
    )
    encoded_json = JSONISH.map(
        lambda t: (
            __import__("base64").urlsafe_b64encode(t.encode()).decode().rstrip("=")
        )
    )
    return st.lists(part | encoded_json, min_size=1, max_size=4).map(".".join)


@FUZZ
@given(_segments() | st.text(max_size=100))
def test_fuzz_statement_parser_only_raises_statement_errors(token: str) -> None:
    with contextlib.suppress(StatementError):
        verify_statement(token, did_document={"id": "did:example:x"})


@FUZZ
@given(_segments() | st.text(max_size=100))
def test_fuzz_credential_jws_parser_only_raises_verification_errors(token: str) -> None:
    with contextlib.suppress(VerificationError):
        peek(token)
