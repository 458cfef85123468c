"""The schema, as SQLAlchemy declarative models.

These rows never leave ``bot/db``: repositories turn them into the domain's
dataclasses. Column names match the dataclass fields one for one. The
migrations (``migrations/versions/``), run to the latest, create exactly this; a
test compares the two on both databases.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
    true,
)
from sqlalchemy import text as sql_text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bot.db.encrypted import EncryptedJSON, EncryptedText
from bot.db.types import StrEnumType, UTCDateTime
from bot.domain.models import (
    AppointmentStatus,
    CalendarEntryState,
    CheckInState,
    CheckInStep,
    ClientStatus,
    FlagState,
    FollowUp,
    OutboxKind,
    OutboxState,
    TriageLevel,
)

# Every constraint and index gets a predictable name, so migrations can drop
# and alter them by name on PostgreSQL and in SQLite's batch mode alike.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only autoincrements a column declared exactly INTEGER PRIMARY KEY;
# PostgreSQL gets a 64-bit BIGSERIAL.
IdType = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    """Declarative base with the shared naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    # Fetch server-generated values (ids, created_at) in the INSERT itself, so
    # a freshly added row never needs a lazy load, which async sessions forbid.
    __mapper_args__ = {"eager_defaults": True}  # noqa: RUF012


def _id() -> Mapped[int]:
    return mapped_column(IdType, primary_key=True, autoincrement=True)


def _fk(target: str, *, ondelete: str, nullable: bool = False, index: bool = False) -> Mapped[Any]:
    return mapped_column(
        IdType, ForeignKey(target, ondelete=ondelete), nullable=nullable, index=index
    )


def _created_at() -> Mapped[datetime]:
    # The server default is only a fallback: services pass the Clock's time.
    return mapped_column(UTCDateTime(), nullable=False, server_default=func.now())


class PractitionerRow(Base):
    """A practitioner; one Telegram account is at most one practitioner."""

    __tablename__ = "practitioners"

    id: Mapped[int] = _id()
    telegram_user_id: Mapped[int] = mapped_column(BigInteger, nullable=False, unique=True)
    display_name: Mapped[str] = mapped_column(String(200), nullable=False)
    timezone: Mapped[str] = mapped_column(String(64), nullable=False)
    locale: Mapped[str] = mapped_column(String(16), nullable=False)
    location: Mapped[str | None] = mapped_column(String(500))
    # Minutes before a session; empty means the operator's REMINDER_OFFSETS.
    reminder_offsets_minutes: Mapped[list[int]] = mapped_column(
        JSON, nullable=False, server_default="[]"
    )
    # Days after a session and local HH:MM; empty/NULL means the operator's CHECKIN_*.
    checkin_days: Mapped[list[int]] = mapped_column(JSON, nullable=False, server_default="[]")
    checkin_time: Mapped[str | None] = mapped_column(String(5))
    # Yesterday's answers in the morning list; on for everyone until they turn it off.
    digest: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=true())
    created_at: Mapped[datetime] = _created_at()


class ClientRow(Base):
    """A client of one practitioner. Deleting a client erases every row about them."""

    __tablename__ = "clients"
    __table_args__ = (
        # One Telegram account may be a client of several practitioners, once each.
        UniqueConstraint("practitioner_id", "telegram_user_id"),
    )

    id: Mapped[int] = _id()
    # RESTRICT: a practitioner with clients cannot be deleted by accident.
    practitioner_id: Mapped[int] = _fk("practitioners.id", ondelete="RESTRICT")
    full_name: Mapped[str] = mapped_column(EncryptedText("clients.full_name"), nullable=False)
    status: Mapped[ClientStatus] = mapped_column(StrEnumType(ClientStatus, 16), nullable=False)
    timezone: Mapped[str] = mapped_column(String(64), nullable=False)
    locale: Mapped[str] = mapped_column(String(16), nullable=False)
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    consented_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    checkins_paused: Mapped[bool] = mapped_column(Boolean, nullable=False)
    checkin_prompt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = _created_at()


class InviteRow(Base):
    """A single-use invite; only the hash of its token is stored."""

    __tablename__ = "invites"

    id: Mapped[int] = _id()
    practitioner_id: Mapped[int] = _fk("practitioners.id", ondelete="CASCADE")
    client_id: Mapped[int] = _fk("clients.id", ondelete="CASCADE", index=True)
    token_hash: Mapped[str] = mapped_column(String(128), nullable=False, unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = _created_at()


class AppointmentRow(Base):
    """One treatment session."""

    __tablename__ = "appointments"
    __table_args__ = (
        Index(None, "practitioner_id", "starts_at"),
        CheckConstraint("duration_minutes > 0", name="duration_positive"),
    )

    id: Mapped[int] = _id()
    practitioner_id: Mapped[int] = _fk("practitioners.id", ondelete="CASCADE")
    client_id: Mapped[int] = _fk("clients.id", ondelete="CASCADE", index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    duration_minutes: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[AppointmentStatus] = mapped_column(
        StrEnumType(AppointmentStatus, 32), nullable=False
    )
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class OutboxRow(Base):
    """One scheduled message: the record of what must be sent, and what became of it."""

    __tablename__ = "outbox"
    __table_args__ = (
        # The claim query and the next wake-up: pending rows by next_attempt_at.
        Index(None, "state", "next_attempt_at"),
        Index(None, "state", "expires_at"),
        # Failed sends whose consequences are still to be drawn: a handful at most.
        Index(
            None,
            "follow_up",
            sqlite_where=sql_text("follow_up IS NOT NULL"),
            postgresql_where=sql_text("follow_up IS NOT NULL"),
        ),
    )

    id: Mapped[int] = _id()
    # Indexed for cancelling everything pending for a chat that blocked the bot.
    chat_id: Mapped[int] = mapped_column(BigInteger, nullable=False, index=True)
    kind: Mapped[OutboxKind] = mapped_column(StrEnumType(OutboxKind, 32), nullable=False)
    template: Mapped[str] = mapped_column(String(100), nullable=False)
    payload: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON("outbox.payload"), nullable=False)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    dedup_key: Mapped[str] = mapped_column(String(200), nullable=False, unique=True)
    state: Mapped[OutboxState] = mapped_column(StrEnumType(OutboxState, 32), nullable=False)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    priority: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False)
    last_error: Mapped[str | None] = mapped_column(Text)
    practitioner_id: Mapped[int | None] = _fk(
        "practitioners.id", ondelete="CASCADE", nullable=True, index=True
    )
    client_id: Mapped[int | None] = _fk("clients.id", ondelete="CASCADE", nullable=True, index=True)
    appointment_id: Mapped[int | None] = _fk(
        "appointments.id", ondelete="CASCADE", nullable=True, index=True
    )
    silent: Mapped[bool] = mapped_column(Boolean, nullable=False)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)
    lateness_ms: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = _created_at()
    # Whose words or name the payload carries when it is not the recipient's (an alert
    # to the practitioner): erasing that client redacts the row. No foreign key: the row
    # is redacted, not deleted, when the client goes.
    about_client_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    # The payload is cleared once the row is done (sent, failed, cancelled...).
    forget_after_send: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=false())
    locale: Mapped[str] = mapped_column(String(16), nullable=False, server_default="en")
    follow_up: Mapped[FollowUp | None] = mapped_column(StrEnumType(FollowUp, 16))
    # The process that claimed a ``sending`` row (``bot_processes.id``; no foreign key:
    # a dead process's row goes, and its claims are recovered by that absence).
    claimed_by: Mapped[int | None] = mapped_column(IdType)


class BotProcessRow(Base):
    """A running bot process that shares the database, with its heartbeat."""

    __tablename__ = "bot_processes"
    # Ids are never reused (SQLite would give a removed process's id to the next one,
    # which would then seem to hold the dead one's claims).
    __table_args__ = {"sqlite_autoincrement": True}  # noqa: RUF012

    id: Mapped[int] = _id()
    host: Mapped[str] = mapped_column(String(200), nullable=False)
    pid: Mapped[int] = mapped_column(Integer, nullable=False)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class CheckInRow(Base):
    """One scheduled aftercare question; at most one per session and day."""

    __tablename__ = "checkins"
    __table_args__ = (UniqueConstraint("appointment_id", "day"),)

    id: Mapped[int] = _id()
    client_id: Mapped[int] = _fk("clients.id", ondelete="CASCADE", index=True)
    appointment_id: Mapped[int] = _fk("appointments.id", ondelete="CASCADE")
    day: Mapped[int] = mapped_column(Integer, nullable=False)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    state: Mapped[CheckInState] = mapped_column(StrEnumType(CheckInState, 32), nullable=False)
    step: Mapped[CheckInStep] = mapped_column(
        StrEnumType(CheckInStep, 16), nullable=False, server_default="done"
    )
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    snoozes: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    created_at: Mapped[datetime] = _created_at()


class ReplyRow(Base):
    """What a client answered. An edit is a new row with the next version, never an overwrite."""

    __tablename__ = "replies"
    __table_args__ = (
        Index(None, "client_id", "received_at"),
        UniqueConstraint("client_id", "telegram_message_id", "version"),
        CheckConstraint("score IS NULL OR (score >= 0 AND score <= 10)", name="score_range"),
        CheckConstraint("version >= 1", name="version_positive"),
    )

    id: Mapped[int] = _id()
    client_id: Mapped[int] = _fk("clients.id", ondelete="CASCADE")
    # SET NULL: a reply outlives the check-in it answered (say, a deleted session).
    checkin_id: Mapped[int | None] = _fk(
        "checkins.id", ondelete="SET NULL", nullable=True, index=True
    )
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    score: Mapped[int | None] = mapped_column(Integer)
    comparison: Mapped[str | None] = mapped_column(String(32))
    body_areas: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    text: Mapped[str | None] = mapped_column(EncryptedText("replies.text"))
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    triage_level: Mapped[TriageLevel] = mapped_column(StrEnumType(TriageLevel, 16), nullable=False)
    triage_reasons: Mapped[list[str]] = mapped_column(JSON, nullable=False)


class FlagRow(Base):
    """A worrying reply passed on to the practitioner, open until acknowledged."""

    __tablename__ = "flags"
    __table_args__ = (Index(None, "practitioner_id", "state"),)

    id: Mapped[int] = _id()
    reply_id: Mapped[int] = _fk("replies.id", ondelete="CASCADE", index=True)
    # The check-in it came from; no foreign key (see migration 0004).
    checkin_id: Mapped[int | None] = mapped_column(IdType)
    client_id: Mapped[int] = _fk("clients.id", ondelete="CASCADE", index=True)
    practitioner_id: Mapped[int] = _fk("practitioners.id", ondelete="CASCADE")
    level: Mapped[TriageLevel] = mapped_column(StrEnumType(TriageLevel, 16), nullable=False)
    reasons: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    state: Mapped[FlagState] = mapped_column(StrEnumType(FlagState, 16), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    alerts_sent: Mapped[int] = mapped_column(Integer, nullable=False)


class AuditRow(Base):
    """Who did what to which record. ``detail`` holds ids and states, never a client's words."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index(None, "subject_type", "subject_id"),
        Index(None, "actor_telegram_id", "at"),
    )

    id: Mapped[int] = _id()
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)
    action: Mapped[str] = mapped_column(String(64), nullable=False)
    actor_telegram_id: Mapped[int | None] = mapped_column(BigInteger)
    subject_type: Mapped[str | None] = mapped_column(String(32))
    subject_id: Mapped[int | None] = mapped_column(BigInteger)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    # The client the entry concerns: erasing them drops the entry's identities.
    client_id: Mapped[int | None] = mapped_column(BigInteger, index=True)


class DataKeyRow(Base):
    """A data key that has encrypted values here: its id and a value only it decrypts.

    Never the key itself. Start-up refuses to run without every key still in use, and
    the check value tells a wrong key with the right id from the right one.
    """

    __tablename__ = "data_keys"

    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    check_value: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = _created_at()
    # Set by `stillpoint keys rotate` once no value needs the key any more.
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class CalendarSubscriptionRow(Base):
    """A practitioner's calendar address (encrypted: it is a secret) and its polling state."""

    __tablename__ = "calendar_subscriptions"

    id: Mapped[int] = _id()
    practitioner_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("practitioners.id", ondelete="CASCADE"), nullable=False, unique=True
    )
    url: Mapped[str] = mapped_column(EncryptedText("calendar_subscriptions.url"), nullable=False)
    etag: Mapped[str | None] = mapped_column(String(500))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    next_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    failures: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    failing_told: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=false())
    synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = _created_at()


class CalendarEntryRow(Base):
    """One event of a subscribed calendar and what became of it; one per UID and
    occurrence. Its client's erasure removes it (and its title, which may name them)."""

    __tablename__ = "calendar_entries"
    __table_args__ = (UniqueConstraint("subscription_id", "uid", "recurrence_id"),)

    id: Mapped[int] = _id()
    subscription_id: Mapped[int] = _fk("calendar_subscriptions.id", ondelete="CASCADE")
    uid: Mapped[str] = mapped_column(String(500), nullable=False)
    recurrence_id: Mapped[str] = mapped_column(String(64), nullable=False)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    title: Mapped[str] = mapped_column(EncryptedText("calendar_entries.title"), nullable=False)
    state: Mapped[CalendarEntryState] = mapped_column(
        StrEnumType(CalendarEntryState, 32), nullable=False
    )
    appointment_id: Mapped[int | None] = _fk(
        "appointments.id", ondelete="SET NULL", nullable=True, index=True
    )
    client_id: Mapped[int | None] = _fk("clients.id", ondelete="CASCADE", nullable=True, index=True)
    created_at: Mapped[datetime] = _created_at()


class CalendarChoiceRow(Base):
    """The practitioner's answer for one event UID: its client, or none (not a session)."""

    __tablename__ = "calendar_choices"
    __table_args__ = (UniqueConstraint("subscription_id", "uid"),)

    id: Mapped[int] = _id()
    subscription_id: Mapped[int] = _fk("calendar_subscriptions.id", ondelete="CASCADE")
    uid: Mapped[str] = mapped_column(String(500), nullable=False)
    client_id: Mapped[int | None] = _fk("clients.id", ondelete="CASCADE", nullable=True, index=True)
