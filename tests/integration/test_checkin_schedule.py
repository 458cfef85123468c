"""Check-ins planned when a session ends, on both databases: their days and local times,
who gets them queued, pausing and resuming, and their state following the outbox."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, time, timedelta

from bot.domain import callbacks
from bot.domain.callbacks import SessionAction, SessionPress
from bot.domain.models import (
    AppointmentStatus,
    CheckIn,
    CheckInState,
    ClientStatus,
    OutboxKind,
    OutboxState,
)
from bot.domain.timing import CheckInSchedule, QuietHours
from bot.ports import UnitOfWorkFactory
from bot.services.checkins.schedule import (
    cancel_checkins,
    complete_ended_sessions,
    dedup_key,
    follow_sent_checkins,
    resume_checkins,
)
from bot.services.policy import Policy
from bot.services.sessions import changes
from bot.triage_data import LoadedTriage
from tests.fakes import FixedClock
from tests.integration import records

POLICY = Policy(
    quiet=QuietHours(time(21, 0), time(8, 0)),
    reminder_offsets=(timedelta(hours=24), timedelta(hours=2)),
    invite_ttl=timedelta(days=7),
    default_timezone="UTC",
    triage=LoadedTriage(),
    checkins=CheckInSchedule((1, 3, 7), time(10, 0)),
    checkin_max_age=timedelta(hours=12),
)
# A Tuesday in winter: Berlin is UTC+1.
SESSION_START = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
AFTER_SESSION = SESSION_START + timedelta(minutes=61)
NO_SHOW, SHOW = SessionAction.NO_SHOW, SessionAction.SHOW


async def _session(
    uow_factory: UnitOfWorkFactory, *, checkins_paused: bool = False
) -> tuple[int, int]:
    """A practitioner, a client in Berlin (check-ins paused if asked), and a 60-minute
    session at SESSION_START."""
    async with uow_factory() as uow:
        practitioner, client = await records.practitioner_and_client(uow)
        if checkins_paused:
            client = await uow.clients.update(dataclasses.replace(client, checkins_paused=True))
        appointment = await uow.appointments.add(
            records.appointment(practitioner.id, client.id, starts_at=SESSION_START)
        )
        await uow.commit()
    return client.id, appointment.id


async def _checkins(uow_factory: UnitOfWorkFactory, appointment_id: int) -> list[CheckIn]:
    async with uow_factory() as uow:
        return list(await uow.checkins.for_appointment(appointment_id))


async def test_an_ended_session_gets_check_ins_on_days_1_3_7_at_ten_local(
    uow_factory: UnitOfWorkFactory,
) -> None:
    _, appointment_id = await _session(uow_factory)

    assert await complete_ended_sessions(uow_factory, FixedClock(AFTER_SESSION), POLICY) == 1

    checkins = await _checkins(uow_factory, appointment_id)
    assert [(c.day, c.due_at) for c in checkins] == [
        (1, datetime(2026, 12, 2, 9, 0, tzinfo=UTC)),
        (3, datetime(2026, 12, 4, 9, 0, tzinfo=UTC)),
        (7, datetime(2026, 12, 8, 9, 0, tzinfo=UTC)),
    ]
    assert {c.state for c in checkins} == {CheckInState.SCHEDULED}
    async with uow_factory() as uow:
        session = await uow.appointments.get(appointment_id)
        rows = [await uow.outbox.by_dedup_key(dedup_key(c)) for c in checkins]
    assert session is not None
    assert session.status is AppointmentStatus.COMPLETED
    assert all(r is not None and r.kind is OutboxKind.CHECKIN for r in rows)
    assert [r.due_at for r in rows if r] == [c.due_at for c in checkins]
    assert [r.expires_at for r in rows if r] == [c.due_at + timedelta(hours=12) for c in checkins]
    assert all(r and r.template == "checkin.score_question" for r in rows)


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

    assert await complete_ended_sessions(uow_factory, during, POLICY) == 0
    assert await _checkins(uow_factory, running) == []


async def test_completing_twice_plans_the_check_ins_once(uow_factory: UnitOfWorkFactory) -> None:
    _, appointment_id = await _session(uow_factory)
    clock = FixedClock(AFTER_SESSION)

    await complete_ended_sessions(uow_factory, clock, POLICY)
    assert await complete_ended_sessions(uow_factory, clock, POLICY) == 0

    assert len(await _checkins(uow_factory, appointment_id)) == 3


async def test_the_practitioners_own_days_and_time_count(uow_factory: UnitOfWorkFactory) -> None:
    _, appointment_id = await _session(uow_factory)
    async with uow_factory() as uow:
        [practitioner] = await uow.practitioners.list_all()
        await uow.practitioners.update(
            dataclasses.replace(practitioner, checkin_days=(2, 5), checkin_time="18:30")
        )
        await uow.commit()

    await complete_ended_sessions(uow_factory, FixedClock(AFTER_SESSION), POLICY)

    assert [(c.day, c.due_at) for c in await _checkins(uow_factory, appointment_id)] == [
        (2, datetime(2026, 12, 3, 17, 30, tzinfo=UTC)),
        (5, datetime(2026, 12, 6, 17, 30, tzinfo=UTC)),
    ]


async def test_a_paused_or_stopped_client_gets_check_ins_stored_but_not_queued(
    uow_factory: UnitOfWorkFactory,
) -> None:
    _, paused = await _session(uow_factory, checkins_paused=True)
    async with uow_factory() as uow:
        practitioner, stopped_client = await records.practitioner_and_client(uow, 7_000_000_002)
        stopped_client = await uow.clients.update(
            dataclasses.replace(
                stopped_client, status=ClientStatus.STOPPED, telegram_user_id=8_000_000_002
            )
        )
        stopped = await uow.appointments.add(
            records.appointment(practitioner.id, stopped_client.id, starts_at=SESSION_START)
        )
        await uow.commit()

    assert await complete_ended_sessions(uow_factory, FixedClock(AFTER_SESSION), POLICY) == 2

    for appointment_id in (paused, stopped.id):
        checkins = await _checkins(uow_factory, appointment_id)
        assert len(checkins) == 3
        async with uow_factory() as uow:
            assert [await uow.outbox.by_dedup_key(dedup_key(c)) for c in checkins] == [None] * 3


async def test_resume_queues_only_the_check_ins_still_ahead(
    uow_factory: UnitOfWorkFactory,
) -> None:
    client_id, appointment_id = await _session(uow_factory, checkins_paused=True)
    await complete_ended_sessions(uow_factory, FixedClock(AFTER_SESSION), POLICY)
    on_day_four = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)

    async with uow_factory() as uow:
        client = await uow.clients.get(client_id)
        assert client is not None
        resumed = dataclasses.replace(client, checkins_paused=False)
        await uow.clients.update(resumed)
        assert await resume_checkins(uow, POLICY, resumed, on_day_four) == 1
        await uow.commit()

    checkins = await _checkins(uow_factory, appointment_id)
    async with uow_factory() as uow:
        queued = [await uow.outbox.by_dedup_key(dedup_key(c)) for c in checkins]
    assert [row is not None for row in queued] == [False, False, True]


async def test_check_in_states_follow_their_questions(uow_factory: UnitOfWorkFactory) -> None:
    _, appointment_id = await _session(uow_factory)
    await complete_ended_sessions(uow_factory, FixedClock(AFTER_SESSION), POLICY)
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

    sent = await follow_sent_checkins(uow_factory, later, POLICY)

    assert [c.id for c in sent] == [day_one.id]
    states = [c.state for c in await _checkins(uow_factory, appointment_id)]
    assert states == [CheckInState.SENT, CheckInState.SKIPPED, CheckInState.SCHEDULED]


async def test_a_no_show_cancels_the_check_ins_not_sent(uow_factory: UnitOfWorkFactory) -> None:
    _, appointment_id = await _session(uow_factory)
    await complete_ended_sessions(uow_factory, FixedClock(AFTER_SESSION), POLICY)

    async with uow_factory() as uow:
        assert await cancel_checkins(uow, appointment_id, "the client did not come") == 3
        await uow.commit()

    checkins = await _checkins(uow_factory, appointment_id)
    assert {c.state for c in checkins} == {CheckInState.CANCELLED}
    async with uow_factory() as uow:
        counts = await uow.outbox.count_by_state()
    assert counts[OutboxState.CANCELLED] == 3
    assert counts[OutboxState.PENDING] == 0


async def test_a_check_in_in_a_spring_forward_night_lands_after_the_change(
    uow_factory: UnitOfWorkFactory,
) -> None:
    """Berlin skips 02:00-03:00 on 2027-03-28: a 02:30 check-in goes at 03:30 local."""
    _, appointment_id = await _session(uow_factory)
    async with uow_factory() as uow:
        session = await uow.appointments.get(appointment_id)
        assert session is not None
        await uow.appointments.update(
            dataclasses.replace(session, starts_at=datetime(2027, 3, 27, 10, 0, tzinfo=UTC))
        )
        [practitioner] = await uow.practitioners.list_all()
        await uow.practitioners.update(
            dataclasses.replace(practitioner, checkin_days=(1,), checkin_time="02:30")
        )
        await uow.commit()

    clock = FixedClock(datetime(2027, 3, 27, 11, 1, tzinfo=UTC))
    await complete_ended_sessions(uow_factory, clock, POLICY)

    [checkin] = await _checkins(uow_factory, appointment_id)
    assert checkin.due_at == datetime(2027, 3, 28, 1, 30, tzinfo=UTC)  # 03:30 CEST


async def test_the_practitioner_marks_a_no_show_from_the_session_card(
    uow_factory: UnitOfWorkFactory,
) -> None:
    _, appointment_id = await _session(uow_factory)
    clock = FixedClock(AFTER_SESSION)
    async with uow_factory() as uow:
        [practitioner] = await uow.practitioners.list_all()
        session = await uow.appointments.get(appointment_id)
    assert session is not None

    def press(action: SessionAction) -> SessionPress:
        return SessionPress(appointment_id, callbacks.session_version(SESSION_START), action)

    early = await changes.practitioner_press(
        uow_factory, clock, POLICY, actor=practitioner.telegram_user_id, press=press(NO_SHOW)
    )
    assert early.text.key == "booking.not_ended_yet"
    await complete_ended_sessions(uow_factory, clock, POLICY)
    card = await changes.practitioner_press(
        uow_factory, clock, POLICY, actor=practitioner.telegram_user_id, press=press(SHOW)
    )
    assert [b.callback_data for row in card.buttons for b in row] == [
        callbacks.session(appointment_id, SESSION_START, NO_SHOW)
    ]

    marked = await changes.practitioner_press(
        uow_factory, clock, POLICY, actor=practitioner.telegram_user_id, press=press(NO_SHOW)
    )

    assert marked.text.key == "booking.marked_no_show"
    async with uow_factory() as uow:
        stored = await uow.appointments.get(appointment_id)
    assert stored is not None
    assert stored.status is AppointmentStatus.NO_SHOW
    assert {c.state for c in await _checkins(uow_factory, appointment_id)} == {
        CheckInState.CANCELLED
    }
