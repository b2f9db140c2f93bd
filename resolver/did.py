"""DID and DID URL syntax (W3C DID Core 1.0, section 3: the ABNF).

``parse_did`` and ``parse_did_url`` accept exactly the strings the ABNF allows and
raise ``InvalidDIDError`` / ``InvalidDIDURLError`` for anything else, with the
reason. Percent-encoded triplets are kept as written: ``did:web:example.com%3A8443``
stays that DID, it is never decoded here (decoding is the method's business).

This module does no I/O and knows nothing of methods or HTTP.

The grammar, from DID Core §3.1 and §3.2 (path, query and fragment per RFC 3986)::

    did                = "did:" method-name ":" method-specific-id
    method-name        = 1*method-char
    method-char        = %x61-7A / DIGIT
    method-specific-id = *( *idchar ":" ) 1*idchar
    idchar             = ALPHA / DIGIT / "." / "-" / "_" / pct-encoded
    did-url            = did path-abempty [ "?" query ] [ "#" fragment ]
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

from resolver.errors import InvalidDIDError, InvalidDIDURLError

__all__ = ["DID", "DIDURL", "MAX_DID_LENGTH", "parse_did", "parse_did_url"]

MAX_DID_LENGTH = 8192
"""Hard ceiling on the length of a DID or DID URL, whatever the settings say.

A 4096-bit RSA did:jwk is about 1,000 characters; nothing legitimate nears this.
"""

_PCT = r"%[0-9A-Fa-f]{2}"
_IDCHAR = rf"(?:[A-Za-z0-9._-]|{_PCT})"
# ``(?:idchar* ":")* idchar+``: idchar excludes ":", so the match is unambiguous
# and cannot backtrack catastrophically.
_MSI = rf"(?:{_IDCHAR}*:)*{_IDCHAR}+"
_PCHAR = rf"(?:[A-Za-z0-9._~!$&'()*+,;=:@-]|{_PCT})"

_DID_RE = re.compile(rf"did:([a-z0-9]+):({_MSI})")
_DID_URL_RE = re.compile(
    rf"(did:[a-z0-9]+:{_MSI})"
    rf"((?:/{_PCHAR}*)*)"
    rf"(?:\?((?:{_PCHAR}|[/?])*))?"
    rf"(?:#((?:{_PCHAR}|[/?])*))?"
)
# RFC 3986 §4.2 relative-ref: URI characters, at most one "#".
_RELATIVE_REF_CHARS_RE = re.compile(
    rf"(?:[A-Za-z0-9._~!$&'()*+,;=:@/?-]|{_PCT})*(?:#(?:[A-Za-z0-9._~!$&'()*+,;=:@/?-]|{_PCT})*)?"
)
_BAD_PCT_RE = re.compile(r"%(?![0-9A-Fa-f]{2})")
# The same grammar as plain character classes, '%' allowed anywhere: matched an
# order of magnitude faster than the alternation above. A match is a DID when
# every '%' starts a triplet, which ``_fast_match`` checks (did:web ports: %3A).
_FAST_DID_RE = re.compile(r"did:([a-z0-9]+):((?:[A-Za-z0-9._%-]*:)*[A-Za-z0-9._%-]+)")


def _fast_match(text: str) -> re.Match[str] | None:
    m = _FAST_DID_RE.fullmatch(text)
    if m is not None and "%" in text and _BAD_PCT_RE.search(text):
        return None
    return m


def _why_not_a_did(text: str) -> str:
    """Explain, as precisely as cheaply possible, why ``text`` is not a DID."""
    if not text.startswith("did:"):
        return "a DID starts with 'did:'"
    rest = text[4:]
    method, sep, msi = rest.partition(":")
    if not sep:
        return "a DID needs a method name and a method-specific id"
    if not method:
        return "the method name is empty"
    if not re.fullmatch(r"[a-z0-9]+", method):
        return "the method name may hold only lowercase letters and digits"
    if not msi:
        return "the method-specific id is empty"
    if msi.endswith(":"):
        return "the method-specific id must not end with ':'"
    if _BAD_PCT_RE.search(msi):
        return "'%' must be followed by two hex digits"
    for ch in msi:
        if not (ch.isascii() and (ch.isalnum() or ch in ".-_:%")):
            return f"character {ch!r} is not allowed in a method-specific id"
    return "not a DID"


class DID(str):
    """A syntactically valid DID (no path, query or fragment).

    A ``str`` subclass, so it can be used anywhere a string is; construction
    validates. Pydantic fields typed ``DID`` validate the same way.
    """

    __slots__ = ("method", "method_specific_id")

    method: str
    """The method name, e.g. ``"key"``."""
    method_specific_id: str
    """Everything after ``did:<method>:``, percent-encoding kept as written."""

    def __new__(cls, value: str) -> DID:
        """Validate ``value`` and return it as a DID.

        Raises:
            InvalidDIDError: ``value`` is not a DID.
        """
        if not isinstance(value, str):
            raise InvalidDIDError("a DID must be a string")
        if len(value) > MAX_DID_LENGTH:
            raise InvalidDIDError(
                f"DID is {len(value)} characters, over the limit of {MAX_DID_LENGTH}"
            )
        m = _fast_match(value) or _DID_RE.fullmatch(value)
        if m is None:
            raise InvalidDIDError(f"{_why_not_a_did(value)}")
        return cls._trusted(value, m.group(1), m.group(2))

    @classmethod
    def _trusted(cls, value: str, method: str, msid: str) -> DID:
        """Build a DID from parts a grammar match already vouched for."""
        did = super().__new__(cls, value)
        did.method = method
        did.method_specific_id = msid
        return did

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source_type: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        """Validate as a string, then as a DID; serialize as a plain string."""
        return core_schema.no_info_after_validator_function(
            cls,
            core_schema.str_schema(),
            serialization=core_schema.to_string_ser_schema(),
        )


@dataclass(frozen=True, slots=True)
class DIDURL:
    """A parsed DID URL: a DID plus optional path, query and fragment.

    ``query`` and ``fragment`` are ``None`` when absent and ``""`` when present
    but empty, so the URL round-trips through ``str()``.
    """

    did: DID
    path: str = ""
    query: str | None = None
    fragment: str | None = None

    def __str__(self) -> str:
        out = self.did + self.path
        if self.query is not None:
            out += "?" + self.query
        if self.fragment is not None:
            out += "#" + self.fragment
        return out

    @property
    def is_bare_did(self) -> bool:
        """True when there is no path, query or fragment: a plain DID."""
        return not self.path and self.query is None and self.fragment is None

    def params(self) -> dict[str, str]:
        """The query's parameters, percent-decoded.

        Raises:
            InvalidDIDURLError: a parameter is repeated.
        """
        if not self.query:
            return {}
        out: dict[str, str] = {}
        for key, value in parse_qsl(self.query, keep_blank_values=True):
            if key in out:
                raise InvalidDIDURLError(f"DID URL parameter {key!r} is repeated")
            out[key] = value
        return out

    def relative_ref(self) -> str | None:
        """The ``relativeRef`` parameter, percent-decoded, if present.

        Raises:
            InvalidDIDURLError: a parameter is repeated, or ``relativeRef`` is
                not an RFC 3986 relative reference without an authority (an
                absolute URL or ``//host`` would redirect away from the service
                endpoint).
        """
        ref = self.params().get("relativeRef")
        if ref is not None and not _is_relative_ref(ref):
            raise InvalidDIDURLError(
                "relativeRef must be a relative reference without scheme or host"
            )
        return ref


def _is_relative_ref(ref: str) -> bool:
    """True for an RFC 3986 relative reference that keeps the base's authority.

    The network-path form (``//host/...``) is a relative reference too, but it
    names its own host: resolved against a service endpoint it would send the
    client wherever the DID URL's author chose (an open redirect), so it is
    refused with the absolute forms. A colon before the first ``/``, ``?`` or
    ``#`` makes a scheme, so that is refused as well (RFC 3986 §4.2).
    """
    if _RELATIVE_REF_CHARS_RE.fullmatch(ref) is None or ref.startswith("//"):
        return False
    return ":" not in re.split(r"[/?#]", ref, maxsplit=1)[0]


def parse_did(text: str) -> DID:
    """Parse a DID.

    Raises:
        InvalidDIDError: ``text`` is not a DID.
    """
    return DID(text)


def parse_did_url(text: str) -> DIDURL:
    """Parse a DID or DID URL.

    Raises:
        InvalidDIDURLError: ``text`` has a path, query or fragment and is not a
            DID URL.
        InvalidDIDError: the DID part itself is not a DID.
    """
    if not isinstance(text, str):
        raise InvalidDIDURLError("a DID URL must be a string")
    if len(text) > MAX_DID_LENGTH:
        raise InvalidDIDURLError(
            f"DID URL is {len(text)} characters, over the limit of {MAX_DID_LENGTH}"
        )
    fast = _fast_match(text)
    if fast is not None:  # a plain DID: no path, query or fragment
        return DIDURL(did=DID._trusted(text, fast.group(1), fast.group(2)))
    m = _DID_URL_RE.fullmatch(text)
    if m is None:
        # Tell a bad DID from a bad path/query/fragment, for the right error type.
        cut = len(text)
        for sep in "/?#":
            i = text.find(sep)
            if i != -1:
                cut = min(cut, i)
        head = text[:cut]
        DID(head)  # raises InvalidDIDError with the reason if the DID is bad
        if cut == len(text):  # pragma: no cover - the DID matched but the URL not
            raise InvalidDIDURLError("not a DID URL")
        tail = text[cut:]
        if _BAD_PCT_RE.search(tail):
            raise InvalidDIDURLError("'%' must be followed by two hex digits")
        bad = next(
            (c for c in tail if not c.isascii() or c in ' "<>\\^`{|}' or ord(c) < 33),
            None,
        )
        if bad is not None:
            raise InvalidDIDURLError(f"character {bad!r} is not allowed in a DID URL")
        raise InvalidDIDURLError("malformed path, query or fragment")
    did = DID(m.group(1))
    return DIDURL(did=did, path=m.group(2), query=m.group(3), fragment=m.group(4))
