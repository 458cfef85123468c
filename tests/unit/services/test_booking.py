"""Booking a session: by a line (``/book``) or step by step, the reminders it schedules,
and the times, names and clients it refuses with nothing stored."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from bot.domain import callbacks
from bot.domain.booking_input import BookingInputError, parse_book_args
from bot.domain.callbacks import BookPress, SessionAction
from bot.domain.models import Appointment, AppointmentStatus, ClientStatus
from bot.domain.text_params import when
from bot.services.sessions import booking
from bot.services.sessions.calendar import OpenSessions, busy_during, input_problem
from messages import render_plain
from tests.unit.services.support import (
    BERLIN,
    CANCELLED,
    CLIENT,
    ELEVEN,
    FRIDAY,
    FRIDAY_ELEVEN,
    INVITED,
    OTHER_CLIENT,
    OTHER_PRACTITIONER,
    PRACTITIONER,
    Practice,
    add_client,
    add_practitioner,
    add_session,
    book,
    book_line,
    button_data,
    client_buttons,
    notices_to,
    outbox_rows,
    payload_data,
    refused,
    reminders,
    sessions_of,
    shown,
)


@pytest.mark.parametrize(
    ("day", "at", "offsets"),
    [
        pytest.param(FRIDAY, ELEVEN, [timedelta(hours=24), timedelta(hours=2)], id="3-days-out"),
        pytest.param(date(2026, 12, 1), time(15, 0), [timedelta(hours=2)], id="5-hours-out"),
        pytest.param(date(2026, 12, 1), time(11, 0), [], id="1-hour-out"),
    ],
)
async def test_one_line_booking_schedules_the_reminders_still_ahead(
    practice: Practice, day: date, at: time, offsets: list[timedelta]
) -> None:
    answer = await book_line(practice, "sample", day, at)

    [stored] = await sessions_of(practice.uow, practice.practitioner)
    starts_at = datetime.combine(day, at, UTC) - timedelta(hours=1)  # Berlin is UTC+1
    assert (stored.starts_at, stored.status, stored.client_id) == (
        starts_at,
        AppointmentStatus.BOOKED,
        practice.client.id,
    )
    assert (answer.text.key, answer.text.params["reminders"]) == ("booking.booked", len(offsets))
    assert button_data(answer) == [
        callbacks.session(stored.id, starts_at, SessionAction.MOVE),
        callbacks.session(stored.id, starts_at, SessionAction.PRACTITIONER_ASK_CANCEL),
    ]
    rows = outbox_rows(practice)
    pending = reminders(rows)
    assert [r.due_at for r in pending] == [starts_at - offset for offset in offsets]
    for row in pending:
        assert (row.chat_id, row.template, row.expires_at) == (CLIENT, "reminder.ask", starts_at)
        assert row.payload["params"]["when"] == when(starts_at, BERLIN)
        assert payload_data(row) == client_buttons(starts_at, stored.id)
    assert [r.template for r in notices_to(rows, CLIENT)] == ["session.client_booked"]
    assert len(rows) == len(offsets) + 1


@pytest.mark.parametrize(
    ("day", "at", "minutes", "key"),
    [
        pytest.param(date(2026, 12, 1), time(9, 0), 60, "booking_input.in_past", id="past"),
        pytest.param(date(2026, 12, 1), time(10, 0), 60, "booking_input.in_past", id="now"),
        pytest.param(date(2027, 3, 28), time(2, 30), 60, "booking_input.time_gap", id="dst-gap"),
        pytest.param(FRIDAY, ELEVEN, 5, "booking_input.bad_duration", id="5-minutes"),
    ],
)
async def test_impossible_times_are_refused_kindly_and_nothing_is_stored(
    practice: Practice, day: date, at: time, minutes: int, key: str
) -> None:
    answer = await refused(book_line(practice, "Sample Client", day, at, minutes))

    assert answer.key == key
    assert render_plain(key, "en", **answer.params)
    assert await sessions_of(practice.uow, practice.practitioner) == []
    assert outbox_rows(practice) == []


async def test_a_time_in_the_spring_forward_gap_names_the_zone(practice: Practice) -> None:
    answer = await refused(book_line(practice, day=date(2027, 3, 28), at=time(2, 30)))

    assert answer.params == {
        "min": 15,
        "max": 480,
        "day": "2027-03-28",
        "time": "02:30",
        "timezone": BERLIN,
    }


async def test_the_31st_of_february_is_refused_typed_or_tapped(practice: Practice) -> None:
    with pytest.raises(BookingInputError) as typed:
        parse_book_args(["Sample", "2027-02-31", "11:00"])
    assert input_problem(typed.value).answer.key == "booking_input.no_such_date"

    press = BookPress(practice.client.id, "20270231", "1100")
    tapped = await refused(booking.guided_step(practice.ctx, actor=PRACTITIONER, press=press))

    assert tapped.key == "booking_input.bad_date"
    assert "20270231" in render_plain(tapped.key, "en", **tapped.params)
    assert await sessions_of(practice.uow, practice.practitioner) == []
    assert outbox_rows(practice) == []


async def test_a_name_that_fits_no_client_says_so_and_offers_no_guess(practice: Practice) -> None:
    await add_client(practice.uow, practice.practitioner, "Fourth Client", OTHER_CLIENT)
    await add_client(practice.uow, practice.practitioner, "Third Client", None, status=INVITED)

    answer = await refused(book_line(practice, "Nobody Known", minutes=90))

    assert answer.key == "booking.unknown_client"
    assert answer.params == {"query": "Nobody Known"}
    assert await sessions_of(practice.uow, practice.practitioner) == []


async def test_an_unknown_name_without_joined_clients_is_refused(practice: Practice) -> None:
    other = await add_practitioner(practice.uow, OTHER_PRACTITIONER)
    await add_client(practice.uow, other, "Third Client", None, status=INVITED)

    answer = await refused(book_line(practice, "Nobody Known", actor=OTHER_PRACTITIONER))

    assert answer.key == "booking.unknown_client"
    assert "Nobody Known" in render_plain(answer.key, "en", **answer.params)


async def test_two_clients_with_one_name_are_asked_about_never_guessed(practice: Practice) -> None:
    namesake = await add_client(practice.uow, practice.practitioner, "sample  CLIENT", OTHER_CLIENT)

    answer = await book_line(practice, "Sample Client")

    assert answer.text.key == "booking.which_client"
    assert button_data(answer) == [
        callbacks.book(practice.client.id, "20261204", "1100", 60),
        callbacks.book(namesake.id, "20261204", "1100", 60),
    ]
    assert await sessions_of(practice.uow, practice.practitioner) == []
    # Tapping the second one books exactly that client.
    press = callbacks.parse_book(button_data(answer)[1] or "")
    assert press is not None
    booked = await booking.guided_step(practice.ctx, actor=PRACTITIONER, press=press)
    assert booked.text.key == "booking.booked"
    [stored] = await sessions_of(practice.uow, practice.practitioner)
    assert stored.client_id == namesake.id


@pytest.mark.parametrize(
    ("at", "minutes"),
    [
        pytest.param(time(11, 30), 60, id="starts-inside"),
        pytest.param(time(10, 30), 60, id="ends-inside"),
        pytest.param(time(10, 0), 180, id="covers-it"),
    ],
)
async def test_an_overlapping_session_is_a_clash(
    practice: Practice, at: time, minutes: int
) -> None:
    ben = await add_client(practice.uow, practice.practitioner, "Fourth Client", OTHER_CLIENT)
    await add_session(practice.uow, ben, FRIDAY_ELEVEN)

    answer = await refused(book_line(practice, "Sample", FRIDAY, at, minutes))

    assert answer.key == "booking.clash"
    assert (answer.params["client"], answer.params["when"]) == (
        "Fourth Client",
        when(FRIDAY_ELEVEN, BERLIN),
    )
    assert len(await sessions_of(practice.uow, practice.practitioner)) == 1
    assert outbox_rows(practice) == []


async def test_touching_sessions_and_cancelled_ones_do_not_clash(practice: Practice) -> None:
    ben = await add_client(practice.uow, practice.practitioner, "Fourth Client", OTHER_CLIENT)
    await add_session(practice.uow, ben, FRIDAY_ELEVEN)  # 11:00-12:00 in Berlin
    await add_session(practice.uow, ben, FRIDAY_ELEVEN + timedelta(hours=2))  # 13:00-14:00
    await add_session(practice.uow, ben, FRIDAY_ELEVEN + timedelta(hours=1), status=CANCELLED)

    before = await book(practice, at=time(10, 0))  # ends as Ben's first starts
    between = await book(practice, at=time(12, 0))  # fills the gap exactly

    assert before.starts_at == FRIDAY_ELEVEN - timedelta(hours=1)
    assert between.starts_at == FRIDAY_ELEVEN + timedelta(hours=1)


async def test_a_client_abroad_is_reminded_in_their_own_time(practice: Practice) -> None:
    await add_client(
        practice.uow, practice.practitioner, "Faraway Client", OTHER_CLIENT, timezone="Asia/Tokyo"
    )

    text = shown(await book_line(practice, "Faraway"))

    assert "11:00" in text  # the practitioner's time
    assert "19:00" in text  # and theirs
    assert "Asia/Tokyo" in text
    pending = reminders(outbox_rows(practice))
    assert len(pending) == 2
    assert {r.payload["params"]["when"]["tz"] for r in pending} == {"Asia/Tokyo"}
    assert "19:00" in render_plain("reminder.ask", "en", **pending[0].payload["params"])


@pytest.mark.parametrize(
    ("status", "telegram_id", "key"),
    [
        (INVITED, None, "booking.client_invited"),
        (ClientStatus.STOPPED, OTHER_CLIENT, "booking.client_stopped"),
    ],
)
async def test_a_client_who_cannot_be_reminded_cannot_be_booked(
    practice: Practice, status: ClientStatus, telegram_id: int | None, key: str
) -> None:
    await add_client(
        practice.uow, practice.practitioner, "Fifth Client", telegram_id, status=status
    )

    answer = await refused(book_line(practice, "Fifth"))

    assert answer.key == key
    assert "Fifth Client" in render_plain(key, "en", **answer.params)
    assert await sessions_of(practice.uow, practice.practitioner) == []
    assert outbox_rows(practice) == []


async def test_guided_booking_offers_joined_clients_then_days(practice: Practice) -> None:
    await add_client(practice.uow, practice.practitioner, "Third Client", None, status=INVITED)

    start = await booking.start_guided(practice.ctx, actor=PRACTITIONER)
    press = BookPress(practice.client.id)
    days = await booking.guided_step(practice.ctx, actor=PRACTITIONER, press=press)

    assert start.text.key == "booking.pick_client"
    assert button_data(start) == [callbacks.book(practice.client.id)]
    assert days.text.key == "booking.pick_day"
    assert button_data(days)[:2] == [
        callbacks.book(practice.client.id, "20261201"),
        callbacks.book(practice.client.id, "20261202"),
    ]


@pytest.mark.parametrize(
    ("day", "at"),
    [(date(9999, 12, 31), time(23, 0)), (date(9999, 12, 31), time(0, 0)), (date(1, 1, 1), ELEVEN)],
)
async def test_a_date_at_the_end_of_the_calendar_is_a_kind_refusal(
    practice: Practice, day: date, at: time
) -> None:
    answer = await refused(book_line(practice, day=day, at=at))

    assert answer.key.startswith("booking_input.")
    assert await sessions_of(practice.uow, practice.practitioner) == []


@pytest.mark.parametrize("day_code", ["99991231", "00010101", "20261399"])
@pytest.mark.parametrize("time_code", ["2300", ""])
async def test_a_forged_day_in_the_guided_booking_is_a_kind_refusal(
    practice: Practice, day_code: str, time_code: str
) -> None:
    press = BookPress(practice.client.id, day_code, time_code, 60 if time_code else None)
    answer = await refused(booking.guided_step(practice.ctx, actor=PRACTITIONER, press=press))

    assert answer.key.startswith(("booking_input.", "booking.")), answer.key
    assert await sessions_of(practice.uow, practice.practitioner) == []


async def test_busy_during_spans_finds_the_open_sessions_running_in_one_of_them(
    practice: Practice,
) -> None:
    def at(hours: float) -> datetime:
        return FRIDAY_ELEVEN + timedelta(hours=hours)

    async def add(hours: float, minutes: int, status: AppointmentStatus) -> Appointment:
        return await add_session(
            practice.uow, practice.client, at(hours), minutes=minutes, status=status
        )

    began_before = await add(-2, 150, AppointmentStatus.BOOKED)  # runs into the first span
    await add(-2.5, 30, AppointmentStatus.BOOKED)  # over before it
    in_first = await add(0.5, 30, AppointmentStatus.CONFIRMED)
    await add(1, 30, AppointmentStatus.CANCELLED)
    await add(3, 60, AppointmentStatus.BOOKED)  # between the spans
    in_second = await add(6, 60, AppointmentStatus.BOOKED)
    spans = [(at(5.5), at(6.5)), (at(0), at(1))]

    async with practice.uow() as uow:
        found = await busy_during(uow, practice.practitioner, spans)

    assert found == [began_before, in_first, in_second]


def test_open_sessions_find_the_session_a_new_one_runs_over() -> None:
    def session(at: datetime, minutes: int) -> Appointment:
        return Appointment(
            id=at.hour,
            practitioner_id=1,
            client_id=1,
            starts_at=at,
            duration_minutes=minutes,
            status=AppointmentStatus.BOOKED,
        )

    ten, long_one = session(FRIDAY_ELEVEN, 60), session(FRIDAY_ELEVEN - timedelta(hours=5), 240)
    taken = OpenSessions([ten, long_one])
    assert taken.clashing(FRIDAY_ELEVEN + timedelta(minutes=30), 60) is ten
    assert taken.clashing(FRIDAY_ELEVEN + timedelta(hours=1), 60) is None  # right after
    assert taken.clashing(FRIDAY_ELEVEN - timedelta(hours=2), 30) is long_one  # began earlier
    assert taken.clashing(FRIDAY_ELEVEN - timedelta(hours=1), 60) is None  # between them
    later = session(FRIDAY_ELEVEN + timedelta(hours=5), 50)
    taken.add(later)
    assert taken.clashing(FRIDAY_ELEVEN + timedelta(hours=5, minutes=49), 30) is later
