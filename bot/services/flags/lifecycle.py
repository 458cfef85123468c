"""Passing a worrying reply on: flags, their alerts and escalation, and the practitioner's
Acknowledge and History and ``/flags``.

A ``concern`` or ``urgent`` reply becomes a flag, open until its practitioner acknowledges
it. The alert is an outbox row of kind ``FLAG_ALERT``, which quiet hours never hold. An
urgent flag also gets, in the same transaction, a repeat alert after 15 minutes and (if
the operator named one) an alert to a backup contact after 30; acknowledging cancels
both. A concern left open for a day shows up again in the practitioner's morning list
(``bot.services.practice.morning_list``); the Reply button is ``bot.services.flags.replies``.

Alert rows carry the practitioner's id but no client id on purpose: a client's ``/stop``
(or a blocked bot) cancels what is pending *for the client*, and must never silence an
alert about them to their practitioner.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from bot.domain.models import (
    CheckIn,
    Client,
    Flag,
    FlagState,
    OutboxKind,
    OutboxMessage,
    Practitioner,
    Reply,
    TriageLevel,
)
from bot.domain.outgoing import OutgoingMessage, Recipient, Text
from bot.domain.text_params import embed, when
from bot.domain.triage import level_rank
from bot.ports import Clock, UnitOfWork
from bot.services.access import refuse, require_practitioner
from bot.services.context import UseCaseContext
from bot.services.delivery.outbox import outbox_row
from bot.services.flags import views
from bot.services.policy import Policy

_log = logging.getLogger(__name__)

PRIORITY = {TriageLevel.URGENT: 100, TriageLevel.CONCERN: 50}
"""Outbox priority of a flag's alerts: they go before anything routine that is due."""
ALERT_AGAIN_AFTER = timedelta(minutes=15)
BACKUP_AFTER = timedelta(minutes=30)

HISTORY_CHECKINS = 5
LIST_LIMIT = 10
"""Flags shown in ``/flags`` and the morning list (each with a row of buttons)."""


def escalation_prefix(flag_id: int) -> str:
    """The dedup-key prefix of every alert about one flag (cancelled on Acknowledge)."""
    return f"flag:{flag_id}:"


# --- raising a flag -----------------------------------------------------------------------------


async def _more_words(
    alerts: _Alerts, client: Client, flag: Flag, reply: Reply, words: str
) -> None:
    """Send the practitioner the client's words about a flag that is already open."""
    alert = views.alert_text(
        client, flag.level, flag.reasons, score=None, previous_score=None, change=None, words=words
    )
    message = OutgoingMessage(alert, views.flag_buttons(flag.id))
    await alerts.add(message, f"{escalation_prefix(flag.id)}words:{reply.id}", alerts.now)


async def raise_flag(
    uow: UnitOfWork,
    clock: Clock,
    policy: Policy,
    *,
    client: Client,
    practitioner: Practitioner,
    reply: Reply,
    score: int | None,
    previous_score: int | None,
    change: str | None,
) -> Flag | None:
    """Store a flag for a worrying reply (stored, with its triage level and reasons) and
    schedule its alerts, in the caller's transaction.

    Returns ``None`` for level ``none``, or when an open flag for the same client and
    check-in already stands at this level or higher (its practitioner then gets the new
    words, if any, in an alert of their own); a higher level raises a new flag. The
    reply's words are quoted in the practitioner's alerts only; the audit log and the logs
    get ids and levels. ``score``, ``previous_score`` and ``change`` are the check-in's
    answers the alert sums up. The caller commits.
    """
    checkin_id, level, reasons = reply.checkin_id, reply.triage_level, reply.triage_reasons
    words = reply.text
    if level is TriageLevel.NONE:
        return None
    # Two replies to one check-in at once must not raise two flags: their practitioner's
    # row is held until the caller commits (PostgreSQL; SQLite has one writer anyway).
    await uow.practitioners.lock(practitioner.id)
    standing = [
        f
        for f in await uow.flags.open_for_practitioner(practitioner.id)
        if f.client_id == client.id and f.checkin_id == checkin_id
    ]
    covering = [f for f in standing if level_rank(f.level) >= level_rank(level)]
    if covering:
        if words and reply.id != covering[-1].reply_id:
            # The flag was raised by a tap; the words that followed must reach them too.
            flag = covering[-1]
            alerts = _Alerts(uow, policy, practitioner, flag.level, clock.now(), client.id)
            await _more_words(alerts, client, flag, reply, words)
        return None
    now = clock.now()
    flag = await uow.flags.add(
        Flag(
            id=0,
            reply_id=reply.id,
            client_id=client.id,
            practitioner_id=practitioner.id,
            level=level,
            reasons=tuple(reasons),
            state=FlagState.OPEN,
            created_at=now,
            alerts_sent=1,
            checkin_id=checkin_id,
        )
    )
    alert = views.alert_text(
        client,
        level,
        reasons,
        score=score,
        previous_score=previous_score,
        change=change,
        words=words,
    )
    buttons = views.flag_buttons(flag.id)
    prefix = escalation_prefix(flag.id)
    alerts = _Alerts(uow, policy, practitioner, level, now, client.id)
    await alerts.add(OutgoingMessage(alert, buttons), f"{prefix}alert", now)
    escalations = []
    if level is TriageLevel.URGENT:
        again = views.again_text(alert, int(ALERT_AGAIN_AFTER.total_seconds() // 60))
        await alerts.add(OutgoingMessage(again, buttons), f"{prefix}again", now + ALERT_AGAIN_AFTER)
        escalations.append("again")
        backup = policy.backup_contact_chat_id
        if backup is not None and backup != practitioner.telegram_user_id:
            text = views.backup_text(
                practitioner.display_name,
                client,
                level,
                reasons,
                int(BACKUP_AFTER.total_seconds() // 60),
            )
            await alerts.add(
                OutgoingMessage(text), f"{prefix}backup", now + BACKUP_AFTER, chat_id=backup
            )
            escalations.append("backup")
    await uow.audit.record(
        now,
        "flag.raised",
        client_id=client.id,
        subject_type="flag",
        subject_id=flag.id,
        detail={
            "client_id": client.id,
            "practitioner_id": practitioner.id,
            "checkin_id": checkin_id,
            "reply_id": reply.id,
            "level": str(level),
            "escalations": escalations,
        },
    )
    _log.info(
        "flag %s raised: level=%s client=%s practitioner=%s escalations=%s",
        flag.id,
        level,
        client.id,
        practitioner.id,
        ",".join(escalations) or "none",
    )
    return flag


@dataclasses.dataclass(frozen=True, slots=True)
class _Alerts:
    """Schedules the alerts about one flag: ``FLAG_ALERT`` rows, in the practitioner's
    language, never held by quiet hours."""

    uow: UnitOfWork
    policy: Policy
    practitioner: Practitioner
    level: TriageLevel
    now: datetime
    client_id: int
    """The client the alerts quote."""

    async def add(
        self,
        message: OutgoingMessage,
        dedup_key: str,
        due_at: datetime,
        *,
        chat_id: int | None = None,
    ) -> OutboxMessage:
        return await self.uow.outbox.add(
            outbox_row(
                message,
                Recipient.practitioner(self.practitioner, chat_id=chat_id),
                kind=OutboxKind.FLAG_ALERT,
                dedup_key=dedup_key,
                now=self.now,
                quiet=self.policy.quiet,
                due_at=due_at,
                priority=PRIORITY[self.level],
                about_client_id=self.client_id,
            )
        )


# --- the practitioner's buttons -----------------------------------------------------------------


async def own_flag(
    uow: UnitOfWork, clock: Clock, practitioner: Practitioner, flag_id: int, action: str
) -> tuple[Flag, Client]:
    """The practitioner's own flag and its client, or a refusal (audited)."""
    flag = await uow.flags.get(flag_id)
    client = None if flag is None else await uow.clients.get(flag.client_id)
    if flag is None or client is None or flag.practitioner_id != practitioner.id:
        raise await refuse(
            uow,
            clock,
            actor=practitioner.telegram_user_id,
            action=action,
            reason="not their flag" if flag else "no such flag",
            answer=Text("access.not_found"),
            subject_type="flag",
            subject_id=flag_id,
        )
    return flag, client


async def acknowledge(ctx: UseCaseContext, *, actor: int, flag_id: int) -> OutgoingMessage:
    """Acknowledge: the flag is seen; its repeat and backup alerts are called off.

    Pressing it again changes nothing and says when it was acknowledged.
    """
    async with ctx.uow() as uow:
        practitioner = await require_practitioner(uow, ctx.clock, actor, "flag.acknowledge")
        await uow.practitioners.lock(practitioner.id)  # two presses at once: one acknowledges
        flag, client = await own_flag(uow, ctx.clock, practitioner, flag_id, "flag.acknowledge")
        buttons = views.flag_buttons(flag.id, acknowledged=True)
        if flag.state is FlagState.ACKNOWLEDGED and flag.acknowledged_at is not None:
            return OutgoingMessage(
                Text(
                    "flag.already_acknowledged",
                    {
                        "client": client.full_name,
                        "when": when(flag.acknowledged_at, practitioner.timezone, "short_datetime"),
                    },
                ),
                buttons,
            )
        now = ctx.clock.now()
        await uow.flags.update(
            dataclasses.replace(flag, state=FlagState.ACKNOWLEDGED, acknowledged_at=now)
        )
        cancelled = await uow.outbox.cancel_pending(
            dedup_prefix=escalation_prefix(flag.id),
            kinds=(OutboxKind.FLAG_ALERT,),
            reason="the practitioner acknowledged the flag",
        )
        await uow.audit.record(
            now,
            "flag.acknowledged",
            actor_telegram_id=actor,
            subject_type="flag",
            subject_id=flag.id,
            detail={"client_id": client.id, "level": str(flag.level), "cancelled": cancelled},
            client_id=client.id,
        )
        await uow.commit()
    _log.info("flag %s acknowledged; %s pending alert(s) cancelled", flag.id, cancelled)
    return OutgoingMessage(
        Text(
            "flag.acknowledged",
            {
                "client": client.full_name,
                "level": views.level_text(flag.level),
                "when": when(now, practitioner.timezone, "time"),
            },
        ),
        buttons,
    )


async def history(ctx: UseCaseContext, *, actor: int, flag_id: int) -> OutgoingMessage:
    """History: the client's last check-ins that were due, newest first, with their answers."""
    async with ctx.uow() as uow:
        practitioner = await require_practitioner(uow, ctx.clock, actor, "flag.history")
        flag, client = await own_flag(uow, ctx.clock, practitioner, flag_id, "flag.history")
        now = ctx.clock.now()
        due, entries = await history_entries(
            uow, client.id, practitioner.timezone, now, HISTORY_CHECKINS
        )
        await uow.audit.record(
            now,
            "flag.history_viewed",
            actor_telegram_id=actor,
            subject_type="flag",
            subject_id=flag.id,
            detail={"client_id": client.id, "checkins": [c.id for c in due]},
            client_id=client.id,
        )
        await uow.commit()
    buttons = views.flag_buttons(flag.id, acknowledged=flag.state is FlagState.ACKNOWLEDGED)
    if not entries:
        return OutgoingMessage(Text("flag.history_none", {"client": client.full_name}), buttons)
    return OutgoingMessage(
        Text(
            "flag.history",
            {"client": client.full_name, "count": len(entries), "lines": entries},
        ),
        buttons,
    )


async def history_entries(
    uow: UnitOfWork, client_id: int, timezone: str, now: datetime, limit: int
) -> tuple[list[CheckIn], list[dict[str, Any]]]:
    """The client's last ``limit`` check-ins that were due, newest first, and their
    history entries (every answer in full)."""
    recent = await uow.checkins.for_client(client_id, limit=limit * 4)
    due = [c for c in recent if c.due_at <= now][:limit]
    entries = [views.history_entry(c, await uow.replies.for_checkin(c.id), timezone) for c in due]
    return due, entries


# --- lists --------------------------------------------------------------------------------------


async def flag_list(
    uow: UnitOfWork, practitioner: Practitioner, flags: Sequence[Flag]
) -> tuple[list[dict[str, object]], views.Rows]:
    """Numbered lines and button rows for up to ``LIST_LIMIT`` flags (oldest first)."""
    lines: list[dict[str, object]] = []
    rows = []
    for flag in flags:
        if len(lines) == LIST_LIMIT:
            break
        client = await uow.clients.get(flag.client_id)
        if client is None:
            continue
        number = len(lines) + 1
        lines.append(views.flag_line(number, flag, client, practitioner.timezone))
        rows.append(views.numbered_buttons(number, flag, client))
    if len(flags) > len(lines):
        lines.append(embed(Text("flag.more_flags", {"count": len(flags) - len(lines)})))
    return lines, tuple(rows)


async def open_flags(ctx: UseCaseContext, *, actor: int) -> OutgoingMessage:
    """``/flags``: the practitioner's open flags, oldest first, each with its buttons."""
    async with ctx.uow() as uow:
        practitioner = await require_practitioner(uow, ctx.clock, actor, "flag.list")
        found = await uow.flags.open_for_practitioner(practitioner.id)
        if not found:
            return OutgoingMessage(Text("flag.none_open"))
        lines, rows = await flag_list(uow, practitioner, found)
    return OutgoingMessage(Text("flag.open_list", {"count": len(found), "lines": lines}), rows)
