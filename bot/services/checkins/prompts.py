"""Unanswered check-ins: after several in a row, ask once whether to keep getting them.

"No" pauses check-ins (as ``/pause`` does); "Yes" goes on; silence for
``SILENCE_BEFORE_PAUSING`` after the question pauses them too, with a word to the client.
Any answer to a check-in counts as "yes" (``checkins.replies.log_reply`` clears the
question). ``/resume`` brings check-ins back in every case.

This module imports nothing of the check-in schedule, so the schedule can call
``ask_keep_or_stop`` when it sends a check-in.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from bot.domain.aftercare import UNANSWERED_BEFORE_ASKING, unanswered_streak
from bot.domain.models import Client, ClientStatus, OutboxKind
from bot.domain.outgoing import OutgoingMessage, Recipient, Text
from bot.ports import Clock, UnitOfWork
from bot.services.access import Refused
from bot.services.checkins import views
from bot.services.context import UseCaseContext
from bot.services.delivery.outbox import outbox_row
from bot.services.policy import Policy

ANSWER_GRACE = timedelta(hours=12)
"""A check-in counts as unanswered once it has been out this long (the one just sent
does not count yet)."""
SILENCE_BEFORE_PAUSING = timedelta(days=3)
"""How long a client who was asked may stay silent before check-ins are paused."""
STREAK_LOOKBACK = 30
"""Check-ins read (latest due first) to count the unanswered ones."""


def keep_question_key(client: Client, asked_at_seconds: int) -> str:
    """The outbox key of one "keep getting check-ins?" question."""
    return f"keep-checkins:{client.id}:{asked_at_seconds}"


async def ask_keep_or_stop(uow: UnitOfWork, clock: Clock, policy: Policy, client: Client) -> None:
    """Ask whether to keep getting check-ins, if the client's last ``UNANSWERED_BEFORE_ASKING``
    (or a multiple: after a "yes", three more) sent check-ins went unanswered and no
    question is open. Call it when a check-in is sent; the caller commits."""
    if (
        client.status is not ClientStatus.ACTIVE
        or client.telegram_user_id is None
        or client.checkins_paused
        or client.checkin_prompt_at is not None
    ):
        return
    now = clock.now()
    checkins = [
        c
        for c in await uow.checkins.for_client(client.id, limit=STREAK_LOOKBACK)
        if c.due_at <= now - ANSWER_GRACE
    ]
    streak = unanswered_streak(checkins)
    if streak < UNANSWERED_BEFORE_ASKING or streak % UNANSWERED_BEFORE_ASKING:
        return
    await uow.outbox.add(
        outbox_row(
            views.keep_question(),
            Recipient.client(client),
            kind=OutboxKind.CHECKIN,  # /pause and /stop call it off with the check-ins
            dedup_key=keep_question_key(client, int(now.timestamp())),
            now=now,
            quiet=policy.quiet,
        )
    )
    await uow.clients.update(dataclasses.replace(client, checkin_prompt_at=now))
    await uow.audit.record(
        now,
        "checkin.keep_asked",
        subject_type="client",
        subject_id=client.id,
        detail={"unanswered": streak},
        client_id=client.id,
    )


async def answer_keep_checkins(ctx: UseCaseContext, *, actor: int, keep: bool) -> OutgoingMessage:
    """Yes (go on) or No (pause check-ins, cancel those queued) to "keep getting them?".

    Applies to each of the caller's joined client records; pressing again changes nothing.
    """
    async with ctx.uow() as uow:
        clients = await uow.clients.by_telegram_id(actor)
        active = [c for c in clients if c.status is ClientStatus.ACTIVE]
        if not active:
            raise Refused(Text("checkin.client_stopped" if clients else "client.not_joined"))
        now = ctx.clock.now()
        changed = []
        for client in active:
            if keep and client.checkin_prompt_at is not None:
                changed.append(
                    await uow.clients.update(dataclasses.replace(client, checkin_prompt_at=None))
                )
            elif not keep and not client.checkins_paused:
                changed.append(await _pause(uow, client, "the client chose to stop check-ins"))
        if changed:
            await uow.audit.record(
                now,
                "checkin.keep" if keep else "client.paused",
                actor_telegram_id=actor,
                detail={"clients": [c.id for c in changed], "by": "keep_question"},
                client_id=changed[0].id,  # erasing reaches every record of one person
            )
            await uow.commit()
    return OutgoingMessage(Text("checkin.keep_yes" if keep else "checkin.keep_no"))


async def _pause(uow: UnitOfWork, client: Client, reason: str) -> Client:
    """Pause the client's check-ins and cancel the queued ones (reminders go on)."""
    paused = await uow.clients.update(
        dataclasses.replace(client, checkins_paused=True, checkin_prompt_at=None)
    )
    await uow.outbox.cancel_pending(client_id=client.id, kinds=(OutboxKind.CHECKIN,), reason=reason)
    return paused


async def pause_silent_clients(uow: UnitOfWork, clock: Clock, policy: Policy) -> list[Client]:
    """Pause check-ins of clients asked "keep getting them?" ``SILENCE_BEFORE_PAUSING`` ago
    or more who have answered nothing since, and tell each; returns them. For the periodic
    job; idempotent; the caller commits."""
    now = clock.now()
    paused = []
    for client in await uow.clients.asked_to_keep_before(now - SILENCE_BEFORE_PAUSING):
        asked = client.checkin_prompt_at
        if asked is None:  # the query asks for a time; a type checker cannot know
            continue
        paused.append(await _pause(uow, client, "no answer to keep getting check-ins"))
        await uow.outbox.add(
            outbox_row(
                OutgoingMessage(Text("checkin.paused_silent")),
                Recipient.client(client),
                kind=OutboxKind.NOTICE,
                dedup_key=f"checkins-paused:{client.id}:{int(asked.timestamp())}",
                now=now,
                quiet=policy.quiet,
            )
        )
        await uow.audit.record(
            now,
            "client.paused",
            subject_type="client",
            subject_id=client.id,
            detail={"by": "silence", "asked_at": asked.isoformat()},
            client_id=client.id,
        )
    return paused
