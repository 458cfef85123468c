"""Away and back: a change undone must not silence what follows.

Reminder and notice dedup keys name the session's start, the client's zone and whether the
session is confirmed; ``outbox.add`` returns the existing row for a known key and writes
nothing. A session or a zone that comes back to an earlier value must still get its
reminders and notices, not the old (cancelled or sent) rows.
"""

from __future__ import annotations

from datetime import timedelta

from bot.domain.callbacks import SessionAction
from bot.domain.models import AppointmentStatus, OutboxState
from bot.domain.outgoing import OutgoingMessage
from bot.domain.text_params import when
from bot.services.practice import client_settings
from tests.unit.services.support import (
    BERLIN,
    CLIENT,
    FRIDAY_ELEVEN,
    MONDAY_ELEVEN,
    PRACTITIONER,
    Practice,
    book,
    client_press,
    later,
    move_to_monday,
    notices_to,
    outbox_rows,
    practitioner_press,
    reminders,
    session,
)


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
    pending = reminders(outbox_rows(practice))
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

    told = notices_to(outbox_rows(practice), CLIENT, "session.client_moved")
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
        await client_settings.set_timezone(practice.ctx, actor=CLIENT, text=text)

    rows = outbox_rows(practice)
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
    rows = outbox_rows(practice)
    confirmed = notices_to(rows, PRACTITIONER, "session.practitioner_confirmed")
    assert [n.state for n in confirmed] == [OutboxState.SENT, OutboxState.PENDING]
    assert [r.template for r in reminders(rows)] == ["reminder.confirmed"] * 2
