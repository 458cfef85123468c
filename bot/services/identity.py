"""Who is writing to the bot."""

from __future__ import annotations

from collections.abc import Collection

from bot.domain.roles import Role
from bot.ports import UnitOfWork


async def role_of(
    uow: UnitOfWork, telegram_user_id: int, configured_practitioners: Collection[int]
) -> Role:
    """A practitioner (from settings or the database), a joined client, or a guest."""
    if telegram_user_id in configured_practitioners:
        return Role.PRACTITIONER
    if await uow.practitioners.by_telegram_id(telegram_user_id) is not None:
        return Role.PRACTITIONER
    if await uow.clients.by_telegram_id(telegram_user_id):
        return Role.CLIENT
    return Role.GUEST
