"""A practice's week through the services, on real databases: booking, a client's taps on
their session, the practitioner moving and cancelling it, and changes undone again.

Every test reads back what was stored (sessions, outbox rows, audit entries) rather than
trusting the answer alone. ``test_journey_access.py`` covers who may do, see and receive
what (invites and consent, refusals of other people's records, /stop, the lists, a
client's own settings); both use the helpers of ``journey_support.py``.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta

import pytest

from bot.domain import callbacks
from bot.domain.booking_input import BookingInputError, parse_book_args
from bot.domain.callbacks import BookPress, SessionAction
from bot.domain.models import (
    AppointmentStatus,
    ClientStatus,
    OutboxState,
)
from bot.domain.outgoing import OutgoingMessage
from bot.domain.text_params import when
from bot.services.practice import client_settings
from bot.services.sessions import booking, client_actions
from bot.services.sessions import changes as session_changes
from bot.services.sessions.calendar import input_problem
from messages import render_plain
from tests.integration.journey_support import (
    BERLIN,
    CANCELLED,
    CLIENT,
    ELEVEN,
    FRIDAY,
    FRIDAY_ELEVEN,
    GUEST,
    INVITED,
    MONDAY,
    MONDAY_ELEVEN,
    NOW,
    OTHER_CLIENT,
    OTHER_PRACTITIONER,
    POLICY,
    PRACTITIONER,
    Practice,
    add_client,
    add_practitioner,
    add_session,
    book,
    book_line,
    button_data,
    client_buttons,
    client_press,
    later,
    move_to_monday,
    notices_to,
    outbox_rows,
    payload_data,
    practitioner_press,
    refusals,
    refused,
    reminders,
    session,
    sessions_of,
    shown,
)

# --- booking ------------------------------------------------------------------------------------


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
    rows = await outbox_rows(practice.engine)
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
    assert await outbox_rows(practice.engine) == []


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
    tapped = await refused(
        booking.guided_step(practice.uow, practice.clock, POLICY, actor=PRACTITIONER, press=press)
    )

    assert tapped.key == "booking_input.bad_date"
    assert "20270231" in render_plain(tapped.key, "en", **tapped.params)
    assert await sessions_of(practice.uow, practice.practitioner) == []
    assert await outbox_rows(practice.engine) == []


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
    booked = await booking.guided_step(
        practice.uow, practice.clock, POLICY, actor=PRACTITIONER, press=press
    )
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
    assert await outbox_rows(practice.engine) == []


async def test_touching_sessions_and_cancelled_ones_do_not_clash(practice: Practice) -> None:
    ben = await add_client(practice.uow, practice.practitioner, "Fourth Client", OTHER_CLIENT)
    await add_session(practice.uow, ben, FRIDAY_ELEVEN)  # 11:00-12:00 in Berlin
    await add_session(practice.uow, ben, FRIDAY_ELEVEN + timedelta(hours=2))  # 13:00-14:00
    await add_session(practice.uow, ben, FRIDAY_ELEVEN + timedelta(hours=1), status=CANCELLED)

    before = await book(practice, at=time(10, 0))  # ends as Ben's first starts
    between = await book(practice, at=time(12, 0))  # fills the gap exactly

    assert before.starts_at == FRIDAY_ELEVEN - timedelta(hours=1)
    assert between.starts_at == FRIDAY_ELEVEN + timedelta(hours=1)


async def test_a_double_tap_on_the_last_booking_step_books_once(practice: Practice) -> None:
    press = BookPress(practice.client.id, "20261204", "1100")

    outcomes = await asyncio.gather(
        *(
            booking.guided_step(
                practice.uow, practice.clock, POLICY, actor=PRACTITIONER, press=press
            )
            for _ in range(2)
        ),
        return_exceptions=True,
    )

    keys = [o.text.key if isinstance(o, OutgoingMessage) else repr(o) for o in outcomes]
    assert "booking.booked" in keys
    assert len(await sessions_of(practice.uow, practice.practitioner)) == 1
    assert len(reminders(await outbox_rows(practice.engine))) == 2


async def test_a_client_abroad_is_reminded_in_their_own_time(practice: Practice) -> None:
    await add_client(
        practice.uow, practice.practitioner, "Faraway Client", OTHER_CLIENT, timezone="Asia/Tokyo"
    )

    text = shown(await book_line(practice, "Faraway"))

    assert "11:00" in text  # the practitioner's time
    assert "19:00" in text  # and theirs
    assert "Asia/Tokyo" in text
    pending = reminders(await outbox_rows(practice.engine))
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
    assert await outbox_rows(practice.engine) == []


async def test_guided_booking_offers_joined_clients_then_days(practice: Practice) -> None:
    await add_client(practice.uow, practice.practitioner, "Third Client", None, status=INVITED)

    start = await booking.start_guided(practice.uow, practice.clock, actor=PRACTITIONER)
    press = BookPress(practice.client.id)
    days = await booking.guided_step(
        practice.uow, practice.clock, POLICY, actor=PRACTITIONER, press=press
    )

    assert start.text.key == "booking.pick_client"
    assert button_data(start) == [callbacks.book(practice.client.id)]
    assert days.text.key == "booking.pick_day"
    assert button_data(days)[:2] == [
        callbacks.book(practice.client.id, "20261201"),
        callbacks.book(practice.client.id, "20261202"),
    ]


# --- the client's taps on their session ---------------------------------------------------------


async def test_confirm_replaces_the_reminders_and_tells_the_practitioner_once(
    practice: Practice,
) -> None:
    appointment = await book(practice)
    [first, _] = reminders(await outbox_rows(practice.engine))
    confirm = callbacks.parse_session(payload_data(first)[0] or "")  # the reminder's button
    assert confirm is not None
    assert confirm.action is SessionAction.CONFIRM

    answer = await client_actions.client_press(
        practice.uow, practice.clock, POLICY, actor=CLIENT, press=confirm
    )

    assert answer.text.key == "session.confirmed"
    assert (await session(practice.uow, appointment.id)).status is AppointmentStatus.CONFIRMED
    rows = await outbox_rows(practice.engine)
    assert len(reminders(rows, OutboxState.CANCELLED)) == 2
    pending = reminders(rows)
    assert [(r.template, r.due_at) for r in pending] == [
        ("reminder.confirmed", FRIDAY_ELEVEN - timedelta(hours=24)),
        ("reminder.confirmed", FRIDAY_ELEVEN - timedelta(hours=2)),
    ]
    for row in pending:
        assert payload_data(row) == client_buttons(FRIDAY_ELEVEN, appointment.id, confirm=False)
    assert len(notices_to(rows, PRACTITIONER, "session.practitioner_confirmed")) == 1


async def test_a_double_tap_on_confirm_changes_nothing(practice: Practice) -> None:
    appointment = await book(practice)
    await client_press(practice, appointment, SessionAction.CONFIRM)
    rows_before = await outbox_rows(practice.engine)
    async with practice.uow() as uow:
        audit_before = await uow.audit.recent()

    again = await client_press(practice, appointment, SessionAction.CONFIRM)

    assert again.text.key == "session.confirmed"
    assert await outbox_rows(practice.engine) == rows_before
    assert len(notices_to(rows_before, PRACTITIONER)) == 1
    async with practice.uow() as uow:
        assert await uow.audit.recent() == audit_before


async def test_a_button_from_before_a_move_is_stale(practice: Practice) -> None:
    appointment = await book(practice)
    await move_to_monday(practice, appointment)

    answer = await refused(client_press(practice, appointment, SessionAction.CONFIRM))

    assert (answer.key, answer.params["when"]) == ("session.stale", when(MONDAY_ELEVEN, BERLIN))
    assert (await session(practice.uow, appointment.id)).status is AppointmentStatus.BOOKED
    [entry] = await refusals(practice.uow)
    assert (entry.actor_telegram_id, entry.subject_id) == (CLIENT, appointment.id)
    assert entry.detail == {"action": "appointment.ok", "reason": "stale button"}


async def test_a_press_on_a_cancelled_session_is_refused(practice: Practice) -> None:
    appointment = await add_session(practice.uow, practice.client, FRIDAY_ELEVEN, status=CANCELLED)

    answer = await refused(client_press(practice, appointment, SessionAction.CONFIRM))

    assert answer.key == "session.now_cancelled"
    assert (await session(practice.uow, appointment.id)).status is CANCELLED
    [entry] = await refusals(practice.uow)
    assert entry.detail["reason"] == "session cancelled"
    assert await outbox_rows(practice.engine) == []


async def test_reschedule_asks_the_practitioner_with_move_and_cancel_buttons(
    practice: Practice,
) -> None:
    appointment = await book(practice)

    answer = await client_press(practice, appointment, SessionAction.ASK_RESCHEDULE)

    assert answer.text.key == "session.reschedule_asked"
    stored = await session(practice.uow, appointment.id)
    assert stored.status is AppointmentStatus.RESCHEDULE_REQUESTED
    [notice] = notices_to(await outbox_rows(practice.engine), PRACTITIONER)
    assert notice.template == "session.practitioner_reschedule_asked"
    assert notice.payload["params"]["client"] == "Sample Client"
    assert payload_data(notice) == [
        callbacks.session(appointment.id, FRIDAY_ELEVEN, SessionAction.MOVE),
        callbacks.session(appointment.id, FRIDAY_ELEVEN, SessionAction.PRACTITIONER_ASK_CANCEL),
    ]


async def test_cancel_is_asked_then_done_and_the_practitioner_told(practice: Practice) -> None:
    appointment = await book(practice)

    question = await client_press(practice, appointment, SessionAction.ASK_CANCEL)
    assert question.text.key == "session.cancel_question"
    assert button_data(question) == [
        callbacks.session(appointment.id, FRIDAY_ELEVEN, SessionAction.CANCEL),
        callbacks.session(appointment.id, FRIDAY_ELEVEN, SessionAction.KEEP),
    ]
    assert (await session(practice.uow, appointment.id)).status is AppointmentStatus.BOOKED

    answer = await client_press(practice, appointment, SessionAction.CANCEL)

    assert answer.text.key == "session.cancelled"
    assert (await session(practice.uow, appointment.id)).status is CANCELLED
    rows = await outbox_rows(practice.engine)
    assert reminders(rows) == []
    assert len(reminders(rows, OutboxState.CANCELLED)) == 2
    [told] = notices_to(rows, PRACTITIONER)
    assert told.template == "session.practitioner_cancelled"


async def test_next_shows_the_clients_next_open_session(practice: Practice) -> None:
    await add_session(practice.uow, practice.client, NOW + timedelta(days=1), status=CANCELLED)
    appointment = await book(practice)

    answer = await client_actions.next_session(practice.uow, practice.clock, actor=CLIENT)
    nothing = await client_actions.next_session(practice.uow, practice.clock, actor=GUEST)

    assert (answer.text.key, answer.text.params["when"]) == (
        "next.open",
        when(FRIDAY_ELEVEN, BERLIN),
    )
    assert button_data(answer) == client_buttons(FRIDAY_ELEVEN, appointment.id)
    assert nothing.text.key == "next.none"


# --- the practitioner's changes -----------------------------------------------------------------


async def test_move_replaces_the_reminders_and_tells_the_client(practice: Practice) -> None:
    appointment = await book(practice)

    answer = await move_to_monday(practice, appointment)

    assert answer.text.key == "booking.moved"
    assert (await session(practice.uow, appointment.id)).starts_at == MONDAY_ELEVEN
    rows = await outbox_rows(practice.engine)
    assert [r.due_at for r in reminders(rows, OutboxState.CANCELLED)] == [
        FRIDAY_ELEVEN - timedelta(hours=24),
        FRIDAY_ELEVEN - timedelta(hours=2),
    ]
    new = reminders(rows)
    assert [r.due_at for r in new] == [
        MONDAY_ELEVEN - timedelta(hours=24),
        MONDAY_ELEVEN - timedelta(hours=2),
    ]
    assert {r.expires_at for r in new} == {MONDAY_ELEVEN}
    assert payload_data(new[0]) == client_buttons(MONDAY_ELEVEN, appointment.id)
    assert {n.template: n.state for n in notices_to(rows, CLIENT)} == {
        "session.client_booked": OutboxState.CANCELLED,  # not sent yet, and no longer true
        "session.client_moved": OutboxState.PENDING,
    }
    async with practice.uow() as uow:
        assert (await uow.audit.recent(1))[0].action == "appointment.moved"


async def test_move_by_an_ambiguous_name_asks_which_session(practice: Practice) -> None:
    sample_client = await book(practice)
    samplewise = await add_client(
        practice.uow, practice.practitioner, "Samplewise Other", OTHER_CLIENT
    )
    other = await book(practice, day=MONDAY, client=samplewise)

    answer = await session_changes.move_by_name(
        practice.uow,
        practice.clock,
        POLICY,
        actor=PRACTITIONER,
        query="sam",
        day=date(2026, 12, 8),
        at=time(9, 0),
    )

    assert answer.text.key == "booking.which_session"
    assert button_data(answer) == [
        callbacks.session(sample_client.id, FRIDAY_ELEVEN, SessionAction.MOVE_TO, "202612080900"),
        callbacks.session(other.id, MONDAY_ELEVEN, SessionAction.MOVE_TO, "202612080900"),
    ]
    stored = await sessions_of(practice.uow, practice.practitioner)
    assert [a.starts_at for a in stored] == [FRIDAY_ELEVEN, MONDAY_ELEVEN]


async def test_cancel_with_a_name_that_fits_no_client_says_so(practice: Practice) -> None:
    """Another client's session is never offered as a guess for a name that fits no one."""
    await book(practice)

    answer = await refused(
        session_changes.cancel_by_name(
            practice.uow, practice.clock, actor=PRACTITIONER, query="Nobody Known"
        )
    )

    assert answer.key == "booking.unknown_client"
    assert answer.params == {"query": "Nobody Known"}


async def test_cancel_by_name_asks_then_cancels_and_the_client_is_told(
    practice: Practice,
) -> None:
    appointment = await book(practice)

    question = await session_changes.cancel_by_name(
        practice.uow, practice.clock, actor=PRACTITIONER, query="sample client"
    )
    assert question.text.key == "booking.cancel_question"
    assert (await session(practice.uow, appointment.id)).status is AppointmentStatus.BOOKED
    yes = callbacks.parse_session(button_data(question)[0] or "")
    assert yes is not None
    assert yes.action is SessionAction.PRACTITIONER_CANCEL

    answer = await session_changes.practitioner_press(
        practice.uow, practice.clock, POLICY, actor=PRACTITIONER, press=yes
    )

    assert answer.text.key == "booking.cancelled"
    assert (await session(practice.uow, appointment.id)).status is CANCELLED
    rows = await outbox_rows(practice.engine)
    assert reminders(rows) == []
    [told] = notices_to(rows, CLIENT, "session.client_cancelled")
    assert told.state is OutboxState.PENDING
    assert told.payload["buttons"] == []  # nothing left to confirm


# --- away and back: a change undone must not silence what follows -----------------------------
#
# Reminder and notice dedup keys name the session's start, the client's zone and whether
# the session is confirmed; ``outbox.add`` returns the existing row for a known key and
# writes nothing. A session or a zone that comes back to an earlier value must still get
# its reminders and notices, not the old (cancelled or sent) rows.


async def move_back_to_friday(practice: Practice, appointment_id: int) -> OutgoingMessage:
    moved = await session(practice.uow, appointment_id)
    return await practitioner_press(practice, moved, SessionAction.MOVE_TO, "202612041100")


async def send_everything_due(practice: Practice) -> None:
    """What the dispatcher would do now: every due row sent."""
    async with practice.uow() as uow:
        for row in await uow.outbox.claim_due(practice.clock.now(), 100):
            await uow.outbox.mark_sent(
                row.id, sent_at=practice.clock.now(), telegram_message_id=row.id, lateness_ms=0
            )
        await uow.commit()


async def test_a_session_moved_back_to_its_old_time_is_reminded_again(
    practice: Practice,
) -> None:
    appointment = await book(practice)
    later(practice)
    await move_to_monday(practice, appointment)
    later(practice)

    answer = await move_back_to_friday(practice, appointment.id)

    assert answer.text.key == "booking.moved"
    assert (await session(practice.uow, appointment.id)).starts_at == FRIDAY_ELEVEN
    pending = reminders(await outbox_rows(practice.engine))
    assert [(r.template, r.due_at) for r in pending] == [
        ("reminder.ask", FRIDAY_ELEVEN - timedelta(hours=24)),
        ("reminder.ask", FRIDAY_ELEVEN - timedelta(hours=2)),
    ]


async def test_a_client_moved_there_and_back_and_there_again_is_told_each_time(
    practice: Practice,
) -> None:
    appointment = await book(practice)
    for step in range(3):
        later(practice)
        if step % 2:
            await move_back_to_friday(practice, appointment.id)
        else:
            await move_to_monday(practice, await session(practice.uow, appointment.id))
        await send_everything_due(practice)

    told = notices_to(await outbox_rows(practice.engine), CLIENT, "session.client_moved")
    assert [(n.payload["params"]["when"], n.state) for n in told] == [
        (when(MONDAY_ELEVEN, BERLIN), OutboxState.SENT),
        (when(FRIDAY_ELEVEN, BERLIN), OutboxState.SENT),
        (when(MONDAY_ELEVEN, BERLIN), OutboxState.SENT),
    ]


async def test_a_time_zone_changed_and_changed_back_keeps_the_reminders(
    practice: Practice,
) -> None:
    await book(practice)
    for text in ("Tokyo", "Berlin"):
        later(practice)
        await client_settings.set_timezone(
            practice.uow, practice.clock, POLICY, actor=CLIENT, text=text
        )

    rows = await outbox_rows(practice.engine)
    assert [r.payload["params"]["when"]["tz"] for r in reminders(rows)] == [BERLIN, BERLIN]
    assert len(reminders(rows, OutboxState.CANCELLED)) == 4


async def test_a_second_confirmation_after_moving_back_reaches_the_practitioner(
    practice: Practice,
) -> None:
    appointment = await book(practice)
    later(practice)
    await client_press(practice, appointment, SessionAction.CONFIRM)
    await send_everything_due(practice)  # the practitioner reads "Sample Client confirmed"
    later(practice)
    await move_to_monday(practice, await session(practice.uow, appointment.id))
    later(practice)
    await move_back_to_friday(practice, appointment.id)
    later(practice)

    await client_press(practice, appointment, SessionAction.CONFIRM)

    assert (await session(practice.uow, appointment.id)).status is AppointmentStatus.CONFIRMED
    rows = await outbox_rows(practice.engine)
    confirmed = notices_to(rows, PRACTITIONER, "session.practitioner_confirmed")
    assert [n.state for n in confirmed] == [OutboxState.SENT, OutboxState.PENDING]
    assert [r.template for r in reminders(rows)] == ["reminder.confirmed"] * 2


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
    answer = await refused(
        booking.guided_step(practice.uow, practice.clock, POLICY, actor=PRACTITIONER, press=press)
    )

    assert answer.key.startswith(("booking_input.", "booking.")), answer.key
    assert await sessions_of(practice.uow, practice.practitioner) == []
