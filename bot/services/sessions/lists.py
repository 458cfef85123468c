"""The practitioner's lists: ``/today``, ``/upcoming`` and ``/clients``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Generic, TypeVar

from bot.domain import callbacks
from bot.domain.callbacks import ListName, SessionAction
from bot.domain.models import Appointment, AppointmentStatus, Client, ClientStatus, Practitioner
from bot.domain.outgoing import Button, OutgoingMessage, Text
from bot.domain.text_params import embed, when
from bot.ports import UnitOfWork
from bot.services.access import require_practitioner
from bot.services.context import UseCaseContext
from bot.services.sessions.calendar import (
    OPEN_STATUSES,
    local_day_bounds,
    sessions_ahead,
)
from bot.services.sessions.views import (
    session_line,
)

UPCOMING_DAYS = 14

T = TypeVar("T")


PER_PAGE = 20
"""Lines on one page of a list: 20 of the longest (a 100-character name, a time, a
status) stay well within one message."""


async def sessions_today(ctx: UseCaseContext, *, actor: int, page: int = 0) -> OutgoingMessage:
    """``/today``: the practitioner's sessions on their local today, cancelled ones left
    out, :data:`PER_PAGE` a page."""
    async with ctx.uow() as uow:
        practitioner = await require_practitioner(uow, ctx.clock, actor, "appointment.list")
        start, end = local_day_bounds(ctx.clock.now(), practitioner.timezone)
        found = await uow.appointments.for_practitioner_between(practitioner.id, start, end)
        return await _session_list(
            uow, practitioner, found, ListName.TODAY, page=page, empty_key="sessions.none_today"
        )


async def sessions_upcoming(ctx: UseCaseContext, *, actor: int, page: int = 0) -> OutgoingMessage:
    """``/upcoming``: the practitioner's open sessions in the next two weeks,
    :data:`PER_PAGE` a page."""
    async with ctx.uow() as uow:
        practitioner = await require_practitioner(uow, ctx.clock, actor, "appointment.list")
        now = ctx.clock.now()
        found = await uow.appointments.for_practitioner_between(
            practitioner.id, now, now + timedelta(days=UPCOMING_DAYS)
        )
        return await _session_list(
            uow,
            practitioner,
            found,
            ListName.UPCOMING,
            page=page,
            empty_key="sessions.none_upcoming",
        )


_LIST_KEYS = {
    ListName.CLIENTS: "clients.list",
    ListName.TODAY: "sessions.today",
    ListName.UPCOMING: "sessions.upcoming",
}


@dataclass(frozen=True, slots=True)
class _Page(Generic[T]):
    """One page of a list: its items, its number (from 0) and how many pages there are."""

    items: Sequence[T]
    number: int
    pages: int

    @classmethod
    def of(cls, everything: Sequence[T], page: int) -> _Page[T]:
        """Page ``page`` of ``everything``; a page past either end is the nearest one."""
        pages = max(1, -(-len(everything) // PER_PAGE))
        number = min(max(page, 0), pages - 1)
        return cls(everything[number * PER_PAGE : (number + 1) * PER_PAGE], number, pages)

    def message(
        self, name: ListName, params: dict[str, Any], rows: Sequence[tuple[Button, ...]]
    ) -> OutgoingMessage:
        """The list's message: its title says the page, and Back and More turn it."""
        turn = [
            Button(Text(label), callbacks.list_page(name, to))
            for label, to, shown in (
                ("button.page_back", self.number - 1, self.number > 0),
                ("button.page_more", self.number + 1, self.number < self.pages - 1),
            )
            if shown
        ]
        if turn:
            rows = [*rows, tuple(turn)]
        key = _LIST_KEYS[name] + ("" if self.pages == 1 else "_page")
        params = {**params, "page": self.number + 1, "pages": self.pages}
        return OutgoingMessage(Text(key, params), tuple(rows))


async def _session_list(
    uow: UnitOfWork,
    practitioner: Practitioner,
    found: Sequence[Appointment],
    name: ListName,
    *,
    page: int,
    empty_key: str,
) -> OutgoingMessage:
    listed = [a for a in found if a.status is not AppointmentStatus.CANCELLED]
    if not listed:
        return OutgoingMessage(Text(empty_key, {"days": UPCOMING_DAYS}))
    shown = _Page.of(listed, page)
    lines, rows = [], []
    for appointment in shown.items:
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
    return shown.message(name, {"lines": lines, "count": len(listed), "days": UPCOMING_DAYS}, rows)


def session_button_with(appointment: Appointment, label: Text) -> Button:
    """A button opening the session's card."""
    return Button(
        label, callbacks.session(appointment.id, appointment.starts_at, SessionAction.SHOW)
    )


async def client_list(ctx: UseCaseContext, *, actor: int, page: int = 0) -> OutgoingMessage:
    """``/clients``: every client with their state and next session, a button opening
    each one's card, and Book beside the active ones; :data:`PER_PAGE` a page."""
    async with ctx.uow() as uow:
        practitioner = await require_practitioner(uow, ctx.clock, actor, "client.list")
        everyone = await uow.clients.for_practitioner(practitioner.id)
        if not everyone:
            return OutgoingMessage(Text("clients.none"))
        shown = _Page.of(everyone, page)
        ahead = {c.id: a for c, a in await sessions_ahead(uow, shown.items, ctx.clock.now())}
    lines = []
    for client in shown.items:
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
    rows = [_client_row(c) for c in shown.items]
    return shown.message(ListName.CLIENTS, {"lines": lines, "count": len(everyone)}, rows)


def _client_row(client: Client) -> tuple[Button, ...]:
    """The client's name opening their card, and Book beside it while they are active."""
    card = Button(Text("button.client", {"client": client.full_name}), callbacks.card(client.id))
    if client.status is not ClientStatus.ACTIVE:
        return (card,)
    return card, Button(
        Text("button.book_client", {"client": client.full_name}), callbacks.book(client.id)
    )


async def list_page(
    ctx: UseCaseContext, *, actor: int, name: ListName, page: int
) -> OutgoingMessage:
    """Page ``page`` of one of the practitioner's lists (Back and More under it)."""
    match name:
        case ListName.CLIENTS:
            return await client_list(ctx, actor=actor, page=page)
        case ListName.TODAY:
            return await sessions_today(ctx, actor=actor, page=page)
        case ListName.UPCOMING:
            return await sessions_upcoming(ctx, actor=actor, page=page)
