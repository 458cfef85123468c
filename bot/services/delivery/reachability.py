"""A client who blocked the bot and came back is reachable again, with what they had.

When a send to a client fails because they blocked the bot, the dispatcher marks them
``unreachable`` and cancels what was pending for them. Telegram tells the bot when they
unblock it (``my_chat_member`` back to ``member``), and a client who writes has plainly
unblocked it too. Either way they become ``active`` again: their check-ins still ahead
and the reminders of their sessions ahead are queued again, and their practitioner hears
of it once.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from bot.domain.models import AppointmentStatus, Client, ClientStatus
from bot.domain.outgoing import Text
from bot.ports import UnitOfWork
from bot.services.checkins.schedule import resume_checkins
from bot.services.context import UseCaseContext
from bot.services.delivery.outbox import notify_practitioner
from bot.services.policy import Policy
from bot.services.sessions.reminders import schedule_reminders
from bot.services.sessions.views import SessionParties

REMINDER_HORIZON = timedelta(days=366)
"""Sessions this far ahead get their reminders queued again."""


async def restore(uow: UnitOfWork, policy: Policy, client: Client, now: datetime) -> Client:
    """Make an ``unreachable`` client ``active`` with what they had; the caller commits.
    Any other client is returned as is."""
    if client.status is not ClientStatus.UNREACHABLE:
        return client
    active = await uow.clients.update(dataclasses.replace(client, status=ClientStatus.ACTIVE))
    await uow.audit.record(
        now, "client.reachable", subject_type="client", subject_id=client.id, client_id=client.id
    )
    await resume_checkins(uow, policy, active, now)
    practitioner = await uow.practitioners.get(client.practitioner_id)
    if practitioner is None:
        return active
    for appointment in await uow.appointments.for_client_between(
        client.id, now, now + REMINDER_HORIZON
    ):
        if appointment.status is not AppointmentStatus.CANCELLED:
            parties = SessionParties(appointment, active, practitioner)
            await schedule_reminders(uow, policy, parties, now)
    await notify_practitioner(
        uow,
        practitioner.id,
        Text("delivery.reachable_notice", {"client": client.full_name}),
        dedup_key=f"reachable:{client.id}:{int(now.timestamp())}",
        now=now,
        quiet=policy.quiet,
        about_client_id=client.id,
    )
    return active


async def unblocked(ctx: UseCaseContext, *, actor: int) -> int:
    """The user unblocked the bot: each of their client records that was ``unreachable``
    is restored. Returns how many were."""
    now = ctx.clock.now()
    restored = 0
    async with ctx.uow() as uow:
        for client in await uow.clients.by_telegram_id(actor):
            if (await restore(uow, ctx.policy, client, now)) is not client:
                restored += 1
        await uow.commit()
    return restored
