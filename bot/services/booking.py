"""The practitioner's sessions: book, move and cancel them, and list them.

Every function checks that the caller is a practitioner who owns the client or session
it touches (``bot.services.access``) and answers with a message to show them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain import booking, callbacks
from bot.domain.booking import BookingInputError, BookingRequest
from bot.domain.callbacks import BookPress, SessionAction, SessionPress
from bot.domain.models import Appointment, AppointmentStatus, Client, ClientStatus, Practitioner
from bot.ports import (
    Button,
    Clock,
    OutgoingMessage,
    Text,
    UnitOfWork,
    UnitOfWorkFactory,
    embed,
    when,
)
from bot.services.access import Refused, own_appointment, own_client, refuse, require_practitioner
from bot.services.policy import Policy
from bot.services.reminders import cancel_reminders, schedule_reminders, tell_client
from bot.services.views import (
    SessionParties,
    practitioner_session_buttons,
    session_button,
    session_line,
)

UPCOMING_DAYS = 14
UPCOMING_LIMIT = 30
LIST_BUTTONS = 30
LONGEST_SESSION = timedelta(minutes=booking.MAX_MINUTES)
OPEN_STATUSES = frozenset(
    {AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED, AppointmentStatus.RESCHEDULE_REQUESTED}
)


def input_problem(error: BookingInputError) -> Refused:
    """A kind refusal explaining what is wrong with a date, a time or a duration."""
    params = {"min": booking.MIN_MINUTES, "max": booking.MAX_MINUTES, **error.params}
    return Refused(Text(f"booking_input.{error.problem}", params))


def _start(day: date, at: time, timezone: str, now: datetime) -> datetime:
    try:
        starts_at = booking.local_to_utc(day, at, timezone)
        booking.require_future(starts_at, now)
    except BookingInputError as error:
        raise input_problem(error) from None
    return starts_at


def _noon(day: date, timezone: str) -> datetime:
    """A moment inside ``day`` in ``timezone``, to show the day with ``when``."""
    return datetime.combine(day, time(12, 0), ZoneInfo(timezone))


def _local_day_bounds(now: datetime, timezone: str) -> tuple[datetime, datetime]:
    zone = ZoneInfo(timezone)
    day = now.astimezone(zone).date()
    start = datetime.combine(day, time(0, 0), zone)
    end = datetime.combine(day + timedelta(days=1), time(0, 0), zone)
    return start, end


async def _busy(
    uow: UnitOfWork, practitioner: Practitioner, start: datetime, end: datetime, *, exclude: int = 0
) -> list[Appointment]:
    """Open sessions of the practitioner that run at some point in ``[start, end)``."""
    found = await uow.appointments.for_practitioner_between(
        practitioner.id, start - LONGEST_SESSION, end
    )
    return [
        a
        for a in found
        if a.status in OPEN_STATUSES
        and a.id != exclude
        and a.starts_at + timedelta(minutes=a.duration_minutes) > start
    ]


async def _refuse_clash(
    uow: UnitOfWork, practitioner: Practitioner, starts_at: datetime, minutes: int, exclude: int = 0
) -> None:
    end = starts_at + timedelta(minutes=minutes)
    for other in await _busy(uow, practitioner, starts_at, end, exclude=exclude):
        client = await uow.clients.get(other.client_id)
        raise Refused(
            Text(
                "booking.clash",
                {
                    "client": client.full_name if client else "?",
                    "when": when(other.starts_at, practitioner.timezone),
                    "minutes": other.duration_minutes,
                },
            )
        )


def _their_time(appointment: Appointment, client: Client, practitioner: Practitioner) -> object:
    """The client's local time too, when their zone is not the practitioner's."""
    if client.timezone == practitioner.timezone:
        return ""
    return embed(
        Text(
            "booking.their_time",
            {"when": when(appointment.starts_at, client.timezone), "timezone": client.timezone},
        )
    )


def _pick_client(
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
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    policy: Policy,
    *,
    actor: int,
    request: BookingRequest,
) -> OutgoingMessage:
    """``/book <client> <date> <time> [minutes]``: book, or ask which client is meant."""
    async with uow_factory() as uow:
        practitioner = await require_practitioner(uow, clock, actor, "appointment.book")
        clients = await uow.clients.for_practitioner(practitioner.id)
        matches = booking.match_by_name(request.client_query, clients, lambda c: c.full_name)
        if len(matches) != 1:
            offered = matches or [c for c in clients if c.status is ClientStatus.ACTIVE]
            return _pick_client(
                offered,
                request.client_query,
                lambda client: callbacks.book(
                    client.id,
                    booking.day_code(request.day),
                    booking.time_code(request.at),
                    request.minutes,
                ),
            )
        return await _book(
            uow,
            clock,
            policy,
            practitioner,
            client_id=matches[0].id,
            day=request.day,
            at=request.at,
            minutes=request.minutes,
        )


async def book(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    policy: Policy,
    *,
    actor: int,
    client_id: int,
    day: date,
    at: time,
    minutes: int = booking.DEFAULT_MINUTES,
) -> OutgoingMessage:
    """Book a session for one of the practitioner's own clients, at a local time."""
    async with uow_factory() as uow:
        practitioner = await require_practitioner(uow, clock, actor, "appointment.book")
        return await _book(
            uow, clock, policy, practitioner, client_id=client_id, day=day, at=at, minutes=minutes
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
    if client.status is not ClientStatus.ACTIVE:
        raise Refused(Text(f"booking.client_{client.status}", {"client": client.full_name}))
    if not booking.MIN_MINUTES <= minutes <= booking.MAX_MINUTES:
        raise input_problem(
            BookingInputError(booking.InputProblem.BAD_DURATION, value=str(minutes))
        )
    now = clock.now()
    starts_at = _start(day, at, practitioner.timezone, now)
    await _refuse_clash(uow, practitioner, starts_at, minutes)
    appointment = await uow.appointments.add(
        Appointment(
            id=0,
            practitioner_id=practitioner.id,
            client_id=client.id,
            starts_at=starts_at,
            duration_minutes=minutes,
            status=AppointmentStatus.BOOKED,
            created_at=now,
        )
    )
    parties = SessionParties(appointment, client, practitioner)
    reminders = await schedule_reminders(uow, policy, parties, now)
    await tell_client(uow, policy, parties, "booked", now)
    await uow.audit.record(
        now,
        "appointment.booked",
        actor_telegram_id=practitioner.telegram_user_id,
        subject_type="appointment",
        subject_id=appointment.id,
        detail={"client_id": client.id, "reminders": len(reminders)},
    )
    await uow.commit()
    return OutgoingMessage(
        Text(
            "booking.booked",
            {
                "client": client.full_name,
                "when": when(starts_at, practitioner.timezone),
                "minutes": minutes,
                "their_time": _their_time(appointment, client, practitioner),
                "reminders": len(reminders),
            },
        ),
        practitioner_session_buttons(appointment),
    )


async def start_guided(
    uow_factory: UnitOfWorkFactory, clock: Clock, *, actor: int
) -> OutgoingMessage:
    """``/book`` alone: pick a client, then a day, then a time."""
    async with uow_factory() as uow:
        practitioner = await require_practitioner(uow, clock, actor, "appointment.book")
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


async def guided_step(
    uow_factory: UnitOfWorkFactory, clock: Clock, policy: Policy, *, actor: int, press: BookPress
) -> OutgoingMessage:
    """The next step of the guided booking: days, then free times, then the booking."""
    try:
        day = booking.parse_day_code(press.day_code) if press.day_code else None
        at = booking.parse_time_code(press.time_code) if press.time_code else None
    except BookingInputError as error:
        raise input_problem(error) from None
    async with uow_factory() as uow:
        practitioner = await require_practitioner(uow, clock, actor, "appointment.book")
        client = await own_client(uow, clock, practitioner, press.client_id, "appointment.book")
        if client.status is not ClientStatus.ACTIVE:
            raise Refused(Text(f"booking.client_{client.status}", {"client": client.full_name}))
        if day is not None and at is not None:
            minutes = press.minutes or booking.DEFAULT_MINUTES
            return await _book(
                uow,
                clock,
                policy,
                practitioner,
                client_id=client.id,
                day=day,
                at=at,
                minutes=minutes,
            )
        now = clock.now()
        if day is None:
            return _day_picker(
                practitioner,
                now,
                Text("booking.pick_day", {"client": client.full_name}),
                lambda code: callbacks.book(client.id, code),
            )
        return await _time_picker(
            uow,
            practitioner,
            now=now,
            day=day,
            minutes=booking.DEFAULT_MINUTES,
            prompt=Text(
                "booking.pick_time",
                {"client": client.full_name, "day": _day_param(day, practitioner)},
            ),
            data_for=lambda code: callbacks.book(client.id, booking.day_code(day), code),
        )


def _day_param(day: date, practitioner: Practitioner) -> dict[str, str]:
    return when(_noon(day, practitioner.timezone), practitioner.timezone, "date")


def _day_picker(
    practitioner: Practitioner, now: datetime, prompt: Text, data_for: Callable[[str], str]
) -> OutgoingMessage:
    today = now.astimezone(ZoneInfo(practitioner.timezone)).date()
    buttons = [
        Button(
            Text(
                "button.day",
                {
                    "day": when(
                        _noon(day, practitioner.timezone), practitioner.timezone, "short_date"
                    )
                },
            ),
            data_for(booking.day_code(day)),
        )
        for day in booking.bookable_days(today)
    ]
    return OutgoingMessage(
        prompt, tuple(tuple(buttons[i : i + 2]) for i in range(0, len(buttons), 2))
    )


async def _time_picker(
    uow: UnitOfWork,
    practitioner: Practitioner,
    *,
    now: datetime,
    day: date,
    minutes: int,
    prompt: Text,
    data_for: Callable[[str], str],
    exclude: int = 0,
) -> OutgoingMessage:
    zone = practitioner.timezone
    day_start = datetime.combine(day, time(0, 0), ZoneInfo(zone))
    busy = [
        (a.starts_at, a.starts_at + timedelta(minutes=a.duration_minutes))
        for a in await _busy(
            uow, practitioner, day_start, day_start + timedelta(days=1), exclude=exclude
        )
    ]
    slots = booking.free_slots(day, zone, now=now, busy=busy, minutes=minutes)
    if not slots:
        return OutgoingMessage(Text("booking.no_free_time", {"day": _day_param(day, practitioner)}))
    buttons = [
        Button(
            Text(
                "button.time", {"time": when(booking.local_to_utc(day, slot, zone), zone, "time")}
            ),
            data_for(booking.time_code(slot)),
        )
        for slot in slots
    ]
    return OutgoingMessage(
        prompt, tuple(tuple(buttons[i : i + 4]) for i in range(0, len(buttons), 4))
    )


async def session_press(
    uow_factory: UnitOfWorkFactory, clock: Clock, policy: Policy, *, actor: int, press: SessionPress
) -> OutgoingMessage:
    """A practitioner's press on a session: its card, move (day, time) or cancel."""
    async with uow_factory() as uow:
        practitioner = await require_practitioner(uow, clock, actor, f"appointment.{press.action}")
        appointment = await own_appointment(
            uow, clock, practitioner, press.appointment_id, f"appointment.{press.action}"
        )
        client = await own_client(uow, clock, practitioner, appointment.client_id, "appointment")
        if press.version != callbacks.session_version(appointment.starts_at):
            raise await refuse(
                uow,
                clock,
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
        if appointment.status not in OPEN_STATUSES:
            return OutgoingMessage(
                Text(f"session.now_{appointment.status}", {"client": client.full_name})
            )
        match press.action:
            case SessionAction.MOVE:
                return _day_picker(
                    practitioner,
                    clock.now(),
                    Text("booking.move_pick_day", {"client": client.full_name}),
                    lambda code: callbacks.session(
                        appointment.id, appointment.starts_at, SessionAction.MOVE_DAY, code
                    ),
                )
            case SessionAction.MOVE_DAY:
                day = _parse_codes(press.argument)[0]
                return await _time_picker(
                    uow,
                    practitioner,
                    now=clock.now(),
                    day=day,
                    minutes=appointment.duration_minutes,
                    prompt=Text(
                        "booking.pick_time",
                        {"client": client.full_name, "day": _day_param(day, practitioner)},
                    ),
                    data_for=lambda code: callbacks.session(
                        appointment.id,
                        appointment.starts_at,
                        SessionAction.MOVE_TO,
                        booking.day_code(day) + code,
                    ),
                    exclude=appointment.id,
                )
            case SessionAction.MOVE_TO:
                day, at = _parse_codes(press.argument)
                if at is None:
                    raise input_problem(BookingInputError(booking.InputProblem.BAD_TIME, value=""))
                return await _move(
                    uow,
                    clock,
                    policy,
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
                    uow, clock, policy, practitioner, appointment=appointment, client=client
                )
            case _:
                raise await refuse(
                    uow,
                    clock,
                    actor=actor,
                    action=f"appointment.{press.action}",
                    reason="a client's button",
                    answer=Text("access.not_found"),
                    subject_type="appointment",
                    subject_id=appointment.id,
                )


def _parse_codes(argument: str) -> tuple[date, time | None]:
    try:
        day = booking.parse_day_code(argument[:8])
        at = booking.parse_time_code(argument[8:]) if len(argument) > 8 else None
    except BookingInputError as error:
        raise input_problem(error) from None
    return day, at


def _card(appointment: Appointment, client: Client, practitioner: Practitioner) -> OutgoingMessage:
    buttons = (
        practitioner_session_buttons(appointment) if appointment.status in OPEN_STATUSES else ()
    )
    return OutgoingMessage(
        Text(
            "sessions.card",
            {"line": embed(session_line(appointment, client, practitioner.timezone))},
        ),
        buttons,
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
    now = clock.now()
    starts_at = _start(day, at, practitioner.timezone, now)
    if starts_at == appointment.starts_at:
        return OutgoingMessage(
            Text("booking.unchanged", {"when": when(starts_at, practitioner.timezone)}),
            practitioner_session_buttons(appointment),
        )
    await _refuse_clash(uow, practitioner, starts_at, appointment.duration_minutes, appointment.id)
    moved = await uow.appointments.update(
        dataclasses.replace(
            appointment, starts_at=starts_at, status=AppointmentStatus.BOOKED, updated_at=now
        )
    )
    await cancel_reminders(uow, appointment.id, "the session was moved")
    parties = SessionParties(moved, client, practitioner)
    reminders = await schedule_reminders(uow, policy, parties, now)
    await tell_client(uow, policy, parties, "moved", now)
    await uow.audit.record(
        now,
        "appointment.moved",
        actor_telegram_id=practitioner.telegram_user_id,
        subject_type="appointment",
        subject_id=appointment.id,
        detail={"client_id": client.id, "reminders": len(reminders)},
    )
    await uow.commit()
    return OutgoingMessage(
        Text(
            "booking.moved",
            {
                "client": client.full_name,
                "when": when(starts_at, practitioner.timezone),
                "their_time": _their_time(moved, client, practitioner),
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
    now = clock.now()
    cancelled = await uow.appointments.update(
        dataclasses.replace(appointment, status=AppointmentStatus.CANCELLED, updated_at=now)
    )
    await cancel_reminders(uow, appointment.id, "the session was cancelled")
    await tell_client(
        uow, policy, SessionParties(cancelled, client, practitioner), "cancelled", now
    )
    await uow.audit.record(
        now,
        "appointment.cancelled",
        actor_telegram_id=practitioner.telegram_user_id,
        subject_type="appointment",
        subject_id=appointment.id,
        detail={"client_id": client.id, "by": "practitioner"},
    )
    await uow.commit()
    return OutgoingMessage(
        Text(
            "booking.cancelled",
            {
                "client": client.full_name,
                "when": when(appointment.starts_at, practitioner.timezone),
            },
        )
    )


async def _sessions_ahead(
    uow: UnitOfWork, clients: Sequence[Client], now: datetime
) -> list[tuple[Client, Appointment]]:
    """Each client's next open session, for those who have one."""
    found = []
    for client in clients:
        ahead = await uow.appointments.for_client_between(client.id, now, now + timedelta(days=366))
        session = next((a for a in ahead if a.status in OPEN_STATUSES), None)
        if session is not None:
            found.append((client, session))
    return found


async def _session_of(
    uow: UnitOfWork, practitioner: Practitioner, query: str, now: datetime
) -> tuple[Client, Appointment] | list[tuple[Client, Appointment]]:
    """The one client ``query`` names and their next session, or the candidates to pick from."""
    clients = await uow.clients.for_practitioner(practitioner.id)
    matches = booking.match_by_name(query, clients, lambda c: c.full_name)
    if len(matches) == 1:
        found = await _sessions_ahead(uow, matches, now)
        if not found:
            raise Refused(Text("booking.no_session_ahead", {"client": matches[0].full_name}))
        return found[0]
    candidates = await _sessions_ahead(uow, matches or clients, now)
    if not candidates:
        raise Refused(Text("booking.unknown_client", {"query": query}))
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
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    policy: Policy,
    *,
    actor: int,
    query: str,
    day: date,
    at: time,
) -> OutgoingMessage:
    """``/reschedule <client> <date> <time>``: move that client's next session."""
    async with uow_factory() as uow:
        practitioner = await require_practitioner(uow, clock, actor, "appointment.move")
        found = await _session_of(uow, practitioner, query, clock.now())
        if isinstance(found, tuple):
            client, appointment = found
            return await _move(
                uow,
                clock,
                policy,
                practitioner,
                appointment=appointment,
                client=client,
                day=day,
                at=at,
            )
    code = booking.day_code(day) + booking.time_code(at)
    return _pick_session(
        found,
        query,
        practitioner.timezone,
        lambda a: callbacks.session(a.id, a.starts_at, SessionAction.MOVE_TO, code),
    )


async def cancel_by_name(
    uow_factory: UnitOfWorkFactory, clock: Clock, *, actor: int, query: str
) -> OutgoingMessage:
    """``/cancel <client>``: ask to confirm cancelling that client's next session."""
    async with uow_factory() as uow:
        practitioner = await require_practitioner(uow, clock, actor, "appointment.cancel")
        found = await _session_of(uow, practitioner, query, clock.now())
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


async def sessions_today(
    uow_factory: UnitOfWorkFactory, clock: Clock, *, actor: int
) -> OutgoingMessage:
    """``/today``: the practitioner's sessions on their local today, cancelled ones left out."""
    async with uow_factory() as uow:
        practitioner = await require_practitioner(uow, clock, actor, "appointment.list")
        start, end = _local_day_bounds(clock.now(), practitioner.timezone)
        found = await uow.appointments.for_practitioner_between(practitioner.id, start, end)
        return await _session_list(
            uow, practitioner, found, "sessions.today", "sessions.none_today"
        )


async def sessions_upcoming(
    uow_factory: UnitOfWorkFactory, clock: Clock, *, actor: int
) -> OutgoingMessage:
    """``/upcoming``: the practitioner's open sessions in the next two weeks."""
    async with uow_factory() as uow:
        practitioner = await require_practitioner(uow, clock, actor, "appointment.list")
        now = clock.now()
        found = await uow.appointments.for_practitioner_between(
            practitioner.id, now, now + timedelta(days=UPCOMING_DAYS)
        )
        return await _session_list(
            uow, practitioner, found, "sessions.upcoming", "sessions.none_upcoming"
        )


async def _session_list(
    uow: UnitOfWork,
    practitioner: Practitioner,
    found: Sequence[Appointment],
    key: str,
    empty_key: str,
) -> OutgoingMessage:
    shown = [a for a in found if a.status is not AppointmentStatus.CANCELLED][:UPCOMING_LIMIT]
    if not shown:
        return OutgoingMessage(Text(empty_key, {"days": UPCOMING_DAYS}))
    lines, rows = [], []
    for appointment in shown:
        client = await uow.clients.get(appointment.client_id)
        if client is None:
            continue
        lines.append(embed(session_line(appointment, client, practitioner.timezone)))
        if appointment.status in OPEN_STATUSES:
            label = Text(
                "button.client_session",
                {
                    "client": client.full_name,
                    "when": when(appointment.starts_at, practitioner.timezone, "short_datetime"),
                },
            )
            rows.append((session_button_with(appointment, label),))
    return OutgoingMessage(
        Text(key, {"lines": lines, "count": len(lines), "days": UPCOMING_DAYS}), tuple(rows)
    )


def session_button_with(appointment: Appointment, label: Text) -> Button:
    """A button opening the session's card."""
    return Button(
        label, callbacks.session(appointment.id, appointment.starts_at, SessionAction.SHOW)
    )


async def client_list(
    uow_factory: UnitOfWorkFactory, clock: Clock, *, actor: int
) -> OutgoingMessage:
    """``/clients``: every client with their state and next session; Book buttons."""
    async with uow_factory() as uow:
        practitioner = await require_practitioner(uow, clock, actor, "client.list")
        clients = await uow.clients.for_practitioner(practitioner.id)
        if not clients:
            return OutgoingMessage(Text("clients.none"))
        ahead = {c.id: a for c, a in await _sessions_ahead(uow, clients, clock.now())}
    lines = []
    for client in clients:
        session = ahead.get(client.id)
        next_text = (
            Text("clients.next", {"when": when(session.starts_at, practitioner.timezone)})
            if session
            else None
        )
        lines.append(
            embed(
                Text(
                    "clients.line",
                    {
                        "client": client.full_name,
                        "status": embed(Text(f"client_status.{client.status}")),
                        "next": embed(next_text) if next_text else "",
                    },
                )
            )
        )
    rows = tuple(
        (Button(Text("button.book_client", {"client": c.full_name}), callbacks.book(c.id)),)
        for c in clients
        if c.status is ClientStatus.ACTIVE
    )[:LIST_BUTTONS]
    return OutgoingMessage(Text("clients.list", {"lines": lines, "count": len(clients)}), rows)
