"""A client's right to stop all messages and to erase what is kept about them."""

from __future__ import annotations

import dataclasses

from bot.domain.models import Client, ClientStatus
from bot.domain.timing import QuietHours
from bot.ports import Clock, Text, UnitOfWork, UnitOfWorkFactory
from bot.services.outbox import notify_practitioner


async def stop_messages(
    uow_factory: UnitOfWorkFactory, clock: Clock, quiet: QuietHours, telegram_id: int
) -> list[Client]:
    """Stop every message to this user and tell each practitioner concerned, in one
    transaction. Returns the client records that were stopped now."""
    async with uow_factory() as uow:
        stopped = [
            await uow.clients.update(dataclasses.replace(client, status=ClientStatus.STOPPED))
            for client in await uow.clients.by_telegram_id(telegram_id)
            if client.status is not ClientStatus.STOPPED
        ]
        for client in stopped:
            await uow.outbox.cancel_pending(client_id=client.id, reason="the client sent /stop")
            await _audit_and_notify(
                uow, clock, quiet, "client.stopped", telegram_id=telegram_id, client=client
            )
        await uow.commit()
    return stopped


async def has_data(uow: UnitOfWork, telegram_id: int) -> bool:
    """Whether anything is kept about this Telegram user as a client."""
    return bool(await uow.clients.by_telegram_id(telegram_id))


async def erase(
    uow_factory: UnitOfWorkFactory, clock: Clock, quiet: QuietHours, telegram_id: int
) -> list[Client]:
    """Delete every client record of this user with all that hangs on it; tell their
    practitioners. Returns what was erased."""
    async with uow_factory() as uow:
        erased = list(await uow.clients.by_telegram_id(telegram_id))
        for client in erased:
            # Alerts about an open flag carry the client's words and no client id: they
            # would outlive the erasure.
            for flag in await uow.flags.open_for_practitioner(client.practitioner_id):
                if flag.client_id == client.id:
                    await uow.outbox.cancel_pending(
                        dedup_prefix=f"flag:{flag.id}:", reason="the client erased their data"
                    )
            await uow.clients.remove(client.id)
            await _audit_and_notify(
                uow, clock, quiet, "client.erased", telegram_id=telegram_id, client=client
            )
        await uow.commit()
    return erased


async def _audit_and_notify(
    uow: UnitOfWork,
    clock: Clock,
    quiet: QuietHours,
    action: str,
    *,
    telegram_id: int,
    client: Client,
) -> None:
    now = clock.now()
    entry = await uow.audit.record(
        now, action, actor_telegram_id=telegram_id, subject_type="client", subject_id=client.id
    )
    notice = (
        "stop.practitioner_notice" if action == "client.stopped" else "erase.practitioner_notice"
    )
    await notify_practitioner(
        uow,
        client.practitioner_id,
        Text(notice, {"client": client.full_name}),
        dedup_key=f"{action}:{client.id}:{entry.id}",
        now=now,
        quiet=quiet,
    )
