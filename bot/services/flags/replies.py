"""The practitioner's Reply to a flag: their next text goes to the client.

Reply keeps no state in the process. Pressing Reply writes ``flag.reply_requested`` to the
audit log (ids only); the practitioner's next text within ``REPLY_WINDOW`` is the reply,
and ``flag.reply_sent`` (or ``flag.reply_ended``) closes it. So a pending reply survives a
restart and works when another bot process takes the next update (PostgreSQL, webhooks).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.domain.actor import Actor
from bot.domain.models import (
    Client,
    ClientStatus,
    Flag,
    OutboxKind,
    OutboxMessage,
    Practitioner,
    TriageLevel,
)
from bot.domain.outgoing import OutgoingMessage, Recipient, Text
from bot.domain.text_params import when
from bot.ports import Clock, UnitOfWork
from bot.services.access import Refused, require_practitioner
from bot.services.context import UseCaseContext
from bot.services.delivery.outbox import outbox_row
from bot.services.flags import views
from bot.services.flags.lifecycle import own_flag
from bot.services.policy import Policy
from bot.services.sessions.views import practitioner_name

_log = logging.getLogger(__name__)

REPLY_PRIORITY = 80
REPLY_WINDOW = timedelta(minutes=30)
"""How long after pressing Reply the practitioner's next text is taken as the reply."""
REPLY_LIMIT = 3500
"""The longest reply passed on, in UTF-16 units: with the greeting it fits one message."""

REPLY_REQUESTED = "flag.reply_requested"
REPLY_SENT = "flag.reply_sent"
REPLY_ENDED = "flag.reply_ended"
_REPLY_ACTIONS = frozenset({REPLY_REQUESTED, REPLY_SENT, REPLY_ENDED})


def _reply_problem(client: Client) -> str | None:
    """Why a message cannot reach the client, as a catalog key; ``None`` if it can."""
    if client.status is ClientStatus.STOPPED:
        return "flag.reply_client_stopped"
    if client.status is not ClientStatus.ACTIVE or client.telegram_user_id is None:
        return "flag.reply_client_unreachable"
    return None


async def ask_reply(ctx: UseCaseContext, *, actor: int, flag_id: int) -> OutgoingMessage:
    """Reply: ask the practitioner to write; their next text goes to the client.

    The pending reply is an audit entry (see the module's notes), not process state.
    """
    async with ctx.uow() as uow:
        practitioner = await require_practitioner(uow, ctx.clock, actor, "flag.reply")
        flag, client = await own_flag(uow, ctx.clock, practitioner, flag_id, "flag.reply")
        problem = _reply_problem(client)
        if problem is not None:
            return OutgoingMessage(Text(problem, {"client": client.full_name}))
        await uow.audit.record(
            ctx.clock.now(),
            REPLY_REQUESTED,
            actor_telegram_id=actor,
            subject_type="flag",
            subject_id=flag.id,
            detail={"client_id": client.id},
            client_id=client.id,
        )
        await uow.commit()
    return OutgoingMessage(
        Text(
            "flag.reply_prompt",
            {"client": client.full_name, "minutes": int(REPLY_WINDOW.total_seconds() // 60)},
        )
    )


async def _pending_reply(uow: UnitOfWork, actor: int, now: datetime) -> int | None:
    """The flag this practitioner pressed Reply on within ``REPLY_WINDOW`` and has not
    answered yet: their latest Reply entry in the audit log, looked up directly (however
    many entries others add meanwhile); ``None`` if there is none."""
    entry = await uow.audit.latest_by_actor(actor, _REPLY_ACTIONS, now - REPLY_WINDOW)
    if entry is None or entry.action != REPLY_REQUESTED:
        return None
    return entry.subject_id


async def deliver_reply(
    uow: UnitOfWork,
    clock: Clock,
    policy: Policy,
    actor: Actor,
    *,
    text: str,
    message_id: int,
) -> OutgoingMessage | None:
    """Pass a practitioner's text to the client of the flag they pressed Reply on.

    ``None`` when this is not a pending reply (the text is then read as usual). The
    message goes through the outbox (``NOTICE``, high priority; ``message_id`` makes it
    once only). For an urgent flag it goes at once; otherwise the client's quiet hours
    hold it, and the confirmation says when it will arrive. The audit log gets ids only.
    """
    practitioner = actor.practitioner
    if practitioner is None:
        return None
    now = clock.now()
    flag_id = await _pending_reply(uow, actor.telegram_id, now)
    if flag_id is None:
        return None
    if views.utf16_units(text) > REPLY_LIMIT:
        return OutgoingMessage(Text("flag.reply_too_long", {"limit": REPLY_LIMIT}))
    flag = await uow.flags.get(flag_id)
    client = None if flag is None else await uow.clients.get(flag.client_id)
    if flag is None or client is None or flag.practitioner_id != practitioner.id:
        await _end_reply(uow, now, actor.telegram_id, flag_id, "the flag is gone")
        raise Refused(Text("access.not_found"))
    problem = _reply_problem(client)
    if problem is not None or client.telegram_user_id is None:
        await _end_reply(uow, now, actor.telegram_id, flag_id, "the client cannot be reached")
        return OutgoingMessage(
            Text(problem or "flag.reply_client_unreachable", {"client": client.full_name})
        )
    row = await _message_to_client(
        uow,
        policy,
        flag=flag,
        client=client,
        practitioner=practitioner,
        text=text,
        message_id=message_id,
        now=now,
    )
    await uow.audit.record(
        now,
        REPLY_SENT,
        actor_telegram_id=actor.telegram_id,
        subject_type="flag",
        subject_id=flag.id,
        detail={"client_id": client.id, "outbox_id": row.id},
        client_id=client.id,
    )
    await uow.commit()
    _log.info("practitioner %s replied to flag %s (message %s)", practitioner.id, flag.id, row.id)
    if row.due_at > now:
        return OutgoingMessage(
            Text(
                "flag.reply_queued",
                {"client": client.full_name, "when": when(row.due_at, practitioner.timezone)},
            )
        )
    return OutgoingMessage(Text("flag.reply_sent", {"client": client.full_name}))


async def _end_reply(uow: UnitOfWork, now: datetime, actor: int, flag_id: int, reason: str) -> None:
    """Close a pending reply that cannot be delivered, so later texts are read as usual."""
    await uow.audit.record(
        now,
        REPLY_ENDED,
        actor_telegram_id=actor,
        subject_type="flag",
        subject_id=flag_id,
        detail={"reason": reason},
    )
    await uow.commit()


async def _message_to_client(
    uow: UnitOfWork,
    policy: Policy,
    *,
    flag: Flag,
    client: Client,
    practitioner: Practitioner,
    text: str,
    message_id: int,
    now: datetime,
) -> OutboxMessage:
    """The outbox row with the practitioner's words for the client.

    Its key is outside ``escalation_prefix``: acknowledging the flag must not cancel it.
    """
    return await uow.outbox.add(
        outbox_row(
            OutgoingMessage(
                Text(
                    "flag.message", {"practitioner": practitioner_name(practitioner), "words": text}
                )
            ),
            Recipient.client(client),
            kind=OutboxKind.NOTICE,
            dedup_key=f"flag-reply:{flag.id}:{message_id}",
            now=now,
            # The client has just written words of crisis: their practitioner's answer is what
            # they need, whatever the hour. Quiet hours are for routine messages.
            quiet=None if flag.level is TriageLevel.URGENT else policy.quiet,
            priority=REPLY_PRIORITY,
        )
    )
