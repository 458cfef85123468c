"""The practice's fake database notices writes that a database would have rolled back."""

from __future__ import annotations

from tests.integration import records
from tests.unit.services.support import NOW, CheckedDatabase, add_practitioner


async def test_a_write_never_committed_is_noticed() -> None:
    db = CheckedDatabase()
    practitioner = await add_practitioner(db)

    async with db() as uow:
        await uow.clients.add(records.client(practitioner.id, created_at=NOW))

    assert [(what, table) for what, (table, _) in db.uncommitted] == [("written", "clients")]


async def test_writes_committed_before_the_unit_of_work_closes_are_not() -> None:
    db = CheckedDatabase()
    practitioner = await add_practitioner(db)

    async with db() as uow:
        await uow.clients.add(records.client(practitioner.id, created_at=NOW))
        await uow.audit.record(NOW, "client.added", actor_telegram_id=practitioner.telegram_user_id)
        await uow.commit()

    assert db.uncommitted == []
    assert db.commits == 2
