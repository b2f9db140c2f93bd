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
