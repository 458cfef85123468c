"""A client's own settings: their time zone, and pausing or resuming check-ins."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from functools import cache
from zoneinfo import available_timezones

from bot.domain.models import AppointmentStatus, Client, ClientStatus, OutboxKind
from bot.domain.outgoing import OutgoingMessage, Text
from bot.domain.text_params import when
from bot.ports import UnitOfWork
from bot.services.access import Refused
from bot.services.checkins.schedule import resume_checkins
from bot.services.context import UseCaseContext
from bot.services.sessions.reminders import refresh_reminders
from bot.services.sessions.views import SessionParties

REMINDER_HORIZON = timedelta(days=366)


@cache
def _zones_by_folded_name() -> dict[str, str]:
    """Every zone under its full name and its city, folded: ``berlin`` → ``Europe/Berlin``."""
    zones: dict[str, str] = {}
    for name in sorted(available_timezones()):
        if name.startswith(("Etc/", "SystemV/")) or "/" not in name:
            continue
        zones.setdefault(name.split("/")[-1].replace("_", " ").casefold(), name)
    for name in available_timezones():
        zones[name.casefold()] = name
    return zones


def find_timezone(text: str) -> str | None:
    """A zone for ``Europe/Berlin``, ``europe/berlin``, ``Berlin`` or ``new york``."""
    key = " ".join(text.replace("_", " ").split()).casefold()
    return _zones_by_folded_name().get(key) or _zones_by_folded_name().get(key.replace(" ", "_"))


async def _active_clients(uow: UnitOfWork, actor: int) -> list[Client]:
    clients = [
        c for c in await uow.clients.by_telegram_id(actor) if c.status is ClientStatus.ACTIVE
    ]
    if not clients:
        raise Refused(Text("client.not_joined"))
    return clients


async def show_timezone(ctx: UseCaseContext, *, actor: int) -> OutgoingMessage:
    """``/timezone`` alone: the zone in use, the time there now, how to change it."""
    async with ctx.uow() as uow:
        zone = (await _active_clients(uow, actor))[0].timezone
    return OutgoingMessage(
        Text("timezone.current", {"timezone": zone, "now": when(ctx.clock.now(), zone, "time")})
    )


async def set_timezone(ctx: UseCaseContext, *, actor: int, text: str) -> OutgoingMessage:
    """``/timezone <zone or city>``: use it for every message; reminders ahead follow."""
    zone = find_timezone(text)
    if zone is None:
        raise Refused(Text("timezone.unknown", {"text": text[:64]}))
    now = ctx.clock.now()
    async with ctx.uow() as uow:
        clients = await _active_clients(uow, actor)
        for client in clients:
            if client.timezone == zone:
                continue
            moved = await uow.clients.update(dataclasses.replace(client, timezone=zone))
            practitioner = await uow.practitioners.get(client.practitioner_id)
            if practitioner is None:
                continue
            for appointment in await uow.appointments.for_client_between(
                client.id, now, now + REMINDER_HORIZON
            ):
                if appointment.status is not AppointmentStatus.CANCELLED:
                    await refresh_reminders(
                        uow,
                        ctx.policy,
                        SessionParties(appointment, moved, practitioner),
                        now,
                        "the client changed time zone",
                    )
        await uow.audit.record(
            now,
            "client.timezone",
            actor_telegram_id=actor,
            detail={"timezone": zone},
            client_id=clients[0].id if clients else None,
        )
        await uow.commit()
    return OutgoingMessage(
        Text("timezone.changed", {"timezone": zone, "now": when(now, zone, "time")})
    )


async def set_paused(ctx: UseCaseContext, *, actor: int, paused: bool) -> OutgoingMessage:
    """``/pause`` stops check-ins (reminders go on); ``/resume`` queues again the ones
    still ahead."""
    async with ctx.uow() as uow:
        clients = await _active_clients(uow, actor)
        changed = [c for c in clients if c.checkins_paused != paused]
        for client in changed:
            updated = await uow.clients.update(
                dataclasses.replace(client, checkins_paused=paused, checkin_prompt_at=None)
            )
            if paused:
                await uow.outbox.cancel_pending(
                    client_id=client.id,
                    kinds=(OutboxKind.CHECKIN,),
                    reason="the client paused check-ins",
                )
            else:
                await resume_checkins(uow, ctx.policy, updated, ctx.clock.now())
        if changed:
            await uow.audit.record(
                ctx.clock.now(),
                "client.paused" if paused else "client.resumed",
                actor_telegram_id=actor,
                detail={"clients": [c.id for c in changed]},
                client_id=changed[0].id,  # erasing reaches every record of one person
            )
            await uow.commit()
    state = "paused" if paused else "resumed"
    return OutgoingMessage(Text(f"checkins.{state}" if changed else f"checkins.already_{state}"))
