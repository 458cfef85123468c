"""The practitioner's morning list: today's sessions and the flags open a day or more,
followed by the digest of every answer since the morning before (unless they turned it
off, ``bot.services.practice.digest``).

It goes out once a local day, at the first pass between ``MORNING_FROM`` and
``MORNING_UNTIL``, as outbox rows keyed ``morning:<practitioner>:<local date>`` and
``…:digest:<page>``, all scheduled in one commit.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain.models import AppointmentStatus, OutboxKind, Practitioner
from bot.domain.outgoing import OutgoingMessage, Recipient, Text
from bot.domain.text_params import embed, when
from bot.ports import UnitOfWork
from bot.services.context import UseCaseContext
from bot.services.delivery.outbox import outbox_row
from bot.services.flags import views
from bot.services.flags.lifecycle import flag_list
from bot.services.practice.digest import digest_messages, window
from bot.services.sessions.calendar import local_day_bounds
from bot.services.sessions.views import session_line

_log = logging.getLogger(__name__)

MORNING_SESSIONS_LIMIT = 15
MORNING_FROM = time(8, 0)
MORNING_UNTIL = time(12, 0)
"""The morning list goes out once a day, at the first pass in this local window."""
STILL_OPEN_AFTER = timedelta(hours=24)


def morning_key(practitioner_id: int, day: date) -> str:
    """The dedup key of one practitioner's morning list on one local day."""
    return f"morning:{practitioner_id}:{day.isoformat()}"


async def morning_lists(ctx: UseCaseContext) -> int:
    """Schedule each practitioner's morning list, once a local day, if it lists anything.

    For a practitioner whose local time is between ``MORNING_FROM`` and ``MORNING_UNTIL``:
    today's sessions and the flags open for more than ``STILL_OPEN_AFTER``, then the
    digest of the answers since the morning before (``digest``). Idempotent
    (one outbox key per practitioner and day), so it may run as often as is convenient.
    Returns how many lists were scheduled now.
    """
    now = ctx.clock.now()
    async with ctx.uow() as uow:
        practitioners = await uow.practitioners.list_all()
    scheduled = 0
    for practitioner in practitioners:
        local = now.astimezone(ZoneInfo(practitioner.timezone))
        if not MORNING_FROM <= local.time() < MORNING_UNTIL:
            continue
        key = morning_key(practitioner.id, local.date())
        async with ctx.uow() as uow:
            if await uow.outbox.by_dedup_key(key) is not None:
                continue
            messages = await _morning_messages(uow, practitioner, now, local.date())
            if not messages:
                continue
            _, day_end = local_day_bounds(now, practitioner.timezone)
            for dedup_key, message in zip(_keys(key, messages), messages, strict=True):
                await uow.outbox.add(
                    outbox_row(
                        message,
                        Recipient.practitioner(practitioner),
                        kind=OutboxKind.NOTICE,
                        dedup_key=dedup_key,
                        now=now,
                        quiet=ctx.policy.quiet,
                        expires_at=day_end,  # a morning list is no use tomorrow
                        # it names several clients: kept only until it is sent
                        forget_after_send=True,
                    )
                )
            await uow.commit()
        scheduled += 1
    if scheduled:
        _log.info("%d morning list(s) scheduled", scheduled)
    return scheduled


def _keys(key: str, messages: list[OutgoingMessage]) -> list[str]:
    """The first message's key is the day's key (checked above); the others follow it."""
    return [key, *(f"{key}:{number}" for number in range(2, len(messages) + 1))]


async def _morning_messages(
    uow: UnitOfWork, practitioner: Practitioner, now: datetime, day: date
) -> list[OutgoingMessage]:
    """The morning list if it lists anything, then the digest's pages if it is on."""
    found = []
    listed = await _morning_list(uow, practitioner, now)
    if listed is not None:
        found.append(listed)
    if practitioner.digest:
        start, end = window(day, practitioner.timezone, MORNING_FROM)
        found += await digest_messages(uow, practitioner, start, end)
    return found


async def _morning_list(
    uow: UnitOfWork, practitioner: Practitioner, now: datetime
) -> OutgoingMessage | None:
    """Today's sessions and the flags open a day or more; ``None`` if there is neither."""
    start, end = local_day_bounds(now, practitioner.timezone)
    sessions = [
        a
        for a in await uow.appointments.for_practitioner_between(practitioner.id, start, end)
        if a.status is not AppointmentStatus.CANCELLED
    ]
    still_open = [
        f
        for f in await uow.flags.open_for_practitioner(practitioner.id)
        if now - f.created_at >= STILL_OPEN_AFTER
    ]
    if not sessions and not still_open:
        return None
    sections = []
    if sessions:
        lines = []
        for appointment in sessions[:MORNING_SESSIONS_LIMIT]:
            client = await uow.clients.get(appointment.client_id)
            if client is not None:
                lines.append(embed(session_line(appointment, client, practitioner.timezone)))
        sections.append(embed(Text("morning.sessions", {"count": len(sessions), "lines": lines})))
    rows: views.Rows = ()
    if still_open:
        lines, rows = await flag_list(uow, practitioner, still_open)
        sections.append(embed(Text("morning.flags", {"count": len(still_open), "lines": lines})))
    return OutgoingMessage(
        Text(
            "morning.list",
            {"day": when(now, practitioner.timezone, "date"), "lines": sections},
        ),
        rows,
    )
