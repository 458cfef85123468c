"""How sessions look in messages: their time in the reader's zone, and their buttons."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain import callbacks
from bot.domain.callbacks import SessionAction
from bot.domain.models import Appointment, AppointmentStatus, Client, Practitioner
from bot.domain.outgoing import Button, Text
from bot.domain.text_params import embed, when

Rows = tuple[tuple[Button, ...], ...]


@dataclass(frozen=True, slots=True)
class SessionParties:
    """A session with its client and practitioner: what a message about it needs."""

    appointment: Appointment
    client: Client
    practitioner: Practitioner


def practitioner_name(practitioner: Practitioner) -> str | dict[str, object]:
    """The name clients see; a kind fallback while the practitioner has not said /start."""
    return practitioner.display_name or embed(Text("common.your_practitioner"))


def session_button(appointment: Appointment, action: SessionAction, label: str) -> Button:
    """One button acting on ``appointment`` as it stands now."""
    return Button(Text(label), callbacks.session(appointment.id, appointment.starts_at, action))


def client_session_buttons(appointment: Appointment) -> Rows:
    """Confirm (unless confirmed already), Reschedule, Cancel."""
    buttons = [
        session_button(appointment, SessionAction.ASK_RESCHEDULE, "button.reschedule"),
        session_button(appointment, SessionAction.ASK_CANCEL, "button.cancel"),
    ]
    if appointment.status is not AppointmentStatus.CONFIRMED:
        buttons.insert(0, session_button(appointment, SessionAction.CONFIRM, "button.confirm"))
    return (tuple(buttons),)


def practitioner_session_buttons(appointment: Appointment) -> Rows:
    """Move and Cancel, for the practitioner."""
    return (
        (
            session_button(appointment, SessionAction.MOVE, "button.move"),
            session_button(appointment, SessionAction.PRACTITIONER_ASK_CANCEL, "button.cancel"),
        ),
    )


def session_line(appointment: Appointment, client: Client, timezone: str) -> Text:
    """One line of a practitioner's list: time, client, state."""
    return Text(
        "sessions.line",
        {
            "when": when(appointment.starts_at, timezone, "datetime"),
            "client": client.full_name,
            "minutes": appointment.duration_minutes,
            "status": embed(Text(f"status.{appointment.status}")),
        },
    )


def calendar_row(appointment: Appointment, timezone: str | None = None) -> Rows:
    """The button under a client's notice of a session that sends it as a calendar file:
    "Add to my calendar", or "Remove from my calendar" once it is cancelled. With
    ``timezone`` (a notice of several sessions), "Add" names the session's time."""
    if appointment.status is AppointmentStatus.CANCELLED:
        label = Text("calendar_file.button_remove")
    elif timezone is None:
        label = Text("calendar_file.button_add")
    else:
        label = Text(
            "calendar_file.button_add_one",
            {"when": when(appointment.starts_at, timezone, "short_datetime")},
        )
    return ((Button(label, callbacks.calendar_file(appointment.id)),),)
