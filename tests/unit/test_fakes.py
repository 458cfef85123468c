"""The in-memory fakes keep the promises of the ports they stand in for.

mypy holds every fake to its Protocol (the annotated assignments below); these tests hold
them to the behaviour use cases rely on, as ``bot/db/repositories.py`` documents it, so a
use case tested on ``FakeDatabase`` behaves as it would on a database.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, time, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError

from bot.domain.delivery import RecipientUnreachable, TemporaryFailure
from bot.domain.models import (
    Appointment,
    AppointmentStatus,
    CalendarEntry,
    CalendarEntryState,
    CalendarSubscription,
    CheckIn,
    CheckInState,
    Client,
    ClientStatus,
    Flag,
    FlagState,
    OutboxKind,
    OutboxMessage,
    OutboxState,
    Practitioner,
    Reply,
    TriageLevel,
)
from bot.domain.outgoing import OutgoingMessage, Text
from bot.domain.timing import QuietHours
from bot.ports import Notifier, UnitOfWork, UnitOfWorkFactory
from bot.services.context import UseCaseContext
from bot.services.practice import practitioners
from bot.services.privacy import rights
from tests.fakes import FakeDatabase, FakeNotifier, FixedClock
from tests.integration import records
from tests.integration.records import T0

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
QUIET = QuietHours(time(21), time(8))


def message(key: str, **changes: Any) -> OutboxMessage:
    values: dict[str, Any] = {
        "id": 0,
        "chat_id": 1,
        "kind": OutboxKind.REMINDER,
        "template": "reminder.day_before",
        "payload": {"client": "Client"},
        "due_at": NOW,
        "dedup_key": key,
        "state": OutboxState.PENDING,
    }
    return OutboxMessage(**(values | changes))


async def practitioner_and_client(db: FakeDatabase) -> tuple[Practitioner, Client]:
    practitioner = await db.practitioners.add(Practitioner(0, 77, "Practitioner", "UTC"))
    client = await db.clients.add(
        Client(0, practitioner.id, "Client", ClientStatus.ACTIVE, "UTC", telegram_user_id=4242)
    )
    return practitioner, client


def test_the_fakes_are_the_ports() -> None:
    """Checked by mypy: a fake that lost a method or changed a signature fails here."""
    db = FakeDatabase()
    factory: UnitOfWorkFactory = db
    uow: UnitOfWork = factory()
    notifier: Notifier = FakeNotifier()
    assert uow.outbox is db.outbox
    assert uow.appointments is db.appointments
    assert uow.checkins is db.checkins
    assert uow.replies is db.replies
    assert notifier is not None


async def test_a_use_case_runs_on_the_fake_database() -> None:
    db = FakeDatabase()
    created = await practitioners.ensure_configured(
        db, [77, 78], timezone="UTC", locale="en", clock=FixedClock(NOW)
    )
    again = await practitioners.ensure_configured(
        db, [77], timezone="UTC", locale="en", clock=FixedClock(NOW)
    )
    assert [p.telegram_user_id for p in created] == [77, 78]
    assert again == []
    assert list(await db.practitioners.list_all()) == created
    assert [e.action for e in await db.audit.recent()] == ["practitioner.registered"] * 2
    assert db.commits == 2


async def test_stopping_cancels_what_was_scheduled_and_schedules_the_notice() -> None:
    db = FakeDatabase()
    _, client = await practitioner_and_client(db)
    reminder = await db.outbox.add(message("reminder:1", chat_id=4242, client_id=client.id))
    stopped = await rights.stop_messages(
        UseCaseContext(db, FixedClock(NOW), records.policy(quiet=QUIET)), 4242
    )
    assert [c.id for c in stopped] == [client.id]
    cancelled = await db.outbox.get(reminder.id)
    assert cancelled is not None
    assert cancelled.state is OutboxState.CANCELLED
    assert cancelled.dedup_key == f"reminder:1~{reminder.id}"
    [notice] = db.outbox.pending()
    assert notice.template == "stop.practitioner_notice"


async def test_outbox_add_with_a_known_dedup_key_returns_that_row_and_writes_nothing() -> None:
    db = FakeDatabase()
    first = await db.outbox.add(message("k", next_attempt_at=None))
    again = await db.outbox.add(message("k", chat_id=2, due_at=NOW + MINUTE))
    assert first.id == 1
    assert first.next_attempt_at == NOW, "a missing next attempt is the due time"
    assert first.created_at is not None
    assert again == first
    assert len(db.outbox.rows) == 1
    returned = await db.outbox.get(first.id)
    assert returned is not None
    returned.payload["client"] = "changed"
    assert db.outbox.rows[first.id].payload == {"client": "Client"}, "a copy comes out"


async def test_outbox_claims_by_priority_then_time_and_outcomes_need_a_sending_row() -> None:
    db = FakeDatabase()
    early = await db.outbox.add(message("early", due_at=NOW - 2 * MINUTE))
    urgent = await db.outbox.add(message("urgent", due_at=NOW - MINUTE, priority=5))
    await db.outbox.add(message("later", due_at=NOW + MINUTE))
    await db.outbox.add(message("expired", due_at=NOW - MINUTE, expires_at=NOW))
    claimed = await db.outbox.claim_due(NOW, 10)
    assert [m.id for m in claimed] == [urgent.id, early.id]
    assert all(m.state is OutboxState.SENDING and m.attempts == 1 for m in claimed)
    assert await db.outbox.claim_due(NOW, 10) == []
    assert await db.outbox.mark_sent(early.id, sent_at=NOW, telegram_message_id=9, lateness_ms=0)
    assert not await db.outbox.mark_failed(early.id, "too late: it was sent")
    [skipped] = await db.outbox.skip_expired(NOW)
    assert skipped.dedup_key == "expired"
    assert await db.outbox.next_attempt_at() == NOW + MINUTE
    counts = await db.outbox.count_by_state()
    assert (counts[OutboxState.SENT], counts[OutboxState.SENDING]) == (1, 1)
    assert counts[OutboxState.SKIPPED_STALE] == 1
    assert await db.outbox.lateness_ms(NOW) == [0]


async def test_outbox_claim_each_chat_takes_one_row_per_ready_chat() -> None:
    db = FakeDatabase()
    await db.outbox.add(message("a-1", chat_id=1, due_at=NOW - 2 * MINUTE))
    await db.outbox.add(message("a-2", chat_id=1, due_at=NOW - MINUTE, priority=9))
    await db.outbox.add(message("b", chat_id=2, due_at=NOW - MINUTE))
    await db.outbox.add(message("c", chat_id=3, due_at=NOW - MINUTE))
    claimed = await db.outbox.claim_each_chat(NOW, 5, ready=lambda chat: chat != 3)
    assert [m.dedup_key for m in claimed] == ["a-2", "b"]
    assert await db.outbox.claim_each_chat(NOW, 5, ready=lambda _: True, busy_chats={1, 3}) == []


async def test_a_finished_row_to_be_forgotten_loses_its_payload() -> None:
    db = FakeDatabase()
    notice = await db.outbox.add(message("notice", forget_after_send=True))
    retried = await db.outbox.add(message("retried", forget_after_send=True))
    await db.outbox.claim_due(NOW, 10)
    assert await db.outbox.mark_uncertain(notice.id, "read timeout")
    assert await db.outbox.retry_later(retried.id, next_attempt_at=NOW + MINUTE, reason="502")
    assert db.outbox.rows[notice.id].payload == {}
    assert db.outbox.rows[retried.id].payload == {"client": "Client"}, "kept for the retry"


async def test_times_must_carry_a_zone_and_are_kept_in_utc() -> None:
    db = FakeDatabase()
    with pytest.raises(ValueError, match="timezone-aware"):
        await db.outbox.add(message("naive", due_at=datetime(2026, 3, 2, 9, 0)))
    with pytest.raises(ValueError, match="timezone-aware"):
        await db.outbox.claim_due(datetime(2026, 3, 2, 9, 0), 1)
    india = timezone(timedelta(hours=5, minutes=30))
    stored = await db.outbox.add(message("india", due_at=NOW.astimezone(india)))
    assert stored.due_at == NOW
    assert stored.due_at.tzinfo is UTC


async def test_appointments_for_a_client_are_earliest_first_then_by_id() -> None:
    db = FakeDatabase()
    practitioner, client = await practitioner_and_client(db)

    def session(starts_at: datetime, status: AppointmentStatus) -> Appointment:
        return Appointment(0, practitioner.id, client.id, starts_at, 60, status)

    later = await db.appointments.add(session(NOW + 60 * MINUTE, AppointmentStatus.BOOKED))
    first = await db.appointments.add(session(NOW, AppointmentStatus.CONFIRMED))
    tie = await db.appointments.add(session(NOW, AppointmentStatus.CANCELLED))
    assert [a.id for a in await db.appointments.for_client(client.id)] == [
        first.id,
        tie.id,
        later.id,
    ]
    between = await db.appointments.for_client_between(client.id, NOW, NOW + 60 * MINUTE)
    assert [a.id for a in between] == [first.id, tie.id]
    assert [a.id for a in await db.appointments.open_started_before(NOW)] == [first.id]
    completed = await db.appointments.mark_completed(first.id, NOW)
    assert completed is not None
    assert (completed.status, completed.updated_at) == (AppointmentStatus.COMPLETED, NOW)
    assert await db.appointments.mark_completed(first.id, NOW) is None, "no longer open"
    assert await db.appointments.mark_completed(tie.id, NOW) is None, "never open"


async def test_removing_a_client_removes_what_hangs_on_them() -> None:
    db = FakeDatabase()
    practitioner, client = await practitioner_and_client(db)
    session = await db.appointments.add(
        Appointment(0, practitioner.id, client.id, NOW, 60, AppointmentStatus.BOOKED)
    )
    checkin = await db.checkins.add(
        CheckIn(0, client.id, session.id, 1, NOW + MINUTE, CheckInState.SCHEDULED)
    )
    answer = await db.replies.add(Reply(0, client.id, NOW, checkin_id=checkin.id, score=8))
    flag = await db.flags.add(
        Flag(0, answer.id, client.id, practitioner.id, TriageLevel.CONCERN, (), FlagState.OPEN, NOW)
    )
    reminder = await db.outbox.add(message("r", appointment_id=session.id))
    alert = await db.outbox.add(message("alert", about_client_id=client.id))
    assert list(await db.flags.open_for_practitioner(practitioner.id)) == [flag]
    assert list(await db.replies.answers_for_client(client.id, 5)) == [answer]

    await db.clients.remove(client.id)

    assert await db.appointments.get(session.id) is None
    assert await db.checkins.get(checkin.id) is None
    assert await db.replies.get(answer.id) is None
    assert await db.flags.get(flag.id) is None
    assert await db.outbox.get(reminder.id) is None
    assert await db.outbox.get(alert.id) is not None, "no foreign key: it is redacted instead"
    assert await db.practitioners.get(practitioner.id) == practitioner


async def test_a_unit_of_work_commits_only_while_open() -> None:
    db = FakeDatabase()
    uow = db()
    with pytest.raises(RuntimeError, match="async with"):
        await uow.commit()
    async with uow:
        await uow.commit()
    assert db.commits == 1


async def test_the_notifier_records_sends_and_raises_what_it_is_told() -> None:
    notifier = FakeNotifier()
    hello = OutgoingMessage(Text("hello"))
    notifier.fail(1, TemporaryFailure("502"))
    notifier.refuse(2, RecipientUnreachable("403"))
    with pytest.raises(TemporaryFailure):
        await notifier.send(1, hello, "en")
    sent = await notifier.send(1, hello, "de")
    for _ in range(2):
        with pytest.raises(RecipientUnreachable):
            await notifier.send(2, hello, "en")
    assert (sent.chat_id, sent.message_id) == (1, 1)
    assert notifier.sent == [(1, hello, "de")]
    assert notifier.texts_to(1) == ["hello"]
    assert notifier.attempts == [1, 1, 2, 2]


async def test_calendars_keep_one_entry_per_occurrence_and_cascade_as_the_database() -> None:
    db = FakeDatabase()
    async with db() as uow:
        practitioner, client = await records.practitioner_and_client(uow)
        subscription = await uow.calendars.add_subscription(
            CalendarSubscription(0, practitioner.id, "https://x.example/a.ics", next_poll_at=T0)
        )
        entry = await uow.calendars.add_entry(
            CalendarEntry(
                0,
                subscription.id,
                "u",
                "",
                T0,
                T0,
                "t",
                CalendarEntryState.BOOKED,
                client_id=client.id,
            )
        )
        with pytest.raises(IntegrityError):
            await uow.calendars.add_entry(dataclasses.replace(entry, id=0))
        with pytest.raises(IntegrityError):
            await uow.calendars.add_subscription(dataclasses.replace(subscription, id=0))
        assert await uow.calendars.entries_for_client(client.id) == [entry]
        assert (await uow.calendars.choose(subscription.id, "u", None)).client_id is None
        assert (await uow.calendars.choose(subscription.id, "u", client.id)).client_id == client.id
        assert await uow.calendars.due_subscriptions(T0 - timedelta(seconds=1)) == []
        await uow.clients.remove(client.id)
        assert await uow.calendars.entries(subscription.id) == []
        assert await uow.calendars.choice(subscription.id, "u") is None
        await uow.calendars.remove_subscription(subscription.id)
        assert await uow.calendars.subscription_of(practitioner.id) is None
