"""Button data: every format read back as written, and anything else (forged, mutated,
outdated) read as ``None``, never an exception, never an id a database cannot hold."""

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from bot.domain import booking_input, callbacks
from bot.domain.callbacks import (
    BookPress,
    CheckInAction,
    CheckInPress,
    FlagAction,
    ListName,
    SessionAction,
    SessionPress,
)

BIGINT = 2**63 - 1
IDS = st.integers(min_value=1, max_value=10**18 - 1)
TOKENS = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-",
    min_size=16,
    max_size=56,
)
PARSERS: dict[str, Callable[[str], Any]] = {
    callbacks.SESSION_PATTERN: callbacks.parse_session,
    callbacks.BOOK_PATTERN: callbacks.parse_book,
    callbacks.CONSENT_PATTERN: callbacks.parse_consent,
    callbacks.INVITE_REVOKE_PATTERN: callbacks.parse_revoke_invite,
    callbacks.LIST_PAGE_PATTERN: callbacks.parse_list_page,
    callbacks.CHECKIN_PATTERN: callbacks.parse_checkin,
    callbacks.FLAG_PATTERN: callbacks.parse_flag,
    callbacks.DIGEST_PATTERN: callbacks.parse_digest,
    callbacks.CALENDAR_FILE_PATTERN: callbacks.parse_calendar_file,
}
# Data that looks like buttons: the prefixes, digits of every script, separators.
LOOKALIKE = st.builds(
    lambda prefix, rest: prefix + rest,
    st.sampled_from(
        [
            *("ap:", "bk:", "cs:y:", "cs:n:", "iv:", "pg:c:", "pg:u:", "ci:", "fl:", "kc:", "st:"),
            *("ics:", ""),
        ]
    ),
    st.text(alphabet=st.sampled_from(list("0123456789:abcdefghiknrsty_-٣９ ")), max_size=70),
)


def _ints(value: Any) -> list[int]:
    if isinstance(value, bool):
        return []
    if isinstance(value, int):
        return [value]
    if isinstance(value, tuple | list):
        return [i for item in value for i in _ints(item)]
    if hasattr(value, "__dataclass_fields__"):
        return _ints([getattr(value, name) for name in value.__dataclass_fields__])
    return []


@given(st.one_of(st.text(max_size=80), LOOKALIKE))
def test_any_data_is_read_as_a_press_or_none_never_an_error(data: str) -> None:
    for pattern, parse in PARSERS.items():
        parsed = parse(data)
        if parsed is None:
            continue
        assert re.match(pattern, data), (pattern, data)
        assert all(0 <= value <= BIGINT for value in _ints(parsed)), parsed


@given(st.one_of(st.text(max_size=80), LOOKALIKE))
def test_a_handler_pattern_takes_only_ascii_digits(data: str) -> None:
    """What a handler's pattern lets through has the shape its parser reads."""
    for pattern in PARSERS:
        match = re.match(pattern, data)
        if match is not None:
            assert all(c.isascii() for c in data if c.isdigit()), (pattern, data)


@given(
    IDS,
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)),
    st.sampled_from(SessionAction),
)
def test_session_buttons_round_trip(
    appointment_id: int, moment: datetime, action: SessionAction
) -> None:
    starts_at = moment.replace(tzinfo=UTC)
    data = callbacks.session(appointment_id, starts_at, action)
    assert len(data.encode()) <= 64
    assert callbacks.parse_session(data) == SessionPress(
        appointment_id, callbacks.session_version(starts_at), action
    )


@given(
    IDS,
    st.dates(date(2000, 1, 1), date(2100, 1, 1)),
    st.times(),
    st.one_of(st.none(), st.integers(15, 480)),
)
def test_booking_steps_round_trip(client_id: int, day: Any, at: Any, minutes: int | None) -> None:
    day_code, time_code = booking_input.day_code(day), booking_input.time_code(at)
    data = callbacks.book(client_id, day_code, time_code, minutes)
    assert len(data.encode()) <= 64
    assert callbacks.parse_book(data) == BookPress(client_id, day_code, time_code, minutes)


@given(IDS, st.sampled_from(CheckInAction), st.one_of(st.none(), st.integers(0, 10)))
def test_checkin_buttons_round_trip(
    checkin_id: int, action: CheckInAction, argument: int | None
) -> None:
    data = callbacks.checkin(checkin_id, action, argument)
    assert callbacks.parse_checkin(data) == CheckInPress(checkin_id, action, argument)


@given(IDS, st.sampled_from(FlagAction), st.booleans(), TOKENS, st.integers(0, 9999))
def test_flag_consent_invite_and_page_buttons_round_trip(
    some_id: int, action: FlagAction, agree: bool, token: str, page: int
) -> None:
    assert callbacks.parse_flag(callbacks.flag(some_id, action)) == (some_id, action)
    assert callbacks.parse_consent(callbacks.consent(agree, token)) == (agree, token)
    assert callbacks.parse_revoke_invite(callbacks.revoke_invite(some_id)) == some_id
    for name in ListName:
        assert callbacks.parse_list_page(callbacks.list_page(name, page)) == (name, page)


def test_an_id_too_big_for_the_database_is_not_a_press() -> None:
    huge = "9" * 19
    for data in (
        f"fl:{huge}:ack",
        f"ap:{huge}:1:sh",
        f"bk:{huge}",
        f"ci:{huge}:s:3",
        f"iv:{huge}:rv",
    ):
        assert all(parse(data) is None for parse in PARSERS.values()), data
    assert callbacks.parse_session(f"ap:1:{int(timedelta(days=1).total_seconds())}:zz") is None


def test_the_digest_button_round_trips_and_nothing_else_is_read_as_it() -> None:
    assert callbacks.parse_digest(callbacks.digest(True)) is True
    assert callbacks.parse_digest(callbacks.digest(False)) is False
    for data in ("st:digest:", "st:digest:x", "st:digest:yy", "st:digest:Y", "st:dig:y", "kc:y"):
        assert callbacks.parse_digest(data) is None, data


@given(IDS)
def test_the_calendar_file_button_round_trips(appointment_id: int) -> None:
    data = callbacks.calendar_file(appointment_id)
    assert len(data.encode()) <= 64
    assert re.match(callbacks.CALENDAR_FILE_PATTERN, data)
    assert callbacks.parse_calendar_file(data) == appointment_id


def test_a_malformed_calendar_file_button_is_not_a_press() -> None:
    for data in (
        "ics:",
        "ics:x",
        "ics:-1",
        "ics:1:2",
        "ics:١٢",  # digits of another script
        "ics:" + "9" * 19,  # more than the database can hold
        "ics 1",
        "ic:1",
        "ap:1:1:ok",
    ):
        assert callbacks.parse_calendar_file(data) is None, data
    assert len(callbacks.calendar_file(10**18 - 1).encode()) <= 64
