"""The session use-case tests' practice (``tests/unit/services/support.py``) on a real
database, for the journeys that only a database shows: its engine, and the outbox read
back with SQL."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.db.mapping import to_domain
from bot.db.tables import OutboxRow
from bot.domain.models import Client, OutboxMessage, Practitioner
from bot.ports import UnitOfWorkFactory
from bot.services.context import UseCaseContext
from tests.fakes import FixedClock
from tests.unit.services.support import POLICY, seed


@dataclass(frozen=True)
class Practice:
    """One practitioner in Berlin with one joined client, and the test's database and clock."""

    uow: UnitOfWorkFactory
    engine: AsyncEngine
    clock: FixedClock
    practitioner: Practitioner
    client: Client

    @property
    def ctx(self) -> UseCaseContext:
        """What the use cases work with here: the database, the clock, ``POLICY``."""
        return UseCaseContext(self.uow, self.clock, POLICY)


async def open_practice(
    uow_factory: UnitOfWorkFactory, engine: AsyncEngine, clock: FixedClock
) -> Practice:
    return Practice(uow_factory, engine, clock, *await seed(uow_factory))


async def outbox_rows(engine: AsyncEngine) -> list[OutboxMessage]:
    """Every outbox row, oldest first (the repository has no such query)."""
    async with AsyncSession(engine) as session:
        rows = (await session.scalars(select(OutboxRow).order_by(OutboxRow.id))).all()
        return [to_domain(row, OutboxMessage) for row in rows]
