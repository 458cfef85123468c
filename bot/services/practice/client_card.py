"""A practitioner's card for one client (``/client <name>``, or a name under ``/clients``):
status, next session, sessions so far and the last check-ins one line each, with the
buttons Chart, History, Export and Book.

Only the client's own practitioner sees it; every view is written to the audit log. A
client who stopped all messages keeps their card (its status says so) but their answers
are no longer shown, charted or exported.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.domain import booking_input, callbacks
from bot.domain.callbacks import CardAction
from bot.domain.models import (
    AppointmentStatus,
    CheckIn,
    CheckInState,
    Client,
    ClientStatus,
    Practitioner,
    Reply,
)
from bot.domain.outgoing import Button, OutgoingMessage, Text
from bot.domain.text_params import embed, when
from bot.domain.trend import Answers
from bot.ports import Clock, UnitOfWork
from bot.services.access import own_client, refuse, require_practitioner
from bot.services.context import UseCaseContext
from bot.services.flags.lifecycle import history_entries
from bot.services.practice.answer_lines import answer_facts
from bot.services.sessions.booking import pick_client
from bot.services.sessions.calendar import sessions_ahead

CARD_CHECKINS = 5
HISTORY_CHECKINS = 10
_LOOK_BACK_CHECKINS = 40
"""Check-ins read for a card: the ones shown and enough before them for each change."""
_ASKED = frozenset({CheckInState.SENT, CheckInState.ANSWERED})


@dataclass(frozen=True, slots=True)
class AskedCheckIn:
    """A check-in the client was asked, their answers, and the score before it."""

    checkin: CheckIn
    answers: Answers
    answered: bool
    previous_score: int | None


async def card_by_name(ctx: UseCaseContext, *, actor: int, query: str) -> OutgoingMessage:
    """``/client <name>``: the card, or a list to pick from when the name fits several or
    none exactly (matched as ``/book`` matches)."""
    async with ctx.uow() as uow:
        practitioner = await require_practitioner(uow, ctx.clock, actor, "client.card")
        if not query.strip():
            return OutgoingMessage(Text("card.usage"))
        clients = await uow.clients.for_practitioner(practitioner.id)
        matches = booking_input.match_by_name(query, clients, lambda c: c.full_name)
        if len(matches) != 1:
            return pick_client(matches, query, lambda client: callbacks.card(client.id))
        return await _card(uow, ctx.clock, practitioner, matches[0])


async def card(ctx: UseCaseContext, *, actor: int, client_id: int) -> OutgoingMessage:
    """The card of the practitioner's client ``client_id`` (a button naming them)."""
    async with ctx.uow() as uow:
        practitioner = await require_practitioner(uow, ctx.clock, actor, "client.card")
        client = await own_client(uow, ctx.clock, practitioner, client_id, "client.card")
        return await _card(uow, ctx.clock, practitioner, client)


async def history(ctx: UseCaseContext, *, actor: int, client_id: int) -> OutgoingMessage:
    """History on the card: the last check-ins that were due, newest first, with every
    answer in full."""
    async with ctx.uow() as uow:
        practitioner = await require_practitioner(uow, ctx.clock, actor, "client.history")
        client = await readable_client(uow, ctx.clock, practitioner, client_id, "client.history")
        now = ctx.clock.now()
        due, entries = await history_entries(
            uow, client.id, practitioner.timezone, now, HISTORY_CHECKINS
        )
        await audit_view(uow, now, actor, client, "client.history_viewed", checkins=len(due))
        await uow.commit()
    back = ((Button(Text("card.button_back"), callbacks.card(client.id, CardAction.BACK)),),)
    if not entries:
        return OutgoingMessage(Text("flag.history_none", {"client": client.full_name}), back)
    return OutgoingMessage(
        Text("flag.history", {"client": client.full_name, "count": len(entries), "lines": entries}),
        back,
    )


async def readable_client(
    uow: UnitOfWork, clock: Clock, practitioner: Practitioner, client_id: int, action: str
) -> Client:
    """The practitioner's own client whose answers may be shown, or a refusal (audited):
    someone else's client, an erased one, or one who stopped all messages."""
    client = await own_client(uow, clock, practitioner, client_id, action)
    if client.status is ClientStatus.STOPPED:
        raise await refuse(
            uow,
            clock,
            actor=practitioner.telegram_user_id,
            action=action,
            reason="client stopped",
            answer=Text("card.client_stopped", {"client": client.full_name}),
            subject_type="client",
            subject_id=client.id,
        )
    return client


async def asked_checkins(
    uow: UnitOfWork, client_id: int, now: datetime, limit: int
) -> list[AskedCheckIn]:
    """The client's last ``limit`` check-ins that reached them, newest first."""
    recent = await uow.checkins.for_client(client_id, limit=_LOOK_BACK_CHECKINS)
    asked = sorted(
        (c for c in recent if c.state in _ASKED and c.due_at <= now),
        key=lambda c: (c.due_at, c.id),
    )
    replies = await uow.replies.for_client(client_id, limit=_LOOK_BACK_CHECKINS * 8)
    by_checkin: dict[int, list[Reply]] = {}
    for reply in sorted(replies, key=lambda r: (r.received_at, r.version, r.id)):
        if reply.checkin_id is not None:
            by_checkin.setdefault(reply.checkin_id, []).append(reply)
    found, previous = [], None
    for checkin in asked:
        theirs = by_checkin.get(checkin.id, [])
        answers = Answers.of(theirs)
        found.append(AskedCheckIn(checkin, answers, bool(theirs), previous))
        if answers.score is not None:
            previous = answers.score
    return found[::-1][:limit]


async def _card(
    uow: UnitOfWork, clock: Clock, practitioner: Practitioner, client: Client
) -> OutgoingMessage:
    now = clock.now()
    zone = practitioner.timezone
    sessions = await uow.appointments.for_client(client.id)
    held = sum(1 for s in sessions if s.status is AppointmentStatus.COMPLETED)
    ahead = await sessions_ahead(uow, [client], now)
    shown = client.status is not ClientStatus.STOPPED
    lines = [
        _line(asked, zone) for asked in await asked_checkins(uow, client.id, now, CARD_CHECKINS)
    ]
    await audit_view(uow, now, practitioner.telegram_user_id, client, "client.card_viewed")
    await uow.commit()
    if not shown:
        checkins = embed(Text("card.answers_hidden"))
    elif lines:
        checkins = embed(Text("card.checkins", {"count": len(lines), "lines": lines}))
    else:
        checkins = embed(Text("card.no_checkins"))
    next_session = (
        embed(Text("card.next", {"when": when(ahead[0][1].starts_at, zone)}))
        if ahead
        else embed(Text("card.no_next"))
    )
    text = Text(
        "card.card",
        {
            "client": client.full_name,
            "status": embed(Text(f"client_status.{client.status}")),
            "paused": embed(Text("card.paused")) if client.checkins_paused and shown else "",
            "sessions": embed(
                Text("card.sessions", {"count": held}) if held else Text("card.sessions_none")
            ),
            "next": next_session,
            "checkins": checkins,
        },
    )
    return OutgoingMessage(text, _buttons(client))


def _line(asked: AskedCheckIn, zone: str) -> dict[str, object]:
    checkin = asked.checkin
    day = when(checkin.due_at, zone, "short_date")
    if not asked.answered:
        return embed(Text("card.unanswered", {"day": day, "number": checkin.day}))
    facts = answer_facts(asked.answers, asked.previous_score)
    return embed(Text("card.line", {"day": day, "number": checkin.day, **facts}))


def _buttons(client: Client) -> tuple[tuple[Button, ...], ...]:
    rows: list[tuple[Button, ...]] = []
    if client.status is not ClientStatus.STOPPED:
        rows.append(
            (
                Button(Text("card.button_chart"), callbacks.card(client.id, CardAction.CHART)),
                Button(Text("card.button_history"), callbacks.card(client.id, CardAction.HISTORY)),
            )
        )
        export = Button(Text("card.button_export"), callbacks.card(client.id, CardAction.EXPORT))
        if client.status is ClientStatus.ACTIVE:
            rows.append((export, Button(Text("card.button_book"), callbacks.book(client.id))))
        else:
            rows.append((export,))
    return tuple(rows)


async def audit_view(
    uow: UnitOfWork,
    now: datetime,
    actor: int | None,
    client: Client,
    action: str,
    **detail: object,
) -> None:
    """One audit entry: ``actor`` (``None``: an operator) saw or took the client's record."""
    await uow.audit.record(
        now,
        action,
        actor_telegram_id=actor,
        subject_type="client",
        subject_id=client.id,
        detail=dict(detail),
        client_id=client.id,
    )
