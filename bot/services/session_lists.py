"""The practitioner's lists: ``/today``, ``/upcoming`` and ``/clients``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from bot.domain import callbacks
from bot.domain.callbacks import SessionAction
from bot.domain.models import Appointment, AppointmentStatus, ClientStatus, Practitioner
from bot.ports import (
    Button,
    Clock,
    OutgoingMessage,
    Text,
    UnitOfWork,
    UnitOfWorkFactory,
    embed,
    when,
)
from bot.services.access import require_practitioner
from bot.services.calendar import (
    OPEN_STATUSES,
    local_day_bounds,
    sessions_ahead,
)
from bot.services.views import (
    session_line,
)

UPCOMING_DAYS = 14


UPCOMING_LIMIT = 30
CLIENTS_PER_PAGE = 20
"""Clients on one page of ``/clients``: 20 of the longest lines (a 100-character name,
a status and a next session) stay well within one message."""


async def sessions_today(
    uow_factory: UnitOfWorkFactory, clock: Clock, *, actor: int
) -> OutgoingMessage:
    """``/today``: the practitioner's sessions on their local today, cancelled ones left out."""
    async with uow_factory() as uow:
        practitioner = await require_practitioner(uow, clock, actor, "appointment.list")
        start, end = local_day_bounds(clock.now(), practitioner.timezone)
        found = await uow.appointments.for_practitioner_between(practitioner.id, start, end)
        return await _session_list(
            uow, practitioner, found, "sessions.today", "sessions.none_today"
        )


async def sessions_upcoming(
    uow_factory: UnitOfWorkFactory, clock: Clock, *, actor: int
) -> OutgoingMessage:
    """``/upcoming``: the practitioner's open sessions in the next two weeks."""
    async with uow_factory() as uow:
        practitioner = await require_practitioner(uow, clock, actor, "appointment.list")
        now = clock.now()
        found = await uow.appointments.for_practitioner_between(
            practitioner.id, now, now + timedelta(days=UPCOMING_DAYS)
        )
        return await _session_list(
            uow, practitioner, found, "sessions.upcoming", "sessions.none_upcoming"
        )


async def _session_list(
    uow: UnitOfWork,
    practitioner: Practitioner,
    found: Sequence[Appointment],
    key: str,
    empty_key: str,
) -> OutgoingMessage:
    shown = [a for a in found if a.status is not AppointmentStatus.CANCELLED][:UPCOMING_LIMIT]
    if not shown:
        return OutgoingMessage(Text(empty_key, {"days": UPCOMING_DAYS}))
    lines, rows = [], []
    for appointment in shown:
        client = await uow.clients.get(appointment.client_id)
        if client is None:
            continue
        lines.append(embed(session_line(appointment, client, practitioner.timezone)))
        if appointment.status in OPEN_STATUSES or appointment.status is AppointmentStatus.COMPLETED:
            label = Text(
                "button.client_session",
                {
                    "client": client.full_name,
                    "when": when(appointment.starts_at, practitioner.timezone, "short_datetime"),
                },
            )
            rows.append((session_button_with(appointment, label),))
    return OutgoingMessage(
        Text(key, {"lines": lines, "count": len(lines), "days": UPCOMING_DAYS}), tuple(rows)
    )


def session_button_with(appointment: Appointment, label: Text) -> Button:
    """A button opening the session's card."""
    return Button(
        label, callbacks.session(appointment.id, appointment.starts_at, SessionAction.SHOW)
    )


async def client_list(
    uow_factory: UnitOfWorkFactory, clock: Clock, *, actor: int, page: int = 0
) -> OutgoingMessage:
    """``/clients``: every client with their state and next session, and Book buttons for
    the active ones; :data:`CLIENTS_PER_PAGE` a page (one message holds 4,096 characters),
    with buttons to turn the pages. A page past the end shows the last one."""
    async with uow_factory() as uow:
        practitioner = await require_practitioner(uow, clock, actor, "client.list")
        everyone = await uow.clients.for_practitioner(practitioner.id)
        if not everyone:
            return OutgoingMessage(Text("clients.none"))
        pages = -(-len(everyone) // CLIENTS_PER_PAGE)
        page = min(max(page, 0), pages - 1)
        clients = everyone[page * CLIENTS_PER_PAGE : (page + 1) * CLIENTS_PER_PAGE]
        ahead = {c.id: a for c, a in await sessions_ahead(uow, clients, clock.now())}
    lines = []
    for client in clients:
        session = ahead.get(client.id)
        next_text = (
            Text("clients.next", {"when": when(session.starts_at, practitioner.timezone)})
            if session
            else None
        )
        lines.append(
            embed(
                Text(
                    "clients.line",
                    {
                        "client": client.full_name,
                        "status": embed(Text(f"client_status.{client.status}")),
                        "next": embed(next_text) if next_text else "",
                    },
                )
            )
        )
    rows: list[tuple[Button, ...]] = [
        (Button(Text("button.book_client", {"client": c.full_name}), callbacks.book(c.id)),)
        for c in clients
        if c.status is ClientStatus.ACTIVE
    ]
    turn = [
        Button(Text(label), callbacks.clients_page(to))
        for label, to, shown in (
            ("button.page_back", page - 1, page > 0),
            ("button.page_more", page + 1, page < pages - 1),
        )
        if shown
    ]
    if turn:
        rows.append(tuple(turn))
    params = {"lines": lines, "count": len(everyone), "page": page + 1, "pages": pages}
    key = "clients.list" if pages == 1 else "clients.list_page"
    return OutgoingMessage(Text(key, params), tuple(rows))
