"""Booking a session: in one line (``/book``) or by tapping client, day and time.

Every function checks that the caller is a practitioner who owns the client
(``bot.services.access``) and answers with a message to show them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from bot.domain import booking_input, callbacks
from bot.domain.booking_input import BookingInputError, BookingRequest
from bot.domain.callbacks import BookPress
from bot.domain.models import Appointment, AppointmentStatus, Client, ClientStatus, Practitioner
from bot.domain.outgoing import Button, OutgoingMessage, Text
from bot.domain.text_params import when
from bot.ports import Clock, UnitOfWork
from bot.services.access import Refused, own_client, require_practitioner
from bot.services.context import UseCaseContext
from bot.services.policy import Policy
from bot.services.sessions.calendar import (
    LIST_BUTTONS,
    OpenSessions,
    busy_during,
    clash_refusal,
    day_param,
    day_picker,
    input_problem,
    start_at,
    their_time,
    time_picker,
)
from bot.services.sessions.reminders import announce_booked
from bot.services.sessions.views import (
    SessionParties,
    practitioner_session_buttons,
)


def pick_client(
    clients: Sequence[Client], query: str, data_for: Callable[[Client], str]
) -> OutgoingMessage:
    """An unknown name, or several clients answering to it: a list to pick from, never a guess."""
    if not clients:
        raise Refused(Text("booking.unknown_client", {"query": query}))
    rows = tuple(
        (Button(Text("button.client", {"client": c.full_name}), data_for(c)),)
        for c in clients[:LIST_BUTTONS]
    )
    return OutgoingMessage(Text("booking.which_client", {"query": query}), rows)


async def book_by_name(
    ctx: UseCaseContext,
    *,
    actor: int,
    request: BookingRequest,
) -> OutgoingMessage:
    """``/book <client> <date> <time> [minutes]``: book, or ask which client is meant."""
    async with ctx.uow() as uow:
        practitioner = await require_practitioner(uow, ctx.clock, actor, "appointment.book")
        clients = await uow.clients.for_practitioner(practitioner.id)
        matches = booking_input.match_by_name(request.client_query, clients, lambda c: c.full_name)
        if len(matches) != 1:
            return pick_client(
                matches,
                request.client_query,
                lambda client: callbacks.book(
                    client.id,
                    booking_input.day_code(request.day),
                    booking_input.time_code(request.at),
                    request.minutes,
                ),
            )
        return await _book(
            uow,
            ctx.clock,
            ctx.policy,
            practitioner,
            client_id=matches[0].id,
            day=request.day,
            at=request.at,
            minutes=request.minutes,
        )


async def book(
    ctx: UseCaseContext,
    *,
    actor: int,
    client_id: int,
    day: date,
    at: time,
    minutes: int = booking_input.DEFAULT_MINUTES,
) -> OutgoingMessage:
    """Book a session for one of the practitioner's own clients, at a local time."""
    async with ctx.uow() as uow:
        practitioner = await require_practitioner(uow, ctx.clock, actor, "appointment.book")
        return await _book(
            uow,
            ctx.clock,
            ctx.policy,
            practitioner,
            client_id=client_id,
            day=day,
            at=at,
            minutes=minutes,
        )


async def _book(
    uow: UnitOfWork,
    clock: Clock,
    policy: Policy,
    practitioner: Practitioner,
    *,
    client_id: int,
    day: date,
    at: time,
    minutes: int,
) -> OutgoingMessage:
    client = await own_client(uow, clock, practitioner, client_id, "appointment.book")
    if not booking_input.MIN_MINUTES <= minutes <= booking_input.MAX_MINUTES:
        raise input_problem(
            BookingInputError(booking_input.InputProblem.BAD_DURATION, value=str(minutes))
        )
    starts_at = start_at(day, at, practitioner.timezone, clock.now())
    appointment, reminders = await book_session(
        uow,
        clock,
        policy,
        practitioner=practitioner,
        client=client,
        starts_at=starts_at,
        minutes=minutes,
    )
    await uow.commit()
    return OutgoingMessage(
        Text(
            "booking.booked",
            {
                "client": client.full_name,
                "when": when(starts_at, practitioner.timezone),
                "minutes": minutes,
                "their_time": their_time(appointment, client, practitioner),
                "reminders": reminders,
            },
        ),
        practitioner_session_buttons(appointment),
    )


async def start_guided(ctx: UseCaseContext, *, actor: int) -> OutgoingMessage:
    """``/book`` alone: pick a client, then a day, then a time."""
    async with ctx.uow() as uow:
        practitioner = await require_practitioner(uow, ctx.clock, actor, "appointment.book")
        clients = [
            c
            for c in await uow.clients.for_practitioner(practitioner.id)
            if c.status is ClientStatus.ACTIVE
        ]
    if not clients:
        return OutgoingMessage(Text("booking.no_clients"))
    rows = tuple(
        (Button(Text("button.client", {"client": c.full_name}), callbacks.book(c.id)),)
        for c in clients[:LIST_BUTTONS]
    )
    return OutgoingMessage(Text("booking.pick_client"), rows)


async def guided_step(ctx: UseCaseContext, *, actor: int, press: BookPress) -> OutgoingMessage:
    """The next step of the guided booking: days, then free times, then the booking."""
    try:
        day = booking_input.parse_day_code(press.day_code) if press.day_code else None
        at = booking_input.parse_time_code(press.time_code) if press.time_code else None
    except BookingInputError as error:
        raise input_problem(error) from None
    async with ctx.uow() as uow:
        practitioner = await require_practitioner(uow, ctx.clock, actor, "appointment.book")
        client = await own_client(uow, ctx.clock, practitioner, press.client_id, "appointment.book")
        if client.status is not ClientStatus.ACTIVE:
            raise Refused(Text(f"booking.client_{client.status}", {"client": client.full_name}))
        if day is not None and at is not None:
            minutes = press.minutes or booking_input.DEFAULT_MINUTES
            return await _book(
                uow,
                ctx.clock,
                ctx.policy,
                practitioner,
                client_id=client.id,
                day=day,
                at=at,
                minutes=minutes,
            )
        now = ctx.clock.now()
        if day is None:
            return day_picker(
                practitioner,
                now,
                Text("booking.pick_day", {"client": client.full_name}),
                lambda code: callbacks.book(client.id, code),
            )
        return await time_picker(
            uow,
            practitioner,
            now=now,
            day=day,
            minutes=booking_input.DEFAULT_MINUTES,
            prompt=Text(
                "booking.pick_time",
                {"client": client.full_name, "day": day_param(day, practitioner)},
            ),
            data_for=lambda code: callbacks.book(client.id, booking_input.day_code(day), code),
        )


@dataclass(frozen=True, slots=True)
class SessionRequest:
    """A session to book: whose, when, and how many minutes."""

    client: Client
    starts_at: datetime
    minutes: int


@dataclass(frozen=True, slots=True)
class Booked:
    """A session booked, and how many reminders are planned for it."""

    appointment: Appointment
    reminders: int


async def book_session(
    uow: UnitOfWork,
    clock: Clock,
    policy: Policy,
    *,
    practitioner: Practitioner,
    client: Client,
    starts_at: datetime,
    minutes: int,
) -> tuple[Appointment, int]:
    """Book a session for an active client at ``starts_at`` (refused if it clashes): its
    reminders planned, the client told, the audit written, in the caller's transaction
    (nothing committed). The session and how many reminders are planned."""
    (outcome,) = await book_sessions(
        uow,
        clock,
        policy,
        practitioner=practitioner,
        requests=[SessionRequest(client, starts_at, minutes)],
    )
    if isinstance(outcome, Refused):
        raise outcome
    return outcome.appointment, outcome.reminders


@dataclass(frozen=True, slots=True)
class Clash:
    """A requested session would run over ``other``, an open session."""

    other: Appointment


def plan_sessions(
    practitioner: Practitioner,
    taken: OpenSessions,
    requests: Sequence[SessionRequest],
    now: datetime,
) -> list[Appointment | Refused | Clash]:
    """Decide each request in turn, as :func:`book_sessions` books them: the session to
    book (not stored: id 0), refused if the client is not active, or the open session
    it clashes with (in ``taken``, or planned earlier in ``requests``). ``taken`` grows
    by the sessions planned."""
    planned: list[Appointment | Refused | Clash] = []
    for request in requests:
        client = request.client
        if client.status is not ClientStatus.ACTIVE:
            text = Text(f"booking.client_{client.status}", {"client": client.full_name})
            planned.append(Refused(text))
            continue
        other = taken.clashing(request.starts_at, request.minutes)
        if other is not None:
            planned.append(Clash(other))
            continue
        session = Appointment(
            id=0,
            practitioner_id=practitioner.id,
            client_id=client.id,
            starts_at=request.starts_at,
            duration_minutes=request.minutes,
            status=AppointmentStatus.BOOKED,
            created_at=now,
        )
        taken.add(session)
        planned.append(session)
    return planned


async def book_sessions(
    uow: UnitOfWork,
    clock: Clock,
    policy: Policy,
    *,
    practitioner: Practitioner,
    requests: Sequence[SessionRequest],
) -> list[Booked | Refused]:
    """Book each request in turn as :func:`book_session` does one: refused if the client
    is not active or it clashes with an open session, one booked before or one booked
    earlier in ``requests`` (:func:`plan_sessions`). The sessions, their messages and
    their audit entries are written together, in the caller's transaction (nothing
    committed); each client booked several sessions is told of them in one message. One
    outcome for each request, in order."""
    if not requests:
        return []
    now = clock.now()
    await uow.practitioners.lock(practitioner.id)
    taken = await busy_during(
        uow,
        practitioner,
        [(r.starts_at, r.starts_at + timedelta(minutes=r.minutes)) for r in requests],
    )
    planned = plan_sessions(practitioner, OpenSessions(taken), requests, now)
    clients: dict[int, Client | None] = {r.client.id: r.client for r in requests}
    outcomes: list[Refused | None] = []  # None: to book
    to_book: list[tuple[Appointment, Client]] = []
    for request, plan in zip(requests, planned, strict=True):
        if isinstance(plan, Clash):
            other = plan.other
            if other.client_id not in clients:
                clients[other.client_id] = await uow.clients.get(other.client_id)
            outcomes.append(clash_refusal(practitioner, other, clients[other.client_id]))
        elif isinstance(plan, Refused):
            outcomes.append(plan)
        else:
            to_book.append((plan, request.client))
            outcomes.append(None)
    stored = await uow.appointments.add_all([session for session, _ in to_book])
    booked = [
        SessionParties(session, client, practitioner)
        for session, (_, client) in zip(stored, to_book, strict=True)
    ]
    reminders = await announce_booked(uow, policy, booked, now)
    made = iter(Booked(b.appointment, n) for b, n in zip(booked, reminders, strict=True))
    return [next(made) if outcome is None else outcome for outcome in outcomes]
