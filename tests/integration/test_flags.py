"""Flags on real databases: which audit entry makes a practitioner's text a Reply to a flag.

A pending reply is found with ``audit.latest_by_actor``, a query no repository test holds:
these tests pin which entries it picks (the presser's own, within the window, among
hundreds of others) on SQLite and PostgreSQL. The rest of the flag use cases (raising,
alerts and escalation, Acknowledge, Reply, History, ``/flags``, the morning list, through
the handlers) run on the in-memory fakes, in ``tests/unit/flags/``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.db.mapping import to_domain
from bot.db.tables import OutboxRow
from bot.domain import callbacks
from bot.domain.callbacks import FlagAction
from bot.domain.models import CheckIn, Client, OutboxMessage, Practitioner, Reply, TriageLevel
from bot.ports import UnitOfWorkFactory
from bot.runtime import Runtime
from bot.services.context import UseCaseContext
from bot.services.flags import replies
from bot.settings import load_settings
from tests.fakes import FixedClock
from tests.handlers.offline import offline_application
from tests.integration.support import Bot
from tests.unit.flags.support import (
    NOW,
    OTHER_PRACTITIONER,
    PRACTITIONER,
    policy,
    raise_,
    rendered,
    reply_with,
    seed,
)


@dataclass
class Practice:
    """The flag tests' practice (``tests/unit/flags/support.py``), on this test's database."""

    uow: UnitOfWorkFactory
    engine: AsyncEngine
    clock: FixedClock
    practitioner: Practitioner
    client: Client
    checkin: CheckIn
    reply: Reply

    @property
    def ctx(self) -> UseCaseContext:
        """What the use cases work with here: the database, the clock, ``policy()``."""
        return UseCaseContext(self.uow, self.clock, policy())


@pytest.fixture
async def practice(uow_factory: UnitOfWorkFactory, engine: AsyncEngine) -> Practice:
    return Practice(uow_factory, engine, FixedClock(NOW), *await seed(uow_factory))


@pytest.fixture
async def bot(practice: Practice) -> AsyncIterator[Bot]:
    settings = load_settings(None, practitioner_ids=(PRACTITIONER,))
    app, request = offline_application(
        Runtime(settings=settings, clock=practice.clock, uow=practice.uow)
    )
    async with app:
        yield Bot(app, request)


async def by_key(engine: AsyncEngine, prefix: str) -> list[OutboxMessage]:
    async with AsyncSession(engine) as session:
        rows = (await session.scalars(select(OutboxRow).order_by(OutboxRow.id))).all()
        return [
            message
            for message in (to_domain(row, OutboxMessage) for row in rows)
            if message.dedup_key.startswith(prefix)
        ]


async def test_a_pending_reply_lapses_after_its_window(practice: Practice) -> None:
    flag = await raise_(practice)
    assert flag is not None
    await replies.ask_reply(
        practice.ctx,
        actor=PRACTITIONER,
        flag_id=flag.id,
    )
    practice.clock.current = NOW + replies.REPLY_WINDOW + timedelta(seconds=1)
    assert await reply_with(practice, "too late") is None


async def test_a_pending_reply_belongs_to_the_practitioner_who_pressed(practice: Practice) -> None:
    flag = await raise_(practice)
    assert flag is not None
    await replies.ask_reply(
        practice.ctx,
        actor=PRACTITIONER,
        flag_id=flag.id,
    )
    assert await reply_with(practice, "not mine", 5, sender=OTHER_PRACTITIONER) is None
    assert await by_key(practice.engine, "flag-reply:") == []


async def test_a_pending_reply_is_found_however_many_entries_others_add(
    practice: Practice, bot: Bot
) -> None:
    flag = await raise_(practice, TriageLevel.URGENT)
    assert flag is not None
    await bot.press(PRACTITIONER, callbacks.flag(flag.id, FlagAction.REPLY))
    async with practice.uow() as uow:
        for n in range(600):  # strangers' refused commands, say
            await uow.audit.record(practice.clock.now(), "access.refused", actor_telegram_id=n)
        await uow.commit()
    [confirmation] = await bot.send(PRACTITIONER, "I'll call you in ten minutes")
    assert "on its way to" in confirmation
    [row] = await by_key(practice.engine, "flag-reply:")
    assert "I'll call you in ten minutes" in rendered(row)
