import logging

import pytest

from bot.domain.delivery import RecipientUnreachable
from bot.domain.models import Client, ClientStatus, Practitioner
from bot.services import privacy
from tests.fakes import FakeDatabase, FakeNotifier, FixedClock

CLIENT_TG = 4242
PRACTITIONER_TG = 77


async def _client(db: FakeDatabase, status: ClientStatus = ClientStatus.ACTIVE) -> Client:
    practitioner = await db.practitioners.add(
        Practitioner(0, PRACTITIONER_TG, "Practitioner", "UTC", locale="en")
    )
    return await db.clients.add(
        Client(0, practitioner.id, "Client <One>", status, "UTC", telegram_user_id=CLIENT_TG)
    )


async def test_stop_marks_the_client_and_tells_the_practitioner() -> None:
    db, notifier = FakeDatabase(), FakeNotifier()
    client = await _client(db)
    stopped = await privacy.stop_messages(db, notifier, FixedClock(), CLIENT_TG)
    assert [c.id for c in stopped] == [client.id]
    stored = await db.clients.get(client.id)
    assert stored is not None
    assert stored.status is ClientStatus.STOPPED
    [(chat, message, locale)] = notifier.sent
    assert chat == PRACTITIONER_TG
    assert message.text.key == "stop.practitioner_notice"
    assert message.text.params == {"client": "Client <One>"}
    assert locale == "en"
    assert [e.action for e in db.audit.entries] == ["client.stopped"]
    assert db.commits == 1


async def test_stop_twice_tells_the_practitioner_once() -> None:
    db, notifier = FakeDatabase(), FakeNotifier()
    await _client(db)
    await privacy.stop_messages(db, notifier, FixedClock(), CLIENT_TG)
    again = await privacy.stop_messages(db, notifier, FixedClock(), CLIENT_TG)
    assert again == []
    assert len(notifier.sent) == 1


async def test_stop_by_a_stranger_changes_nothing() -> None:
    db, notifier = FakeDatabase(), FakeNotifier()
    client = await _client(db)
    assert await privacy.stop_messages(db, notifier, FixedClock(), 999) == []
    assert (await db.clients.get(client.id)) == client
    assert notifier.sent == []


async def test_erase_removes_the_client_and_keeps_only_an_audit_line() -> None:
    db, notifier = FakeDatabase(), FakeNotifier()
    client = await _client(db)
    erased = await privacy.erase(db, notifier, FixedClock(), CLIENT_TG)
    assert [c.id for c in erased] == [client.id]
    assert await db.clients.get(client.id) is None
    [entry] = db.audit.entries
    assert entry.action == "client.erased"
    assert entry.subject_id == client.id
    assert "Client" not in str(entry.detail)
    assert notifier.sent[0][1].text.key == "erase.practitioner_notice"


async def test_an_unreachable_practitioner_does_not_undo_the_erasure(
    caplog: pytest.LogCaptureFixture,
) -> None:
    db, notifier = FakeDatabase(), FakeNotifier(fail_with=RecipientUnreachable("blocked"))
    client = await _client(db)
    caplog.set_level(logging.WARNING)
    await privacy.erase(db, notifier, FixedClock(), CLIENT_TG)
    assert await db.clients.get(client.id) is None
    assert "could not tell practitioner" in caplog.text
    assert "Client <One>" not in caplog.text
