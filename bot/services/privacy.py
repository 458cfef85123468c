"""A client's right to stop all messages and to erase what is kept about them."""

from __future__ import annotations

import dataclasses
import logging

from bot.domain.delivery import DeliveryError
from bot.domain.models import Client, ClientStatus
from bot.ports import Clock, Notifier, OutgoingMessage, Text, UnitOfWork, UnitOfWorkFactory

_log = logging.getLogger(__name__)


async def stop_messages(
    uow_factory: UnitOfWorkFactory, notifier: Notifier, clock: Clock, telegram_id: int
) -> list[Client]:
    """Stop every message to this user; tell each practitioner concerned. Returns who stopped."""
    async with uow_factory() as uow:
        stopped = [
            await uow.clients.update(dataclasses.replace(client, status=ClientStatus.STOPPED))
            for client in await uow.clients.by_telegram_id(telegram_id)
            if client.status is not ClientStatus.STOPPED
        ]
        for client in stopped:
            await _audit(uow, clock, "client.stopped", telegram_id, client)
        await uow.commit()
    await _tell_practitioners(uow_factory, notifier, stopped, "stop.practitioner_notice")
    return stopped


async def has_data(uow: UnitOfWork, telegram_id: int) -> bool:
    """Whether anything is kept about this Telegram user as a client."""
    return bool(await uow.clients.by_telegram_id(telegram_id))


async def erase(
    uow_factory: UnitOfWorkFactory, notifier: Notifier, clock: Clock, telegram_id: int
) -> list[Client]:
    """Delete every client record of this user with all that hangs on it. Returns what went."""
    async with uow_factory() as uow:
        erased = list(await uow.clients.by_telegram_id(telegram_id))
        for client in erased:
            await uow.clients.remove(client.id)
            await _audit(uow, clock, "client.erased", telegram_id, client)
        await uow.commit()
    await _tell_practitioners(uow_factory, notifier, erased, "erase.practitioner_notice")
    return erased


async def _audit(
    uow: UnitOfWork, clock: Clock, action: str, telegram_id: int, client: Client
) -> None:
    await uow.audit.record(
        clock.now(),
        action,
        actor_telegram_id=telegram_id,
        subject_type="client",
        subject_id=client.id,
    )


async def _tell_practitioners(
    uow_factory: UnitOfWorkFactory, notifier: Notifier, clients: list[Client], key: str
) -> None:
    for client in clients:
        async with uow_factory() as uow:
            practitioner = await uow.practitioners.get(client.practitioner_id)
        if practitioner is None:
            continue
        notice = OutgoingMessage(Text(key, {"client": client.full_name}))
        try:
            await notifier.send(practitioner.telegram_user_id, notice, practitioner.locale)
        except DeliveryError as error:
            _log.warning(
                "could not tell practitioner %s about client %s: %s",
                practitioner.id,
                client.id,
                type(error).__name__,
            )
