"""A client's own sessions: confirm, ask to reschedule, cancel, and see the next one.

Each press is checked against the caller and the session as it stands now: a button
from before a move, or on a cancelled or past session, is refused kindly and audited.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from bot.domain import callbacks
from bot.domain.callbacks import SessionAction, SessionPress
from bot.domain.models import Appointment, AppointmentStatus, Client, ClientStatus
from bot.domain.outgoing import OutgoingMessage, Text
from bot.domain.text_params import when
from bot.ports import Clock, UnitOfWork
from bot.services.access import Refused, clients_appointment, refuse
from bot.services.context import UseCaseContext
from bot.services.delivery.outbox import notify_practitioner
from bot.services.policy import Policy
from bot.services.sessions.calendar import OPEN_STATUSES
from bot.services.sessions.reminders import cancel_reminders, refresh_reminders
from bot.services.sessions.views import (
    SessionParties,
    calendar_row,
    client_session_buttons,
    practitioner_name,
    practitioner_session_buttons,
    session_button,
)

NEXT_HORIZON = timedelta(days=366)


async def client_press(ctx: UseCaseContext, *, actor: int, press: SessionPress) -> OutgoingMessage:
    """Confirm, Reschedule, Cancel (asked, then confirmed) or Keep, on the caller's session."""
    action = f"appointment.{press.action}"
    async with ctx.uow() as uow:
        appointment, client = await clients_appointment(
            uow, ctx.clock, actor, press.appointment_id, action
        )
        practitioner = await uow.practitioners.get(appointment.practitioner_id)
        if practitioner is None:
            raise Refused(Text("access.not_found"))
        now = ctx.clock.now()
        if client.status is not ClientStatus.ACTIVE:
            raise Refused(Text("session.client_not_active"))
        when_local = when(appointment.starts_at, client.timezone)
        if press.version != callbacks.session_version(appointment.starts_at):
            raise await refuse(
                uow,
                ctx.clock,
                actor=actor,
                action=action,
                reason="stale button",
                answer=Text("session.stale", {"when": when_local}),
                subject_type="appointment",
                subject_id=appointment.id,
            )
        if appointment.status not in OPEN_STATUSES:
            raise await refuse(
                uow,
                ctx.clock,
                actor=actor,
                action=action,
                reason=f"session {appointment.status}",
                answer=Text(f"session.now_{appointment.status}", {"when": when_local}),
                subject_type="appointment",
                subject_id=appointment.id,
            )
        if appointment.starts_at <= now:
            raise Refused(Text("session.already_begun", {"when": when_local}))
        parties = SessionParties(appointment, client, practitioner)
        match press.action:
            case SessionAction.CONFIRM:
                return await _confirm(uow, ctx.clock, ctx.policy, parties)
            case SessionAction.ASK_RESCHEDULE:
                return await _ask_reschedule(uow, ctx.clock, ctx.policy, parties)
            case SessionAction.ASK_CANCEL:
                return OutgoingMessage(
                    Text("session.cancel_question", {"when": when_local}),
                    (
                        (
                            session_button(appointment, SessionAction.CANCEL, "button.yes_cancel"),
                            session_button(appointment, SessionAction.KEEP, "button.keep"),
                        ),
                    ),
                )
            case SessionAction.CANCEL:
                return await _cancel(uow, ctx.clock, ctx.policy, parties)
            case _:
                return OutgoingMessage(
                    Text("session.kept", {"when": when_local}), client_session_buttons(appointment)
                )


async def _update(
    uow: UnitOfWork, clock: Clock, parties: SessionParties, status: AppointmentStatus
) -> Appointment:
    updated = await uow.appointments.update(
        dataclasses.replace(parties.appointment, status=status, updated_at=clock.now())
    )
    await uow.audit.record(
        clock.now(),
        f"appointment.{status}",
        actor_telegram_id=parties.client.telegram_user_id,
        subject_type="appointment",
        subject_id=updated.id,
        detail={"client_id": parties.client.id, "by": "client"},
        client_id=parties.client.id,
    )
    return updated


async def _tell_practitioner(
    uow: UnitOfWork,
    clock: Clock,
    policy: Policy,
    parties: SessionParties,
    event: str,
    *,
    with_buttons: bool = False,
) -> None:
    appointment, practitioner = parties.appointment, parties.practitioner
    await notify_practitioner(
        uow,
        practitioner.id,
        Text(
            f"session.practitioner_{event}",
            {
                "client": parties.client.full_name,
                "when": when(appointment.starts_at, practitioner.timezone),
            },
        ),
        dedup_key=(
            f"session.{event}:{appointment.id}:{callbacks.session_version(appointment.starts_at)}"
            f":{int(clock.now().timestamp())}"
        ),
        now=clock.now(),
        quiet=policy.quiet,
        buttons=practitioner_session_buttons(appointment) if with_buttons else (),
        about_client_id=parties.client.id,
    )


async def _confirm(
    uow: UnitOfWork, clock: Clock, policy: Policy, parties: SessionParties
) -> OutgoingMessage:
    appointment, client = parties.appointment, parties.client
    answer = OutgoingMessage(
        Text(
            "session.confirmed",
            {
                "when": when(appointment.starts_at, client.timezone),
                "practitioner": practitioner_name(parties.practitioner),
            },
        ),
        client_session_buttons(
            dataclasses.replace(appointment, status=AppointmentStatus.CONFIRMED)
        ),
    )
    if appointment.status is AppointmentStatus.CONFIRMED:
        return answer  # a double tap: nothing changes, nobody is told twice
    confirmed = await _update(uow, clock, parties, AppointmentStatus.CONFIRMED)
    await refresh_reminders(
        uow,
        policy,
        dataclasses.replace(parties, appointment=confirmed),
        clock.now(),
        "the session was confirmed",
    )
    await _tell_practitioner(uow, clock, policy, parties, "confirmed")
    await uow.commit()
    return answer


async def _ask_reschedule(
    uow: UnitOfWork, clock: Clock, policy: Policy, parties: SessionParties
) -> OutgoingMessage:
    answer = OutgoingMessage(
        Text(
            "session.reschedule_asked",
            {"practitioner": practitioner_name(parties.practitioner)},
        )
    )
    if parties.appointment.status is AppointmentStatus.RESCHEDULE_REQUESTED:
        return answer
    await _update(uow, clock, parties, AppointmentStatus.RESCHEDULE_REQUESTED)
    await _tell_practitioner(uow, clock, policy, parties, "reschedule_asked", with_buttons=True)
    await uow.commit()
    return answer


async def _cancel(
    uow: UnitOfWork, clock: Clock, policy: Policy, parties: SessionParties
) -> OutgoingMessage:
    cancelled = await _update(uow, clock, parties, AppointmentStatus.CANCELLED)
    await cancel_reminders(uow, parties.appointment.id, "the client cancelled the session")
    await _tell_practitioner(uow, clock, policy, parties, "cancelled")
    await uow.commit()
    return OutgoingMessage(
        Text(
            "session.cancelled",
            {
                "when": when(parties.appointment.starts_at, parties.client.timezone),
                "practitioner": practitioner_name(parties.practitioner),
            },
        ),
        calendar_row(cancelled),  # "Remove from my calendar"
    )


async def next_session(ctx: UseCaseContext, *, actor: int) -> OutgoingMessage:
    """``/next``: the caller's next open session with any of their practitioners."""
    now = ctx.clock.now()
    found: list[tuple[Appointment, Client]] = []
    async with ctx.uow() as uow:
        clients = [
            c for c in await uow.clients.by_telegram_id(actor) if c.status is ClientStatus.ACTIVE
        ]
        for client in clients:
            for appointment in await uow.appointments.for_client_between(
                client.id, now, now + NEXT_HORIZON
            ):
                if appointment.status in OPEN_STATUSES:
                    found.append((appointment, client))
                    break
        if not found:
            return OutgoingMessage(Text("next.none"))
        appointment, client = min(found, key=lambda pair: pair[0].starts_at)
        practitioner = await uow.practitioners.get(appointment.practitioner_id)
    if practitioner is None:
        return OutgoingMessage(Text("next.none"))
    return OutgoingMessage(
        Text(
            f"next.{'confirmed' if appointment.status is AppointmentStatus.CONFIRMED else 'open'}",
            {
                "when": when(appointment.starts_at, client.timezone),
                "practitioner": practitioner_name(practitioner),
                "minutes": appointment.duration_minutes,
            },
        ),
        client_session_buttons(appointment),
    )
