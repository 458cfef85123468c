"""The practitioner's changes to a session: moving it (by button or by name) and cancelling
it (by name, after a question), with the reminders replaced and the client told."""

from __future__ import annotations

from datetime import date, time, timedelta

from bot.domain import callbacks
from bot.domain.callbacks import SessionAction
from bot.domain.models import AppointmentStatus, OutboxState
from bot.services.sessions import changes as session_changes
from tests.unit.services.support import (
    CANCELLED,
    CLIENT,
    FRIDAY_ELEVEN,
    MONDAY,
    MONDAY_ELEVEN,
    OTHER_CLIENT,
    PRACTITIONER,
    Practice,
    add_client,
    book,
    button_data,
    client_buttons,
    move_to_monday,
    notices_to,
    outbox_rows,
    payload_data,
    refused,
    reminders,
    session,
    sessions_of,
)


async def test_move_replaces_the_reminders_and_tells_the_client(practice: Practice) -> None:
    appointment = await book(practice)

    answer = await move_to_monday(practice, appointment)

    assert answer.text.key == "booking.moved"
    assert (await session(practice.uow, appointment.id)).starts_at == MONDAY_ELEVEN
    rows = outbox_rows(practice)
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
        practice.ctx,
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
            practice.ctx,
            actor=PRACTITIONER,
            query="Nobody Known",
        )
    )

    assert answer.key == "booking.unknown_client"
    assert answer.params == {"query": "Nobody Known"}


async def test_cancel_by_name_asks_then_cancels_and_the_client_is_told(
    practice: Practice,
) -> None:
    appointment = await book(practice)

    question = await session_changes.cancel_by_name(
        practice.ctx,
        actor=PRACTITIONER,
        query="sample client",
    )
    assert question.text.key == "booking.cancel_question"
    assert (await session(practice.uow, appointment.id)).status is AppointmentStatus.BOOKED
    yes = callbacks.parse_session(button_data(question)[0] or "")
    assert yes is not None
    assert yes.action is SessionAction.PRACTITIONER_CANCEL

    answer = await session_changes.practitioner_press(practice.ctx, actor=PRACTITIONER, press=yes)

    assert answer.text.key == "booking.cancelled"
    assert (await session(practice.uow, appointment.id)).status is CANCELLED
    rows = outbox_rows(practice)
    assert reminders(rows) == []
    [told] = notices_to(rows, CLIENT, "session.client_cancelled")
    assert told.state is OutboxState.PENDING
    # Nothing left to confirm: only "Remove from my calendar".
    assert payload_data(told) == [callbacks.calendar_file(appointment.id)]
