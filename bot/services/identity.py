"""Who is writing to the bot: the ``Actor`` of an update, found once."""

from __future__ import annotations

from collections.abc import Collection

from bot.domain.actor import Actor
from bot.ports import UnitOfWork, UnitOfWorkFactory


async def actor_in(
    uow: UnitOfWork, telegram_id: int, named_practitioners: Collection[int]
) -> Actor:
    """The sender, read in the caller's unit of work: their practitioner record (or
    whether settings name them one) and their client records."""
    return Actor(
        telegram_id,
        practitioner=await uow.practitioners.by_telegram_id(telegram_id),
        clients=tuple(await uow.clients.by_telegram_id(telegram_id)),
        named_practitioner=telegram_id in named_practitioners,
    )


async def who(
    uow_factory: UnitOfWorkFactory, telegram_id: int, named_practitioners: Collection[int]
) -> Actor:
    """The sender, for an update whose answer depends only on who they are."""
    async with uow_factory() as uow:
        return await actor_in(uow, telegram_id, named_practitioners)
