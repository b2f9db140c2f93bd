r"""Instants on the wire: the one parser and the one formatter of the project.

Two wire formats carry instants here, and ``parse_time`` reads both with one
grammar that differs in a single rule, chosen by ``grammar``:

``"rfc3339"`` — RFC 3339 §5.6 ``date-time``: the registry's own API (``at=``,
    TRQP v2 ``time``), its signed answers and checkpoint history, and the CLI.
    The offset is part of the grammar (``time-offset`` is not optional), so a
    value without one is refused: the registry never guesses which instant a
    query meant. ``T`` and ``Z`` may be lower case (RFC 3339 §5.6, NOTE).

``"xsd"`` — XML Schema 1.1 ``dateTime``: everything inside a credential (VC
    Data Model 1.1 ``issuanceDate``/``expirationDate``, 2.0
    ``validFrom``/``validUntil``, Data Integrity ``created``/``expires``,
    status list credentials). The time zone is optional in ``dateTime``, and
    VC Data Integrity 1.0 §2.1 tells a processor that reads such a value to
    take it as UTC; a value without an offset is read as UTC. ``T`` and ``Z``
    are upper case only, as XML Schema spells them. The whole credential path
    (proof, JWT mapping, status list, validity window) uses this one rule, so
    one date means one instant to every check.

Both grammars: a four-digit year, two-digit month, day, hour, minute and
second, an optional fraction of any length (kept to the microsecond), offsets
within ±14:00 (the XML Schema bound; no time zone lies outside it). Digits are
ASCII only: ``int()`` accepts other scripts' digits, a regular expression's
``\d`` matches them unless told otherwise, and a date must not have two
spellings. Leap seconds (``:60``) are refused, as ``datetime`` cannot hold them.

``format_time`` writes the form both grammars read: UTC with ``Z``, four-digit
year, whole seconds unless asked for the fraction (in one of the two
forms outputs already use).

Pure: no I/O, no clock. Callers turn the ``ValueError`` into their own error.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Final, Literal

__all__ = [
    "MAX_NUMERIC_DATE",
    "MAX_OFFSET",
    "MAX_TIME_LENGTH",
    "Fraction",
    "TimeGrammar",
    "TimeSyntaxError",
    "format_time",
    "parse_time",
]

TimeGrammar = Literal["rfc3339", "xsd"]
"""Which wire format an instant is read in; see the module docstring."""
Fraction = Literal["drop", "trim", "full"]
"""How ``format_time`` writes the microseconds."""

MAX_NUMERIC_DATE: Final = 253_402_300_799
"""9999-12-31T23:59:59Z: the last whole second ``datetime`` (and RFC 3339) can
hold, as seconds since the epoch. Bound every NumericDate (RFC 7519 §2) a
signer chose by it before any arithmetic, so nothing overflows later."""
MAX_OFFSET: Final = timedelta(hours=14)
"""Largest time zone offset accepted, either way."""
MAX_TIME_LENGTH: Final = 64
"""Longest text parsed, in characters (a nanosecond instant with an offset
takes 35)."""

_PATTERNS: Final[dict[TimeGrammar, re.Pattern[str]]] = {
    "rfc3339": re.compile(
        r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?"
        r"([Zz]|[+-]\d{2}:\d{2})",
        re.ASCII,
    ),
    "xsd": re.compile(
        r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?"
        r"(Z|[+-]\d{2}:\d{2})?",
        re.ASCII,
    ),
}
_ZERO: Final = timedelta(0)


class TimeSyntaxError(ValueError):
    """The text does not have the shape of an instant in the grammar asked for.

    A plain ``ValueError`` (not this subclass) means the shape is right but the
    instant is not real: February 30th, hour 24, an offset beyond ±14:00.
    """


def parse_time(value: object, *, grammar: TimeGrammar = "rfc3339") -> datetime:
    """Parse an instant and return it as an aware ``datetime`` in UTC.

    Args:
        value: The text, as received (anything else is refused).
        grammar: ``"rfc3339"`` (the offset is required) or ``"xsd"`` (no
            offset means UTC); see the module docstring for who uses which.

    Returns:
        The instant, in UTC.

    Raises:
        TimeSyntaxError: not a string, longer than ``MAX_TIME_LENGTH``, or not
            of the grammar's shape (no offset in ``"rfc3339"``, non-ASCII
            digits, another ISO 8601 form such as week dates).
        ValueError: the shape is right but the date or time does not exist,
            the offset is beyond ±14:00, or the instant in UTC falls outside
            years 1 to 9999.
    """
    if not isinstance(value, str) or len(value) > MAX_TIME_LENGTH:
        raise TimeSyntaxError(f"not an {_NAMES[grammar]}")
    match = _PATTERNS[grammar].fullmatch(value)
    if match is None:
        raise TimeSyntaxError(f"not an {_NAMES[grammar]}")
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction, zone = match.group(7), match.group(8)
    micro = int((fraction + "00000")[:6]) if fraction else 0
    offset = _ZERO
    if zone is not None and zone not in ("Z", "z"):
        sign = 1 if zone[0] == "+" else -1
        hours, minutes = int(zone[1:3]), int(zone[4:6])
        offset = sign * timedelta(hours=hours, minutes=minutes)
        if minutes > 59 or abs(offset) > MAX_OFFSET:
            raise ValueError(f"bad time zone: offset {zone} is out of range")
    # Built in UTC and shifted, rather than converted with astimezone(), so
    # that an instant that leaves years 1-9999 is a ValueError too.
    stamp = datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)
    try:
        return stamp - offset
    except OverflowError:
        raise ValueError(f"{value[:40]!r} is outside years 1 to 9999 in UTC") from None


_NAMES: Final[dict[TimeGrammar, str]] = {
    "rfc3339": "RFC 3339 date-time with an offset",
    "xsd": "XML Schema dateTime",
}


def format_time(value: datetime, *, fraction: Fraction = "drop") -> str:
    """Render an aware instant as UTC with ``Z``, e.g. ``2024-01-31T00:00:00Z``.

    Years below 1000 keep four digits (``0999-...``), which ``strftime`` does
    not promise.

    Args:
        value: The instant; any offset, converted to UTC.
        fraction: What to do with the microseconds: ``"drop"`` them (whole
            seconds, the registry's and DID metadata's form), write them with
            as few digits as they need (``"trim"``: ``.25``, the form Data
            Integrity proofs are signed with), or with all six (``"full"``:
            ``.250000``, the form VC 1.1 JWT dates have always been mapped
            to). With ``"trim"`` and ``"full"``, whole seconds get no fraction.

    Raises:
        ValueError: ``value`` is naive: which instant it means is unknown.
    """
    offset = value.utcoffset()
    if offset is None:
        raise ValueError("an instant to format must be timezone-aware")
    # isoformat() is several times faster than strftime() on this hot path
    # (answers render a dozen instants each). Any zero-offset zone (pydantic's
    # TzInfo(UTC) too) needs no conversion.
    utc = value if offset == _ZERO else value.astimezone(UTC)
    text = utc.replace(tzinfo=None, microsecond=0).isoformat()
    if fraction != "drop" and utc.microsecond:
        digits = f"{utc.microsecond:06d}"
        text += "." + (digits.rstrip("0") if fraction == "trim" else digits)
    return text + "Z"
