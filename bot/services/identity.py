"""Who is writing to the bot."""

from __future__ import annotations

from collections.abc import Collection

from bot.domain.models import ClientStatus
from bot.domain.roles import Role
from bot.ports import UnitOfWorkFactory


async def role_of(
    uow_factory: UnitOfWorkFactory, telegram_user_id: int, configured_practitioners: Collection[int]
) -> Role:
    """A practitioner (from settings or the database), a joined client, or a guest."""
    if telegram_user_id in configured_practitioners:
        return Role.PRACTITIONER
    async with uow_factory() as uow:
        if await uow.practitioners.by_telegram_id(telegram_user_id) is not None:
            return Role.PRACTITIONER
        if await uow.clients.by_telegram_id(telegram_user_id):
            return Role.CLIENT
    return Role.GUEST


async def has_stopped(uow_factory: UnitOfWorkFactory, telegram_user_id: int) -> bool:
    """Whether this user is a client only of practices they stopped (``/stop``): nothing
    is sent to them until they join again with a new invite."""
    async with uow_factory() as uow:
        clients = await uow.clients.by_telegram_id(telegram_user_id)
    return bool(clients) and all(c.status is ClientStatus.STOPPED for c in clients)
