"""Strict JSON: the refusals every network-facing parser shares."""

from __future__ import annotations

import pytest

from resolver import strictjson


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"a": 1, "a": 2}', "the payload has a duplicate member 'a'"),
        (b'{"a": NaN}', "the payload is not json: NaN is not json"),
        (b'{"a": 1e999}', "out of range"),
        (b"\xff", "the payload is not utf-8: invalid byte at 0"),
        (b"[1]", "the payload is not a json object"),
        (b"{", "the payload is not json"),
    ],
    ids=["duplicate-member", "nan", "overflow", "not-utf8", "array", "truncated"],
)
def test_loads_object_refuses_what_parsers_disagree_on(data, message):
    with pytest.raises(ValueError, match=message):
        strictjson.loads_object(data, "payload")


def test_loads_object_returns_the_object():
    assert strictjson.loads_object(b'{"a": [1, 2.5, "x"]}', "header") == {
        "a": [1, 2.5, "x"]
    }


@pytest.mark.parametrize(
    "text",
    [r'"a\ud800"', r'{"\udc00": 1}', r'[{"k": ["\uDBFF"]}]', rb'"\ud800"'],
    ids=["string", "member-name", "nested-upper-case", "bytes"],
)
def test_lone_surrogate_escape_refused(text):
    with pytest.raises(ValueError, match="lone surrogate"):
        strictjson.loads(text)


def test_escaped_surrogate_pair_is_one_character():
    assert strictjson.loads(r'"\ud83d\ude00"') == "\U0001f600"
    assert strictjson.loads(r'"\\ud800"') == "\\ud800"  # an escaped backslash


@pytest.mark.parametrize(
    "text", [str(2**63), str(-(2**63)), "1" * 400, "1" * 5000], ids=str.__len__
)
def test_integer_beyond_64_bits_refused(text):
    with pytest.raises(ValueError, match="out of range"):
        strictjson.loads(f'{{"iat": {text}}}')


def test_integers_within_64_bits_kept():
    assert strictjson.loads(f"[{2**63 - 1}, {-(2**63 - 1)}, 0]") == [
        2**63 - 1,
        -(2**63 - 1),
        0,
    ]


@pytest.mark.parametrize(
    ("text", "limit", "deeper"),
    [
        ("[[[]]]", 2, True),
        ("[[[]]]", 3, False),
        ('"[[[["', 1, False),  # brackets inside a string do not count
        ('["\\"[[", 1]', 1, False),  # nor after an escaped quote
        ("[" * 100_000, 64, True),  # malformed: still the parser's recursion
        ('"' + "[" * 1000, 1, False),  # an unterminated string to the end
    ],
)
def test_nests_deeper_than(text, limit, deeper):
    assert strictjson.nests_deeper_than(text, limit) is deeper
