"""What a failed send leads to, done after the outcome is stored, on the in-memory fakes."""

from datetime import UTC, datetime, time

import pytest

from bot.domain.delivery import MessageRejected, RecipientUnreachable
from bot.domain.models import (
    Client,
    ClientStatus,
    Flag,
    FlagState,
    FollowUp,
    OutboxKind,
    OutboxMessage,
    OutboxState,
    Practitioner,
    TriageLevel,
)
from bot.domain.timing import QuietHours
from bot.services.delivery.dispatcher import Dispatcher
from bot.services.delivery.follow_up import FollowUps
from tests.fakes import FakeDatabase, FakeNotifier, FixedClock

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
QUIET = QuietHours(time(21), time(8))
CLIENT_CHAT = 4242
PRACTITIONER_CHAT = 77
BACKUP_CHAT = 555


async def _practice(db: FakeDatabase) -> tuple[Practitioner, Client]:
    practitioner = await db.practitioners.add(
        Practitioner(0, PRACTITIONER_CHAT, "Practitioner", "UTC")
    )
    client = await db.clients.add(
        Client(
            0,
            practitioner.id,
            "Client One",
            ClientStatus.ACTIVE,
            "UTC",
            telegram_user_id=CLIENT_CHAT,
        )
    )
    return practitioner, client


async def _urgent_flag(db: FakeDatabase, practitioner: Practitioner, client: Client) -> Flag:
    return await db.flags.add(
        Flag(
            0,
            1,
            client.id,
            practitioner.id,
            TriageLevel.URGENT,
            ("self-harm",),
            FlagState.OPEN,
            NOW,
        )
    )


def _row(key: str, chat_id: int, **fields: object) -> OutboxMessage:
    defaults: dict[str, object] = {
        "kind": OutboxKind.REMINDER,
        "template": "stop.done",
        "payload": {},
        "due_at": NOW,
        "state": OutboxState.PENDING,
    }
    return OutboxMessage(id=0, chat_id=chat_id, dedup_key=key, **(defaults | fields))  # type: ignore[arg-type]


def _follow_ups(db: FakeDatabase) -> FollowUps:
    return FollowUps(db, FixedClock(NOW), QUIET, backup_chat_id=BACKUP_CHAT)


async def test_a_client_who_cannot_be_reached_stops_getting_messages_and_is_reported_once() -> None:
    db = FakeDatabase()
    practitioner, client = await _practice(db)
    failed = db.outbox.insert(
        _row("r1", CLIENT_CHAT, state=OutboxState.FAILED, follow_up=FollowUp.UNREACHABLE)
    )
    later = db.outbox.insert(_row("r2", CLIENT_CHAT, client_id=client.id))

    assert await _follow_ups(db).run() == 1

    stored = await db.clients.get(client.id)
    assert stored is not None
    assert stored.status is ClientStatus.UNREACHABLE
    assert db.outbox.rows[later.id].state is OutboxState.CANCELLED
    assert db.outbox.rows[failed.id].follow_up is None
    [notice] = db.outbox.pending()
    assert (notice.chat_id, notice.template) == (PRACTITIONER_CHAT, "delivery.unreachable_notice")
    assert notice.about_client_id == client.id
    assert [entry.action for entry in db.audit.entries] == ["client.unreachable"]
    assert await _follow_ups(db).run() == 0, "a follow-up is done once"
    assert practitioner.id == notice.practitioner_id


async def test_an_alert_that_cannot_reach_its_practitioner_goes_to_the_backup_contact() -> None:
    db = FakeDatabase()
    practitioner, client = await _practice(db)
    flag = await _urgent_flag(db, practitioner, client)
    alert = db.outbox.insert(
        _row(
            f"flag:{flag.id}:alert",
            PRACTITIONER_CHAT,
            kind=OutboxKind.FLAG_ALERT,
            state=OutboxState.FAILED,
            follow_up=FollowUp.UNREACHABLE,
        )
    )
    pending_for_practitioner = db.outbox.insert(_row("later", PRACTITIONER_CHAT))

    assert await _follow_ups(db).run() == 1

    assert db.outbox.rows[alert.id].follow_up is None
    assert db.outbox.rows[pending_for_practitioner.id].state is OutboxState.PENDING
    [backup] = [row for row in db.outbox.pending() if row.chat_id == BACKUP_CHAT]
    assert (backup.kind, backup.template) == (OutboxKind.FLAG_ALERT, "flag.backup_undelivered")
    assert backup.about_client_id == client.id


async def test_a_follow_up_that_fails_is_not_committed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    db = FakeDatabase()
    await _practice(db)
    row = db.outbox.insert(
        _row("r1", CLIENT_CHAT, state=OutboxState.FAILED, follow_up=FollowUp.UNREACHABLE)
    )

    async def broken(*args: object, **kwargs: object) -> int:
        raise RuntimeError("the database went away")

    db.outbox.cancel_pending = broken  # type: ignore[method-assign]
    assert await _follow_ups(db).run() == 0
    assert db.commits == 0, "its unit of work rolls back: the mark stays for the next pass"
    assert f"the follow-up of message {row.id} failed" in caplog.text


async def test_the_dispatcher_records_a_refusal_and_then_follows_it_up() -> None:
    db = FakeDatabase()
    _, client = await _practice(db)
    first = db.outbox.insert(_row("r1", CLIENT_CHAT, client_id=client.id))
    notifier = FakeNotifier()
    notifier.refuse(CLIENT_CHAT, RecipientUnreachable("Forbidden: bot was blocked by the user"))
    dispatcher = Dispatcher(db, notifier, FixedClock(NOW), quiet=QUIET)

    await dispatcher.dispatch_due()

    assert db.outbox.rows[first.id].state is OutboxState.FAILED
    assert db.outbox.rows[first.id].follow_up is None
    assert notifier.texts_to(PRACTITIONER_CHAT) == ["delivery.unreachable_notice"]


async def test_an_alert_rejected_for_good_is_followed_up_and_a_reminder_is_not() -> None:
    db = FakeDatabase()
    practitioner, client = await _practice(db)
    flag = await _urgent_flag(db, practitioner, client)
    db.outbox.insert(_row(f"flag:{flag.id}:alert", PRACTITIONER_CHAT, kind=OutboxKind.FLAG_ALERT))
    reminder = db.outbox.insert(_row("reminder", CLIENT_CHAT, client_id=client.id))
    notifier = FakeNotifier()
    notifier.refuse(PRACTITIONER_CHAT, MessageRejected("Bad Request: message is too long"))
    notifier.refuse(CLIENT_CHAT, MessageRejected("Bad Request: message is too long"))

    await Dispatcher(
        db, notifier, FixedClock(NOW), quiet=QUIET, backup_chat_id=BACKUP_CHAT
    ).dispatch_due()

    assert db.outbox.rows[reminder.id].state is OutboxState.FAILED
    stored = await db.clients.get(client.id)
    assert stored is not None
    assert stored.status is ClientStatus.ACTIVE
    assert notifier.texts_to(BACKUP_CHAT) == ["flag.backup_undelivered"]


async def test_follow_ups_are_looked_for_at_start_and_after_a_failure_only() -> None:
    db = FakeDatabase()
    _, client = await _practice(db)
    looked = 0
    awaiting = db.outbox.awaiting_follow_up

    async def counted(limit: int) -> list[OutboxMessage]:
        nonlocal looked
        looked += 1
        return await awaiting(limit)

    db.outbox.awaiting_follow_up = counted  # type: ignore[method-assign]
    notifier = FakeNotifier()
    dispatcher = Dispatcher(db, notifier, FixedClock(NOW), quiet=QUIET)

    await dispatcher.dispatch_due()
    assert looked == 1, "a crash may have left some"
    await dispatcher.dispatch_due()
    assert looked == 1, "an idle pass costs no unit of work for them"

    notifier.refuse(CLIENT_CHAT, RecipientUnreachable("Forbidden: bot was blocked by the user"))
    db.outbox.insert(_row("r1", CLIENT_CHAT, client_id=client.id))
    await dispatcher.dispatch_due()
    assert looked > 1
    assert notifier.texts_to(PRACTITIONER_CHAT) == ["delivery.unreachable_notice"]
