"""A client's right to stop all messages and to erase what is kept about them."""

from __future__ import annotations

import dataclasses

from bot.domain.models import Client, ClientStatus
from bot.domain.outgoing import Text
from bot.domain.timing import QuietHours
from bot.ports import Clock, UnitOfWork, UnitOfWorkFactory
from bot.services.context import UseCaseContext
from bot.services.delivery.outbox import notify_practitioner


async def stop_messages(ctx: UseCaseContext, telegram_id: int) -> list[Client]:
    """Stop every message to this user and tell each practitioner concerned, in one
    transaction. Returns the client records that were stopped now."""
    async with ctx.uow() as uow:
        stopped = [
            await uow.clients.update(dataclasses.replace(client, status=ClientStatus.STOPPED))
            for client in await uow.clients.by_telegram_id(telegram_id)
            if client.status is not ClientStatus.STOPPED
        ]
        for client in stopped:
            await uow.outbox.cancel_pending(client_id=client.id, reason="the client sent /stop")
            await _tell_of_stop(
                uow, ctx.clock, ctx.policy.quiet, telegram_id=telegram_id, client=client
            )
        await uow.commit()
    return stopped


async def has_data(uow_factory: UnitOfWorkFactory, telegram_id: int) -> bool:
    """Whether anything is kept about this Telegram user as a client."""
    async with uow_factory() as uow:
        return bool(await uow.clients.by_telegram_id(telegram_id))


async def erase(ctx: UseCaseContext, telegram_id: int) -> list[Client]:
    """Erase every client record of this user: the records and all that hangs on them
    are deleted; alerts and notices that carried their name or words are redacted; audit
    entries about them keep the fact and lose the identity. Each practitioner is told
    once (so they can note it in their own records), and that notice is forgotten once
    sent. Returns what was erased."""
    async with ctx.uow() as uow:
        erased = list(await uow.clients.by_telegram_id(telegram_id))
        for client in erased:
            await forget(uow, ctx.clock, ctx.policy.quiet, client)
        await uow.commit()
    if erased:
        await ctx.uow.purge_freed()
    return erased


async def erase_client(ctx: UseCaseContext, client_id: int) -> Client | None:
    """An operator's erasure of one client record (``stillpoint erase``), the same as the
    client's own; ``None`` if there is no such client."""
    async with ctx.uow() as uow:
        client = await uow.clients.get(client_id)
        if client is None:
            return None
        await forget(uow, ctx.clock, ctx.policy.quiet, client)
        await uow.commit()
    await ctx.uow.purge_freed()
    return client


async def forget(uow: UnitOfWork, clock: Clock, quiet: QuietHours, client: Client) -> None:
    """Erase one client record in ``uow`` (see :func:`erase`); the caller commits."""
    now = clock.now()
    await uow.outbox.forget_client(client.id, reason="the client erased their data")
    # A morning list still waiting may name them; the morning job writes it again.
    await uow.outbox.cancel_pending(
        dedup_prefix=f"morning:{client.practitioner_id}:", reason="a client erased their data"
    )
    await uow.audit.forget_client(client.id, client.telegram_user_id)
    await uow.clients.remove(client.id)
    entry = await uow.audit.record(now, "client.erased", subject_type="client")
    await notify_practitioner(
        uow,
        client.practitioner_id,
        Text("erase.practitioner_notice", {"client": client.full_name}),
        dedup_key=f"client.erased:{entry.id}",
        now=now,
        quiet=quiet,
        about_client_id=None,
        forget_after_send=True,
    )


async def _tell_of_stop(
    uow: UnitOfWork, clock: Clock, quiet: QuietHours, *, telegram_id: int, client: Client
) -> None:
    now = clock.now()
    entry = await uow.audit.record(
        now,
        "client.stopped",
        actor_telegram_id=telegram_id,
        subject_type="client",
        subject_id=client.id,
        client_id=client.id,
    )
    await notify_practitioner(
        uow,
        client.practitioner_id,
        Text("stop.practitioner_notice", {"client": client.full_name}),
        dedup_key=f"client.stopped:{client.id}:{entry.id}",
        now=now,
        quiet=quiet,
        about_client_id=client.id,
    )
