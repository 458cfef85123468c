"""A client's session as a calendar file: "Add to my calendar" under the notice of a booking
or a move, "Remove from my calendar" under the notice of a cancellation.

The file is an iCalendar document (RFC 5545) with one event, made for the session as it
stands when the button is pressed, so a button on an older notice still gives the truth:
a session since cancelled gives the cancelling file. Like a reminder, it holds no clinical
detail: who (the practitioner's name), when, where, and a line on how to change it.

Calendars tell versions of one event apart by ``UID`` (``appointment-<id>@stillpoint``,
stable for the session) and ``SEQUENCE``. The sequence is the number of times the session
was moved (its ``appointment.moved`` audit entries), and one more once it is cancelled: it
changes exactly when what a calendar shows changes, never goes down (the audit log is
append-only and a cancelled session cannot be moved), and is exact where a time stamp
would tie for two moves in one minute and go back with a clock set back. Confirming or
asking to reschedule changes nothing in a calendar, and no number.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from bot.domain.models import Appointment, AppointmentStatus, Client, ClientStatus, Practitioner
from bot.domain.outgoing import Text
from bot.domain.text_params import when
from bot.ports import UnitOfWork
from bot.services.access import Refused, clients_appointment
from bot.services.context import UseCaseContext
from bot.services.sessions.views import practitioner_name

PRODUCT_ID = "-//Stillpoint//Sessions//EN"
ACTION = "appointment.calendar_file"
MOVED = "appointment.moved"

PlainText = Callable[[Text, str], str]
"""Renders a catalog text as plain words (nothing escaped) in a locale: the adapter's
``messages.render_plain``, which use cases cannot import themselves."""


@dataclass(frozen=True, slots=True)
class CalendarFile:
    """An ``.ics`` document for one session, its file name, and the caption it goes with."""

    document: bytes
    file_name: str
    caption: Text


async def calendar_file(
    ctx: UseCaseContext, *, actor: int, appointment_id: int, render: PlainText
) -> CalendarFile:
    """The caller's session as a calendar file: one to add (or update) it, or, once it is
    cancelled, one to remove it. Only the session's own client gets it (a refusal,
    audited, for anyone else); a client who stopped Stillpoint is refused as on the
    session's other buttons. Each file sent is an audit entry."""
    async with ctx.uow() as uow:
        appointment, client = await clients_appointment(
            uow, ctx.clock, actor, appointment_id, ACTION
        )
        practitioner = await uow.practitioners.get(appointment.practitioner_id)
        if practitioner is None:
            raise Refused(Text("access.not_found"))
        if client.status is not ClientStatus.ACTIVE:
            raise Refused(Text("session.client_not_active"))
        now = ctx.clock.now()
        sequence = await sequence_of(uow, appointment)
        cancelled = appointment.status is AppointmentStatus.CANCELLED
        await uow.audit.record(
            now,
            ACTION,
            actor_telegram_id=actor,
            subject_type="appointment",
            subject_id=appointment.id,
            detail={
                "client_id": client.id,
                "method": "CANCEL" if cancelled else "PUBLISH",
                "sequence": sequence,
            },
            client_id=client.id,
        )
        await uow.commit()
    return CalendarFile(
        document=ics(
            appointment,
            practitioner,
            sequence=sequence,
            stamp=now,
            words=lambda text: render(text, client.locale),
        ),
        file_name=file_name(appointment, client),
        caption=Text(
            "calendar_file.caption_cancelled" if cancelled else "calendar_file.caption",
            {
                "practitioner": practitioner_name(practitioner),
                "when": when(appointment.starts_at, client.timezone),
            },
        ),
    )


async def sequence_of(uow: UnitOfWork, appointment: Appointment) -> int:
    """How many times the session was moved, and one more once it is cancelled."""
    moves = sum(
        1
        for entry in await uow.audit.about_client(appointment.client_id)
        if entry.action == MOVED
        and entry.subject_type == "appointment"
        and entry.subject_id == appointment.id
    )
    return moves + (1 if appointment.status is AppointmentStatus.CANCELLED else 0)


def uid(appointment_id: int) -> str:
    """The event's ``UID``: the same for every version of one session."""
    return f"appointment-{appointment_id}@stillpoint"


def ics(
    appointment: Appointment,
    practitioner: Practitioner,
    *,
    sequence: int,
    stamp: datetime,
    words: Callable[[Text], str],
) -> bytes:
    """The iCalendar document: ``METHOD:PUBLISH`` with the session, or ``METHOD:CANCEL``
    with it ``STATUS:CANCELLED`` once it is cancelled; times in UTC. ``words`` renders a
    catalog text in the client's language."""
    cancelled = appointment.status is AppointmentStatus.CANCELLED
    starts_at = appointment.starts_at.astimezone(UTC)
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancelled else "PUBLISH")
    event = Event()
    event.add("uid", uid(appointment.id))
    event.add("sequence", sequence)
    event.add("dtstamp", stamp.astimezone(UTC))
    event.add("dtstart", starts_at)
    event.add("dtend", starts_at + timedelta(minutes=appointment.duration_minutes))
    name = practitioner_name(practitioner)
    event.add("summary", words(Text("calendar_file.summary", {"practitioner": name})))
    if practitioner.location:
        event.add("location", practitioner.location)
    description = (
        "calendar_file.description_cancelled" if cancelled else "calendar_file.description"
    )
    event.add("description", words(Text(description)))
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("transp", "OPAQUE")
    calendar.add_component(event)
    document: bytes = calendar.to_ical()
    return document


def file_name(appointment: Appointment, client: Client) -> str:
    """``stillpoint-session-<the session's day in the client's zone>.ics``."""
    day = appointment.starts_at.astimezone(ZoneInfo(client.timezone)).date()
    return f"stillpoint-session-{day.isoformat()}.ics"
