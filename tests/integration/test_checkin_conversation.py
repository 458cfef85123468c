"""The check-in conversation on real databases: the longest message Telegram allows is
stored whole, in the encrypted ``replies.text`` column, on SQLite and PostgreSQL.

The conversation's use cases (steps, triage and answers by level, edits and media,
refused presses, snoozing, the keep-or-stop question, through the handlers) run on the
in-memory fakes, in ``tests/unit/checkins/``.
"""

from __future__ import annotations

from datetime import timedelta

from bot.domain.models import AppointmentStatus, CheckInState, CheckInStep
from bot.ports import UnitOfWorkFactory
from bot.services.context import UseCaseContext
from bot.services.incoming import Words, receive_words
from tests.fakes import FixedClock
from tests.integration import records
from tests.unit.checkins.support import CLIENT, NOW, POLICY, PRACTITIONER


async def client_at_the_last_question(uow_factory: UnitOfWorkFactory) -> int:
    """The id of a client in Berlin whose day-1 check-in, sent an hour ago, waits for
    their words."""
    async with uow_factory() as uow:
        practitioner = await uow.practitioners.add(
            records.practitioner(PRACTITIONER, display_name="First Practitioner", created_at=NOW)
        )
        client = await uow.clients.add(
            records.client(
                practitioner.id,
                full_name="Sam Client",
                telegram_user_id=CLIENT,
                locale="en",
                created_at=NOW,
            )
        )
        appointment = await uow.appointments.add(
            records.appointment(
                practitioner.id,
                client.id,
                starts_at=NOW - timedelta(days=2),
                status=AppointmentStatus.COMPLETED,
            )
        )
        await uow.checkins.add(
            records.checkin(
                client.id,
                appointment.id,
                due_at=NOW - timedelta(hours=1),
                state=CheckInState.SENT,
                step=CheckInStep.TEXT,
            )
        )
        await uow.commit()
    return client.id


async def test_the_longest_message_is_stored_whole(uow_factory: UnitOfWorkFactory) -> None:
    client_id = await client_at_the_last_question(uow_factory)
    text = "😌" * 2048  # 4096 UTF-16 units, Telegram's limit
    words = Words(4, text)
    await receive_words(
        UseCaseContext(uow_factory, FixedClock(NOW), POLICY),
        sender=CLIENT,
        named_practitioners=(),
        words=words,
    )
    async with uow_factory() as uow:
        [reply] = await uow.replies.for_client(client_id)
    assert reply.text == text
