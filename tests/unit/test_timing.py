from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.timing import (
    CheckInSchedule,
    QuietHours,
    Spans,
    format_duration,
    parse_clock_time,
    parse_duration,
)


@pytest.mark.parametrize(
    ("text", "expected"), [("08:00", time(8)), ("7:05", time(7, 5)), (" 23:59 ", time(23, 59))]
)
def test_clock_times_parse(text: str, expected: time) -> None:
    assert parse_clock_time(text) == expected


@pytest.mark.parametrize("text", ["24:00", "12:60", "7pm", "", "12", "12:5", "-1:00"])
def test_bad_clock_times_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="time"):
        parse_clock_time(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("24h", timedelta(hours=24)),
        ("90m", timedelta(minutes=90)),
        ("2d", timedelta(days=2)),
        ("15 MIN", timedelta(minutes=15)),
    ],
)
def test_durations_parse(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["0h", "h", "2w", "1.5h", "", "-2h"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


@given(st.integers(min_value=1, max_value=60 * 24 * 90))
def test_durations_round_trip(minutes: int) -> None:
    delta = timedelta(minutes=minutes)
    assert parse_duration(format_duration(delta)) == delta


def test_quiet_hours_over_midnight() -> None:
    quiet = QuietHours.parse("21:00-08:00")
    assert quiet.contains(time(21, 0))
    assert quiet.contains(time(3, 0))
    assert quiet.contains(time(7, 59))
    assert not quiet.contains(time(8, 0))
    assert not quiet.contains(time(20, 59))
    assert str(quiet) == "21:00-08:00"


def test_quiet_hours_within_a_day() -> None:
    quiet = QuietHours.parse("12:00-14:00")
    assert quiet.contains(time(13, 0))
    assert not quiet.contains(time(14, 0))
    assert not quiet.contains(time(2, 0))


@given(st.times(), st.times(), st.times())
def test_quiet_hours_and_their_complement_cover_the_day_once(
    start: time, end: time, moment: time
) -> None:
    start, end, moment = (t.replace(second=0, microsecond=0) for t in (start, end, moment))
    if start == end:
        return
    window, complement = QuietHours(start, end), QuietHours(end, start)
    assert window.contains(moment) != complement.contains(moment)


@pytest.mark.parametrize("text", ["21:00", "08:00-08:00", "21:00-25:00", "a-b-c"])
def test_bad_quiet_hours_are_refused(text: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 -- each case has its own message
        QuietHours.parse(text)


@pytest.mark.parametrize("days", [(), (0,), (3, 1), (1, 1), (61,)])
def test_bad_checkin_schedules_are_refused(days: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match="day"):
        CheckInSchedule(days, time(10))


def test_spans_tell_what_falls_in_one_of_them() -> None:
    day = datetime(2026, 3, 2, tzinfo=UTC)

    def at(hours: float) -> datetime:
        return day + timedelta(hours=hours)

    # Given out of order, one span inside another.
    spans = Spans([(at(10), at(11)), (at(1), at(6)), (at(2), at(3))])

    assert (spans.first_start, spans.last_end) == (at(1), at(11))
    assert [spans.hold(at(h)) for h in (0.5, 1, 5.9, 6, 9, 10, 10.5, 11)] == [
        False, True, True, False, False, True, True, False,
    ]  # fmt: skip
    assert spans.meet(at(5.5), at(7))  # runs into the end of the long one
    assert spans.meet(at(9), at(10.5))  # and into the start of the last
    assert not spans.meet(at(6), at(10))  # between them, touching both
    assert not spans.meet(at(11), at(12))
    with pytest.raises(ValueError, match="no spans"):
        Spans([])
