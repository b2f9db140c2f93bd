"""The one instant parser and formatter (resolver.timefmt)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from resolver.timefmt import TimeSyntaxError, format_time, parse_time

NOON = datetime(2025, 6, 1, 12, tzinfo=UTC)
GRAMMARS = ["rfc3339", "xsd"]


@pytest.mark.parametrize("grammar", GRAMMARS)
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-06-01T12:00:00Z", NOON),
        ("2025-06-01T14:00:00+02:00", NOON),
        ("2025-06-01T07:30:00-04:30", NOON),
        ("2025-06-01T12:00:00.5Z", NOON + timedelta(milliseconds=500)),
        ("2025-06-01T12:00:00.1234567Z", NOON + timedelta(microseconds=123456)),
        ("0001-01-01T00:00:00Z", datetime(1, 1, 1, tzinfo=UTC)),
        ("2025-06-02T02:00:00+14:00", NOON),
    ],
    ids=["utc", "plus", "minus-half-hour", "fraction", "nanos", "year-1", "max-offset"],
)
def test_parse_time_reads_the_same_instant_in_both_grammars(grammar, text, expected):
    parsed = parse_time(text, grammar=grammar)
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)


def test_offset_is_required_in_rfc3339_and_utc_in_xsd():
    with pytest.raises(TimeSyntaxError, match="with an offset"):
        parse_time("2025-06-01T12:00:00")
    assert parse_time("2025-06-01T12:00:00", grammar="xsd") == NOON


def test_lower_case_t_and_z_are_rfc3339_only():
    assert parse_time("2025-06-01t12:00:00z") == NOON
    with pytest.raises(TimeSyntaxError):
        parse_time("2025-06-01t12:00:00z", grammar="xsd")


@pytest.mark.parametrize("grammar", GRAMMARS)
@pytest.mark.parametrize(
    "text",
    [
        "\u0662\u0660\u0662\u0665-06-01T12:00:00Z",  # Arabic-Indic year
        "2025-06-01T12:00:00.\u0665Z",  # Arabic-Indic fraction
        "2025-06-01T12:00:00+\u0660\u0662:00",  # in the offset
        "\uff12\uff10\uff12\uff15-06-01T12:00:00Z",  # fullwidth
    ],
    ids=["year", "fraction", "offset", "fullwidth"],
)
def test_non_ascii_digits_in_date_refused(grammar, text):
    assert int("\u0662\u0660") == 20  # what a \d without re.ASCII would let through
    with pytest.raises(TimeSyntaxError):
        parse_time(text, grammar=grammar)


@pytest.mark.parametrize("grammar", GRAMMARS)
@pytest.mark.parametrize(
    "text",
    [
        "2025-06-01T12:00Z",
        "20250601T120000Z",
        "2025-W22-7T12:00:00Z",
        "2025-06-01 12:00:00Z",
        "2025-06-01T12:00:00+0200",
        "2025-06-01T12:00:00,5Z",
        "2025-06-01T12:00:00+02",
        "2025-06-01",
        " 2025-06-01T12:00:00Z",
        "2025-06-01T12:00:00Z\n",
        "+2025-06-01T12:00:00Z",
        "2025-06-01T12:00:00." + "1" * 60 + "Z",
    ],
    ids=[
        "no-seconds",
        "basic-format",
        "week-date",
        "space",
        "offset-without-colon",
        "comma-fraction",
        "offset-hours-only",
        "date-only",
        "leading-space",
        "trailing-newline",
        "signed-year",
        "too-long",
    ],
)
def test_iso8601_forms_that_are_not_rfc3339_refused(grammar, text):
    # datetime.fromisoformat, which the registry once used, accepts most of these.
    with pytest.raises(TimeSyntaxError):
        parse_time(text, grammar=grammar)


@pytest.mark.parametrize("grammar", GRAMMARS)
@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2025-02-30T00:00:00Z", "day is out of range"),
        ("2025-06-01T24:00:00Z", "hour must be in"),
        ("2025-06-01T23:59:60Z", "second must be in"),
        ("2025-06-01T12:00:00+15:00", r"bad time zone: offset \+15:00 is out of range"),
        ("2025-06-01T12:00:00-14:01", "out of range"),
        ("2025-06-01T12:00:00+01:60", "out of range"),
        ("0001-01-01T00:00:00+01:00", "outside years 1 to 9999"),
        ("9999-12-31T23:59:59-01:00", "outside years 1 to 9999"),
    ],
    ids=[
        "feb-30",
        "hour-24",
        "leap-second",
        "offset-15",
        "offset-past-14",
        "minute-60",
        "before-year-1",
        "after-9999",
    ],
)
def test_well_shaped_but_impossible_instants_refused(grammar, text, message):
    with pytest.raises(ValueError, match=message) as info:
        parse_time(text, grammar=grammar)
    assert not isinstance(info.value, TimeSyntaxError)


@pytest.mark.parametrize("value", [None, 1717243200, b"2025-06-01T12:00:00Z"])
def test_parse_time_refuses_what_is_not_a_string(value):
    with pytest.raises(TimeSyntaxError):
        parse_time(value)


def test_format_time_writes_utc_z_and_four_digit_years():
    assert format_time(NOON) == "2025-06-01T12:00:00Z"
    east = datetime(2025, 6, 1, 14, tzinfo=timezone(timedelta(hours=2)))
    assert format_time(east) == "2025-06-01T12:00:00Z"
    assert format_time(datetime(999, 12, 31, tzinfo=UTC)) == "0999-12-31T00:00:00Z"


def test_format_time_keeps_the_fraction_only_when_asked():
    moment = NOON + timedelta(microseconds=250000)
    assert format_time(moment) == "2025-06-01T12:00:00Z"
    assert format_time(moment, fraction="trim") == "2025-06-01T12:00:00.25Z"
    assert format_time(moment, fraction="full") == "2025-06-01T12:00:00.250000Z"
    assert format_time(NOON, fraction="trim") == "2025-06-01T12:00:00Z"
    assert format_time(NOON, fraction="full") == "2025-06-01T12:00:00Z"


def test_format_time_refuses_a_naive_datetime():
    with pytest.raises(ValueError, match="timezone-aware"):
        format_time(datetime(2025, 6, 1, 12))


@given(
    st.datetimes(
        min_value=datetime(1, 1, 2),
        max_value=datetime(9999, 12, 30),
        timezones=st.just(UTC),
    ),
    st.sampled_from(GRAMMARS),
    st.sampled_from(["trim", "full"]),
)
def test_parse_time_reads_what_format_time_writes(moment, grammar, fraction):
    text = format_time(moment, fraction=fraction)
    assert parse_time(text, grammar=grammar) == moment
