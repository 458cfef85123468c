"""Booking input: /book and /reschedule lines, time zones, name matching, pickers, codes."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bot.domain.booking_input import (
    DEFAULT_MINUTES,
    MAX_MINUTES,
    MIN_MINUTES,
    BookingInputError,
    BookingRequest,
    InputProblem,
    bookable_days,
    day_code,
    free_slots,
    local_to_utc,
    match_by_name,
    normalize_name,
    overlaps,
    parse_book_args,
    parse_day,
    parse_day_code,
    parse_minutes,
    parse_move_args,
    parse_time_code,
    parse_time_of_day,
    require_bookable,
    time_code,
)
from bot.domain.names import tidy_name

R = TypeVar("R")

BERLIN = "Europe/Berlin"
ZONES = ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"]
# Days with a daylight-saving change in one of ZONES, so the properties meet gaps and repeats.
CHANGE_DAYS = [
    date(2026, 3, 29),  # Berlin: 02:00 -> 03:00
    date(2026, 10, 25),  # Berlin: 03:00 -> 02:00
    date(2026, 3, 8),  # New York: 02:00 -> 03:00
    date(2026, 11, 1),  # New York: 02:00 -> 01:00
    date(2026, 10, 4),  # Lord Howe: 02:00 -> 02:30
    date(2026, 4, 5),  # Lord Howe: 02:00 -> 01:30
]


def problem_of(excinfo: pytest.ExceptionInfo[BookingInputError]) -> InputProblem:
    return excinfo.value.problem


def attempt(call: Callable[[], R]) -> R | BookingInputError:
    """The result of ``call``, or the input error it raised; any other exception escapes."""
    try:
        return call()
    except BookingInputError as error:
        return error


# --- the error object --------------------------------------------------------------------------


def test_an_input_error_is_a_value_error_with_a_problem_and_params() -> None:
    error = BookingInputError(InputProblem.NO_SUCH_DATE, value="2026-02-31")
    assert isinstance(error, ValueError)
    assert error.problem is InputProblem.NO_SUCH_DATE
    assert error.params == {"value": "2026-02-31"}
    assert "no_such_date" in str(error)
    assert "2026-02-31" in str(error)


# --- dates -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-24", date(2026, 11, 24)),
        ("2026-3-5", date(2026, 3, 5)),
        (" 2028-02-29 ", date(2028, 2, 29)),
    ],
)
def test_days_parse(text: str, expected: date) -> None:
    assert parse_day(text) == expected


@pytest.mark.parametrize(
    "text", ["2026-02-31", "2026-13-01", "2026-00-10", "2026-11-00", "2027-02-29", "0000-01-01"]
)
def test_days_not_on_the_calendar_are_refused(text: str) -> None:
    with pytest.raises(BookingInputError) as excinfo:
        parse_day(text)
    assert problem_of(excinfo) is InputProblem.NO_SUCH_DATE
    assert excinfo.value.params == {"value": text}


@pytest.mark.parametrize(
    "text",
    [
        "tomorrow",
        "24.11.2026",
        "2026/11/24",
        "26-11-24",
        "20261124",
        "2026-W48-2",
        "2026-11-24T10:00",
        "2026-011-24",
        "",
        "２０２６-１１-２４",  # full-width digits  # noqa: RUF001
    ],
)
def test_other_shapes_are_bad_dates(text: str) -> None:
    with pytest.raises(BookingInputError) as excinfo:
        parse_day(text)
    assert problem_of(excinfo) is InputProblem.BAD_DATE
    assert excinfo.value.params == {"value": text}


@given(st.dates())
def test_any_date_round_trips_through_its_iso_form(day: date) -> None:
    assert parse_day(day.isoformat()) == day


# --- times of day ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("09:30", time(9, 30)), ("9:30", time(9, 30)), ("0:00", time(0)), ("23:59", time(23, 59))],
)
def test_times_parse(text: str, expected: time) -> None:
    assert parse_time_of_day(text) == expected


@pytest.mark.parametrize(
    "text", ["25:00", "24:00", "12:60", "9.30", "930", "9:5", "9:30pm", "09:30:00", "-1:00", ""]
)
def test_bad_times_are_refused(text: str) -> None:
    with pytest.raises(BookingInputError) as excinfo:
        parse_time_of_day(text)
    assert problem_of(excinfo) is InputProblem.BAD_TIME
    assert excinfo.value.params == {"value": text}


@given(st.integers(0, 23), st.integers(0, 59))
def test_any_clock_time_round_trips(hours: int, minutes: int) -> None:
    assert parse_time_of_day(f"{hours:02}:{minutes:02}") == time(hours, minutes)
    assert parse_time_of_day(f"{hours}:{minutes:02}") == time(hours, minutes)


# --- session length ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("90", 90), ("90m", 90), ("90min", 90), ("90MIN", 90), ("15", 15), ("480", 480)],
)
def test_lengths_parse(text: str, expected: int) -> None:
    assert parse_minutes(text) == expected


@pytest.mark.parametrize(
    "text", ["14", "481", "0", "-30", "1.5h", "2h", "90s", "ninety", "", "9" * 5000]
)
def test_bad_lengths_are_refused(text: str) -> None:
    with pytest.raises(BookingInputError) as excinfo:
        parse_minutes(text)
    assert problem_of(excinfo) is InputProblem.BAD_DURATION
    assert excinfo.value.params == {
        "value": text,
        "min": str(MIN_MINUTES),
        "max": str(MAX_MINUTES),
    }


# --- /book and /reschedule ---------------------------------------------------------------------


def test_a_book_line_with_a_name_of_several_words() -> None:
    request = parse_book_args(["Sample", "Middle", "Client", "2026-11-24", "10:00"])
    assert request == BookingRequest("Sample Middle Client", date(2026, 11, 24), time(10), 60)
    assert DEFAULT_MINUTES == 60


@pytest.mark.parametrize(("word", "minutes"), [("90", 90), ("90m", 90), ("45min", 45)])
def test_a_book_line_with_a_length(word: str, minutes: int) -> None:
    request = parse_book_args(["Sample", "Client", "2026-11-24", "9:30", word])
    assert request == BookingRequest("Sample Client", date(2026, 11, 24), time(9, 30), minutes)


def test_the_default_length_applies_without_one() -> None:
    assert parse_book_args(["Sample", "2026-11-24", "10:00"], default_minutes=45).minutes == 45


def test_a_default_length_out_of_range_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="default_minutes") as excinfo:
        parse_book_args(["Sample", "2026-11-24", "10:00"], default_minutes=5)
    assert not isinstance(excinfo.value, BookingInputError)


def test_stray_spaces_in_the_words_are_ignored() -> None:
    request = parse_book_args(["  Sample ", "", "Client\t", "2026-11-24", " 10:00 "])
    assert request.client_query == "Sample Client"
    assert request.at == time(10)


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["Sample"],
        ["Sample", "Client"],
        ["2026-11-24", "10:00"],
        ["Sample", "2026-11-24"],
        ["Sample", "Client", "2026-11-24"],
        ["2026-11-24", "10:00", "90"],
        ["Sample", "10:00", "90"],
    ],
)
def test_missing_parts(args: list[str]) -> None:
    with pytest.raises(BookingInputError) as excinfo:
        parse_book_args(args)
    assert problem_of(excinfo) is InputProblem.MISSING_PARTS


@pytest.mark.parametrize(
    ("args", "problem", "value"),
    [
        (["Sample", "tomorrow", "10:00"], InputProblem.BAD_DATE, "tomorrow"),
        (["Sample", "Client", "tomorrow", "10:00", "90"], InputProblem.BAD_DATE, "tomorrow"),
        (["Sample", "24.11.2026", "10:00"], InputProblem.BAD_DATE, "24.11.2026"),
        (["Sample", "2026-02-31", "10:00"], InputProblem.NO_SUCH_DATE, "2026-02-31"),
        (["Sample", "2026-13-01", "10:00", "90"], InputProblem.NO_SUCH_DATE, "2026-13-01"),
        # The date is checked before the time.
        (["Sample", "2026-02-31", "25:00"], InputProblem.NO_SUCH_DATE, "2026-02-31"),
        (["Sample", "2026-11-24", "25:00"], InputProblem.BAD_TIME, "25:00"),
        (["Sample", "2026-11-24", "9.30"], InputProblem.BAD_TIME, "9.30"),
        (["Sample", "Client", "2026-11-24", "9.30"], InputProblem.BAD_TIME, "9.30"),
        (["Sample", "2026-11-24", "9.30", "90"], InputProblem.BAD_TIME, "9.30"),
        (["Sample", "2026-11-24", "0930"], InputProblem.BAD_TIME, "0930"),
        (["Sample", "Client", "2026-11-24", "0930"], InputProblem.BAD_TIME, "0930"),
        (["Sample", "2026-11-24", "10:00", "1.5h"], InputProblem.BAD_DURATION, "1.5h"),
        (["Sample", "2026-11-24", "10:00", "500"], InputProblem.BAD_DURATION, "500"),
        (["Sample", "2026-11-24", "10:00", "ninety"], InputProblem.BAD_DURATION, "ninety"),
    ],
)
def test_the_wrong_part_is_named(args: list[str], problem: InputProblem, value: str) -> None:
    with pytest.raises(BookingInputError) as excinfo:
        parse_book_args(args)
    assert problem_of(excinfo) is problem
    assert excinfo.value.params["value"] == value


def test_a_reschedule_line() -> None:
    assert parse_move_args(["Sample", "Middle", "Client", "2026-11-24", "9:30"]) == (
        "Sample Middle Client",
        date(2026, 11, 24),
        time(9, 30),
    )


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        ([], InputProblem.MISSING_PARTS),
        (["Sample", "2026-11-24"], InputProblem.MISSING_PARTS),
        (["Sample", "Client", "2026-11-24"], InputProblem.MISSING_PARTS),
        (["Sample", "2026-02-31", "10:00"], InputProblem.NO_SUCH_DATE),
        (["Sample", "someday", "10:00"], InputProblem.BAD_DATE),
        (["Sample", "2026-11-24", "24:00"], InputProblem.BAD_TIME),
    ],
)
def test_reschedule_lines_follow_the_same_rules(args: list[str], problem: InputProblem) -> None:
    with pytest.raises(BookingInputError) as excinfo:
        parse_move_args(args)
    assert problem_of(excinfo) is problem


NAME_WORD = st.text(st.characters(categories=["L"]), min_size=1, max_size=12)


@given(
    name=st.lists(NAME_WORD, min_size=1, max_size=4),
    day=st.dates(),
    hours=st.integers(0, 23),
    minutes=st.integers(0, 59),
    length=st.none() | st.integers(MIN_MINUTES, MAX_MINUTES),
    unit=st.sampled_from(["", "m", "min"]),
)
def test_any_valid_book_line_parses_back(
    *, name: list[str], day: date, hours: int, minutes: int, length: int | None, unit: str
) -> None:
    args = [*name, day.isoformat(), f"{hours}:{minutes:02}"]
    if length is not None:
        args.append(f"{length}{unit}")
    assert parse_book_args(args) == BookingRequest(
        " ".join(name), day, time(hours, minutes), DEFAULT_MINUTES if length is None else length
    )
    assert parse_move_args(args[:-1] if length is not None else args) == (
        " ".join(name),
        day,
        time(hours, minutes),
    )


# --- hostile text ------------------------------------------------------------------------------

NEAR_MISSES = st.from_regex(
    r"[0-9]{0,5}[-:./hm ]?[0-9]{0,3}[-:./]?[0-9]{0,3}(min)?", fullmatch=True
)
TEXT = st.text() | NEAR_MISSES


@given(TEXT)
@example("9" * 5000)
@example("١٢:٣٠")  # Arabic-Indic digits
def test_single_value_parsers_raise_only_input_errors(text: str) -> None:
    checks: list[tuple[Callable[[str], object], set[InputProblem], type]] = [
        (parse_day, {InputProblem.BAD_DATE, InputProblem.NO_SUCH_DATE}, date),
        (parse_time_of_day, {InputProblem.BAD_TIME}, time),
        (parse_minutes, {InputProblem.BAD_DURATION}, int),
        (parse_day_code, {InputProblem.BAD_DATE}, date),
        (parse_time_code, {InputProblem.BAD_TIME}, time),
    ]
    for parse, problems, kind in checks:
        result = attempt(functools.partial(parse, text))
        if isinstance(result, BookingInputError):
            assert result.problem in problems
        else:
            assert isinstance(result, kind)


@given(st.lists(TEXT, max_size=7))
def test_command_parsers_raise_only_input_errors(args: list[str]) -> None:
    not_from_a_parser = {InputProblem.TIME_GAP, InputProblem.IN_PAST, InputProblem.TOO_FAR}
    request = attempt(lambda: parse_book_args(args))
    if isinstance(request, BookingInputError):
        assert request.problem not in not_from_a_parser
    else:
        assert request.client_query
        assert request.client_query == " ".join(request.client_query.split())
        assert MIN_MINUTES <= request.minutes <= MAX_MINUTES
    moved = attempt(lambda: parse_move_args(args))
    if isinstance(moved, BookingInputError):
        assert moved.problem not in {*not_from_a_parser, InputProblem.BAD_DURATION}
    else:
        assert moved[0]
        assert moved[0] == " ".join(moved[0].split())


# --- time zones --------------------------------------------------------------------------------


def test_a_local_time_becomes_utc() -> None:
    assert local_to_utc(date(2026, 11, 24), time(10), BERLIN) == datetime(
        2026, 11, 24, 9, tzinfo=UTC
    )
    assert local_to_utc(date(2026, 7, 1), time(10), BERLIN) == datetime(2026, 7, 1, 8, tzinfo=UTC)
    assert local_to_utc(date(2026, 11, 24), time(10), "Asia/Kolkata") == datetime(
        2026, 11, 24, 4, 30, tzinfo=UTC
    )
    assert local_to_utc(date(2026, 11, 24), time(10), "UTC").utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("day", "at", "zone"),
    [
        (date(2026, 3, 29), time(2, 30), BERLIN),
        (date(2026, 3, 29), time(2, 0), BERLIN),
        (date(2026, 3, 8), time(2, 30), "America/New_York"),
        (date(2026, 10, 4), time(2, 15), "Australia/Lord_Howe"),
    ],
)
def test_a_time_skipped_by_the_clocks_is_refused(day: date, at: time, zone: str) -> None:
    with pytest.raises(BookingInputError) as excinfo:
        local_to_utc(day, at, zone)
    assert problem_of(excinfo) is InputProblem.TIME_GAP
    assert excinfo.value.params == {"day": day.isoformat(), "time": f"{at:%H:%M}", "timezone": zone}


def test_the_edges_of_a_gap_exist() -> None:
    assert local_to_utc(date(2026, 3, 29), time(1, 59), BERLIN) == datetime(
        2026, 3, 29, 0, 59, tzinfo=UTC
    )
    assert local_to_utc(date(2026, 3, 29), time(3, 0), BERLIN) == datetime(
        2026, 3, 29, 1, 0, tzinfo=UTC
    )
    assert local_to_utc(date(2026, 10, 4), time(2, 30), "Australia/Lord_Howe") == datetime(
        2026, 10, 3, 15, 30, tzinfo=UTC
    )


def test_a_time_that_happens_twice_is_the_earlier_instant() -> None:
    assert local_to_utc(date(2026, 10, 25), time(2, 30), BERLIN) == datetime(
        2026, 10, 25, 0, 30, tzinfo=UTC
    )
    assert local_to_utc(date(2026, 4, 5), time(1, 45), "Australia/Lord_Howe") == datetime(
        2026, 4, 4, 14, 45, tzinfo=UTC
    )


def test_a_moment_outside_the_calendar_is_no_such_date() -> None:
    with pytest.raises(BookingInputError) as excinfo:
        local_to_utc(date(9999, 12, 31), time(23, 30), "America/New_York")
    assert problem_of(excinfo) is InputProblem.NO_SUCH_DATE


def wall(instant: datetime, zone: str) -> datetime:
    return instant.astimezone(ZoneInfo(zone)).replace(tzinfo=None, fold=0)


@given(
    st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31))
    | st.sampled_from(CHANGE_DAYS),
    st.times() | st.times(max_value=time(4)),
    st.sampled_from(ZONES),
)
@example(date(2026, 3, 29), time(2, 30), BERLIN)
@example(date(2026, 10, 25), time(2, 30), BERLIN)
@example(date(2026, 10, 4), time(2, 15), "Australia/Lord_Howe")
@example(date(2026, 4, 5), time(1, 45), "Australia/Lord_Howe")
def test_utc_goes_back_to_the_same_wall_time(day: date, at: time, zone: str) -> None:
    local = datetime.combine(day, at)
    tz = ZoneInfo(zone)
    instants = {
        candidate
        for fold in (0, 1)
        if wall(candidate := local.replace(tzinfo=tz, fold=fold).astimezone(UTC), zone) == local
    }
    instant = attempt(lambda: local_to_utc(day, at, zone))
    if isinstance(instant, BookingInputError):
        assert instant.problem is InputProblem.TIME_GAP
        assert instants == set()  # no instant shows this wall time: it really is skipped
    else:
        assert instant.utcoffset() == timedelta(0)
        assert wall(instant, zone) == local
        assert instant == min(instants)  # the earlier one when it happens twice


def test_require_bookable() -> None:
    now = datetime(2026, 11, 24, 9, tzinfo=UTC)
    require_bookable(now + timedelta(seconds=1), now)
    require_bookable(now + timedelta(days=730), now)
    for starts_at in (now, now - timedelta(minutes=1)):
        with pytest.raises(BookingInputError) as excinfo:
            require_bookable(starts_at, now)
        assert problem_of(excinfo) is InputProblem.IN_PAST
        assert excinfo.value.params == {"starts_at": starts_at.isoformat()}
    for starts_at in (now + timedelta(days=733), datetime(9999, 12, 31, 23, tzinfo=UTC)):
        with pytest.raises(BookingInputError) as excinfo:
            require_bookable(starts_at, now)
        assert problem_of(excinfo) is InputProblem.TOO_FAR
        assert excinfo.value.params == {"years": "2"}


def test_a_book_line_for_a_date_in_the_past_is_refused() -> None:
    request = parse_book_args(["Sample", "Client", "2026-11-23", "18:00"])
    starts_at = local_to_utc(request.day, request.at, BERLIN)
    with pytest.raises(BookingInputError) as excinfo:
        require_bookable(starts_at, now=datetime(2026, 11, 24, 9, tzinfo=UTC))
    assert problem_of(excinfo) is InputProblem.IN_PAST


# --- names -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Client:
    id: int
    name: str


def ids(clients: list[Client]) -> list[int]:
    return [client.id for client in clients]


def find(query: str, clients: list[Client]) -> list[int]:
    return ids(match_by_name(query, clients, lambda client: client.name))


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("  Noël   CLIENT ", "noel client"),
        ("Noe\u0308l", "noel"),  # decomposed ë
        ("Åre\tO'Sample", "are o'sample"),
        ("Straße", "strasse"),
        ("ﬁeld", "field"),  # a ligature
        ("", ""),
    ],
)
def test_normalize_name(name: str, expected: str) -> None:
    assert normalize_name(name) == expected


@given(st.text())
def test_normalizing_twice_changes_nothing(name: str) -> None:
    once = normalize_name(name)
    assert normalize_name(once) == once
    assert once == once.strip()
    assert "  " not in once


def test_two_clients_with_the_same_name_are_both_found() -> None:
    clients = [
        Client(1, "Sample Client"),
        Client(2, "Sample Clientele"),
        Client(3, "sample  CLIENT"),
    ]
    assert find("Sample Client", clients) == [1, 3]


def test_an_exact_name_wins_over_prefixes() -> None:
    clients = [Client(1, "Sample Client"), Client(2, "Sample")]
    assert find("sample", clients) == [2]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("sam", [1, 3]),
        ("client sample", [1]),
        ("s c", [1]),
        ("client", [1, 2]),
        ("second", [3]),
        ("sample-s", [3]),
        ("bo", []),
        ("sample x", []),
        ("sampleb", []),
    ],
)
def test_prefixes_of_name_words(query: str, expected: list[int]) -> None:
    clients = [
        Client(1, "Sample Client"),
        Client(2, "Clientwise Other"),
        Client(3, "Sample-Second Person"),
    ]
    assert find(query, clients) == expected


def test_matching_ignores_accents_and_case() -> None:
    clients = [Client(1, "Noël Client"), Client(2, "Åre Öland"), Client(3, "Sample Noel")]
    assert find("noel", clients) == [1, 3]
    assert find("NOËL CLIENT", clients) == [1]
    assert find("are oland", clients) == [2]
    assert find("år", clients) == [2]


@pytest.mark.parametrize("query", ["", "   ", "\u0308"])
def test_an_empty_query_finds_nobody(query: str) -> None:
    assert find(query, [Client(1, "Sample Client"), Client(2, "")]) == []


@given(st.lists(st.text(max_size=15), min_size=1, max_size=6), st.data())
def test_a_full_name_finds_exactly_its_namesakes(names: list[str], data: st.DataObject) -> None:
    clients = [Client(index, name) for index, name in enumerate(names)]
    query = data.draw(st.sampled_from(names))
    wanted = normalize_name(query)
    namesakes = [index for index, name in enumerate(names) if normalize_name(name) == wanted]
    assert find(query, clients) == (namesakes if wanted else [])


@given(st.lists(st.text(max_size=15), max_size=6), st.text(max_size=8))
def test_prefix_matches_keep_order_and_contain_every_query_word(
    names: list[str], query: str
) -> None:
    clients = [Client(index, name) for index, name in enumerate(names)]
    found = find(query, clients)
    assert found == sorted(set(found))
    for index in found:
        name = normalize_name(names[index])
        assert all(part in name for part in normalize_name(query).split())


# --- pickers -----------------------------------------------------------------------------------


def test_bookable_days() -> None:
    today = date(2026, 12, 25)
    days = bookable_days(today)
    assert len(days) == 14
    assert days[0] == today
    assert days[-1] == date(2027, 1, 7)
    assert all(later - earlier == timedelta(days=1) for earlier, later in itertools.pairwise(days))
    assert bookable_days(today, 3) == [today, date(2026, 12, 26), date(2026, 12, 27)]
    assert bookable_days(today, 0) == []
    assert bookable_days(date.max, 5) == [date.max]


def test_overlaps() -> None:
    start = datetime(2026, 11, 24, 9, tzinfo=UTC)
    hour = timedelta(hours=1)
    before = (start - hour, start)
    after = (start + hour, start + 2 * hour)
    inside = (start + timedelta(minutes=15), start + timedelta(minutes=30))
    across = (start - hour, start + timedelta(minutes=1))
    assert overlaps(start, 60, [before, after]) is None  # touching ends do not overlap
    assert overlaps(start, 60, [before, inside, across]) == inside
    assert overlaps(start, 60, [across, inside]) == across
    assert overlaps(start, 61, [after]) == after
    assert overlaps(start, 60, []) is None


def test_free_slots_skip_the_past_and_busy_times() -> None:
    day = date(2026, 11, 24)  # Berlin is UTC+1
    busy = [(datetime(2026, 11, 24, 9, tzinfo=UTC), datetime(2026, 11, 24, 10, tzinfo=UTC))]
    slots = free_slots(day, BERLIN, now=datetime(2026, 11, 24, 8, 10, tzinfo=UTC), busy=busy)
    # 09:00 local is 08:00Z (past); 09:30-10:30 overlaps 10:00-11:00 local; 11:00 touches its end.
    expected = [time(hours, minutes) for hours in range(11, 20) for minutes in (0, 30)]
    assert slots == [*expected, time(20)]


def test_free_slots_on_the_day_the_clocks_go_forward() -> None:
    slots = free_slots(
        date(2026, 3, 29),
        BERLIN,
        now=datetime(2026, 1, 1, tzinfo=UTC),
        busy=[],
        first=time(0),
        last=time(4),
    )
    assert slots == [time(0), time(0, 30), time(1), time(1, 30), time(3), time(3, 30), time(4)]


def test_free_slots_respect_the_length_and_the_step() -> None:
    day = date(2026, 11, 24)
    busy = [(datetime(2026, 11, 24, 11, tzinfo=UTC), datetime(2026, 11, 24, 12, tzinfo=UTC))]
    slots = free_slots(
        day,
        "UTC",
        now=datetime(2026, 11, 24, tzinfo=UTC),
        busy=busy,
        minutes=90,
        first=time(9),
        last=time(13),
        step_minutes=45,
    )
    # Candidates 09:00, 09:45, 10:30, 11:15, 12:00, 12:45; 90 minutes from 09:45 reach 11:15.
    assert slots == [time(9), time(12), time(12, 45)]


def test_a_step_must_be_positive() -> None:
    with pytest.raises(ValueError, match="step_minutes"):
        free_slots(
            date(2026, 11, 24), "UTC", now=datetime(2026, 1, 1, tzinfo=UTC), busy=[], step_minutes=0
        )


@st.composite
def busy_intervals(draw: st.DrawFn, around: datetime) -> list[tuple[datetime, datetime]]:
    intervals = []
    for _ in range(draw(st.integers(0, 4))):
        start = around + timedelta(minutes=draw(st.integers(-24 * 60, 48 * 60)))
        intervals.append((start, start + timedelta(minutes=draw(st.integers(1, 6 * 60)))))
    return intervals


@given(
    day=st.sampled_from(CHANGE_DAYS)
    | st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)),
    zone=st.sampled_from(ZONES),
    now_offset=st.integers(-36 * 60, 48 * 60),
    minutes=st.integers(MIN_MINUTES, MAX_MINUTES),
    step=st.sampled_from([15, 30, 45, 60]),
    window=st.sampled_from([(time(8), time(20)), (time(0), time(23, 59)), (time(1), time(4))]),
    data=st.data(),
)
def test_free_slots_are_free_future_and_complete(
    *,
    day: date,
    zone: str,
    now_offset: int,
    minutes: int,
    step: int,
    window: tuple[time, time],
    data: st.DataObject,
) -> None:
    midnight = datetime.combine(day, time(0), tzinfo=UTC)
    now = midnight + timedelta(minutes=now_offset)
    busy = data.draw(busy_intervals(midnight))
    first, last = window
    slots = free_slots(
        day, zone, now=now, busy=busy, minutes=minutes, first=first, last=last, step_minutes=step
    )
    assert slots == sorted(set(slots))
    candidates = [
        (datetime.combine(day, first) + timedelta(minutes=step * n)).time()
        for n in range(24 * 60 // step + 1)
        if datetime.combine(day, first) + timedelta(minutes=step * n) <= datetime.combine(day, last)
    ]
    assert set(slots) <= set(candidates)
    for at in candidates:
        try:
            starts_at = local_to_utc(day, at, zone)
        except BookingInputError:
            assert at not in slots
            continue
        ends_at = starts_at + timedelta(minutes=minutes)
        free = starts_at > now and not any(b0 < ends_at and starts_at < b1 for b0, b1 in busy)
        assert (at in slots) == free


# --- callback data -----------------------------------------------------------------------------


def test_codes() -> None:
    assert day_code(date(2026, 11, 24)) == "20261124"
    assert day_code(date(5, 1, 2)) == "00050102"
    assert time_code(time(9, 30)) == "0930"
    assert time_code(time(23, 59, 59)) == "2359"
    assert parse_day_code("20261124") == date(2026, 11, 24)
    assert parse_time_code("0000") == time(0)


@pytest.mark.parametrize(
    "code", ["2026112", "202611240", "20261324", "20260231", "2026-11-24", "", "2026112x"]
)
def test_bad_day_codes(code: str) -> None:
    with pytest.raises(BookingInputError) as excinfo:
        parse_day_code(code)
    assert problem_of(excinfo) is InputProblem.BAD_DATE


@pytest.mark.parametrize("code", ["2400", "0960", "930", "09:30", "09300", "", "ab12"])
def test_bad_time_codes(code: str) -> None:
    with pytest.raises(BookingInputError) as excinfo:
        parse_time_code(code)
    assert problem_of(excinfo) is InputProblem.BAD_TIME


@given(st.dates(), st.times())
def test_codes_round_trip_and_stay_short(day: date, at: time) -> None:
    assert parse_day_code(day_code(day)) == day
    assert parse_time_code(time_code(at)) == at.replace(second=0, microsecond=0)
    assert len(day_code(day).encode()) == 8
    assert len(time_code(at).encode()) == 4


PERSIAN = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"  # a word with a zero-width non-joiner


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("  Anna   Client ", "Anna Client"),
        ("Bo \u202e\u200b", "Bo"),  # a bidi override and a zero-width space
        ("Ma\u200bria", "Maria"),
        ("👩\u200d⚕️ Dr Lee", "👩\u200d⚕️ Dr Lee"),  # an emoji sequence keeps its joiner
        (PERSIAN, PERSIAN),  # keeps its non-joiner
        ("\x00\x07", ""),
    ],
)
def test_a_name_keeps_what_shows_and_loses_what_hides(typed: str, kept: str) -> None:
    assert tidy_name(typed) == kept
