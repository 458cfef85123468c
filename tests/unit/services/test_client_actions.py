"""A client's taps on their session (Confirm, Reschedule, Cancel) and ``/next``: what is
stored, which reminders replace which, and what the practitioner is told."""

from __future__ import annotations

from datetime import timedelta

from bot.domain import callbacks
from bot.domain.callbacks import SessionAction
from bot.domain.models import AppointmentStatus, OutboxState
from bot.domain.text_params import when
from bot.services.sessions import client_actions
from tests.unit.services.support import (
    BERLIN,
    CANCELLED,
    CLIENT,
    FRIDAY_ELEVEN,
    GUEST,
    MONDAY_ELEVEN,
    NOW,
    PRACTITIONER,
    Practice,
    add_session,
    book,
    button_data,
    client_buttons,
    client_press,
    move_to_monday,
    notices_to,
    outbox_rows,
    payload_data,
    refusals,
    refused,
    reminders,
    session,
)


async def test_confirm_replaces_the_reminders_and_tells_the_practitioner_once(
    practice: Practice,
) -> None:
    appointment = await book(practice)
    [first, _] = reminders(outbox_rows(practice))
    confirm = callbacks.parse_session(payload_data(first)[0] or "")  # the reminder's button
    assert confirm is not None
    assert confirm.action is SessionAction.CONFIRM

    answer = await client_actions.client_press(practice.ctx, actor=CLIENT, press=confirm)

    assert answer.text.key == "session.confirmed"
    assert (await session(practice.uow, appointment.id)).status is AppointmentStatus.CONFIRMED
    rows = outbox_rows(practice)
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
    rows_before = outbox_rows(practice)
    async with practice.uow() as uow:
        audit_before = await uow.audit.recent()

    again = await client_press(practice, appointment, SessionAction.CONFIRM)

    assert again.text.key == "session.confirmed"
    assert outbox_rows(practice) == rows_before
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
    assert outbox_rows(practice) == []


async def test_reschedule_asks_the_practitioner_with_move_and_cancel_buttons(
    practice: Practice,
) -> None:
    appointment = await book(practice)

    answer = await client_press(practice, appointment, SessionAction.ASK_RESCHEDULE)

    assert answer.text.key == "session.reschedule_asked"
    stored = await session(practice.uow, appointment.id)
    assert stored.status is AppointmentStatus.RESCHEDULE_REQUESTED
    [notice] = notices_to(outbox_rows(practice), PRACTITIONER)
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
    rows = outbox_rows(practice)
    assert reminders(rows) == []
    assert len(reminders(rows, OutboxState.CANCELLED)) == 2
    [told] = notices_to(rows, PRACTITIONER)
    assert told.template == "session.practitioner_cancelled"


async def test_next_shows_the_clients_next_open_session(practice: Practice) -> None:
    await add_session(practice.uow, practice.client, NOW + timedelta(days=1), status=CANCELLED)
    appointment = await book(practice)

    answer = await client_actions.next_session(practice.ctx, actor=CLIENT)
    nothing = await client_actions.next_session(practice.ctx, actor=GUEST)

    assert (answer.text.key, answer.text.params["when"]) == (
        "next.open",
        when(FRIDAY_ELEVEN, BERLIN),
    )
    assert button_data(answer) == client_buttons(FRIDAY_ELEVEN, appointment.id)
    assert nothing.text.key == "next.none"
