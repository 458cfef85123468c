"""The practitioner's changes to a session: its card, move (to a day and time) and cancel,
from the session's buttons or by ``/reschedule`` and ``/cancel`` with a client's name.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import date, datetime, time

from bot.domain import booking_input, callbacks
from bot.domain.booking_input import BookingInputError
from bot.domain.callbacks import SessionAction, SessionPress
from bot.domain.models import Appointment, AppointmentStatus, Client, Practitioner
from bot.domain.outgoing import Button, OutgoingMessage, Text
from bot.domain.text_params import embed, when
from bot.ports import Clock, UnitOfWork
from bot.services.access import Refused, own_appointment, own_client, refuse, require_practitioner
from bot.services.checkins.schedule import cancel_checkins
from bot.services.context import UseCaseContext
from bot.services.policy import Policy
from bot.services.sessions.calendar import (
    LIST_BUTTONS,
    OPEN_STATUSES,
    day_param,
    day_picker,
    input_problem,
    refuse_clash,
    sessions_ahead,
    start_at,
    their_time,
    time_picker,
)
from bot.services.sessions.reminders import announce, cancel_reminders, tell_client
from bot.services.sessions.views import (
    SessionParties,
    practitioner_session_buttons,
    session_button,
    session_line,
)


async def practitioner_press(
    ctx: UseCaseContext, *, actor: int, press: SessionPress
) -> OutgoingMessage:
    """A practitioner's press on a session: its card, move (day, time) or cancel."""
    async with ctx.uow() as uow:
        practitioner = await require_practitioner(
            uow, ctx.clock, actor, f"appointment.{press.action}"
        )
        appointment = await own_appointment(
            uow, ctx.clock, practitioner, press.appointment_id, f"appointment.{press.action}"
        )
        client = await own_client(
            uow, ctx.clock, practitioner, appointment.client_id, "appointment"
        )
        if press.version != callbacks.session_version(appointment.starts_at):
            raise await refuse(
                uow,
                ctx.clock,
                actor=actor,
                action=f"appointment.{press.action}",
                reason="stale button",
                answer=Text(
                    "session.stale", {"when": when(appointment.starts_at, practitioner.timezone)}
                ),
                subject_type="appointment",
                subject_id=appointment.id,
            )
        if press.action is SessionAction.SHOW:
            return _card(appointment, client, practitioner)
        if press.action is SessionAction.NO_SHOW:
            return await _mark_no_show(uow, ctx.clock, practitioner, appointment, client)
        if appointment.status not in OPEN_STATUSES:
            return OutgoingMessage(
                Text(f"session.now_{appointment.status}", {"client": client.full_name})
            )
        match press.action:
            case SessionAction.MOVE:
                return day_picker(
                    practitioner,
                    ctx.clock.now(),
                    Text("booking.move_pick_day", {"client": client.full_name}),
                    lambda code: callbacks.session(
                        appointment.id, appointment.starts_at, SessionAction.MOVE_DAY, code
                    ),
                )
            case SessionAction.MOVE_DAY:
                day = _parse_codes(press.argument)[0]
                return await time_picker(
                    uow,
                    practitioner,
                    now=ctx.clock.now(),
                    day=day,
                    minutes=appointment.duration_minutes,
                    prompt=Text(
                        "booking.pick_time",
                        {"client": client.full_name, "day": day_param(day, practitioner)},
                    ),
                    data_for=lambda code: callbacks.session(
                        appointment.id,
                        appointment.starts_at,
                        SessionAction.MOVE_TO,
                        booking_input.day_code(day) + code,
                    ),
                    exclude=appointment.id,
                )
            case SessionAction.MOVE_TO:
                day, at = _parse_codes(press.argument)
                if at is None:
                    raise input_problem(
                        BookingInputError(booking_input.InputProblem.BAD_TIME, value="")
                    )
                return await _move(
                    uow,
                    ctx.clock,
                    ctx.policy,
                    practitioner,
                    appointment=appointment,
                    client=client,
                    day=day,
                    at=at,
                )
            case SessionAction.PRACTITIONER_ASK_CANCEL:
                return _cancel_question(appointment, client, practitioner)
            case SessionAction.PRACTITIONER_CANCEL:
                return await _cancel(
                    uow, ctx.clock, ctx.policy, practitioner, appointment=appointment, client=client
                )
            case _:
                raise await refuse(
                    uow,
                    ctx.clock,
                    actor=actor,
                    action=f"appointment.{press.action}",
                    reason="a client's button",
                    answer=Text("access.not_found"),
                    subject_type="appointment",
                    subject_id=appointment.id,
                )


def _parse_codes(argument: str) -> tuple[date, time | None]:
    try:
        day = booking_input.parse_day_code(argument[:8])
        at = booking_input.parse_time_code(argument[8:]) if len(argument) > 8 else None
    except BookingInputError as error:
        raise input_problem(error) from None
    return day, at


def _card(appointment: Appointment, client: Client, practitioner: Practitioner) -> OutgoingMessage:
    buttons: tuple[tuple[Button, ...], ...] = ()
    if appointment.status in OPEN_STATUSES:
        buttons = practitioner_session_buttons(appointment)
    elif appointment.status is AppointmentStatus.COMPLETED:
        buttons = ((session_button(appointment, SessionAction.NO_SHOW, "button.no_show"),),)
    return OutgoingMessage(
        Text(
            "sessions.card",
            {"line": embed(session_line(appointment, client, practitioner.timezone))},
        ),
        buttons,
    )


async def _mark_no_show(
    uow: UnitOfWork,
    clock: Clock,
    practitioner: Practitioner,
    appointment: Appointment,
    client: Client,
) -> OutgoingMessage:
    """The client did not come: the session is marked missed and its check-ins cancelled."""
    if appointment.status in OPEN_STATUSES:
        return OutgoingMessage(Text("booking.not_ended_yet", {"client": client.full_name}))
    if appointment.status is not AppointmentStatus.COMPLETED:
        return OutgoingMessage(
            Text(f"session.now_{appointment.status}", {"client": client.full_name})
        )
    now = clock.now()
    await uow.appointments.update(
        dataclasses.replace(appointment, status=AppointmentStatus.NO_SHOW, updated_at=now)
    )
    cancelled = await cancel_checkins(uow, appointment.id, "the client did not come")
    await uow.audit.record(
        now,
        "appointment.no_show",
        actor_telegram_id=practitioner.telegram_user_id,
        subject_type="appointment",
        subject_id=appointment.id,
        detail={"client_id": client.id, "checkins_cancelled": cancelled},
        client_id=client.id,
    )
    await uow.commit()
    return OutgoingMessage(
        Text(
            "booking.marked_no_show",
            {
                "client": client.full_name,
                "when": when(appointment.starts_at, practitioner.timezone),
            },
        )
    )


async def _move(
    uow: UnitOfWork,
    clock: Clock,
    policy: Policy,
    practitioner: Practitioner,
    *,
    appointment: Appointment,
    client: Client,
    day: date,
    at: time,
) -> OutgoingMessage:
    starts_at = start_at(day, at, practitioner.timezone, clock.now())
    if starts_at == appointment.starts_at:
        return OutgoingMessage(
            Text("booking.unchanged", {"when": when(starts_at, practitioner.timezone)}),
            practitioner_session_buttons(appointment),
        )
    moved = await move_session(
        uow,
        clock,
        policy,
        SessionParties(appointment, client, practitioner),
        starts_at=starts_at,
        minutes=appointment.duration_minutes,
    )
    return OutgoingMessage(
        Text(
            "booking.moved",
            {
                "client": client.full_name,
                "when": when(starts_at, practitioner.timezone),
                "their_time": their_time(moved, client, practitioner),
            },
        ),
        practitioner_session_buttons(moved),
    )


async def _cancel(
    uow: UnitOfWork,
    clock: Clock,
    policy: Policy,
    practitioner: Practitioner,
    *,
    appointment: Appointment,
    client: Client,
) -> OutgoingMessage:
    await cancel_session(uow, clock, policy, SessionParties(appointment, client, practitioner))
    return OutgoingMessage(
        Text(
            "booking.cancelled",
            {
                "client": client.full_name,
                "when": when(appointment.starts_at, practitioner.timezone),
            },
        )
    )


async def _session_of(
    uow: UnitOfWork, practitioner: Practitioner, query: str, now: datetime
) -> tuple[Client, Appointment] | list[tuple[Client, Appointment]]:
    """The one client ``query`` names and their next session, or the candidates to pick from."""
    clients = await uow.clients.for_practitioner(practitioner.id)
    matches = booking_input.match_by_name(query, clients, lambda c: c.full_name)
    if len(matches) == 1:
        found = await sessions_ahead(uow, matches, now)
        if not found:
            raise Refused(Text("booking.no_session_ahead", {"client": matches[0].full_name}))
        return found[0]
    if not matches:
        raise Refused(Text("booking.unknown_client", {"query": query}))
    candidates = await sessions_ahead(uow, matches, now)
    if not candidates:
        raise Refused(Text("booking.no_session_ahead", {"client": query}))
    return candidates


def _pick_session(
    candidates: Sequence[tuple[Client, Appointment]],
    query: str,
    timezone: str,
    data_for: Callable[[Appointment], str],
) -> OutgoingMessage:
    rows = tuple(
        (
            Button(
                Text(
                    "button.client_session",
                    {"client": c.full_name, "when": when(a.starts_at, timezone, "short_datetime")},
                ),
                data_for(a),
            ),
        )
        for c, a in candidates[:LIST_BUTTONS]
    )
    return OutgoingMessage(Text("booking.which_session", {"query": query}), rows)


async def move_by_name(
    ctx: UseCaseContext,
    *,
    actor: int,
    query: str,
    day: date,
    at: time,
) -> OutgoingMessage:
    """``/reschedule <client> <date> <time>``: move that client's next session."""
    async with ctx.uow() as uow:
        practitioner = await require_practitioner(uow, ctx.clock, actor, "appointment.move")
        found = await _session_of(uow, practitioner, query, ctx.clock.now())
        if isinstance(found, tuple):
            client, appointment = found
            return await _move(
                uow,
                ctx.clock,
                ctx.policy,
                practitioner,
                appointment=appointment,
                client=client,
                day=day,
                at=at,
            )
    code = booking_input.day_code(day) + booking_input.time_code(at)
    return _pick_session(
        found,
        query,
        practitioner.timezone,
        lambda a: callbacks.session(a.id, a.starts_at, SessionAction.MOVE_TO, code),
    )


async def cancel_by_name(ctx: UseCaseContext, *, actor: int, query: str) -> OutgoingMessage:
    """``/cancel <client>``: ask to confirm cancelling that client's next session."""
    async with ctx.uow() as uow:
        practitioner = await require_practitioner(uow, ctx.clock, actor, "appointment.cancel")
        found = await _session_of(uow, practitioner, query, ctx.clock.now())
    if isinstance(found, tuple):
        client, appointment = found
        return _cancel_question(appointment, client, practitioner)
    return _pick_session(
        found,
        query,
        practitioner.timezone,
        lambda a: callbacks.session(a.id, a.starts_at, SessionAction.PRACTITIONER_ASK_CANCEL),
    )


def _cancel_question(
    appointment: Appointment, client: Client, practitioner: Practitioner
) -> OutgoingMessage:
    return OutgoingMessage(
        Text(
            "booking.cancel_question",
            {
                "client": client.full_name,
                "when": when(appointment.starts_at, practitioner.timezone),
            },
        ),
        (
            (
                session_button(appointment, SessionAction.PRACTITIONER_CANCEL, "button.yes_cancel"),
                session_button(appointment, SessionAction.SHOW, "button.keep"),
            ),
        ),
    )


async def move_session(
    uow: UnitOfWork,
    clock: Clock,
    policy: Policy,
    parties: SessionParties,
    *,
    starts_at: datetime,
    minutes: int,
) -> Appointment:
    """Move a session to ``starts_at`` for ``minutes`` (refused if it clashes): reminders
    planned anew, the client told, the audit written, committed."""
    appointment, practitioner = parties.appointment, parties.practitioner
    now = clock.now()
    await uow.practitioners.lock(practitioner.id)
    await refuse_clash(uow, practitioner, starts_at, minutes, appointment.id)
    moved = await uow.appointments.update(
        dataclasses.replace(
            appointment,
            starts_at=starts_at,
            duration_minutes=minutes,
            status=AppointmentStatus.BOOKED,
            updated_at=now,
        )
    )
    await cancel_reminders(uow, appointment.id, "the session was moved")
    await announce(uow, policy, dataclasses.replace(parties, appointment=moved), "moved", now)
    await uow.commit()
    return moved


async def cancel_session(
    uow: UnitOfWork,
    clock: Clock,
    policy: Policy,
    parties: SessionParties,
    *,
    by: str = "practitioner",
) -> Appointment:
    """Cancel a session for the practitioner (``by`` says how: ``practitioner`` or
    ``calendar``): its reminders called off, the client told, the audit written,
    committed."""
    appointment, client, practitioner = parties.appointment, parties.client, parties.practitioner
    now = clock.now()
    cancelled = await uow.appointments.update(
        dataclasses.replace(appointment, status=AppointmentStatus.CANCELLED, updated_at=now)
    )
    await cancel_reminders(uow, appointment.id, "the session was cancelled")
    await tell_client(
        uow, policy, dataclasses.replace(parties, appointment=cancelled), "cancelled", now
    )
    await uow.audit.record(
        now,
        "appointment.cancelled",
        actor_telegram_id=practitioner.telegram_user_id,
        subject_type="appointment",
        subject_id=appointment.id,
        detail={"client_id": client.id, "by": by},
        client_id=client.id,
    )
    await uow.commit()
    return cancelled
