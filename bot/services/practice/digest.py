"""The morning digest: every answer a practitioner's clients gave since the morning
before, calm ones included, one line each, and the check-ins that went unanswered, with a
button to each client's card. Nothing a client writes goes unseen for more than a day.

The window runs from one morning's ``MORNING_FROM`` to the next, local time, so each
answer falls in exactly one digest. Three queries per practitioner, whatever the number
of clients.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain import callbacks
from bot.domain.models import CheckIn, CheckInState, Client, Practitioner, Reply
from bot.domain.outgoing import Button, OutgoingMessage, Text
from bot.domain.text_params import embed, when
from bot.domain.trend import Answers
from bot.ports import UnitOfWork
from bot.services.practice.answer_lines import answer_facts

LINES_PER_MESSAGE = 15
"""Digest lines in one message: fifteen of the longest stay well within Telegram's 4096."""
BUTTONS_PER_ROW = 2
_LOOK_BACK = timedelta(days=14)
"""How far back the score before an answer is looked for (its change is shown)."""


@dataclass(frozen=True, slots=True)
class _Answer:
    """One check-in's answers (or one message's), as they stood at the end of the window."""

    client: Client
    checkin: CheckIn | None
    answers: Answers
    first_received: datetime
    previous_score: int | None


def window(day: date, timezone: str, morning: time) -> tuple[datetime, datetime]:
    """From the morning before ``day`` to the morning of ``day``, local time."""
    zone = ZoneInfo(timezone)
    return (
        datetime.combine(day - timedelta(days=1), morning, zone),
        datetime.combine(day, morning, zone),
    )


async def digest_messages(
    uow: UnitOfWork, practitioner: Practitioner, start: datetime, end: datetime
) -> list[OutgoingMessage]:
    """The digest for ``[start, end)`` in messages of :data:`LINES_PER_MESSAGE` lines;
    none if no client was asked or answered anything then."""
    replies = await uow.replies.received_between(practitioner.id, start - _LOOK_BACK, end)
    checkins = await uow.checkins.due_between(practitioner.id, start - _LOOK_BACK, end)
    clients = {c.id: c for c in await uow.clients.for_practitioner(practitioner.id)}
    answered = _answers(replies, {c.id: c for c in checkins}, clients, start)
    unanswered = [
        c
        for c in checkins
        if c.state is CheckInState.SENT and start <= c.due_at < end and c.client_id in clients
    ]
    zone = practitioner.timezone
    entries: list[tuple[Client, dict[str, object]]] = [
        (a.client, _answer_line(a)) for a in answered
    ]
    entries += [
        (clients[c.client_id], _unanswered_line(clients[c.client_id], c)) for c in unanswered
    ]
    if not entries:
        return []
    pages = [
        entries[at : at + LINES_PER_MESSAGE] for at in range(0, len(entries), LINES_PER_MESSAGE)
    ]
    return [
        _message(
            page,
            number=number,
            pages=len(pages),
            answered=len(answered),
            unanswered=len(unanswered),
            since=start,
            timezone=zone,
        )
        for number, page in enumerate(pages, start=1)
    ]


def _answers(
    replies: Sequence[Reply],
    checkins: dict[int, CheckIn],
    clients: dict[int, Client],
    start: datetime,
) -> list[_Answer]:
    """The answers received since ``start``, grouped by check-in (or message), in the
    order they first came, each with the client's score before it."""
    groups: dict[tuple[int, str, int], list[Reply]] = {}
    scored: dict[int, list[Reply]] = {}
    for reply in replies:  # oldest first
        if reply.score is not None:
            scored.setdefault(reply.client_id, []).append(reply)
        if reply.checkin_id is not None:
            key = (reply.client_id, "checkin", reply.checkin_id)
        else:
            key = (reply.client_id, "message", reply.telegram_message_id or -reply.id)
        groups.setdefault(key, []).append(reply)
    found = []
    for (client_id, kind, ref), group in groups.items():
        recent = [r for r in group if r.received_at >= start]
        client = clients.get(client_id)
        if not recent or client is None:
            continue
        first = recent[0].received_at
        earlier_scores = [
            r.score
            for r in scored.get(client_id, ())
            if r.received_at < first and (kind != "checkin" or r.checkin_id != ref)
        ]
        found.append(
            _Answer(
                client,
                checkins.get(ref) if kind == "checkin" else None,
                Answers.of(group),
                first,
                earlier_scores[-1] if earlier_scores else None,
            )
        )
    return sorted(found, key=lambda a: (a.client.full_name.casefold(), a.first_received))


def _answer_line(answer: _Answer) -> dict[str, object]:
    facts = answer_facts(answer.answers, answer.previous_score, with_areas=False)
    day = (
        embed(Text("digest.day", {"number": answer.checkin.day}))
        if answer.checkin is not None
        else embed(Text("digest.own_words"))
    )
    return embed(Text("digest.line", {"client": answer.client.full_name, "day": day, **facts}))


def _unanswered_line(client: Client, checkin: CheckIn) -> dict[str, object]:
    return embed(Text("digest.unanswered", {"client": client.full_name, "number": checkin.day}))


def _message(
    entries: Sequence[tuple[Client, dict[str, object]]],
    *,
    number: int,
    pages: int,
    answered: int,
    unanswered: int,
    since: datetime,
    timezone: str,
) -> OutgoingMessage:
    clients = list({client.id: client for client, _ in entries}.values())
    buttons = [
        Button(Text("button.client", {"client": c.full_name}), callbacks.card(c.id))
        for c in clients
    ]
    rows = tuple(
        tuple(buttons[at : at + BUTTONS_PER_ROW]) for at in range(0, len(buttons), BUTTONS_PER_ROW)
    )
    text = Text(
        "digest.digest" if pages == 1 else "digest.digest_page",
        {
            "since": when(since, timezone, "short_datetime"),
            "counts": embed(
                Text(
                    "digest.counts" if unanswered else "digest.counts_all",
                    {"answered": answered, "unanswered": unanswered},
                )
            ),
            "page": number,
            "pages": pages,
            "lines": [line for _, line in entries],
        },
    )
    return OutgoingMessage(text, rows)
