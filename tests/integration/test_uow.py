"""The unit of work: one transaction, stored only on commit; erasing a client erases their data."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.ports import UnitOfWorkFactory
from tests.integration import records


class Boom(Exception):
    """Raised inside a unit of work to prove it rolls back."""


async def count(engine: AsyncEngine, table: str) -> int:
    async with engine.connect() as connection:
        result = await connection.scalar(text(f"SELECT count(*) FROM {table}"))  # noqa: S608
    return int(result or 0)


async def test_nothing_is_stored_without_commit(
    uow_factory: UnitOfWorkFactory, engine: AsyncEngine
) -> None:
    async with uow_factory() as uow:
        await records.practitioner_and_client(uow)
        await uow.outbox.add(records.outbox_message())
    assert await count(engine, "practitioners") == 0
    assert await count(engine, "outbox") == 0


async def test_an_exception_rolls_everything_back(
    uow_factory: UnitOfWorkFactory, engine: AsyncEngine
) -> None:
    async def fail_halfway() -> None:
        async with uow_factory() as uow:
            await records.practitioner_and_client(uow)
            raise Boom

    with pytest.raises(Boom):
        await fail_halfway()
    assert await count(engine, "practitioners") == 0
    assert await count(engine, "clients") == 0


async def test_commit_stores_and_later_work_is_rolled_back(
    uow_factory: UnitOfWorkFactory, engine: AsyncEngine
) -> None:
    async with uow_factory() as uow:
        practitioner, _ = await records.practitioner_and_client(uow)
        await uow.commit()
        await uow.audit.record(records.T0, "never.committed")
        await uow.practitioners.add(records.practitioner(42))
        await uow.rollback()
        assert await uow.practitioners.get(practitioner.id) == practitioner
        assert list(await uow.audit.recent()) == []
        await uow.practitioners.add(records.practitioner(43))
    assert await count(engine, "practitioners") == 1
    assert await count(engine, "clients") == 1
    assert await count(engine, "audit_log") == 0


async def test_a_failed_statement_does_not_poison_the_next_unit(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        await uow.practitioners.add(records.practitioner())
        await uow.commit()
    with pytest.raises(IntegrityError):
        async with uow_factory() as uow:
            await uow.practitioners.add(records.practitioner())
    async with uow_factory() as uow:
        assert len(await uow.practitioners.list_all()) == 1


async def test_a_unit_of_work_only_works_inside_async_with(
    uow_factory: UnitOfWorkFactory,
) -> None:
    uow = uow_factory()
    with pytest.raises(RuntimeError, match="async with"):
        await uow.commit()
    async with uow:
        pass
    with pytest.raises(RuntimeError, match="async with"):
        await uow.rollback()
    # A closed unit of work can be opened again.
    async with uow:
        await uow.practitioners.add(records.practitioner())
        await uow.commit()


async def test_erasing_a_client_erases_all_their_data(
    uow_factory: UnitOfWorkFactory, engine: AsyncEngine
) -> None:
    async with uow_factory() as uow:
        practitioner, client = await records.practitioner_and_client(uow)
        second_client = await uow.clients.add(
            records.client(practitioner.id, full_name="Second Client", telegram_user_id=5)
        )
        for person in (client, second_client):
            await uow.invites.add(
                records.invite(practitioner.id, person.id, token_hash=f"{person.id:064d}")
            )
            session = await uow.appointments.add(records.appointment(practitioner.id, person.id))
            await uow.outbox.add(
                records.outbox_message(
                    client_id=person.id,
                    appointment_id=session.id,
                    practitioner_id=practitioner.id,
                    dedup_key=f"reminder:{session.id}",
                )
            )
            checkin = await uow.checkins.add(records.checkin(person.id, session.id))
            answer = await uow.replies.add(records.reply(person.id, checkin_id=checkin.id))
            await uow.flags.add(records.flag(answer.id, person.id, practitioner.id))
        await uow.audit.record(records.T0, "client.erased", subject_type="client", subject_id=1)
        await uow.commit()

    async with engine.begin() as connection:
        await connection.execute(text("DELETE FROM clients WHERE id = :id"), {"id": client.id})

    for table in ("invites", "appointments", "outbox", "checkins", "replies", "flags"):
        assert await count(engine, table) == 1, table
    async with uow_factory() as uow:
        assert await uow.clients.get(client.id) is None
        assert await uow.clients.get(second_client.id) == second_client
        assert await uow.practitioners.get(practitioner.id) == practitioner
        assert len(await uow.replies.for_client(second_client.id)) == 1
        assert list(await uow.replies.for_client(client.id)) == []
    # The audit log keeps ids, never words, so it stays.
    assert await count(engine, "audit_log") == 1


async def test_a_practitioner_with_clients_cannot_be_deleted(
    uow_factory: UnitOfWorkFactory, engine: AsyncEngine
) -> None:
    async with uow_factory() as uow:
        practitioner, _ = await records.practitioner_and_client(uow)
        await uow.commit()
    with pytest.raises(IntegrityError):
        async with engine.begin() as connection:
            await connection.execute(
                text("DELETE FROM practitioners WHERE id = :id"), {"id": practitioner.id}
            )
    assert await count(engine, "practitioners") == 1
