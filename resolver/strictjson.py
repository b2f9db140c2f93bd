"""Strict JSON (RFC 8259) for input from the network: the hooks every parser shares.

``json.loads`` accepts things a signature-checking service must not: duplicate
member names (two parsers may pick different values), ``NaN`` and
``Infinity``, numbers that overflow a double, integers of any size (``10**400``
once broke a registry write batch further down), and ``\ud800``: an escaped
lone surrogate, which makes a ``str`` that cannot be encoded back to UTF-8
(every answer that echoed it was a 500). ``loads`` refuses them, each with a
``ValueError`` (``DuplicateMemberError`` for duplicates, naming the member)
that callers turn into their own domain error.

It does not bound size or nesting itself: callers check those first
(``nests_deeper_than``), because a deeply nested text exhausts the parser's
stack before any hook runs.
``loads_body`` is the one way a route reads a JSON request body: every failure,
nesting too deep included, becomes the caller's own error.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from typing import Any, NoReturn

__all__ = [
    "MAX_INTEGER",
    "DuplicateMemberError",
    "bounded_int",
    "finite_float",
    "json_kind",
    "json_type",
    "loads",
    "loads_body",
    "loads_object",
    "nests_deeper_than",
    "quote",
    "refuse_constant",
    "unique_members",
]


class DuplicateMemberError(ValueError):
    """A JSON object names a member twice.

    Attributes:
        name: The repeated member name.
    """

    def __init__(self, name: str) -> None:
        shown = repr(name) if len(name) <= 60 else repr(name[:57]) + "..."
        super().__init__(f"duplicate member {shown}")
        self.name = name


def unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook`` that refuses duplicate member names.

    Raises:
        DuplicateMemberError: a name appears twice.
    """
    out: dict[str, Any] = {}
    for name, value in pairs:
        if name in out:
            raise DuplicateMemberError(name)
        out[name] = value
    return out


def refuse_constant(name: str) -> NoReturn:
    """``parse_constant`` hook: ``NaN``, ``Infinity`` and ``-Infinity`` are not JSON.

    Raises:
        ValueError: always.
    """
    raise ValueError(f"{name} is not json")


def finite_float(text: str) -> float:
    """``parse_float`` hook: refuse numbers that overflow a double (``1e400``).

    Raises:
        ValueError: the number is not finite as a double.
    """
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:32]} is out of range (overflows a double)")
    return value


# A JSON string (skipped whole, so brackets inside strings do not count) or a
# bracket. The closing quote is optional so that an unterminated string is
# consumed to the end in one match: otherwise every later quote would start a
# new scan to the end, quadratic in the text's size. Unrolled-loop form, so no
# nested quantifier backtracks either.
_JSON_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{}]', re.DOTALL)


def nests_deeper_than(text: str, limit: int) -> bool:
    """Whether JSON ``text`` nests arrays and objects more than ``limit`` deep.

    Scans the text as a lexer would (brackets inside strings do not count)
    and stops at the first level past ``limit``; on malformed text the count
    is still the most any parser could recurse before failing.
    """
    depth = 0
    for m in _JSON_TOKENS.finditer(text):
        bracket = m.group()
        if bracket in ("[", "{"):
            depth += 1
            if depth > limit:
                return True
        elif bracket in ("]", "}"):
            depth -= 1
    return False


MAX_INTEGER = 2**63 - 1
"""The largest integer magnitude accepted (a signed 64-bit integer): every
number a protocol here carries (times, indexes, sizes) fits, with room."""


def bounded_int(text: str) -> int:
    """``parse_int`` hook: refuse integers beyond a signed 64-bit range.

    Raises:
        ValueError: the integer is larger in magnitude than ``MAX_INTEGER``.
    """
    if len(text) > 20:  # no int() of a 4,000-digit number
        raise ValueError(f"integer {text[:20]}... is out of range")
    value = int(text)
    if abs(value) > MAX_INTEGER:
        raise ValueError(f"integer {text} is out of range")
    return value


# An escape of a high or low surrogate: only such texts can hold a lone one.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE_ESCAPE_BYTES = re.compile(rb"\\u[dD][89a-fA-F]")


def _check_surrogates(value: Any) -> None:
    """Raise ``ValueError`` if a string or member name holds a lone surrogate."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError("a string holds a lone surrogate") from None
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def loads(text: str | bytes) -> Any:
    """Parse a JSON text strictly.

    Raises:
        DuplicateMemberError: an object names a member twice.
        ValueError: not JSON, ``NaN``/``Infinity``, a number that overflows, an
            integer beyond ``MAX_INTEGER``, or an escaped lone surrogate.
        UnicodeDecodeError: ``text`` is bytes that are not UTF-8.
        RecursionError: nesting deeper than the interpreter's stack allows.
    """
    value = json.loads(
        text,
        object_pairs_hook=unique_members,
        parse_constant=refuse_constant,
        parse_float=finite_float,
        parse_int=bounded_int,
    )
    escapes = (
        _SURROGATE_ESCAPE_BYTES.search(text)
        if isinstance(text, bytes)
        else _SURROGATE_ESCAPE.search(text)
    )
    if escapes is not None:  # pairs decode to one character; lone ones do not
        _check_surrogates(value)
    return value


def loads_object(data: bytes, name: str) -> dict[str, Any]:
    """Parse UTF-8 JSON bytes that must be an object, strictly.

    Error messages name the part being parsed (``name``, e.g. "payload").

    Raises:
        ValueError: not UTF-8, not JSON (see ``loads``), or not an object;
            a ``DuplicateMemberError``'s message is rewritten the same way.
        RecursionError: nesting deeper than the interpreter's stack allows
            (callers bound depth first, or say it in their own words).
    """
    try:
        value = loads(data.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise ValueError(
            f"the {name} is not utf-8: invalid byte at {err.start}"
        ) from None
    except DuplicateMemberError as err:
        raise ValueError(f"the {name} has a {err}") from None
    except ValueError as err:
        raise ValueError(f"the {name} is not json: {err}") from None
    if not isinstance(value, dict):
        raise ValueError(f"the {name} is not a json object")
    return value


def loads_body(data: str | bytes, error: Callable[[str], Exception]) -> Any:
    """Parse a request body strictly (see ``loads``); any JSON value is returned.

    Args:
        data: The body (bytes are read as UTF-8).
        error: Builds the caller's exception from a message such as "the body
            has a duplicate member 'issuer'".

    Raises:
        Exception: ``error(...)``, for a body that is not UTF-8 JSON, repeats
            a member, holds ``NaN`` or an overflowing number, or nests deeper
            than the interpreter's stack allows.
    """
    try:
        return loads(data)
    except DuplicateMemberError as err:
        raise error(f"the body has a {err}") from None
    except RecursionError:
        # json.loads recurses per nesting level: 1000 brackets fit in 1 kB.
        raise error("the body nests too deeply") from None
    except ValueError as err:  # UnicodeDecodeError included
        raise error(f"the body is not JSON: {err}") from None


# -- naming values in error messages -----------------------------------------------


def json_type(value: object) -> str:
    """The JSON type of a parsed value: ``object``, ``array``, ``string``, …."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


def json_kind(value: object) -> str:
    """``json_type`` with its article, for a message: ``an object``, ``null``."""
    kind = json_type(value)
    if kind == "null":
        return kind
    return ("an " if kind[0] in "aeiou" else "a ") + kind


def quote(value: str, limit: int) -> str:
    """An untrusted string quoted for an error message, cut after ``limit``."""
    if len(value) > limit:
        return repr(value[:limit]) + "…"
    return repr(value)
