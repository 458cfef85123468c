"""Check-ins planned when a session ends: their days and local times, who gets them queued,
pausing and resuming, a no-show cancelling them."""

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
from bot.domain.timing import CheckInSchedule
from bot.services.checkins.schedule import (
    cancel_checkins,
    complete_ended_sessions,
    dedup_key,
    resume_checkins,
)
from bot.services.context import UseCaseContext
from bot.services.sessions import changes
from tests.fakes import FakeDatabase, FixedClock
from tests.integration import records

POLICY = records.policy(
    checkins=CheckInSchedule((1, 3, 7), time(10, 0)), checkin_max_age=timedelta(hours=12)
)
# A Tuesday in winter: Berlin is UTC+1.
SESSION_START = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
AFTER_SESSION = SESSION_START + timedelta(minutes=61)
NO_SHOW, SHOW = SessionAction.NO_SHOW, SessionAction.SHOW


async def _session(db: FakeDatabase, *, checkins_paused: bool = False) -> tuple[int, int]:
    """A practitioner, a client in Berlin (check-ins paused if asked), and a 60-minute
    session at SESSION_START."""
    async with db() as uow:
        practitioner, client = await records.practitioner_and_client(uow)
    if checkins_paused:
        client = await db.clients.update(dataclasses.replace(client, checkins_paused=True))
    appointment = await db.appointments.add(
        records.appointment(practitioner.id, client.id, starts_at=SESSION_START)
    )
    return client.id, appointment.id


async def _checkins(db: FakeDatabase, appointment_id: int) -> list[CheckIn]:
    return list(await db.checkins.for_appointment(appointment_id))


async def test_an_ended_session_gets_check_ins_on_days_1_3_7_at_ten_local(
    db: FakeDatabase,
) -> None:
    _, appointment_id = await _session(db)

    assert await complete_ended_sessions(UseCaseContext(db, FixedClock(AFTER_SESSION), POLICY)) == 1

    checkins = await _checkins(db, appointment_id)
    assert [(c.day, c.due_at) for c in checkins] == [
        (1, datetime(2026, 12, 2, 9, 0, tzinfo=UTC)),
        (3, datetime(2026, 12, 4, 9, 0, tzinfo=UTC)),
        (7, datetime(2026, 12, 8, 9, 0, tzinfo=UTC)),
    ]
    assert {c.state for c in checkins} == {CheckInState.SCHEDULED}
    session = await db.appointments.get(appointment_id)
    rows = [await db.outbox.by_dedup_key(dedup_key(c)) for c in checkins]
    assert session is not None
    assert session.status is AppointmentStatus.COMPLETED
    assert all(r is not None and r.kind is OutboxKind.CHECKIN for r in rows)
    assert [r.due_at for r in rows if r] == [c.due_at for c in checkins]
    assert [r.expires_at for r in rows if r] == [c.due_at + timedelta(hours=12) for c in checkins]
    assert all(r and r.template == "checkin.score_question" for r in rows)


async def test_completing_twice_plans_the_check_ins_once(db: FakeDatabase) -> None:
    _, appointment_id = await _session(db)
    clock = FixedClock(AFTER_SESSION)

    await complete_ended_sessions(UseCaseContext(db, clock, POLICY))
    assert await complete_ended_sessions(UseCaseContext(db, clock, POLICY)) == 0

    assert len(await _checkins(db, appointment_id)) == 3


async def test_the_practitioners_own_days_and_time_count(db: FakeDatabase) -> None:
    _, appointment_id = await _session(db)
    [practitioner] = await db.practitioners.list_all()
    await db.practitioners.update(
        dataclasses.replace(practitioner, checkin_days=(2, 5), checkin_time="18:30")
    )

    await complete_ended_sessions(UseCaseContext(db, FixedClock(AFTER_SESSION), POLICY))

    assert [(c.day, c.due_at) for c in await _checkins(db, appointment_id)] == [
        (2, datetime(2026, 12, 3, 17, 30, tzinfo=UTC)),
        (5, datetime(2026, 12, 6, 17, 30, tzinfo=UTC)),
    ]


async def test_a_paused_or_stopped_client_gets_check_ins_stored_but_not_queued(
    db: FakeDatabase,
) -> None:
    _, paused = await _session(db, checkins_paused=True)
    async with db() as uow:
        practitioner, stopped_client = await records.practitioner_and_client(uow, 7_000_000_002)
    stopped_client = await db.clients.update(
        dataclasses.replace(
            stopped_client, status=ClientStatus.STOPPED, telegram_user_id=8_000_000_002
        )
    )
    stopped = await db.appointments.add(
        records.appointment(practitioner.id, stopped_client.id, starts_at=SESSION_START)
    )

    assert await complete_ended_sessions(UseCaseContext(db, FixedClock(AFTER_SESSION), POLICY)) == 2

    for appointment_id in (paused, stopped.id):
        checkins = await _checkins(db, appointment_id)
        assert len(checkins) == 3
        assert [await db.outbox.by_dedup_key(dedup_key(c)) for c in checkins] == [None] * 3


async def test_resume_queues_only_the_check_ins_still_ahead(db: FakeDatabase) -> None:
    client_id, appointment_id = await _session(db, checkins_paused=True)
    await complete_ended_sessions(UseCaseContext(db, FixedClock(AFTER_SESSION), POLICY))
    on_day_four = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)

    async with db() as uow:
        client = await uow.clients.get(client_id)
        assert client is not None
        resumed = dataclasses.replace(client, checkins_paused=False)
        await uow.clients.update(resumed)
        assert await resume_checkins(uow, POLICY, resumed, on_day_four) == 1
        await uow.commit()

    checkins = await _checkins(db, appointment_id)
    queued = [await db.outbox.by_dedup_key(dedup_key(c)) for c in checkins]
    assert [row is not None for row in queued] == [False, False, True]


async def test_a_no_show_cancels_the_check_ins_not_sent(db: FakeDatabase) -> None:
    _, appointment_id = await _session(db)
    await complete_ended_sessions(UseCaseContext(db, FixedClock(AFTER_SESSION), POLICY))

    async with db() as uow:
        assert await cancel_checkins(uow, appointment_id, "the client did not come") == 3
        await uow.commit()

    checkins = await _checkins(db, appointment_id)
    assert {c.state for c in checkins} == {CheckInState.CANCELLED}
    counts = await db.outbox.count_by_state()
    assert counts[OutboxState.CANCELLED] == 3
    assert counts[OutboxState.PENDING] == 0


async def test_a_check_in_in_a_spring_forward_night_lands_after_the_change(
    db: FakeDatabase,
) -> None:
    """Berlin skips 02:00-03:00 on 2027-03-28: a 02:30 check-in goes at 03:30 local."""
    _, appointment_id = await _session(db)
    session = await db.appointments.get(appointment_id)
    assert session is not None
    await db.appointments.update(
        dataclasses.replace(session, starts_at=datetime(2027, 3, 27, 10, 0, tzinfo=UTC))
    )
    [practitioner] = await db.practitioners.list_all()
    await db.practitioners.update(
        dataclasses.replace(practitioner, checkin_days=(1,), checkin_time="02:30")
    )

    clock = FixedClock(datetime(2027, 3, 27, 11, 1, tzinfo=UTC))
    await complete_ended_sessions(UseCaseContext(db, clock, POLICY))

    [checkin] = await _checkins(db, appointment_id)
    assert checkin.due_at == datetime(2027, 3, 28, 1, 30, tzinfo=UTC)  # 03:30 CEST


async def test_the_practitioner_marks_a_no_show_from_the_session_card(db: FakeDatabase) -> None:
    _, appointment_id = await _session(db)
    clock = FixedClock(AFTER_SESSION)
    [practitioner] = await db.practitioners.list_all()
    session = await db.appointments.get(appointment_id)
    assert session is not None

    def press(action: SessionAction) -> SessionPress:
        return SessionPress(appointment_id, callbacks.session_version(SESSION_START), action)

    early = await changes.practitioner_press(
        UseCaseContext(db, clock, POLICY), actor=practitioner.telegram_user_id, press=press(NO_SHOW)
    )
    assert early.text.key == "booking.not_ended_yet"
    await complete_ended_sessions(UseCaseContext(db, clock, POLICY))
    card = await changes.practitioner_press(
        UseCaseContext(db, clock, POLICY), actor=practitioner.telegram_user_id, press=press(SHOW)
    )
    assert [b.callback_data for row in card.buttons for b in row] == [
        callbacks.session(appointment_id, SESSION_START, NO_SHOW)
    ]

    marked = await changes.practitioner_press(
        UseCaseContext(db, clock, POLICY), actor=practitioner.telegram_user_id, press=press(NO_SHOW)
    )

    assert marked.text.key == "booking.marked_no_show"
    stored = await db.appointments.get(appointment_id)
    assert stored is not None
    assert stored.status is AppointmentStatus.NO_SHOW
    assert {c.state for c in await _checkins(db, appointment_id)} == {CheckInState.CANCELLED}
