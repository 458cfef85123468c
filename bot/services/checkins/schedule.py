"""When a session ends, its check-ins are planned; as their time comes, their state follows.

A check-in is a row in ``checkins`` and, for a client who gets them, an outbox row with
the first question, written in the same transaction. Pausing cancels the outbox rows and
keeps the check-ins; resuming queues again the ones still ahead.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime, timedelta

from bot.domain.aftercare import checkin_times
from bot.domain.models import (
    CheckIn,
    CheckInState,
    CheckInStep,
    Client,
    ClientStatus,
    OutboxKind,
    OutboxState,
)
from bot.domain.outgoing import Recipient
from bot.ports import UnitOfWork
from bot.services.checkins.prompts import ask_keep_or_stop, pause_silent_clients
from bot.services.checkins.views import score_question
from bot.services.context import UseCaseContext
from bot.services.delivery.outbox import outbox_row
from bot.services.policy import Policy
from bot.services.sessions.views import SessionParties

_log = logging.getLogger(__name__)

_OUTBOX_TO_CHECKIN = {
    OutboxState.SENT: CheckInState.SENT,
    OutboxState.UNCERTAIN: CheckInState.SENT,  # it may have arrived; answers are welcome
    OutboxState.SKIPPED_STALE: CheckInState.SKIPPED,
    OutboxState.FAILED: CheckInState.SKIPPED,
    OutboxState.CANCELLED: CheckInState.CANCELLED,
}


def dedup_key(checkin: CheckIn) -> str:
    """The outbox key of a check-in's question."""
    return f"checkin:{checkin.id}"


def gets_checkins(client: Client) -> bool:
    """A joined client who has not stopped, blocked the bot or paused check-ins."""
    return (
        client.status is ClientStatus.ACTIVE
        and client.telegram_user_id is not None
        and not client.checkins_paused
    )


async def queue_checkin(
    uow: UnitOfWork, policy: Policy, checkin: CheckIn, client: Client, now: datetime
) -> bool:
    """Put the check-in's first question in the outbox, if the client gets check-ins and it
    is not too old to send; whether it was queued."""
    expires_at = checkin.due_at + policy.checkin_max_age
    if not gets_checkins(client) or client.telegram_user_id is None or expires_at <= now:
        return False
    await uow.outbox.add(
        outbox_row(
            score_question(checkin.id),
            Recipient.client(client),
            kind=OutboxKind.CHECKIN,
            dedup_key=dedup_key(checkin),
            now=now,
            quiet=policy.quiet,
            due_at=checkin.due_at,
            expires_at=expires_at,
            appointment_id=checkin.appointment_id,
        )
    )
    return True


async def plan_checkins(
    uow: UnitOfWork, policy: Policy, parties: SessionParties, now: datetime
) -> list[CheckIn]:
    """The check-ins after a session that has ended: stored, and queued where they can go."""
    appointment, client = parties.appointment, parties.client
    planned = policy.checkins_for(parties.practitioner)
    ended_at = appointment.starts_at + timedelta(minutes=appointment.duration_minutes)
    checkins = []
    for day, due_at in checkin_times(ended_at, planned.days, planned.at, client.timezone):
        checkin = await uow.checkins.add(
            CheckIn(
                id=0,
                client_id=client.id,
                appointment_id=appointment.id,
                day=day,
                due_at=due_at,
                state=CheckInState.SCHEDULED,
                step=CheckInStep.SCORE,
                created_at=now,
            )
        )
        await queue_checkin(uow, policy, checkin, client, now)
        checkins.append(checkin)
    return checkins


async def complete_ended_sessions(ctx: UseCaseContext) -> int:
    """Mark every open session that has ended completed and plan its check-ins, each in
    a transaction of its own; returns how many."""
    now = ctx.clock.now()
    async with ctx.uow() as uow:
        started = await uow.appointments.open_started_before(now)
    ended = [a for a in started if a.starts_at + timedelta(minutes=a.duration_minutes) <= now]
    completed = 0
    for appointment in ended:
        async with ctx.uow() as uow:
            done = await uow.appointments.mark_completed(appointment.id, now)
            client = await uow.clients.get(appointment.client_id)
            practitioner = await uow.practitioners.get(appointment.practitioner_id)
            if done is None or client is None or practitioner is None:
                continue  # another process completed it, or it changed meanwhile
            checkins = await plan_checkins(
                uow, ctx.policy, SessionParties(done, client, practitioner), now
            )
            await uow.audit.record(
                now,
                "appointment.completed",
                subject_type="appointment",
                subject_id=done.id,
                detail={"client_id": client.id, "checkins": len(checkins)},
                client_id=client.id,
            )
            await uow.commit()
            completed += 1
    if completed:
        _log.info("%d session(s) ended; their check-ins are planned", completed)
    return completed


async def follow_sent_checkins(ctx: UseCaseContext) -> list[CheckIn]:
    """Bring each due check-in's state in line with its question's outbox row; returns
    the ones that went out now. A client whose check-ins keep going unanswered is asked,
    once, whether to go on."""
    now = ctx.clock.now()
    sent: list[CheckIn] = []
    async with ctx.uow() as uow:
        for checkin in await uow.checkins.scheduled_due(now):
            row = await uow.outbox.by_dedup_key(dedup_key(checkin))
            if row is None:
                state = CheckInState.SKIPPED if now >= checkin.due_at + _LONG_AGO else None
            else:
                state = _OUTBOX_TO_CHECKIN.get(row.state)
            if state is None:
                continue  # still on its way, or waiting for a paused client
            updated = await uow.checkins.update(dataclasses.replace(checkin, state=state))
            if state is CheckInState.SENT:
                sent.append(updated)
        for client_id in {c.client_id for c in sent}:
            client = await uow.clients.get(client_id)
            if client is not None:
                await ask_keep_or_stop(uow, ctx.clock, ctx.policy, client)
        await uow.commit()
    return sent


async def pause_silent(ctx: UseCaseContext) -> int:
    """Pause the check-ins of clients who were asked whether to go on and stayed silent."""
    async with ctx.uow() as uow:
        paused = await pause_silent_clients(uow, ctx.clock, ctx.policy)
        await uow.commit()
    return len(paused)


_LONG_AGO = timedelta(days=7)
"""A check-in that never had a question queued (the client paused) counts as skipped
once this old; until then /resume can still send it."""


async def resume_checkins(uow: UnitOfWork, policy: Policy, client: Client, now: datetime) -> int:
    """Queue again the client's check-ins still ahead; returns how many."""
    queued = 0
    for checkin in await uow.checkins.for_client(client.id, limit=50):
        if (
            checkin.state is CheckInState.SCHEDULED
            and checkin.due_at + policy.checkin_max_age > now
        ):
            queued += await queue_checkin(uow, policy, checkin, client, now)
    return queued


async def cancel_checkins(uow: UnitOfWork, appointment_id: int, reason: str) -> int:
    """Cancel a session's check-ins not yet sent (a no-show); returns how many."""
    await uow.outbox.cancel_pending(
        appointment_id=appointment_id, kinds=(OutboxKind.CHECKIN,), reason=reason
    )
    cancelled = 0
    for checkin in await uow.checkins.for_appointment(appointment_id):
        if checkin.state is CheckInState.SCHEDULED:
            await uow.checkins.update(dataclasses.replace(checkin, state=CheckInState.CANCELLED))
            cancelled += 1
    return cancelled
