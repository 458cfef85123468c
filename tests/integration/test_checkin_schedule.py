"""Check-ins planned when a session ends, on both databases: which sessions count as ended
(``appointments.open_started_before`` and ``mark_completed``) and which check-ins follow
their questions (``checkins.scheduled_due``), queries no repository test holds.

The rest of the planning (days and local times, who gets them queued, pausing and
resuming, a no-show) runs on the in-memory fakes, in ``tests/unit/checkins/``."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, time, timedelta

from bot.domain.models import AppointmentStatus, CheckIn, CheckInState
from bot.domain.timing import CheckInSchedule
from bot.ports import UnitOfWorkFactory
from bot.services.checkins.schedule import complete_ended_sessions, dedup_key, follow_sent_checkins
from bot.services.context import UseCaseContext
from tests.fakes import FixedClock
from tests.integration import records

POLICY = records.policy(
    checkins=CheckInSchedule((1, 3, 7), time(10, 0)), checkin_max_age=timedelta(hours=12)
)
# A Tuesday in winter: Berlin is UTC+1.
SESSION_START = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
AFTER_SESSION = SESSION_START + timedelta(minutes=61)


async def _session(uow_factory: UnitOfWorkFactory) -> tuple[int, int]:
    """A practitioner, a client in Berlin, and a 60-minute session at SESSION_START."""
    async with uow_factory() as uow:
        practitioner, client = await records.practitioner_and_client(uow)
        appointment = await uow.appointments.add(
            records.appointment(practitioner.id, client.id, starts_at=SESSION_START)
        )
        await uow.commit()
    return client.id, appointment.id


async def _checkins(uow_factory: UnitOfWorkFactory, appointment_id: int) -> list[CheckIn]:
    async with uow_factory() as uow:
        return list(await uow.checkins.for_appointment(appointment_id))


async def test_a_session_still_running_or_cancelled_gets_none(
    uow_factory: UnitOfWorkFactory,
) -> None:
    _, running = await _session(uow_factory)
    async with uow_factory() as uow:
        cancelled = await uow.appointments.get(running)
        assert cancelled is not None
        await uow.appointments.add(
            dataclasses.replace(
                cancelled,
                starts_at=SESSION_START - timedelta(days=1),
                status=AppointmentStatus.CANCELLED,
            )
        )
        await uow.commit()
    during = FixedClock(SESSION_START + timedelta(minutes=59))

    assert await complete_ended_sessions(UseCaseContext(uow_factory, during, POLICY)) == 0
    assert await _checkins(uow_factory, running) == []


async def test_check_in_states_follow_their_questions(uow_factory: UnitOfWorkFactory) -> None:
    _, appointment_id = await _session(uow_factory)
    await complete_ended_sessions(UseCaseContext(uow_factory, FixedClock(AFTER_SESSION), POLICY))
    day_one, day_three, _ = await _checkins(uow_factory, appointment_id)
    async with uow_factory() as uow:
        on_time = day_one.due_at + timedelta(minutes=1)
        [claimed] = await uow.outbox.claim_due(on_time, 10)
        assert claimed.dedup_key == dedup_key(day_one)
        await uow.outbox.mark_sent(
            claimed.id, sent_at=on_time, telegram_message_id=5, lateness_ms=60_000
        )
        await uow.commit()
    later = FixedClock(day_three.due_at + timedelta(hours=13))  # the bot was down too long
    async with uow_factory() as uow:
        [expired] = await uow.outbox.skip_expired(later.now())
        assert expired.dedup_key == dedup_key(day_three)
        await uow.commit()

    sent = await follow_sent_checkins(UseCaseContext(uow_factory, later, POLICY))

    assert [c.id for c in sent] == [day_one.id]
    states = [c.state for c in await _checkins(uow_factory, appointment_id)]
    assert states == [CheckInState.SENT, CheckInState.SKIPPED, CheckInState.SCHEDULED]
