"""Who may touch what: every use case checks the caller here, and refusals are audited.

A stranger's refusals (someone who is neither a practitioner nor a client) are counted
instead: anyone can send commands, and one audit row each would let them grow the log
without bound.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from bot.domain.models import Appointment, Client, Practitioner
from bot.domain.outgoing import Text
from bot.ports import Clock, UnitOfWork

_log = logging.getLogger(__name__)

STRANGER_REFUSALS: Counter[str] = Counter()
"""Refused attempts by strangers since start-up, by action."""
_REPORT_EVERY = 100


class Refused(Exception):
    """The caller may not do this, or it is no longer possible; ``answer`` says so kindly."""

    def __init__(self, answer: Text) -> None:
        super().__init__(answer.key)
        self.answer = answer


async def refuse(
    uow: UnitOfWork,
    clock: Clock,
    *,
    actor: int,
    action: str,
    reason: str,
    answer: Text,
    subject_type: str | None = None,
    subject_id: int | None = None,
    **detail: Any,
) -> Refused:
    """Record a refused attempt in the audit log (committed now) and build the exception.

    The caller raises it: ``raise await refuse(...)``. The audit entry holds ids and
    reasons only; when the caller is a client it names them, so their erasure reaches it.
    """
    own = None if subject_type != "client" else subject_id
    callers = await uow.clients.by_telegram_id(actor)
    await uow.audit.record(
        clock.now(),
        "access.refused",
        actor_telegram_id=actor,
        subject_type=subject_type,
        subject_id=subject_id,
        detail={"action": action, "reason": reason, **detail},
        client_id=callers[0].id if callers else own,
    )
    await uow.commit()
    return Refused(answer)


async def require_practitioner(
    uow: UnitOfWork, clock: Clock, actor: int, action: str
) -> Practitioner:
    """The practitioner using this Telegram account, or a refusal."""
    practitioner = await uow.practitioners.by_telegram_id(actor)
    if practitioner is None and not await uow.clients.by_telegram_id(actor):
        raise _stranger_refused(action, Text("access.practitioners_only"))
    if practitioner is None:
        raise await refuse(
            uow,
            clock,
            actor=actor,
            action=action,
            reason="not a practitioner",
            answer=Text("access.practitioners_only"),
        )
    return practitioner


async def own_client(
    uow: UnitOfWork, clock: Clock, practitioner: Practitioner, client_id: int, action: str
) -> Client:
    """The practitioner's own client with this id, or a refusal (audited)."""
    client = await uow.clients.get(client_id)
    if client is None or client.practitioner_id != practitioner.id:
        raise await refuse(
            uow,
            clock,
            actor=practitioner.telegram_user_id,
            action=action,
            reason="not their client" if client else "no such client",
            answer=Text("access.not_found"),
            subject_type="client",
            subject_id=client_id,
        )
    return client


async def own_appointment(
    uow: UnitOfWork, clock: Clock, practitioner: Practitioner, appointment_id: int, action: str
) -> Appointment:
    """The practitioner's own session with this id, or a refusal (audited)."""
    appointment = await uow.appointments.get(appointment_id)
    if appointment is None or appointment.practitioner_id != practitioner.id:
        raise await refuse(
            uow,
            clock,
            actor=practitioner.telegram_user_id,
            action=action,
            reason="not their session" if appointment else "no such session",
            answer=Text("access.not_found"),
            subject_type="appointment",
            subject_id=appointment_id,
        )
    return appointment


async def clients_appointment(
    uow: UnitOfWork, clock: Clock, actor: int, appointment_id: int, action: str
) -> tuple[Appointment, Client]:
    """A session of the calling client, with their client record, or a refusal (audited)."""
    appointment = await uow.appointments.get(appointment_id)
    client = None if appointment is None else await uow.clients.get(appointment.client_id)
    if appointment is None or client is None or client.telegram_user_id != actor:
        raise await refuse(
            uow,
            clock,
            actor=actor,
            action=action,
            reason="not their session" if appointment else "no such session",
            answer=Text("access.not_found"),
            subject_type="appointment",
            subject_id=appointment_id,
        )
    return appointment, client


def _stranger_refused(action: str, answer: Text) -> Refused:
    STRANGER_REFUSALS[action] += 1
    total = STRANGER_REFUSALS.total()
    if total % _REPORT_EVERY == 1:
        _log.info(
            "strangers' refused attempts since start-up: %s (%s)", total, dict(STRANGER_REFUSALS)
        )
    return Refused(answer)
