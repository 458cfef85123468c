"""Reminders before a session and notices about it to the client, through the outbox.

A reminder holds no clinical detail: who, when, where, and a short preparation note.
Its dedup key names the session's start, the client's zone and whether the session is
confirmed, so a change cancels the old rows and schedules new ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.domain import callbacks
from bot.domain.models import (
    AppointmentStatus,
    AuditEntry,
    Client,
    ClientStatus,
    OutboxKind,
    OutboxMessage,
    Practitioner,
)
from bot.domain.outgoing import OutgoingMessage, Recipient, Text
from bot.domain.text_params import embed, when
from bot.ports import UnitOfWork
from bot.services.delivery.outbox import outbox_row
from bot.services.policy import Policy
from bot.services.sessions.views import (
    SessionParties,
    calendar_row,
    client_session_buttons,
    practitioner_name,
)


def _recipient(client: Client) -> Recipient | None:
    """The client, if they may get messages: joined, and not stopped or blocked."""
    return Recipient.client(client) if client.status is ClientStatus.ACTIVE else None


def _where(practitioner: Practitioner) -> dict[str, object] | str:
    if practitioner.location:
        return embed(Text("reminder.where", {"location": practitioner.location}))
    return ""


def reminder_rows(policy: Policy, parties: SessionParties, now: datetime) -> list[OutboxMessage]:
    """The reminders still ahead of ``now`` (not stored yet); none for a client who
    cannot get them."""
    appointment, client, practitioner = parties.appointment, parties.client, parties.practitioner
    recipient = _recipient(client)
    if recipient is None or appointment.status is AppointmentStatus.CANCELLED:
        return []
    confirmed = appointment.status is AppointmentStatus.CONFIRMED
    version = callbacks.session_version(appointment.starts_at)
    buttons = client_session_buttons(appointment)
    rows = []
    for offset in policy.reminder_offsets_for(practitioner):
        due_at = appointment.starts_at - offset
        if due_at <= now:
            continue
        minutes = int(offset.total_seconds() // 60)
        text = Text(
            "reminder.confirmed" if confirmed else "reminder.ask",
            {
                "practitioner": practitioner_name(practitioner),
                "when": when(appointment.starts_at, client.timezone),
                "where": _where(practitioner),
            },
        )
        rows.append(
            outbox_row(
                OutgoingMessage(text, buttons),
                recipient,
                kind=OutboxKind.REMINDER,
                dedup_key=(
                    f"reminder:{appointment.id}:{minutes}:{version}:{client.timezone}"
                    f":{'c' if confirmed else 'a'}"
                ),
                now=now,
                quiet=policy.quiet,
                due_at=due_at,
                expires_at=appointment.starts_at,
                appointment_id=appointment.id,
            )
        )
    return rows


async def schedule_reminders(
    uow: UnitOfWork, policy: Policy, parties: SessionParties, now: datetime
) -> list[OutboxMessage]:
    """Schedule the reminders still ahead of ``now``; none for a client who cannot get them."""
    return [await uow.outbox.add(row) for row in reminder_rows(policy, parties, now)]


async def cancel_reminders(uow: UnitOfWork, appointment_id: int, reason: str) -> int:
    """Cancel the session's pending reminders and notices; return how many."""
    return await uow.outbox.cancel_pending(
        appointment_id=appointment_id,
        kinds=(OutboxKind.REMINDER, OutboxKind.NOTICE),
        reason=reason,
    )


async def refresh_reminders(
    uow: UnitOfWork, policy: Policy, parties: SessionParties, now: datetime, reason: str
) -> None:
    """Replace the session's pending reminders by ones matching it as it stands now."""
    await uow.outbox.cancel_pending(
        appointment_id=parties.appointment.id, kinds=(OutboxKind.REMINDER,), reason=reason
    )
    await schedule_reminders(uow, policy, parties, now)


def client_notice_row(
    policy: Policy, parties: SessionParties, event: str, now: datetime
) -> OutboxMessage | None:
    """The notice telling the client the practitioner booked, moved or cancelled their
    session, with the button for its calendar file (not stored yet); ``None`` for a
    client who cannot get it."""
    appointment, client, practitioner = parties.appointment, parties.client, parties.practitioner
    recipient = _recipient(client)
    if recipient is None:
        return None
    cancelled = appointment.status is AppointmentStatus.CANCELLED
    message = OutgoingMessage(
        Text(
            f"session.client_{event}",
            {
                "practitioner": practitioner_name(practitioner),
                "when": when(appointment.starts_at, client.timezone),
            },
        ),
        (() if cancelled else client_session_buttons(appointment)) + calendar_row(appointment),
    )
    return outbox_row(
        message,
        recipient,
        kind=OutboxKind.NOTICE,
        dedup_key=(
            f"session.{event}:{appointment.id}:{callbacks.session_version(appointment.starts_at)}"
            f":{int(now.timestamp())}"
        ),
        now=now,
        quiet=policy.quiet,
        # A notice about a session is pointless once it has begun.
        expires_at=appointment.starts_at,
        appointment_id=appointment.id,
    )


async def tell_client(
    uow: UnitOfWork, policy: Policy, parties: SessionParties, event: str, now: datetime
) -> OutboxMessage | None:
    """Tell the client the practitioner booked, moved or cancelled their session, with the
    button for its calendar file (to add or update it, or to remove it)."""
    row = client_notice_row(policy, parties, event, now)
    return None if row is None else await uow.outbox.add(row)


async def announce(
    uow: UnitOfWork, policy: Policy, parties: SessionParties, event: str, now: datetime
) -> int:
    """After a booking or a move: schedule the reminders, tell the client, and record it
    in the audit log (``appointment.<event>``); returns how many reminders are planned."""
    reminders = await schedule_reminders(uow, policy, parties, now)
    await tell_client(uow, policy, parties, event, now)
    await uow.audit.record_all([_audit_entry(parties, event, now, len(reminders))])
    return len(reminders)


async def announce_booked(
    uow: UnitOfWork, policy: Policy, sessions: Sequence[SessionParties], now: datetime
) -> list[int]:
    """:func:`announce` of bookings, for many sessions: their messages and audit entries
    each written in one statement, and a client booked several of them told in one
    message (:func:`booked_notice_row`). How many reminders are planned for each."""
    rows: list[OutboxMessage] = []
    entries: list[AuditEntry] = []
    counts: list[int] = []
    by_client: dict[int, list[SessionParties]] = {}
    for parties in sessions:
        reminders = reminder_rows(policy, parties, now)
        rows += reminders
        entries.append(_audit_entry(parties, "booked", now, len(reminders)))
        counts.append(len(reminders))
        by_client.setdefault(parties.client.id, []).append(parties)
    for theirs in by_client.values():
        theirs.sort(key=lambda parties: parties.appointment.starts_at)
        for at in range(0, len(theirs), SESSIONS_A_NOTICE):
            group = theirs[at : at + SESSIONS_A_NOTICE]
            if len(group) == 1:
                notice = client_notice_row(policy, group[0], "booked", now)
            else:
                notice = booked_notice_row(policy, group, now)
            if notice is not None:
                rows.append(notice)
    await uow.outbox.add_all(rows)
    await uow.audit.record_all(entries)
    return counts


SESSIONS_A_NOTICE = 10
"""Sessions listed in one notice to a client, each with its own calendar button."""


def booked_notice_row(
    policy: Policy, sessions: Sequence[SessionParties], now: datetime
) -> OutboxMessage | None:
    """One notice telling the client of several sessions (one client's, one practitioner's,
    soonest first) booked at once, each with a button for its calendar file; ``None`` for
    a client who cannot get it. Each session's reminders carry its own buttons."""
    first = sessions[0]
    client, practitioner = first.client, first.practitioner
    recipient = _recipient(client)
    if recipient is None:
        return None
    ordered = [parties.appointment for parties in sessions]
    message = OutgoingMessage(
        Text(
            "session.client_booked_many",
            {
                "practitioner": practitioner_name(practitioner),
                "count": len(ordered),
                "sessions": [
                    embed(Text("session.line", {"when": when(a.starts_at, client.timezone)}))
                    for a in ordered
                ],
            },
        ),
        tuple(row for a in ordered for row in calendar_row(a, client.timezone)),
    )
    return outbox_row(
        message,
        recipient,
        kind=OutboxKind.NOTICE,
        dedup_key=f"session.booked_many:{ordered[0].id}:{int(now.timestamp())}",
        now=now,
        quiet=policy.quiet,
        # Pointless once the last of them has begun.
        expires_at=ordered[-1].starts_at,
    )


def _audit_entry(parties: SessionParties, event: str, now: datetime, reminders: int) -> AuditEntry:
    return AuditEntry(
        id=0,
        at=now,
        action=f"appointment.{event}",
        actor_telegram_id=parties.practitioner.telegram_user_id,
        subject_type="appointment",
        subject_id=parties.appointment.id,
        detail={"client_id": parties.client.id, "reminders": reminders},
        client_id=parties.client.id,
    )
