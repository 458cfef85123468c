"""Practitioners from settings are registered once, even by processes starting together."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.ports import UnitOfWorkFactory
from bot.services.practice.practitioners import ensure_configured
from tests.fakes import FixedClock
from tests.integration import records
from tests.integration.records import T0


async def test_add_if_absent_stores_one_row_under_concurrency(
    uow_factory: UnitOfWorkFactory, engine: AsyncEngine
) -> None:
    async def register() -> bool:
        async with uow_factory() as uow:
            added = await uow.practitioners.add_if_absent(records.practitioner())
            await uow.commit()
            return added is not None

    outcomes = await asyncio.gather(*(register() for _ in range(5)))
    assert sorted(outcomes) == [False, False, False, False, True]
    async with engine.connect() as connection:
        assert await connection.scalar(text("SELECT count(*) FROM practitioners")) == 1


async def test_configured_practitioners_are_registered_once_on_the_clock(
    uow_factory: UnitOfWorkFactory,
) -> None:
    clock = FixedClock(T0)
    first = await ensure_configured(
        uow_factory, [11, 22], timezone="Europe/Berlin", locale="de", clock=clock
    )
    again = await ensure_configured(
        uow_factory, [11, 22, 33], timezone="Europe/Berlin", locale="de", clock=clock
    )
    assert [p.telegram_user_id for p in first] == [11, 22]
    assert [p.telegram_user_id for p in again] == [33]
    async with uow_factory() as uow:
        everyone = await uow.practitioners.list_all()
        audit = await uow.audit.recent()
    assert {p.created_at for p in everyone} == {T0}
    assert {(p.timezone, p.locale) for p in everyone} == {("Europe/Berlin", "de")}
    assert [entry.action for entry in audit] == ["practitioner.registered"] * 3
