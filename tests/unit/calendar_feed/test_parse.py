"""Reading a calendar feed: which occurrences come out, at what times, with what keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import icalendar
import pytest
import recurring_ical_events

from benchmarks.calendar_data import BERLIN_ZONE, generated_calendar, ics
from bot.calendar_feed.parse import CalendarFormatError, parse_calendar
from bot.domain.calendar_events import CalendarEvent
from tests.unit.calendar_feed.support import event

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)  # a Sunday


def at(text: str) -> datetime:
    """``"2026-03-02 09:00"`` in UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def parse(data: bytes, **options: object) -> list[CalendarEvent]:
    return parse_calendar(data, now=NOW, **options)  # type: ignore[arg-type]


def starts(events: list[CalendarEvent]) -> list[datetime]:
    return [e.starts_at for e in events]


# --- one appointment -----------------------------------------------------------------


def test_a_single_event_is_read_with_its_words_in_utc() -> None:
    data = ics(
        event(
            "a@test",
            ";TZID=Europe/Berlin:20260302T100000",
            ";TZID=Europe/Berlin:20260302T110000",
            "DESCRIPTION:Deep tissue\\, 60 min\\nRoom 2",
            "LOCATION:Studio\\; upstairs",
            title="  Massage - Anna  ",
        ),
        zones=BERLIN_ZONE,
    )

    assert parse(data) == [
        CalendarEvent(
            uid="a@test",
            recurrence_id="",
            starts_at=at("2026-03-02 09:00"),
            ends_at=at("2026-03-02 10:00"),
            title="Massage - Anna",
            description="Deep tissue, 60 min\nRoom 2",
            location="Studio; upstairs",
            repeating=False,
        )
    ]


def test_all_day_free_and_cancelled_events_are_left_out() -> None:
    data = ics(
        event("day@test", ";VALUE=DATE:20260302", ";VALUE=DATE:20260303"),
        event("free@test", ":20260302T090000Z", ":20260302T100000Z", "TRANSP:TRANSPARENT"),
        event("off@test", ":20260302T110000Z", ":20260302T120000Z", "STATUS:CANCELLED"),
        event("busy@test", ":20260302T130000Z", ":20260302T140000Z", "TRANSP:OPAQUE"),
    )

    assert [e.uid for e in parse(data)] == ["busy@test"]


def test_duration_stands_for_a_missing_end_and_an_hour_for_neither() -> None:
    data = ics(
        event("duration@test", ":20260302T090000Z", None, "DURATION:PT90M"),
        event("neither@test", ":20260303T090000Z"),
    )

    assert [(e.uid, e.ends_at - e.starts_at) for e in parse(data)] == [
        ("duration@test", timedelta(minutes=90)),
        ("neither@test", timedelta(minutes=60)),
    ]


def test_floating_times_are_read_in_the_default_zone() -> None:
    data = ics(event("f@test", ":20260302T100000", ":20260302T110000"))

    assert starts(parse(data)) == [at("2026-03-02 10:00")]
    assert starts(parse(data, default_timezone="Europe/Berlin")) == [at("2026-03-02 09:00")]
    assert starts(parse(data, default_timezone="America/New_York")) == [at("2026-03-02 15:00")]


def test_only_what_starts_in_the_window_is_read() -> None:
    end = NOW + timedelta(days=60)
    data = ics(
        event("before@test", ":20260301T070000Z", ":20260301T090000Z"),  # under way at NOW
        event("at-now@test", ":20260301T080000Z", ":20260301T090000Z"),
        event("last@test", f":{end - timedelta(minutes=1):%Y%m%dT%H%M%SZ}"),
        event("at-end@test", f":{end:%Y%m%dT%H%M%SZ}"),
        event("next-year@test", ":20270302T090000Z"),
    )

    assert [e.uid for e in parse(data)] == ["at-now@test", "last@test"]
    assert [e.uid for e in parse(data, days_ahead=400)][-1] == "next-year@test"


def test_an_event_without_uid_gets_one_that_stays_the_same() -> None:
    data = ics("DTSTART:20260302T090000Z\nSUMMARY:Walk-in")

    first, second = parse(data), parse(data)

    assert first == second
    assert first[0].uid.startswith("no-uid-")


def test_an_event_without_a_readable_start_is_left_out_and_the_rest_read() -> None:
    data = ics(
        event("broken@test", ":2026-03-02 nine o'clock"),
        "UID:nostart@test\nSUMMARY:No start",
        event("fine@test", ":20260302T090000Z", ":not a time"),
    )

    assert [(e.uid, e.ends_at - e.starts_at) for e in parse(data)] == [
        ("fine@test", timedelta(minutes=60))
    ]


def test_folded_lines_and_lower_case_names_are_read() -> None:
    data = ics(
        "uid:fold@test\ndtstart:20260302T090000Z\nSUMMARY:A very long title that a calendar\n"
        "  folds over two lines"
    )

    assert [e.title for e in parse(data)] == [
        "A very long title that a calendar folds over two lines"
    ]


def test_lower_case_events_with_an_alarm_and_any_line_ends_are_read_alike() -> None:
    body = (
        "uid:lower@test\ndtstart:20260302T090000Z\nbegin:valarm\naction:DISPLAY\n"
        "description:Alarm words\ntrigger:-PT15M\nend:valarm\nsummary:Lower case"
    )
    data = ics(body).replace(b"BEGIN:VEVENT", b"begin:vevent").replace(b"END:VEVENT", b"End:VEvent")

    events = parse(data)

    assert [(e.uid, e.title, e.description) for e in events] == [("lower@test", "Lower case", "")]
    assert parse(data.replace(b"\r\n", b"\n")) == events


# --- a series ------------------------------------------------------------------------

WEEKLY = event(
    "weekly@test",
    ";TZID=Europe/Berlin:20260302T100000",
    ";TZID=Europe/Berlin:20260302T110000",
    "RRULE:FREQ=WEEKLY;COUNT=6",
    "EXDATE;TZID=Europe/Berlin:20260309T100000",
    title="Weekly - Anna",
)
MOVED = event(
    "weekly@test",
    ";TZID=Europe/Berlin:20260318T150000",
    ";TZID=Europe/Berlin:20260318T160000",
    "RECURRENCE-ID;TZID=Europe/Berlin:20260316T100000",
    "SEQUENCE:1",
    title="Weekly - Anna (moved)",
)
CANCELLED = event(
    "weekly@test",
    ";TZID=Europe/Berlin:20260323T100000",
    ";TZID=Europe/Berlin:20260323T110000",
    "RECURRENCE-ID;TZID=Europe/Berlin:20260323T100000",
    "STATUS:CANCELLED",
    "SEQUENCE:1",
)


def test_a_weekly_series_with_an_exception_a_move_and_a_cancellation() -> None:
    events = parse(ics(WEEKLY, MOVED, CANCELLED, zones=BERLIN_ZONE))

    # Mar 2; Mar 9 excluded; Mar 16 moved to Mar 18 15:00; Mar 23 cancelled; then
    # Mar 30 and Apr 6 after the clocks went forward (10:00 is 08:00 UTC from Mar 29).
    assert [(e.starts_at, e.recurrence_id, e.title) for e in events] == [
        (at("2026-03-02 09:00"), "2026-03-02T09:00:00+00:00", "Weekly - Anna"),
        (at("2026-03-18 14:00"), "2026-03-16T09:00:00+00:00", "Weekly - Anna (moved)"),
        (at("2026-03-30 08:00"), "2026-03-30T08:00:00+00:00", "Weekly - Anna"),
        (at("2026-04-06 08:00"), "2026-04-06T08:00:00+00:00", "Weekly - Anna"),
    ]
    assert all(e.repeating and e.uid == "weekly@test" for e in events)


def test_keys_stay_the_same_from_one_sync_to_the_next() -> None:
    data = ics(WEEKLY, MOVED, CANCELLED, zones=BERLIN_ZONE)

    today = {e.key: e for e in parse_calendar(data, now=NOW)}
    later = {e.key: e for e in parse_calendar(data, now=NOW + timedelta(days=15))}

    assert set(later) < set(today)
    assert all(later[key] == today[key] for key in later)
    # A change to one occurrence keeps its key: the slot it was moved from.
    moved_later = parse(ics(WEEKLY, MOVED.replace("T150000", "T170000"), zones=BERLIN_ZONE))
    assert {e.key for e in moved_later} >= {("weekly@test", "2026-03-16T09:00:00+00:00")}


def test_the_wall_time_is_kept_across_both_daylight_saving_changes() -> None:
    data = ics(
        event(
            "autumn@test",
            ";TZID=Europe/Berlin:20260917T100000",
            ";TZID=Europe/Berlin:20260917T110000",
            "RRULE:FREQ=WEEKLY;BYDAY=TH",
        ),
        zones=BERLIN_ZONE,
    )

    # Oct 25 is the last Sunday of October: 10:00 is 08:00 UTC before, 09:00 after.
    autumn = parse_calendar(data, now=datetime(2026, 10, 10, tzinfo=UTC), days_ahead=28)

    assert starts(autumn) == [
        at("2026-10-15 08:00"),
        at("2026-10-22 08:00"),
        at("2026-10-29 09:00"),
        at("2026-11-05 09:00"),
    ]


def test_a_zone_named_only_in_tzid_is_known_without_a_vtimezone() -> None:
    data = ics(event("z@test", ";TZID=Europe/Berlin:20260330T100000", None, "RRULE:FREQ=DAILY"))

    assert starts(parse(data, days_ahead=30))[:1] == [at("2026-03-30 08:00")]


def test_rdate_adds_occurrences() -> None:
    data = ics(
        event(
            "r@test",
            ":20260302T090000Z",
            ":20260302T100000Z",
            "RDATE:20260305T120000Z,20260307T120000Z",
        )
    )

    assert [(e.starts_at, e.recurrence_id) for e in parse(data)] == [
        (at("2026-03-02 09:00"), "2026-03-02T09:00:00+00:00"),
        (at("2026-03-05 12:00"), "2026-03-05T12:00:00+00:00"),
        (at("2026-03-07 12:00"), "2026-03-07T12:00:00+00:00"),
    ]


def test_a_cancelled_series_and_one_with_an_unreadable_rule_are_left_out() -> None:
    data = ics(
        event("gone@test", ":20260302T090000Z", None, "RRULE:FREQ=WEEKLY", "STATUS:CANCELLED"),
        event("odd@test", ":20260302T100000Z", None, "RRULE:FREQ=SOMETIMES"),
        event("fine@test", ":20260302T110000Z"),
    )

    assert [e.uid for e in parse(data)] == ["fine@test"]


def test_a_series_begun_years_ago_has_the_same_occurrences() -> None:
    """Its start is moved up to the window for speed; nothing else may change."""
    old = event(
        "old@test",
        ";TZID=Europe/Berlin:20180105T173000",
        ";TZID=Europe/Berlin:20180105T183000",
        "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=FR,MO",
    )
    data = ics(old, zones=BERLIN_ZONE)

    events = parse(data)

    expected = _reference(data, NOW, NOW + timedelta(days=60))
    assert [(e.uid, e.starts_at, e.ends_at) for e in events] == expected
    assert events[0].recurrence_id == events[0].starts_at.isoformat()


# --- Google ----------------------------------------------------------------------------


def test_google_x_wr_timezone_keeps_local_time_across_the_spring_change() -> None:
    # Google writes a series in UTC and names the zone; 10:00 Berlin is 09:00Z in winter.
    data = ics(
        event("g@google.com", ":20260302T090000Z", ":20260302T100000Z", "RRULE:FREQ=WEEKLY"),
        event("floating@google.com", ":20260304T120000", ":20260304T130000"),
        header="X-WR-CALNAME:Praxis\nX-WR-TIMEZONE:Europe/Berlin",
    )

    events = parse(data, days_ahead=35)

    assert [(e.uid, e.starts_at) for e in events] == [
        ("g@google.com", at("2026-03-02 09:00")),
        ("floating@google.com", at("2026-03-04 11:00")),  # floating: Berlin, not UTC
        ("g@google.com", at("2026-03-09 09:00")),
        ("g@google.com", at("2026-03-16 09:00")),
        ("g@google.com", at("2026-03-23 09:00")),
        ("g@google.com", at("2026-03-30 08:00")),  # still 10:00 in Berlin
    ]


def test_an_unknown_x_wr_timezone_is_ignored() -> None:
    data = ics(event("f@test", ":20260302T100000"), header="X-WR-TIMEZONE:Mars/Olympus")

    assert starts(parse(data)) == [at("2026-03-02 10:00")]


# --- not a calendar --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "returned nothing"),
        (b"  \r\n ", "returned nothing"),
        (b"<!DOCTYPE html><html><body>Sign in</body></html>", "web page"),
        (b"<?xml version='1.0'?><error/>", "document"),
        (b"\x00\x01\xff garbage \xfe", "no VCALENDAR"),
        (b"BEGIN:VEVENT\r\nUID:x\r\nDTSTART:20260302T090000Z\r\nEND:VEVENT\r\n", "no VCALENDAR"),
        (b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\n", "complete calendar"),
        (b"BEGIN:VCALENDAR\r\nthis is not a content line\r\nEND:VCALENDAR\r\n", "damaged"),
        (b"BEGIN:VCALENDAR\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", "damaged"),
    ],
)
def test_what_is_not_a_calendar_is_refused_with_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(CalendarFormatError) as raised:
        parse(data)

    assert reason in raised.value.reason
    assert raised.value.__cause__ is None


def test_an_empty_calendar_is_no_events() -> None:
    assert parse(ics()) == []


def test_a_latin_1_file_is_read() -> None:
    data = ics(event("l@test", ":20260302T090000Z", title="Massage - Jürgen"))

    events = parse(data.decode().encode("cp1252"))

    assert [e.title for e in events] == ["Massage - Jürgen"]


def test_several_calendars_in_one_file_are_all_read() -> None:
    one = ics(event("one@test", ":20260302T090000Z"))
    two = ics(event("two@test", ":20260302T100000Z"))

    assert [e.uid for e in parse(one + two)] == ["one@test", "two@test"]


# --- the same as the library, however it is read ------------------------------------------


def _reference(data: bytes, start: datetime, end: datetime) -> list[tuple[str, datetime, datetime]]:
    """What recurring-ical-events makes of the whole file, with nothing cut or read from
    the lines: the timed, busy, not cancelled occurrences starting in the window."""
    calendar = icalendar.Calendar.from_ical(data)
    found = []
    for component in recurring_ical_events.of(calendar, skip_bad_series=True).between(
        start - timedelta(days=1), end + timedelta(days=1)
    ):
        begins, ends = component["DTSTART"].dt, component["DTEND"].dt
        if not isinstance(begins, datetime):
            continue
        if component.get("STATUS") == "CANCELLED" or component.get("TRANSP") == "TRANSPARENT":
            continue
        begins, ends = begins.astimezone(UTC), ends.astimezone(UTC)
        if start <= begins < end:
            found.append((str(component["UID"]), begins, ends))
    return sorted(found, key=lambda found_event: (found_event[1], found_event[0]))


@pytest.mark.parametrize(("days_back", "course_weeks"), [(400, None), (30, None), (400, 12)])
def test_a_big_calendar_reads_as_the_library_reads_it_whole(
    days_back: int, course_weeks: int | None
) -> None:
    data = generated_calendar(NOW, events=600, days_back=days_back, course_weeks=course_weeks)

    events = parse(data)

    assert [(e.uid, e.starts_at, e.ends_at) for e in events] == _reference(
        data, NOW, NOW + timedelta(days=60)
    )
    assert len({e.key for e in events}) == len(events)
    assert any(e.title.endswith("(moved)") for e in events)
    # The moved occurrences have no description of their own.
    assert {e.description for e in events} == {"Deep tissue, 60 min\nRoom 2", ""}


def test_plain_events_read_from_their_lines_match_the_library() -> None:
    """An EXDATE far in the past changes nothing but sends each event to the library."""
    data = generated_calendar(NOW, events=300, repeating_every=10**6)
    through_library = data.replace(b"SEQUENCE:0\r\n", b"SEQUENCE:0\r\nEXDATE:19000101T000000Z\r\n")

    plain, library = parse(data), parse(through_library)

    assert plain == library
    assert len(plain) > 40
