"""The practitioner's calendar: local times to UTC, clashes, free times, and the day and time
pickers of the guided flows."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain import booking_input
from bot.domain.booking_input import BookingInputError
from bot.domain.models import Appointment, AppointmentStatus, Client, Practitioner
from bot.domain.outgoing import Button, OutgoingMessage, Text
from bot.domain.text_params import embed, when
from bot.domain.timing import Spans
from bot.ports import UnitOfWork
from bot.services.access import Refused

LONGEST_SESSION = timedelta(minutes=booking_input.MAX_MINUTES)


OPEN_STATUSES = frozenset(
    {AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED, AppointmentStatus.RESCHEDULE_REQUESTED}
)


LIST_BUTTONS = 30


def input_problem(error: BookingInputError) -> Refused:
    """A kind refusal explaining what is wrong with a date, a time or a duration."""
    params = {"min": booking_input.MIN_MINUTES, "max": booking_input.MAX_MINUTES, **error.params}
    return Refused(Text(f"booking_input.{error.problem}", params))


def start_at(day: date, at: time, timezone: str, now: datetime) -> datetime:
    try:
        starts_at = booking_input.local_to_utc(day, at, timezone)
        booking_input.require_bookable(starts_at, now)
    except BookingInputError as error:
        raise input_problem(error) from None
    return starts_at


def noon(day: date, timezone: str) -> datetime:
    """A moment inside ``day`` in ``timezone``, to show the day with ``when``."""
    return datetime.combine(day, time(12, 0), ZoneInfo(timezone))


def local_day_bounds(now: datetime, timezone: str) -> tuple[datetime, datetime]:
    zone = ZoneInfo(timezone)
    day = now.astimezone(zone).date()
    start = datetime.combine(day, time(0, 0), zone)
    end = datetime.combine(day + timedelta(days=1), time(0, 0), zone)
    return start, end


async def busy(
    uow: UnitOfWork, practitioner: Practitioner, start: datetime, end: datetime, *, exclude: int = 0
) -> list[Appointment]:
    """Open sessions of the practitioner that run at some point in ``[start, end)``."""
    found = await busy_during(uow, practitioner, [(start, end)])
    return [a for a in found if a.id != exclude]


async def busy_during(
    uow: UnitOfWork, practitioner: Practitioner, spans: Sequence[tuple[datetime, datetime]]
) -> list[Appointment]:
    """Open sessions of the practitioner that run at some point of one of ``spans``
    (each ``[start, end)``): those starting near them, not all between the first and
    the last."""
    if not spans:
        return []
    near = [(start - LONGEST_SESSION, end) for start, end in spans]
    found = await uow.appointments.for_practitioner_within(practitioner.id, near)
    wanted = Spans(spans)
    return [
        a
        for a in found
        if a.status in OPEN_STATUSES
        and wanted.meet(a.starts_at, a.starts_at + timedelta(minutes=a.duration_minutes))
    ]


async def refuse_clash(
    uow: UnitOfWork, practitioner: Practitioner, starts_at: datetime, minutes: int, exclude: int = 0
) -> None:
    end = starts_at + timedelta(minutes=minutes)
    for other in await busy(uow, practitioner, starts_at, end, exclude=exclude):
        raise clash_refusal(practitioner, other, await uow.clients.get(other.client_id))


class OpenSessions:
    """Open sessions in order of their start, to find the one a new session would run
    over by looking only at those starting up to :data:`LONGEST_SESSION` before it."""

    def __init__(self, sessions: Iterable[Appointment]) -> None:
        self._sessions = sorted(sessions, key=lambda a: a.starts_at)
        self._starts = [a.starts_at for a in self._sessions]

    def clashing(self, starts_at: datetime, minutes: int) -> Appointment | None:
        """The soonest session that runs at some point of a session of ``minutes`` from
        ``starts_at``, if any."""
        end = starts_at + timedelta(minutes=minutes)
        first = bisect.bisect_left(self._starts, starts_at - LONGEST_SESSION)
        last = bisect.bisect_left(self._starts, end)
        for other in self._sessions[first:last]:
            if other.starts_at + timedelta(minutes=other.duration_minutes) > starts_at:
                return other
        return None

    def add(self, session: Appointment) -> None:
        """Count ``session`` among the open ones."""
        at = bisect.bisect_right(self._starts, session.starts_at)
        self._starts.insert(at, session.starts_at)
        self._sessions.insert(at, session)


def clash_refusal(practitioner: Practitioner, other: Appointment, client: Client | None) -> Refused:
    """Why a session cannot be booked over ``other`` (the session of ``client``): whose
    session it is, and when."""
    return Refused(
        Text(
            "booking.clash",
            {
                "client": client.full_name if client else "?",
                "when": when(other.starts_at, practitioner.timezone),
                "minutes": other.duration_minutes,
            },
        )
    )


def their_time(appointment: Appointment, client: Client, practitioner: Practitioner) -> object:
    """The client's local time too, when their zone is not the practitioner's."""
    if client.timezone == practitioner.timezone:
        return ""
    return embed(
        Text(
            "booking.their_time",
            {"when": when(appointment.starts_at, client.timezone), "timezone": client.timezone},
        )
    )


def day_param(day: date, practitioner: Practitioner) -> dict[str, str]:
    return when(noon(day, practitioner.timezone), practitioner.timezone, "date")


def day_picker(
    practitioner: Practitioner, now: datetime, prompt: Text, data_for: Callable[[str], str]
) -> OutgoingMessage:
    today = now.astimezone(ZoneInfo(practitioner.timezone)).date()
    buttons = [
        Button(
            Text(
                "button.day",
                {
                    "day": when(
                        noon(day, practitioner.timezone), practitioner.timezone, "short_date"
                    )
                },
            ),
            data_for(booking_input.day_code(day)),
        )
        for day in booking_input.bookable_days(today)
    ]
    return OutgoingMessage(
        prompt, tuple(tuple(buttons[i : i + 2]) for i in range(0, len(buttons), 2))
    )


async def time_picker(
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
    try:
        booking_input.require_bookable_day(day, now)
    except BookingInputError as error:
        raise input_problem(error) from None
    zone = practitioner.timezone
    day_start = datetime.combine(day, time(0, 0), ZoneInfo(zone))
    taken = [
        (a.starts_at, a.starts_at + timedelta(minutes=a.duration_minutes))
        for a in await busy(
            uow, practitioner, day_start, day_start + timedelta(days=1), exclude=exclude
        )
    ]
    slots = booking_input.free_slots(day, zone, now=now, busy=taken, minutes=minutes)
    if not slots:
        return OutgoingMessage(Text("booking.no_free_time", {"day": day_param(day, practitioner)}))
    buttons = [
        Button(
            Text(
                "button.time",
                {"time": when(booking_input.local_to_utc(day, slot, zone), zone, "time")},
            ),
            data_for(booking_input.time_code(slot)),
        )
        for slot in slots
    ]
    return OutgoingMessage(
        prompt, tuple(tuple(buttons[i : i + 4]) for i in range(0, len(buttons), 4))
    )


async def sessions_ahead(
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
