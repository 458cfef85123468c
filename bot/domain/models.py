"""The domain's records, as plain dataclasses.

Repositories return these; services and handlers never see ORM rows. Every
``datetime`` here is timezone-aware UTC.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class ClientStatus(enum.StrEnum):
    """Where a client stands with the bot."""

    INVITED = "invited"  # invite created, client has not agreed yet
    ACTIVE = "active"  # agreed to the consent message
    STOPPED = "stopped"  # sent /stop: no messages of any kind
    UNREACHABLE = "unreachable"  # Telegram answered 403: the client blocked the bot


class AppointmentStatus(enum.StrEnum):
    """The life of one treatment session."""

    BOOKED = "booked"
    CONFIRMED = "confirmed"
    RESCHEDULE_REQUESTED = "reschedule_requested"
    CANCELLED = "cancelled"
    COMPLETED = "completed"
    NO_SHOW = "no_show"


class OutboxKind(enum.StrEnum):
    """What a scheduled message is for."""

    REMINDER = "reminder"
    CHECKIN = "checkin"
    FLAG_ALERT = "flag_alert"
    NOTICE = "notice"  # a one-off message to a practitioner or client


class OutboxState(enum.StrEnum):
    """States of a scheduled message (docs/architecture.md, "What happens to a message")."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    UNCERTAIN = "uncertain"
    SKIPPED_STALE = "skipped_stale"
    CANCELLED = "cancelled"


class FollowUp(enum.StrEnum):
    """What a failed send still leads to, done in a pass of its own after it is recorded."""

    UNREACHABLE = "unreachable"
    """Telegram refused the chat (blocked, never started): a client's messages stop and
    their practitioner hears; an alert goes on to the backup contact."""
    UNDELIVERED = "undelivered"
    """An alert failed for good: the backup contact gets it."""


class CheckInState(enum.StrEnum):
    """States of one aftercare check-in."""

    SCHEDULED = "scheduled"
    SENT = "sent"
    ANSWERED = "answered"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


class CheckInStep(enum.StrEnum):
    """Where one check-in's conversation stands; each step can be skipped."""

    SCORE = "score"  # 0-10 discomfort
    CHANGE = "change"  # compared with before the session
    AREAS = "areas"  # body areas, several may be picked
    TEXT = "text"  # anything to share, in words
    DONE = "done"


class TriageLevel(enum.StrEnum):
    """How worrying a reply is."""

    NONE = "none"
    CONCERN = "concern"
    URGENT = "urgent"


class FlagState(enum.StrEnum):
    """A flag is open until its practitioner acknowledges it."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"


@dataclass(frozen=True, slots=True)
class Practitioner:
    """A bodywork practitioner who uses the bot for their own clients."""

    id: int
    telegram_user_id: int
    display_name: str
    timezone: str
    locale: str = "en"
    location: str | None = None
    reminder_offsets_minutes: tuple[int, ...] = ()  # empty: the operator's default
    checkin_days: tuple[int, ...] = ()  # empty: the operator's default
    checkin_time: str | None = None  # "HH:MM" local; None: the operator's default
    digest: bool = True  # yesterday's answers in the morning list
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Client:
    """A client of one practitioner. ``telegram_user_id`` is set once they join."""

    id: int
    practitioner_id: int
    full_name: str
    status: ClientStatus
    timezone: str
    locale: str = "en"
    telegram_user_id: int | None = None
    consented_at: datetime | None = None
    checkins_paused: bool = False
    checkin_prompt_at: datetime | None = None  # asked whether to keep getting check-ins
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Invite:
    """A single-use invite link. Only the hash of its token is ever stored."""

    id: int
    practitioner_id: int
    client_id: int
    token_hash: str
    expires_at: datetime
    used_at: datetime | None = None
    revoked_at: datetime | None = None
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Appointment:
    """One treatment session."""

    id: int
    practitioner_id: int
    client_id: int
    starts_at: datetime
    duration_minutes: int
    status: AppointmentStatus
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """One scheduled message: the record of what must be sent, and what became of it.

    ``due_at`` is when it should go out (quiet hours already applied) and never
    changes once scheduled; lateness is measured from it. ``next_attempt_at`` is
    when it may next be tried: ``due_at`` at first, later after a retry wait.
    After ``expires_at`` it is never sent (``skipped_stale``). Higher ``priority``
    goes first among what is due.
    """

    id: int
    chat_id: int
    kind: OutboxKind
    template: str
    payload: dict[str, Any]
    due_at: datetime
    dedup_key: str
    state: OutboxState
    next_attempt_at: datetime | None = None  # None when adding: the repository uses due_at
    expires_at: datetime | None = None
    priority: int = 0
    attempts: int = 0
    last_error: str | None = None
    practitioner_id: int | None = None
    client_id: int | None = None
    appointment_id: int | None = None
    silent: bool = False
    claimed_at: datetime | None = None
    sent_at: datetime | None = None
    telegram_message_id: int | None = None
    lateness_ms: int | None = None
    created_at: datetime | None = None
    about_client_id: int | None = None
    """The client whose name or words a message to someone else carries (an alert)."""
    forget_after_send: bool = False
    """Clear the payload once the message is done (an erasure notice, a morning list)."""
    locale: str = "en"
    """The reader's language, which the message is rendered in when it is sent."""
    follow_up: FollowUp | None = None
    """What its failure still leads to, until that is done."""
    claimed_by: int | None = None
    """The process that claimed it, while it is ``sending`` (a shared database)."""


@dataclass(frozen=True, slots=True)
class CheckIn:
    """One scheduled aftercare question after a session."""

    id: int
    client_id: int
    appointment_id: int
    day: int
    due_at: datetime
    state: CheckInState
    step: CheckInStep = CheckInStep.SCORE
    answered_at: datetime | None = None
    snoozes: int = 0
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Reply:
    """What a client answered to a check-in: a tap, a score, or words."""

    id: int
    client_id: int
    received_at: datetime
    checkin_id: int | None = None
    score: int | None = None
    comparison: str | None = None
    body_areas: tuple[str, ...] = ()
    text: str | None = None
    telegram_message_id: int | None = None
    version: int = 1
    triage_level: TriageLevel = TriageLevel.NONE
    triage_reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Flag:
    """A concern or urgent reply passed on to the practitioner, open until acknowledged."""

    id: int
    reply_id: int
    client_id: int
    practitioner_id: int
    level: TriageLevel
    reasons: tuple[str, ...]
    state: FlagState
    created_at: datetime
    acknowledged_at: datetime | None = None
    alerts_sent: int = 0
    checkin_id: int | None = None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """Who did what to which record. Never holds a client's words."""

    id: int
    at: datetime
    action: str
    actor_telegram_id: int | None = None
    subject_type: str | None = None
    subject_id: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    client_id: int | None = None
    """The client the entry concerns, so that erasing them reaches it."""


class CalendarEntryState(enum.StrEnum):
    """What became of one event of a practitioner's calendar."""

    BOOKED = "booked"  # a session of the client it names
    WAITING = "waiting"  # it names no client, or several: to be asked about on a coming read
    ASKED = "asked"  # the practitioner was asked whose session it is (or its series is)
    NOT_A_SESSION = "not_a_session"  # the practitioner said it is no client's session
    NOT_BOOKED = "not_booked"  # its client could not be booked (a clash, not active); told once
    CLIENT_CANCELLED = "client_cancelled"  # the client cancelled in Stillpoint; told once


@dataclass(frozen=True, slots=True)
class CalendarSubscription:
    """A practitioner's calendar, polled for their sessions. ``url`` is a secret."""

    id: int
    practitioner_id: int
    url: str
    etag: str | None = None
    last_modified: str | None = None
    next_poll_at: datetime | None = None
    failures: int = 0
    """Failed polls in a row; the next poll waits longer after each (backoff)."""
    failing_told: bool = False
    """Whether the practitioner was told it fails (once, and again when it works)."""
    synced_at: datetime | None = None
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class CalendarEntry:
    """One event (one occurrence of a repeating one) of a subscribed calendar, and what
    became of it. ``title`` is the event's own, kept to ask the practitioner about it."""

    id: int
    subscription_id: int
    uid: str
    recurrence_id: str
    starts_at: datetime
    ends_at: datetime
    title: str
    state: CalendarEntryState
    appointment_id: int | None = None
    client_id: int | None = None
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class CalendarChoice:
    """The practitioner's answer for an event (and all its repeats): its client, or
    ``None``: not a client's session."""

    id: int
    subscription_id: int
    uid: str
    client_id: int | None
