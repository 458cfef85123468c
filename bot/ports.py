"""The Protocols that services depend on. Adapters in ``bot/db`` and ``bot/telegram`` fill them.

Repository conventions: ``add`` stores a record (its ``id`` is ignored) and returns it as
stored, with its new id; ``get`` returns ``None`` when there is no such record; ``update``
writes the whole record over the stored one. Repositories never commit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self

from bot.domain.models import (
    Appointment,
    AuditEntry,
    CheckIn,
    Client,
    Flag,
    Invite,
    OutboxMessage,
    Practitioner,
    Reply,
)


class Clock(Protocol):
    """The only source of the current time."""

    def now(self) -> datetime:
        """Return the current time, timezone-aware, in UTC."""
        ...


@dataclass(frozen=True, slots=True)
class Text:
    """A catalog message key and its parameters; the adapter renders it in the reader's locale."""

    key: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Button:
    """One inline keyboard button: a label, and either ``callback_data`` or ``url``."""

    label: Text
    callback_data: str | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """A message to send: its text, its buttons (rows), and whether it arrives silently."""

    text: Text
    buttons: tuple[tuple[Button, ...], ...] = ()
    silent: bool = False


@dataclass(frozen=True, slots=True)
class SentMessage:
    """What Telegram answered for a sent message."""

    chat_id: int
    message_id: int


class Notifier(Protocol):
    """Sends messages to Telegram chats. Raises ``bot.domain.delivery.DeliveryError``s."""

    async def send(self, chat_id: int, message: OutgoingMessage, locale: str) -> SentMessage:
        """Render ``message`` in ``locale``, send it, and return its ids."""
        ...


class PractitionerRepository(Protocol):
    """Practitioners by id or Telegram user id."""

    async def add(self, practitioner: Practitioner) -> Practitioner: ...
    async def get(self, practitioner_id: int) -> Practitioner | None: ...
    async def by_telegram_id(self, telegram_user_id: int) -> Practitioner | None: ...
    async def list_all(self) -> Sequence[Practitioner]: ...
    async def add_if_absent(self, practitioner: Practitioner) -> Practitioner | None:
        """Store unless this Telegram account is registered already (then ``None``); race-safe."""
        ...

    async def update(self, practitioner: Practitioner) -> Practitioner: ...


class ClientRepository(Protocol):
    """Clients; each belongs to one practitioner."""

    async def add(self, client: Client) -> Client: ...
    async def get(self, client_id: int) -> Client | None: ...
    async def update(self, client: Client) -> Client: ...
    async def by_telegram_id(self, telegram_user_id: int) -> Sequence[Client]:
        """Every client record of this Telegram account: one per practitioner at most."""
        ...

    async def for_practitioner(self, practitioner_id: int) -> Sequence[Client]: ...
    async def remove(self, client_id: int) -> None:
        """Delete the client and everything that hangs on them (sessions, replies, flags)."""
        ...


class InviteRepository(Protocol):
    """Invite links, looked up by the hash of their token."""

    async def add(self, invite: Invite) -> Invite: ...
    async def by_token_hash(self, token_hash: str) -> Invite | None: ...
    async def update(self, invite: Invite) -> Invite: ...


class AuditRepository(Protocol):
    """The append-only audit log."""

    async def record(
        self,
        at: datetime,
        action: str,
        *,
        actor_telegram_id: int | None = None,
        subject_type: str | None = None,
        subject_id: int | None = None,
        detail: dict[str, Any] | None = None,
    ) -> AuditEntry:
        """Append one entry. ``detail`` holds ids and states, never a client's words."""
        ...

    async def recent(self, limit: int = 50) -> Sequence[AuditEntry]:
        """The newest entries first."""
        ...


class AppointmentRepository(Protocol):
    """Treatment sessions."""

    async def add(self, appointment: Appointment) -> Appointment: ...
    async def get(self, appointment_id: int) -> Appointment | None: ...
    async def update(self, appointment: Appointment) -> Appointment: ...
    async def for_practitioner_between(
        self, practitioner_id: int, start: datetime, end: datetime
    ) -> Sequence[Appointment]:
        """Sessions starting at or after ``start`` and before ``end``, earliest first."""
        ...


class OutboxRepository(Protocol):
    """The schedule of messages to send. ``dedup_key`` makes scheduling idempotent."""

    async def add(self, message: OutboxMessage) -> OutboxMessage:
        """Schedule ``message``; if its ``dedup_key`` exists, return that row and write nothing."""
        ...

    async def get(self, message_id: int) -> OutboxMessage | None: ...
    async def by_dedup_key(self, dedup_key: str) -> OutboxMessage | None: ...


class CheckInRepository(Protocol):
    """Aftercare check-ins; at most one per session and day."""

    async def add(self, checkin: CheckIn) -> CheckIn: ...
    async def get(self, checkin_id: int) -> CheckIn | None: ...
    async def update(self, checkin: CheckIn) -> CheckIn: ...
    async def for_appointment(self, appointment_id: int) -> Sequence[CheckIn]:
        """The check-ins after one session, by day."""
        ...


class ReplyRepository(Protocol):
    """Client replies. Append-only: an edit is added as a new row with the next version."""

    async def add(self, reply: Reply) -> Reply: ...
    async def get(self, reply_id: int) -> Reply | None: ...
    async def for_client(self, client_id: int, limit: int | None = None) -> Sequence[Reply]:
        """A client's replies, newest first."""
        ...


class FlagRepository(Protocol):
    """Concerns passed on to practitioners."""

    async def add(self, flag: Flag) -> Flag: ...
    async def get(self, flag_id: int) -> Flag | None: ...
    async def update(self, flag: Flag) -> Flag: ...
    async def open_for_practitioner(self, practitioner_id: int) -> Sequence[Flag]:
        """A practitioner's open flags, oldest first."""
        ...


class UnitOfWork(Protocol):
    """One transaction: repositories share it; nothing is stored until ``commit``."""

    practitioners: PractitionerRepository
    clients: ClientRepository
    invites: InviteRepository
    audit: AuditRepository
    appointments: AppointmentRepository
    outbox: OutboxRepository
    checkins: CheckInRepository
    replies: ReplyRepository
    flags: FlagRepository

    async def __aenter__(self) -> Self: ...
    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
    async def commit(self) -> None: ...
    async def rollback(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    """Opens a new unit of work."""

    def __call__(self) -> UnitOfWork: ...
