from dataclasses import replace
from datetime import UTC, datetime, time

from bot.domain.models import (
    Client,
    ClientStatus,
    OutboxKind,
    OutboxMessage,
    OutboxState,
    Practitioner,
)
from bot.domain.timing import QuietHours
from bot.services.context import UseCaseContext
from bot.services.privacy import rights
from tests.fakes import FakeDatabase, FixedClock
from tests.integration import records

CLIENT_TG = 4242
PRACTITIONER_TG = 77
QUIET = QuietHours(time(21), time(8))
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _ctx(db: FakeDatabase) -> UseCaseContext:
    return UseCaseContext(db, FixedClock(), records.policy(quiet=QUIET))


async def _client(db: FakeDatabase, status: ClientStatus = ClientStatus.ACTIVE) -> Client:
    practitioner = await db.practitioners.add(
        Practitioner(0, PRACTITIONER_TG, "Practitioner", "UTC", locale="de")
    )
    return await db.clients.add(
        Client(0, practitioner.id, "Client <One>", status, "UTC", telegram_user_id=CLIENT_TG)
    )


async def test_stop_marks_the_client_and_tells_the_practitioner_in_one_commit() -> None:
    db = FakeDatabase()
    client = await _client(db)
    stopped = await rights.stop_messages(_ctx(db), CLIENT_TG)
    assert [c.id for c in stopped] == [client.id]
    stored = await db.clients.get(client.id)
    assert stored is not None
    assert stored.status is ClientStatus.STOPPED
    [notice] = db.outbox.pending()
    assert notice.chat_id == PRACTITIONER_TG
    assert notice.kind is OutboxKind.NOTICE
    assert notice.template == "stop.practitioner_notice"
    assert notice.payload["params"] == {"client": "Client <One>"}
    assert notice.locale == "de"
    assert [e.action for e in db.audit.entries] == ["client.stopped"]
    assert db.commits == 1


async def test_stop_cancels_what_was_scheduled_for_the_client() -> None:
    db = FakeDatabase()
    client = await _client(db)
    reminder = await db.outbox.add(
        _row(chat_id=CLIENT_TG, client_id=client.id, dedup_key="reminder:1")
    )
    await rights.stop_messages(_ctx(db), CLIENT_TG)
    assert db.outbox.rows[reminder.id].state is OutboxState.CANCELLED


async def test_stop_twice_tells_the_practitioner_once() -> None:
    db = FakeDatabase()
    await _client(db)
    await rights.stop_messages(_ctx(db), CLIENT_TG)
    again = await rights.stop_messages(_ctx(db), CLIENT_TG)
    assert again == []
    assert len(db.outbox.pending()) == 1


async def test_stop_by_a_stranger_changes_nothing() -> None:
    db = FakeDatabase()
    client = await _client(db)
    assert await rights.stop_messages(_ctx(db), 999) == []
    assert (await db.clients.get(client.id)) == client
    assert db.outbox.rows == {}


async def test_erase_removes_the_client_and_keeps_only_an_audit_line() -> None:
    db = FakeDatabase()
    client = await _client(db)
    erased = await rights.erase(_ctx(db), CLIENT_TG)
    assert [c.id for c in erased] == [client.id]
    assert await db.clients.get(client.id) is None
    [entry] = db.audit.entries
    assert entry.action == "client.erased"
    assert (entry.actor_telegram_id, entry.subject_id, entry.client_id) == (None, None, None)
    assert entry.detail == {}
    [notice] = db.outbox.pending()
    assert notice.template == "erase.practitioner_notice"
    assert notice.client_id is None, "the notice must outlive the erased client"
    assert notice.forget_after_send, "and keep the name only until it is sent"
    assert db.purges == 1


async def test_erase_redacts_what_was_written_about_the_client_for_others() -> None:
    db = FakeDatabase()
    client = await _client(db)
    other = await db.clients.add(replace(client, id=0, telegram_user_id=77, full_name="Other"))
    about = {"client": "Client <One>", "words": "my private words"}
    sent = db.outbox.insert(_row(dedup_key="a", payload=about, about_client_id=client.id))
    sent = db.outbox.rows[sent.id] = replace(sent, state=OutboxState.SENT)
    pending = db.outbox.insert(_row(dedup_key="b", payload=about, about_client_id=client.id))
    kept = db.outbox.insert(
        _row(dedup_key="c", payload={"client": "Other"}, about_client_id=other.id)
    )
    await db.audit.record(NOW, "client.joined", actor_telegram_id=CLIENT_TG, client_id=client.id)
    await db.audit.record(NOW, "client.joined", actor_telegram_id=77, client_id=other.id)
    await rights.erase(_ctx(db), CLIENT_TG)
    assert db.outbox.rows[sent.id].payload == {}
    assert db.outbox.rows[sent.id].state is OutboxState.SENT
    assert db.outbox.rows[pending.id].payload == {}
    assert db.outbox.rows[pending.id].state is OutboxState.CANCELLED
    assert db.outbox.rows[kept.id].payload == {"client": "Other"}
    joined = [e for e in db.audit.entries if e.action == "client.joined"]
    assert [e.actor_telegram_id for e in joined] == [None, 77]


def _row(**changes: object) -> OutboxMessage:
    values: dict[str, object] = {
        "id": 0,
        "chat_id": 1,
        "kind": OutboxKind.REMINDER,
        "template": "reminder.day_before",
        "payload": {},
        "due_at": datetime(2026, 5, 4, 9, 0, tzinfo=UTC),
        "dedup_key": "x",
        "state": OutboxState.PENDING,
    }
    return OutboxMessage(**(values | changes))  # type: ignore[arg-type]
