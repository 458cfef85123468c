"""The Protocols that services depend on. Adapters in ``bot/db`` and ``bot/telegram`` fill them.

Repository conventions: ``add`` stores a record (its ``id`` is ignored) and returns it as
stored, with its new id; ``get`` returns ``None`` when there is no such record; ``update``
writes the whole record over the stored one. Repositories never commit.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self

from bot.domain.calendar_reads import CalendarRead
from bot.domain.models import (
    Appointment,
    AuditEntry,
    CalendarChoice,
    CalendarEntry,
    CalendarEntryState,
    CalendarSubscription,
    CheckIn,
    Client,
    Flag,
    FollowUp,
    Invite,
    OutboxKind,
    OutboxMessage,
    OutboxState,
    Practitioner,
    Reply,
    TriageLevel,
)
from bot.domain.outgoing import OutgoingMessage, SentMessage


class Clock(Protocol):
    """The only source of the current time."""

    def now(self) -> datetime:
        """Return the current time, timezone-aware, in UTC."""
        ...


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
    async def lock(self, practitioner_id: int) -> None:
        """Hold the practitioner's row until commit: their calendar changes one at a time."""
        ...


class ClientRepository(Protocol):
    """Clients; each belongs to one practitioner."""

    async def add(self, client: Client) -> Client: ...
    async def get(self, client_id: int) -> Client | None: ...
    async def update(self, client: Client) -> Client: ...
    async def by_telegram_id(self, telegram_user_id: int) -> Sequence[Client]:
        """Every client record of this Telegram account: one per practitioner at most."""
        ...

    async def for_practitioner(self, practitioner_id: int) -> Sequence[Client]: ...
    async def asked_to_keep_before(self, before: datetime) -> Sequence[Client]:
        """Active clients with a chat, check-ins not paused, who were asked whether to
        keep getting check-ins at or before ``before`` (and have not answered since);
        by id."""
        ...

    async def remove(self, client_id: int) -> None:
        """Delete the client and everything that hangs on them (sessions, replies, flags)."""
        ...


class InviteRepository(Protocol):
    """Invite links, looked up by the hash of their token."""

    async def add(self, invite: Invite) -> Invite: ...
    async def get(self, invite_id: int) -> Invite | None: ...
    async def by_token_hash(self, token_hash: str) -> Invite | None: ...
    async def update(self, invite: Invite) -> Invite: ...
    async def mark_used(self, invite_id: int, now: datetime) -> bool:
        """Mark the invite used if it is still unused and unrevoked; whether it was.

        Of two people agreeing at once, exactly one gets ``True``.
        """
        ...

    async def open_for_practitioner(self, practitioner_id: int, now: datetime) -> Sequence[Invite]:
        """Invites neither used, revoked nor expired at ``now``, oldest first."""
        ...

    async def for_client(self, client_id: int) -> Sequence[Invite]:
        """Every invite made for this client, oldest first."""
        ...


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
        client_id: int | None = None,
    ) -> AuditEntry:
        """Append one entry. ``detail`` holds ids and states, never a client's words;
        ``client_id`` is the client it concerns, if any."""
        ...

    async def record_all(self, entries: Sequence[AuditEntry]) -> None:
        """Append these entries together (their ids ignored), as ``record`` does one."""
        ...

    async def forget_client(self, client_id: int, telegram_id: int | None) -> int:
        """Drop the identities of every entry about the client (the actor where it was
        the client's ``telegram_id``, the subject, the detail), keeping the fact; how many."""
        ...

    async def about_client(self, client_id: int) -> Sequence[AuditEntry]:
        """Every entry about one client, oldest first."""
        ...

    async def recent(self, limit: int = 50) -> Sequence[AuditEntry]:
        """The newest entries first."""
        ...

    async def latest_by_actor(
        self, actor_telegram_id: int, actions: Collection[str], since: datetime
    ) -> AuditEntry | None:
        """The actor's newest entry with one of ``actions`` at or after ``since``."""
        ...


class AppointmentRepository(Protocol):
    """Treatment sessions."""

    async def add(self, appointment: Appointment) -> Appointment: ...
    async def add_all(self, appointments: Sequence[Appointment]) -> list[Appointment]:
        """Store new sessions together; they come back with their ids, in order."""
        ...

    async def get(self, appointment_id: int) -> Appointment | None: ...
    async def update(self, appointment: Appointment) -> Appointment: ...
    async def for_practitioner_between(
        self, practitioner_id: int, start: datetime, end: datetime
    ) -> Sequence[Appointment]:
        """Sessions starting at or after ``start`` and before ``end``, earliest first."""
        ...

    async def for_practitioner_within(
        self, practitioner_id: int, spans: Sequence[tuple[datetime, datetime]]
    ) -> Sequence[Appointment]:
        """Sessions starting in one of ``spans`` (each from its start, inclusive, to its
        end), earliest first."""
        ...

    async def for_client(self, client_id: int) -> Sequence[Appointment]:
        """Every session of one client, earliest first."""
        ...

    async def for_client_between(
        self, client_id: int, start: datetime, end: datetime
    ) -> Sequence[Appointment]:
        """One client's sessions starting in ``[start, end)``, earliest first."""
        ...

    async def open_started_before(self, now: datetime) -> Sequence[Appointment]:
        """Booked, confirmed or reschedule-requested sessions that began at or before
        ``now``, earliest first: the ones that may have ended."""
        ...

    async def mark_completed(self, appointment_id: int, now: datetime) -> Appointment | None:
        """Mark an open session completed; ``None`` if it was not open (another process
        was quicker, or it was cancelled meanwhile)."""
        ...


class OutboxRepository(Protocol):
    """The schedule of messages to send. ``dedup_key`` makes scheduling idempotent.

    Times go in and come out timezone-aware (UTC out); nothing here reads a clock or
    commits. A state change only touches rows in the state it leaves (``pending`` for
    claims and cancellations; ``sending`` for outcomes), so a row changed
    meanwhile by another process or a cancellation is left alone.
    """

    async def add(self, message: OutboxMessage) -> OutboxMessage:
        """Schedule ``message``; if its ``dedup_key`` exists, return that row and write nothing.

        A ``next_attempt_at`` of ``None`` is stored as ``due_at``.
        """
        ...

    async def add_all(self, messages: Sequence[OutboxMessage]) -> None:
        """Schedule these messages together, each skipped if its ``dedup_key`` exists."""
        ...

    async def count_by_state_and_kind(self) -> dict[tuple[OutboxState, OutboxKind], int]:
        """How many rows of each kind are in each state (pairs with none left out)."""
        ...

    async def get(self, message_id: int) -> OutboxMessage | None: ...
    async def by_dedup_key(self, dedup_key: str) -> OutboxMessage | None: ...
    async def claim_due(
        self, now: datetime, limit: int, *, claimed_by: int | None = None
    ) -> list[OutboxMessage]:
        """Mark up to ``limit`` due rows ``sending`` and return them as updated, in send order.

        Due: ``pending``, ``next_attempt_at <= now``, ``expires_at`` unset or after ``now``.
        Order: priority (highest first), then ``next_attempt_at``, then id. Each gets
        ``claimed_at = now`` and one more attempt. Concurrent claims (several processes on
        PostgreSQL) never return the same row.
        """
        ...

    async def claim_each_chat(
        self,
        now: datetime,
        limit: int,
        *,
        ready: Callable[[int], bool],
        busy_chats: Collection[int] = (),
        claimed_by: int | None = None,
    ) -> list[OutboxMessage]:
        """Like ``claim_due``, but at most one row per chat, for chats not in
        ``busy_chats`` that are ``ready`` for a message now (the most urgent row of each)."""
        ...

    async def skip_expired(self, now: datetime) -> list[OutboxMessage]:
        """Mark pending rows with ``expires_at <= now`` ``skipped_stale``; return them."""
        ...

    async def next_attempt_at(self) -> datetime | None:
        """The earliest ``next_attempt_at`` among pending rows; ``None`` if none is pending."""
        ...

    async def mark_sent(
        self, message_id: int, *, sent_at: datetime, telegram_message_id: int, lateness_ms: int
    ) -> bool:
        """Record a ``sending`` row as ``sent``; ``False`` (no change) if it was not ``sending``."""
        ...

    async def mark_failed(
        self, message_id: int, reason: str, *, follow_up: FollowUp | None = None
    ) -> bool:
        """Record a ``sending`` row as permanently ``failed`` with ``reason``, and what its
        failure still leads to (``follow_up``); else ``False``."""
        ...

    async def awaiting_follow_up(self, limit: int) -> list[OutboxMessage]:
        """Up to ``limit`` rows with a ``follow_up`` still to do, in no particular order."""
        ...

    async def take_follow_up(self, message_id: int) -> bool:
        """Clear the row's ``follow_up``; ``False`` if it had none (another pass took it)."""
        ...

    async def mark_uncertain(self, message_id: int, reason: str) -> bool:
        """Record a ``sending`` row as ``uncertain`` (it may have arrived); else ``False``."""
        ...

    async def retry_later(self, message_id: int, *, next_attempt_at: datetime, reason: str) -> bool:
        """Put a ``sending`` row back to ``pending`` until ``next_attempt_at``; else ``False``.

        ``due_at`` is kept, so lateness is still measured from it.
        """
        ...

    async def recover_in_flight(
        self, reason: str, *, claimed_by: int | None = None
    ) -> list[OutboxMessage]:
        """Turn ``sending`` rows (claimed by process ``claimed_by``, if given) into
        ``uncertain`` with ``reason``; return them. Such rows are reported, never resent."""
        ...

    async def recover_abandoned(
        self, reason: str, *, unowned_before: datetime
    ) -> list[OutboxMessage]:
        """``recover_in_flight`` for the ``sending`` rows no running process holds: claimed
        by a process no longer in ``processes``, or by none (a claim from before processes
        were recorded) before ``unowned_before``."""
        ...

    async def clear_payloads_before(self, before: datetime) -> int:
        """Empty the payload of every row that is done (not pending or sending) and was
        created before ``before``; the row and its state stay. How many."""
        ...

    async def forget_client(self, client_id: int, reason: str) -> int:
        """Redact every row carrying this client's name or words for someone else (and
        cancel the pending ones); how many."""
        ...

    async def cancel_pending(
        self,
        *,
        client_id: int | None = None,
        appointment_id: int | None = None,
        chat_id: int | None = None,
        dedup_prefix: str | None = None,
        kinds: Collection[OutboxKind] | None = None,
        reason: str,
    ) -> int:
        """Cancel pending rows matching any given filter (at least one), of ``kinds`` only
        if given; return how many. A cancelled row frees its dedup key for a new row."""
        ...

    async def about_client(self, client_id: int) -> Sequence[OutboxMessage]:
        """Every message to one client or carrying their name or words, oldest first."""
        ...

    async def count_by_state(self) -> dict[OutboxState, int]:
        """How many rows are in each state; every state is present, zeros included."""
        ...

    async def lateness_ms(self, since: datetime) -> list[int]:
        """Lateness in ms of each message sent at or after ``since``, smallest first."""
        ...


class CheckInRepository(Protocol):
    """Aftercare check-ins; at most one per session and day."""

    async def add(self, checkin: CheckIn) -> CheckIn: ...
    async def get(self, checkin_id: int) -> CheckIn | None: ...
    async def update(self, checkin: CheckIn) -> CheckIn: ...
    async def for_appointment(self, appointment_id: int) -> Sequence[CheckIn]:
        """The check-ins after one session, by day."""
        ...

    async def for_client(self, client_id: int, limit: int | None = None) -> Sequence[CheckIn]:
        """A client's check-ins, latest due first."""
        ...

    async def scheduled_due(self, now: datetime) -> Sequence[CheckIn]:
        """Check-ins still ``scheduled`` whose time has come, earliest first."""
        ...

    async def due_between(
        self, practitioner_id: int, start: datetime, end: datetime
    ) -> Sequence[CheckIn]:
        """The check-ins of one practitioner's clients due in ``[start, end)``, earliest
        first."""
        ...


class ReplyRepository(Protocol):
    """Client replies. Append-only: an edit is added as a new row with the next version."""

    async def add(self, reply: Reply) -> Reply: ...
    async def get(self, reply_id: int) -> Reply | None: ...
    async def erase_received_before(self, before: datetime) -> int:
        """Delete every answer received before ``before`` (and what hangs on it); how many."""
        ...

    async def for_client(self, client_id: int, limit: int | None = None) -> Sequence[Reply]:
        """A client's replies, newest first."""
        ...

    async def answers_for_client(self, client_id: int, limit: int) -> Sequence[Reply]:
        """A client's replies that carry a score or a comparison, newest first."""
        ...

    async def versions_of(self, client_id: int, telegram_message_id: int) -> Sequence[Reply]:
        """The stored versions of one Telegram message of a client, oldest first."""
        ...

    async def for_checkin(self, checkin_id: int) -> Sequence[Reply]:
        """The replies to one check-in, oldest first."""
        ...

    async def received_between(
        self, practitioner_id: int, start: datetime, end: datetime
    ) -> Sequence[Reply]:
        """The replies of one practitioner's clients received in ``[start, end)``, oldest
        first."""
        ...


class FlagRepository(Protocol):
    """Concerns passed on to practitioners."""

    async def add(self, flag: Flag) -> Flag: ...
    async def get(self, flag_id: int) -> Flag | None: ...
    async def update(self, flag: Flag) -> Flag: ...
    async def open_for_practitioner(self, practitioner_id: int) -> Sequence[Flag]:
        """A practitioner's open flags, oldest first."""
        ...

    async def for_client(self, client_id: int) -> Sequence[Flag]:
        """Every flag raised on one client's words, oldest first."""
        ...

    async def for_checkin(self, checkin_id: int) -> Sequence[Flag]:
        """The flags raised from one check-in, oldest first."""
        ...

    async def open_by_level(self) -> dict[TriageLevel, tuple[int, datetime]]:
        """Of every practitioner's open flags: how many of each level, and when the oldest
        was raised (levels with none left out)."""
        ...


class ProcessRepository(Protocol):
    """The bot processes sharing the database, each with its heartbeat."""

    async def register(self, host: str, pid: int, now: datetime) -> int:
        """Record a process starting; its id."""
        ...

    async def beat(self, process_id: int, now: datetime) -> bool:
        """Renew its heartbeat; ``False`` if its row is gone (a peer took it for dead)."""
        ...

    async def remove(self, process_id: int) -> None:
        """A process leaving."""
        ...

    async def on_host(self, host: str) -> list[tuple[int, int]]:
        """The processes recorded on ``host``: their ids and process ids."""
        ...

    async def remove_silent(self, before: datetime, *, keep: int | None = None) -> list[int]:
        """Remove the processes (but ``keep``) whose last heartbeat came before
        ``before``; their ids."""
        ...


class CalendarRepository(Protocol):
    """Practitioners' calendar subscriptions, the events seen in them, and the
    practitioner's answers about events that name no client or several."""

    async def subscription_of(self, practitioner_id: int) -> CalendarSubscription | None: ...
    async def subscription(self, subscription_id: int) -> CalendarSubscription | None: ...
    async def add_subscription(self, subscription: CalendarSubscription) -> CalendarSubscription:
        """Store a new subscription (one per practitioner)."""
        ...

    async def update_subscription(
        self, subscription: CalendarSubscription
    ) -> CalendarSubscription: ...
    async def remove_subscription(self, subscription_id: int) -> None:
        """Delete it with its entries and choices (the sessions it booked stay)."""
        ...

    async def due_subscriptions(self, now: datetime) -> Sequence[CalendarSubscription]:
        """Subscriptions whose next poll is due by ``now``, earliest first."""
        ...

    async def entries(
        self, subscription_id: int, *, state: CalendarEntryState | None = None
    ) -> Sequence[CalendarEntry]:
        """Every entry of one subscription (in ``state``, if given), by start."""
        ...

    async def first_waiting(self, subscription_id: int, events: int) -> Sequence[CalendarEntry]:
        """The soonest ``waiting`` entry of each of the ``events`` events (UIDs) whose
        soonest one comes first, by start."""
        ...

    async def mark_asked(self, subscription_id: int, uids: Collection[str]) -> None:
        """Every ``waiting`` entry of these events (UIDs), now ``asked``."""
        ...

    async def count_entries(self, subscription_id: int, state: CalendarEntryState) -> int:
        """How many entries of one subscription are in ``state``."""
        ...

    async def entry(self, entry_id: int) -> CalendarEntry | None: ...
    async def entries_for_client(self, client_id: int) -> Sequence[CalendarEntry]:
        """The calendar events taken as one client's sessions, by start."""
        ...

    async def add_entry(self, entry: CalendarEntry) -> CalendarEntry: ...
    async def add_entries(self, entries: Sequence[CalendarEntry]) -> list[CalendarEntry]:
        """Store new entries together; they come back with their ids, in order."""
        ...

    async def insert_entries(self, entries: Sequence[CalendarEntry]) -> None:
        """Store new entries together, nothing read back: for the many whose ids are not
        needed."""
        ...

    async def update_entry(self, entry: CalendarEntry) -> CalendarEntry: ...
    async def remove_entry(self, entry_id: int) -> None: ...
    async def choice(self, subscription_id: int, uid: str) -> CalendarChoice | None:
        """The practitioner's answer for this event UID, if they gave one."""
        ...

    async def choices_of(self, subscription_id: int) -> Sequence[CalendarChoice]:
        """Every answer the practitioner gave about this calendar's events."""
        ...

    async def choose(self, subscription_id: int, uid: str, client_id: int | None) -> CalendarChoice:
        """Store (or replace) the answer for this event UID: a client, or none."""
        ...


class CalendarSource(Protocol):
    """Reads a practitioner's calendar over the network (``bot/calendar_feed``)."""

    async def read(
        self, url: str, *, etag: str | None, last_modified: str | None, now: datetime
    ) -> CalendarRead:
        """Its events from ``now`` on, or ``changed=False`` if it has not changed since the
        read that gave ``etag`` / ``last_modified``; raises ``CalendarUnavailable``."""
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
    calendars: CalendarRepository
    processes: ProcessRepository

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

    async def purge_freed(self) -> None:
        """Clear what deleted data leaves in the database's files (after an erasure)."""
        ...
