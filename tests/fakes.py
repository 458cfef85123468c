"""Hand-written fakes for the ports, for unit and handler tests.

``FakeDatabase`` is a ``UnitOfWorkFactory`` over in-memory tables, one fake repository
per port, each following the documented semantics of its SQLAlchemy counterpart in
``bot/db/repositories.py``: the same ordering, ``add`` returning the stored record with
its new id (and ``created_at`` filled in when it was ``None``), times refused when naive
and stored in UTC, state changes that touch only rows in the state they leave, the
unique constraints (an ``IntegrityError``, as SQLAlchemy raises) and the cascades of a
deleted client or reply. Records come out as copies: changing a returned payload never
changes a stored row.

What it leaves out: transactions (every unit of work writes straight into the shared
tables, so ``rollback`` and leaving the block undo nothing: tests assert on
``commits``), foreign keys that refuse a missing parent, and concurrency (one event
loop, so a claim is never shared and ``lock`` has nothing to hold).
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, ClassVar, Generic, Self, TypeVar

from sqlalchemy.exc import IntegrityError

from bot.db.errors import RecordNotFoundError
from bot.db.mapping import require_aware
from bot.db.repositories import CANCELLED_KEY_MARK, EXPIRED_REASON
from bot.domain.delivery import DeliveryError
from bot.domain.models import (
    Appointment,
    AppointmentStatus,
    AuditEntry,
    CalendarChoice,
    CalendarEntry,
    CalendarEntryState,
    CalendarSubscription,
    CheckIn,
    CheckInState,
    Client,
    ClientStatus,
    Flag,
    FlagState,
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
from bot.ports import (
    AppointmentRepository,
    AuditRepository,
    CalendarRepository,
    CheckInRepository,
    ClientRepository,
    Clock,
    FlagRepository,
    InviteRepository,
    OutboxRepository,
    PractitionerRepository,
    ProcessRepository,
    ReplyRepository,
)


class FixedClock:
    """A clock that says what it is told."""

    def __init__(self, now: datetime = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current


class _WallClock:
    """The database's own clock: what a ``created_at`` left empty gets."""

    def now(self) -> datetime:
        return datetime.now(UTC)


R = TypeVar(
    "R",
    Practitioner,
    Client,
    Invite,
    Appointment,
    OutboxMessage,
    CheckIn,
    Reply,
    Flag,
    AuditEntry,
    CalendarSubscription,
    CalendarEntry,
    CalendarChoice,
)


def _utc(value: datetime, name: str) -> datetime:
    """What a timestamp column stores and gives back: the time in UTC; naive is refused."""
    return require_aware(value, name).astimezone(UTC)


def _integrity_error(table: str, what: str) -> IntegrityError:
    return IntegrityError(f"INSERT INTO {table}", None, ValueError(f"{what} ({table})"))


class _Table(Generic[R]):
    """One table: rows by id, ids counting up from 1, as the database assigns them.

    ``insert`` and ``put`` check and normalise a record as the adapter would (naive times
    refused, times in UTC, unique constraints); ``_copy`` hands out a record no caller
    can change behind the table's back.
    """

    name: ClassVar[str] = ""
    # Columns that together hold unique values; a row with a None among them is exempt.
    unique: ClassVar[tuple[tuple[str, ...], ...]] = ()

    def __init__(self, clock: Clock | None = None) -> None:
        self.rows: dict[int, R] = {}
        self._ids = itertools.count(1)
        self._clock: Clock = clock or _WallClock()

    def insert(self, row: R) -> R:
        """Store ``row`` under a new id and return it as stored (``add`` without the rules)."""
        prepared = self._prepare(row)
        # The column's default: the database's clock.
        prepared = self._fill_created_at(prepared, self._clock.now)
        stored = dataclasses.replace(prepared, id=next(self._ids))
        self._check_unique(stored)
        self.rows[stored.id] = stored
        return self._copy(stored)

    def put(self, row: R) -> R:
        """Write ``row`` over the stored row with its id (``created_at`` only when given)."""
        current = self.rows.get(row.id)
        if current is None:
            raise RecordNotFoundError(f"no {self.name} record with id {row.id}")
        prepared = self._prepare(row)
        # An update keeps the stored one.
        prepared = self._fill_created_at(prepared, lambda: self._created_at(current))
        self._check_unique(prepared)
        self.rows[prepared.id] = prepared
        return self._copy(prepared)

    def delete(self, row_ids: Iterable[int]) -> None:
        for row_id in list(row_ids):
            self.rows.pop(row_id, None)

    def _prepare(self, row: R) -> R:
        """Times checked and in UTC, dicts copied: what the row holds once written."""
        changes: dict[str, Any] = {}
        for field in dataclasses.fields(row):
            value = getattr(row, field.name)
            if isinstance(value, datetime):
                changes[field.name] = _utc(value, field.name)
            elif isinstance(value, dict):
                changes[field.name] = copy.deepcopy(value)
        return dataclasses.replace(row, **changes) if changes else row

    @staticmethod
    def _fill_created_at(row: R, when: Callable[[], datetime | None]) -> R:
        for field in dataclasses.fields(row):
            if field.name == "created_at" and getattr(row, field.name) is None:
                changes: dict[str, Any] = {field.name: when()}
                return dataclasses.replace(row, **changes)
        return row

    @staticmethod
    def _created_at(row: R) -> datetime | None:
        for field in dataclasses.fields(row):
            if field.name == "created_at":
                value: datetime | None = getattr(row, field.name)
                return value
        return None

    def _check_unique(self, row: R) -> None:
        for columns in self.unique:
            values = tuple(getattr(row, column) for column in columns)
            if any(value is None for value in values):
                continue
            for other in self.rows.values():
                if other.id != row.id and tuple(getattr(other, c) for c in columns) == values:
                    raise _integrity_error(self.name, f"UNIQUE {', '.join(columns)}")

    def _copy(self, row: R) -> R:
        changes = {
            field.name: copy.deepcopy(getattr(row, field.name))
            for field in dataclasses.fields(row)
            if isinstance(getattr(row, field.name), dict)
        }
        return dataclasses.replace(row, **changes) if changes else row

    def _get(self, row_id: int) -> R | None:
        row = self.rows.get(row_id)
        return None if row is None else self._copy(row)

    def _select(
        self,
        where: Callable[[R], bool],
        order: Callable[[R], Any] | None = None,
        *,
        descending: bool = False,
        limit: int | None = None,
    ) -> list[R]:
        """The rows ``where`` holds for, ordered by ``order`` (else by id), as copies."""
        found = sorted(
            (row for row in self.rows.values() if where(row)),
            key=order or (lambda row: row.id),
            reverse=descending,
        )
        if limit is not None:
            found = found[: max(limit, 0)]
        return [self._copy(row) for row in found]


class FakePractitioners(_Table[Practitioner]):
    """``PractitionerRepository`` in memory; a Telegram account is one practitioner."""

    name = "practitioners"
    unique = (("telegram_user_id",),)

    async def add(self, practitioner: Practitioner) -> Practitioner:
        return self.insert(practitioner)

    async def get(self, practitioner_id: int) -> Practitioner | None:
        return self._get(practitioner_id)

    async def by_telegram_id(self, telegram_user_id: int) -> Practitioner | None:
        found = self._select(lambda p: p.telegram_user_id == telegram_user_id)
        return found[0] if found else None

    async def list_all(self) -> Sequence[Practitioner]:
        return self._select(lambda _p: True)

    async def add_if_absent(self, practitioner: Practitioner) -> Practitioner | None:
        prepared = self._prepare(practitioner)  # a naive time is refused either way
        if await self.by_telegram_id(prepared.telegram_user_id) is not None:
            return None
        return self.insert(prepared)

    async def update(self, practitioner: Practitioner) -> Practitioner:
        return self.put(practitioner)

    async def lock(self, practitioner_id: int) -> None:
        """One event loop, no concurrency: nothing to hold."""


class FakeClients(_Table[Client]):
    """``ClientRepository`` in memory; removing a client removes what hangs on them."""

    name = "clients"
    unique = (("practitioner_id", "telegram_user_id"),)

    def __init__(self, database: FakeDatabase, clock: Clock | None = None) -> None:
        super().__init__(clock)
        self._database = database

    async def add(self, client: Client) -> Client:
        return self.insert(client)

    async def get(self, client_id: int) -> Client | None:
        return self._get(client_id)

    async def update(self, client: Client) -> Client:
        return self.put(client)

    async def by_telegram_id(self, telegram_user_id: int) -> Sequence[Client]:
        return self._select(lambda c: c.telegram_user_id == telegram_user_id)

    async def for_practitioner(self, practitioner_id: int) -> Sequence[Client]:
        return self._select(lambda c: c.practitioner_id == practitioner_id)

    async def asked_to_keep_before(self, before: datetime) -> Sequence[Client]:
        until = _utc(before, "before")
        return self._select(
            lambda c: (
                c.checkin_prompt_at is not None
                and c.checkin_prompt_at <= until
                and not c.checkins_paused
                and c.status is ClientStatus.ACTIVE
                and c.telegram_user_id is not None
            )
        )

    async def remove(self, client_id: int) -> None:
        """Delete the client, and cascade as the foreign keys do: invites, sessions (with
        their check-ins and messages), check-ins, replies (with their flags), flags and
        messages to them. Audit entries and ``about_client_id`` have no foreign key."""
        if self.rows.pop(client_id, None) is None:
            return
        db = self._database
        db.invites.delete(i.id for i in db.invites.rows.values() if i.client_id == client_id)
        sessions = [a.id for a in db.appointments.rows.values() if a.client_id == client_id]
        db.appointments.remove_rows(sessions)
        db.checkins.remove_rows(c.id for c in db.checkins.rows.values() if c.client_id == client_id)
        db.replies.remove_rows(r.id for r in db.replies.rows.values() if r.client_id == client_id)
        db.flags.delete(f.id for f in db.flags.rows.values() if f.client_id == client_id)
        db.outbox.delete(m.id for m in db.outbox.rows.values() if m.client_id == client_id)
        db.calendars.forget_client(client_id)


class FakeInvites(_Table[Invite]):
    """``InviteRepository`` in memory; token hashes are unique."""

    name = "invites"
    unique = (("token_hash",),)

    async def add(self, invite: Invite) -> Invite:
        return self.insert(invite)

    async def get(self, invite_id: int) -> Invite | None:
        return self._get(invite_id)

    async def by_token_hash(self, token_hash: str) -> Invite | None:
        found = self._select(lambda i: i.token_hash == token_hash)
        return found[0] if found else None

    async def update(self, invite: Invite) -> Invite:
        return self.put(invite)

    async def mark_used(self, invite_id: int, now: datetime) -> bool:
        used_at = _utc(now, "now")
        invite = self.rows.get(invite_id)
        if invite is None or invite.used_at is not None or invite.revoked_at is not None:
            return False
        self.rows[invite_id] = dataclasses.replace(invite, used_at=used_at)
        return True

    async def open_for_practitioner(self, practitioner_id: int, now: datetime) -> Sequence[Invite]:
        at = _utc(now, "now")
        return self._select(
            lambda i: (
                i.practitioner_id == practitioner_id
                and i.used_at is None
                and i.revoked_at is None
                and i.expires_at > at
            )
        )

    async def for_client(self, client_id: int) -> Sequence[Invite]:
        return self._select(lambda i: i.client_id == client_id)


class FakeAudit:
    """``AuditRepository`` in memory: an append-only list of ``entries``, oldest first."""

    def __init__(self) -> None:
        self.entries: list[AuditEntry] = []
        self._ids = itertools.count(1)

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
        entry = AuditEntry(
            id=next(self._ids),
            at=_utc(at, "at"),
            action=action,
            actor_telegram_id=actor_telegram_id,
            subject_type=subject_type,
            subject_id=subject_id,
            detail=copy.deepcopy(dict(detail or {})),
            client_id=client_id,
        )
        self.entries.append(entry)
        return _copy_entry(entry)

    async def record_all(self, entries: Sequence[AuditEntry]) -> None:
        for entry in entries:
            await self.record(
                entry.at,
                entry.action,
                actor_telegram_id=entry.actor_telegram_id,
                subject_type=entry.subject_type,
                subject_id=entry.subject_id,
                detail=entry.detail,
                client_id=entry.client_id,
            )

    async def forget_client(self, client_id: int, telegram_id: int | None) -> int:
        about = [i for i, e in enumerate(self.entries) if e.client_id == client_id]
        for index in about:
            entry = self.entries[index]
            its_own = telegram_id is not None and entry.actor_telegram_id == telegram_id
            self.entries[index] = dataclasses.replace(
                entry,
                actor_telegram_id=None if its_own else entry.actor_telegram_id,
                subject_id=None,
                detail={},
                client_id=None,
            )
        return len(about)

    async def about_client(self, client_id: int) -> Sequence[AuditEntry]:
        return self._newest_first(lambda e: e.client_id == client_id)[::-1]

    async def recent(self, limit: int = 50) -> Sequence[AuditEntry]:
        return self._newest_first(lambda _e: True)[: max(limit, 0)]

    async def latest_by_actor(
        self, actor_telegram_id: int, actions: Collection[str], since: datetime
    ) -> AuditEntry | None:
        start = _utc(since, "since")
        found = self._newest_first(
            lambda e: (
                e.actor_telegram_id == actor_telegram_id and e.action in actions and e.at >= start
            )
        )
        return found[0] if found else None

    def _newest_first(self, where: Callable[[AuditEntry], bool]) -> list[AuditEntry]:
        found = sorted((e for e in self.entries if where(e)), key=lambda e: (e.at, e.id))
        return [_copy_entry(e) for e in reversed(found)]


def _copy_entry(entry: AuditEntry) -> AuditEntry:
    return dataclasses.replace(entry, detail=copy.deepcopy(entry.detail))


_OPEN_SESSION = (
    AppointmentStatus.BOOKED,
    AppointmentStatus.CONFIRMED,
    AppointmentStatus.RESCHEDULE_REQUESTED,
)


class FakeAppointments(_Table[Appointment]):
    """``AppointmentRepository`` in memory; sessions earliest first, ties by id."""

    name = "appointments"

    def __init__(self, database: FakeDatabase, clock: Clock | None = None) -> None:
        super().__init__(clock)
        self._database = database

    async def add(self, appointment: Appointment) -> Appointment:
        return self.insert(appointment)

    async def add_all(self, appointments: Sequence[Appointment]) -> list[Appointment]:
        return [self.insert(appointment) for appointment in appointments]

    async def get(self, appointment_id: int) -> Appointment | None:
        return self._get(appointment_id)

    async def update(self, appointment: Appointment) -> Appointment:
        return self.put(appointment)

    async def for_practitioner_between(
        self, practitioner_id: int, start: datetime, end: datetime
    ) -> Sequence[Appointment]:
        since, until = _utc(start, "start"), _utc(end, "end")
        return self._earliest_first(
            lambda a: a.practitioner_id == practitioner_id and since <= a.starts_at < until
        )

    async def for_practitioner_within(
        self, practitioner_id: int, spans: Sequence[tuple[datetime, datetime]]
    ) -> Sequence[Appointment]:
        within = [(_utc(start, "start"), _utc(end, "end")) for start, end in spans]
        return self._earliest_first(
            lambda a: (
                a.practitioner_id == practitioner_id
                and any(since <= a.starts_at < until for since, until in within)
            )
        )

    async def for_client(self, client_id: int) -> Sequence[Appointment]:
        return self._earliest_first(lambda a: a.client_id == client_id)

    async def for_client_between(
        self, client_id: int, start: datetime, end: datetime
    ) -> Sequence[Appointment]:
        since, until = _utc(start, "start"), _utc(end, "end")
        return self._earliest_first(
            lambda a: a.client_id == client_id and since <= a.starts_at < until
        )

    async def open_started_before(self, now: datetime) -> Sequence[Appointment]:
        at = _utc(now, "now")
        return self._earliest_first(lambda a: a.status in _OPEN_SESSION and a.starts_at <= at)

    async def mark_completed(self, appointment_id: int, now: datetime) -> Appointment | None:
        at = _utc(now, "now")
        session = self.rows.get(appointment_id)
        if session is None or session.status not in _OPEN_SESSION:
            return None
        completed = dataclasses.replace(session, status=AppointmentStatus.COMPLETED, updated_at=at)
        self.rows[appointment_id] = completed
        return completed

    def remove_rows(self, row_ids: Iterable[int]) -> None:
        """Delete sessions, with their check-ins and scheduled messages (the cascade)."""
        gone = set(row_ids)
        self.delete(gone)
        db = self._database
        db.checkins.remove_rows(c.id for c in db.checkins.rows.values() if c.appointment_id in gone)
        db.outbox.delete(m.id for m in db.outbox.rows.values() if m.appointment_id in gone)

    def _earliest_first(self, where: Callable[[Appointment], bool]) -> list[Appointment]:
        return self._select(where, lambda a: (a.starts_at, a.id))


class FakeOutbox(_Table[OutboxMessage]):
    """``OutboxRepository`` in memory: scheduling, claiming, outcomes, cancelling.

    Every change of state applies only to a row in the state it leaves, as the guarded
    UPDATEs of ``SqlOutboxRepository`` do; a row that is done and marked
    ``forget_after_send`` loses its payload in the same change.
    """

    name = "outbox"
    unique = (("dedup_key",),)
    processes: FakeProcesses | None = None
    """The database's running processes, whose claims are not abandoned."""

    async def add(self, message: OutboxMessage) -> OutboxMessage:
        prepared = self._prepare(message)  # a naive time is refused even for a known key
        existing = await self.by_dedup_key(prepared.dedup_key)
        if existing is not None:
            return existing
        return self.insert(prepared)

    async def count_by_state_and_kind(self) -> dict[tuple[OutboxState, OutboxKind], int]:
        return dict(Counter((m.state, m.kind) for m in self.rows.values()))

    async def add_all(self, messages: Sequence[OutboxMessage]) -> None:
        for message in messages:
            await self.add(message)

    async def get(self, message_id: int) -> OutboxMessage | None:
        return self._get(message_id)

    async def by_dedup_key(self, dedup_key: str) -> OutboxMessage | None:
        found = self._select(lambda m: m.dedup_key == dedup_key)
        return found[0] if found else None

    async def claim_due(
        self, now: datetime, limit: int, *, claimed_by: int | None = None
    ) -> list[OutboxMessage]:
        at = _claim_time(now, limit)
        return self._claim([m.id for m in self._due(at)[:limit]], at, claimed_by)

    async def claim_each_chat(
        self,
        now: datetime,
        limit: int,
        *,
        ready: Callable[[int], bool],
        busy_chats: Collection[int] = (),
        claimed_by: int | None = None,
    ) -> list[OutboxMessage]:
        at = _claim_time(now, limit)
        passed = set(busy_chats)
        chosen: list[int] = []
        for message in self._due(at):
            if message.chat_id in passed:
                continue
            passed.add(message.chat_id)
            if ready(message.chat_id):
                chosen.append(message.id)
                if len(chosen) == limit:
                    break
        return self._claim(chosen, at, claimed_by)

    async def skip_expired(self, now: datetime) -> list[OutboxMessage]:
        at = _utc(now, "now")
        expired = [
            m.id
            for m in self.rows.values()
            if m.state is OutboxState.PENDING and m.expires_at is not None and m.expires_at <= at
        ]
        return self._change(
            expired, state=OutboxState.SKIPPED_STALE, last_error=EXPIRED_REASON, done=True
        )

    async def next_attempt_at(self) -> datetime | None:
        waiting = [_next_attempt(m) for m in self.rows.values() if m.state is OutboxState.PENDING]
        return min(waiting, default=None)

    async def mark_sent(
        self, message_id: int, *, sent_at: datetime, telegram_message_id: int, lateness_ms: int
    ) -> bool:
        return self._record_outcome(
            message_id,
            state=OutboxState.SENT,
            sent_at=_utc(sent_at, "sent_at"),
            telegram_message_id=telegram_message_id,
            lateness_ms=lateness_ms,
        )

    async def mark_failed(
        self, message_id: int, reason: str, *, follow_up: FollowUp | None = None
    ) -> bool:
        return self._record_outcome(
            message_id, state=OutboxState.FAILED, last_error=reason, follow_up=follow_up
        )

    async def awaiting_follow_up(self, limit: int) -> list[OutboxMessage]:
        waiting = sorted(m.id for m in self.rows.values() if m.follow_up is not None)
        return [self._copy(self.rows[message_id]) for message_id in waiting[:limit]]

    async def take_follow_up(self, message_id: int) -> bool:
        message = self.rows.get(message_id)
        if message is None or message.follow_up is None:
            return False
        self._change([message_id], follow_up=None)
        return True

    async def mark_uncertain(self, message_id: int, reason: str) -> bool:
        return self._record_outcome(message_id, state=OutboxState.UNCERTAIN, last_error=reason)

    async def retry_later(self, message_id: int, *, next_attempt_at: datetime, reason: str) -> bool:
        return self._record_outcome(
            message_id,
            state=OutboxState.PENDING,
            next_attempt_at=_utc(next_attempt_at, "next_attempt_at"),
            last_error=reason,
        )

    async def recover_in_flight(
        self, reason: str, *, claimed_by: int | None = None
    ) -> list[OutboxMessage]:
        return self._uncertain(lambda m: claimed_by in (None, m.claimed_by), reason)

    async def recover_abandoned(
        self, reason: str, *, unowned_before: datetime
    ) -> list[OutboxMessage]:
        before = _utc(unowned_before, "unowned_before")
        running = set(self.processes.rows) if self.processes else set()
        return self._uncertain(
            lambda m: (
                (m.claimed_by is not None and m.claimed_by not in running)
                or (m.claimed_by is None and m.claimed_at is not None and m.claimed_at < before)
            ),
            reason,
        )

    def _uncertain(self, held: Callable[[OutboxMessage], bool], reason: str) -> list[OutboxMessage]:
        in_flight = [m.id for m in self.rows.values() if m.state is OutboxState.SENDING and held(m)]
        return self._change(in_flight, state=OutboxState.UNCERTAIN, last_error=reason, done=True)

    async def clear_payloads_before(self, before: datetime) -> int:
        until = _utc(before, "before")
        done = [
            m.id
            for m in self.rows.values()
            if m.created_at is not None
            and m.created_at < until
            and m.state not in (OutboxState.PENDING, OutboxState.SENDING)
            and not m.forget_after_send
        ]
        return len(self._change(done, payload={}, forget_after_send=True))

    async def forget_client(self, client_id: int, reason: str) -> int:
        about = [m for m in self.rows.values() if m.about_client_id == client_id]
        for message in about:
            redacted = dataclasses.replace(
                message, payload={}, last_error=reason, about_client_id=None
            )
            if message.state is OutboxState.SENDING:
                # On its way now: if it comes back for a retry it has expired.
                redacted = dataclasses.replace(redacted, expires_at=message.created_at)
            elif message.state is OutboxState.PENDING:
                redacted = dataclasses.replace(
                    redacted, state=OutboxState.CANCELLED, dedup_key=_freed_key(message)
                )
            self.rows[message.id] = redacted
        return len(about)

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
        if client_id is None and appointment_id is None and chat_id is None and not dedup_prefix:
            raise ValueError(
                "cancel_pending needs a client_id, appointment_id, chat_id or dedup_prefix"
            )

        def matches(m: OutboxMessage) -> bool:
            return (
                (client_id is not None and m.client_id == client_id)
                or (appointment_id is not None and m.appointment_id == appointment_id)
                or (chat_id is not None and m.chat_id == chat_id)
                or (bool(dedup_prefix) and m.dedup_key.startswith(dedup_prefix or ""))
            )

        cancelled = [
            m
            for m in self.rows.values()
            if m.state is OutboxState.PENDING and (kinds is None or m.kind in kinds) and matches(m)
        ]
        for message in cancelled:
            self.rows[message.id] = _done(
                dataclasses.replace(
                    message,
                    state=OutboxState.CANCELLED,
                    last_error=reason,
                    dedup_key=_freed_key(message),
                )
            )
        return len(cancelled)

    async def about_client(self, client_id: int) -> Sequence[OutboxMessage]:
        return self._select(
            lambda m: client_id in (m.client_id, m.about_client_id), lambda m: (m.due_at, m.id)
        )

    async def count_by_state(self) -> dict[OutboxState, int]:
        counts = dict.fromkeys(OutboxState, 0)
        for message in self.rows.values():
            counts[message.state] += 1
        return counts

    async def lateness_ms(self, since: datetime) -> list[int]:
        start = _utc(since, "since")
        return sorted(
            m.lateness_ms
            for m in self.rows.values()
            if m.state is OutboxState.SENT
            and m.sent_at is not None
            and m.sent_at >= start
            and m.lateness_ms is not None
        )

    def pending(self) -> list[OutboxMessage]:
        """The pending rows, by id: what a test usually wants to see scheduled."""
        return self._select(lambda m: m.state is OutboxState.PENDING)

    def _prepare(self, row: OutboxMessage) -> OutboxMessage:
        if row.next_attempt_at is None:  # the column is NOT NULL: it starts at due_at
            row = dataclasses.replace(row, next_attempt_at=row.due_at)
        return super()._prepare(row)

    def _due(self, now: datetime) -> list[OutboxMessage]:
        """Pending rows whose attempt has come and that have not expired, in send order."""
        return sorted(
            (
                m
                for m in self.rows.values()
                if m.state is OutboxState.PENDING
                and _next_attempt(m) <= now
                and (m.expires_at is None or m.expires_at > now)
            ),
            key=lambda m: (-m.priority, _next_attempt(m), m.id),
        )

    def _claim(self, ids: list[int], now: datetime, claimed_by: int | None) -> list[OutboxMessage]:
        claimed = [
            dataclasses.replace(
                self.rows[i],
                state=OutboxState.SENDING,
                claimed_at=now,
                claimed_by=claimed_by,
                attempts=self.rows[i].attempts + 1,
            )
            for i in ids
        ]
        for message in claimed:
            self.rows[message.id] = message
        return [self._copy(m) for m in claimed]

    def _change(self, ids: list[int], *, done: bool = False, **values: Any) -> list[OutboxMessage]:
        """Apply ``values`` to the rows ``ids`` (a finished row forgets, if it was to)."""
        changed = []
        for message_id in sorted(ids):
            message = dataclasses.replace(self.rows[message_id], **values)
            self.rows[message_id] = _done(message) if done else message
            changed.append(self._copy(self.rows[message_id]))
        return changed

    def _record_outcome(self, message_id: int, **values: Any) -> bool:
        message = self.rows.get(message_id)
        if message is None or message.state is not OutboxState.SENDING:
            return False
        done = values["state"] is not OutboxState.PENDING
        self._change([message_id], done=done, **values)
        return True


def _claim_time(now: datetime, limit: int) -> datetime:
    at = _utc(now, "now")
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    return at


def _next_attempt(message: OutboxMessage) -> datetime:
    # Only a row put in with ``insert`` by a test can lack it; the database has due_at.
    return message.next_attempt_at or message.due_at


def _freed_key(message: OutboxMessage) -> str:
    """The dedup key a cancelled row gives up its own for."""
    return f"{message.dedup_key}{CANCELLED_KEY_MARK}{message.id}"


def _done(message: OutboxMessage) -> OutboxMessage:
    """A finished row: its payload goes if it was to be forgotten."""
    return dataclasses.replace(message, payload={}) if message.forget_after_send else message


class FakeCheckIns(_Table[CheckIn]):
    """``CheckInRepository`` in memory; one check-in per session and day."""

    name = "checkins"
    unique = (("appointment_id", "day"),)

    def __init__(self, database: FakeDatabase, clock: Clock | None = None) -> None:
        super().__init__(clock)
        self._database = database

    async def add(self, checkin: CheckIn) -> CheckIn:
        return self.insert(checkin)

    async def get(self, checkin_id: int) -> CheckIn | None:
        return self._get(checkin_id)

    async def update(self, checkin: CheckIn) -> CheckIn:
        return self.put(checkin)

    async def for_appointment(self, appointment_id: int) -> Sequence[CheckIn]:
        return self._select(lambda c: c.appointment_id == appointment_id, lambda c: (c.day, c.id))

    async def for_client(self, client_id: int, limit: int | None = None) -> Sequence[CheckIn]:
        return self._select(
            lambda c: c.client_id == client_id,
            lambda c: (c.due_at, c.id),
            descending=True,
            limit=limit,
        )

    async def scheduled_due(self, now: datetime) -> Sequence[CheckIn]:
        at = _utc(now, "now")
        return self._select(
            lambda c: c.state is CheckInState.SCHEDULED and c.due_at <= at,
            lambda c: (c.due_at, c.id),
        )

    async def due_between(
        self, practitioner_id: int, start: datetime, end: datetime
    ) -> Sequence[CheckIn]:
        since, until = _utc(start, "start"), _utc(end, "end")
        theirs = self._database.clients_of(practitioner_id)
        return self._select(
            lambda c: c.client_id in theirs and since <= c.due_at < until,
            lambda c: (c.due_at, c.id),
        )

    def remove_rows(self, row_ids: Iterable[int]) -> None:
        """Delete check-ins; the replies to them stay, pointing at none (SET NULL)."""
        gone = set(row_ids)
        self.delete(gone)
        replies = self._database.replies.rows
        for reply in list(replies.values()):
            if reply.checkin_id in gone:
                replies[reply.id] = dataclasses.replace(reply, checkin_id=None)


class FakeReplies(_Table[Reply]):
    """``ReplyRepository`` in memory; append-only, one row per message and version."""

    name = "replies"
    unique = (("client_id", "telegram_message_id", "version"),)

    def __init__(self, database: FakeDatabase, clock: Clock | None = None) -> None:
        super().__init__(clock)
        self._database = database

    async def add(self, reply: Reply) -> Reply:
        if reply.score is not None and not 0 <= reply.score <= 10:
            raise _integrity_error(self.name, "CHECK score_range")
        if reply.version < 1:
            raise _integrity_error(self.name, "CHECK version_positive")
        return self.insert(reply)

    async def get(self, reply_id: int) -> Reply | None:
        return self._get(reply_id)

    async def erase_received_before(self, before: datetime) -> int:
        until = _utc(before, "before")
        old = [r.id for r in self.rows.values() if r.received_at < until]
        self.remove_rows(old)
        return len(old)

    async def for_client(self, client_id: int, limit: int | None = None) -> Sequence[Reply]:
        return self._newest_first(lambda r: r.client_id == client_id, limit)

    async def answers_for_client(self, client_id: int, limit: int) -> Sequence[Reply]:
        return self._newest_first(
            lambda r: (
                r.client_id == client_id and (r.score is not None or r.comparison is not None)
            ),
            limit,
        )

    async def versions_of(self, client_id: int, telegram_message_id: int) -> Sequence[Reply]:
        return self._select(
            lambda r: r.client_id == client_id and r.telegram_message_id == telegram_message_id,
            lambda r: (r.version, r.id),
        )

    async def for_checkin(self, checkin_id: int) -> Sequence[Reply]:
        return self._select(lambda r: r.checkin_id == checkin_id, lambda r: (r.received_at, r.id))

    async def received_between(
        self, practitioner_id: int, start: datetime, end: datetime
    ) -> Sequence[Reply]:
        since, until = _utc(start, "start"), _utc(end, "end")
        theirs = self._database.clients_of(practitioner_id)
        return self._select(
            lambda r: r.client_id in theirs and since <= r.received_at < until,
            lambda r: (r.received_at, r.version, r.id),
        )

    def remove_rows(self, row_ids: Iterable[int]) -> None:
        """Delete replies, with the flags raised on them (the cascade)."""
        gone = set(row_ids)
        self.delete(gone)
        flags = self._database.flags
        flags.delete(f.id for f in flags.rows.values() if f.reply_id in gone)

    def _newest_first(self, where: Callable[[Reply], bool], limit: int | None) -> list[Reply]:
        return self._select(
            where, lambda r: (r.received_at, r.version, r.id), descending=True, limit=limit
        )


class FakeFlags(_Table[Flag]):
    """``FlagRepository`` in memory; flags oldest first, ties by id."""

    name = "flags"

    async def add(self, flag: Flag) -> Flag:
        return self.insert(flag)

    async def get(self, flag_id: int) -> Flag | None:
        return self._get(flag_id)

    async def update(self, flag: Flag) -> Flag:
        return self.put(flag)

    async def open_for_practitioner(self, practitioner_id: int) -> Sequence[Flag]:
        return self._oldest_first(
            lambda f: f.practitioner_id == practitioner_id and f.state is FlagState.OPEN
        )

    async def for_client(self, client_id: int) -> Sequence[Flag]:
        return self._oldest_first(lambda f: f.client_id == client_id)

    async def for_checkin(self, checkin_id: int) -> Sequence[Flag]:
        return self._oldest_first(lambda f: f.checkin_id == checkin_id)

    async def open_by_level(self) -> dict[TriageLevel, tuple[int, datetime]]:
        found: dict[TriageLevel, tuple[int, datetime]] = {}
        for flag in self._oldest_first(lambda f: f.state is FlagState.OPEN):
            count, oldest = found.get(flag.level, (0, flag.created_at))
            found[flag.level] = (count + 1, oldest)
        return found

    def _oldest_first(self, where: Callable[[Flag], bool]) -> list[Flag]:
        return self._select(where, lambda f: (f.created_at, f.id))


class FakeProcesses:
    """``ProcessRepository`` in memory: ``rows`` maps each id to its last heartbeat."""

    def __init__(self) -> None:
        self.rows: dict[int, datetime] = {}
        self.hosts: dict[int, tuple[str, int]] = {}
        self._ids = itertools.count(1)

    async def register(self, host: str, pid: int, now: datetime) -> int:
        process_id = next(self._ids)
        self.rows[process_id] = _utc(now, "now")
        self.hosts[process_id] = (host, pid)
        return process_id

    async def on_host(self, host: str) -> list[tuple[int, int]]:
        return [(i, pid) for i, (on, pid) in self.hosts.items() if on == host and i in self.rows]

    async def beat(self, process_id: int, now: datetime) -> bool:
        if process_id not in self.rows:
            return False
        self.rows[process_id] = _utc(now, "now")
        return True

    async def remove(self, process_id: int) -> None:
        self.rows.pop(process_id, None)

    async def remove_silent(self, before: datetime, *, keep: int | None = None) -> list[int]:
        at = _utc(before, "before")
        silent = [i for i, beat in self.rows.items() if beat < at and i != keep]
        for process_id in silent:
            del self.rows[process_id]
        return silent


class FakeCalendars:
    """``CalendarRepository`` in memory: subscriptions (one per practitioner), entries
    (one per UID and occurrence), choices (one per UID); removing a subscription removes
    its entries and choices, as the foreign keys cascade."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.subscriptions = _Subscriptions(clock)
        self.entries_table = _Entries(clock)
        self.choices = _Choices(clock)

    async def subscription_of(self, practitioner_id: int) -> CalendarSubscription | None:
        found = self.subscriptions.select(lambda s: s.practitioner_id == practitioner_id)
        return found[0] if found else None

    async def subscription(self, subscription_id: int) -> CalendarSubscription | None:
        return self.subscriptions.get(subscription_id)

    async def add_subscription(self, subscription: CalendarSubscription) -> CalendarSubscription:
        return self.subscriptions.insert(subscription)

    async def update_subscription(self, subscription: CalendarSubscription) -> CalendarSubscription:
        return self.subscriptions.put(subscription)

    async def remove_subscription(self, subscription_id: int) -> None:
        self.subscriptions.delete([subscription_id])
        self.entries_table.delete(
            e.id for e in self.entries_table.rows.values() if e.subscription_id == subscription_id
        )
        self.choices.delete(
            c.id for c in self.choices.rows.values() if c.subscription_id == subscription_id
        )

    async def due_subscriptions(self, now: datetime) -> Sequence[CalendarSubscription]:
        at = _utc(now, "now")
        return self.subscriptions.select(
            lambda s: s.next_poll_at is not None and s.next_poll_at <= at,
            lambda s: (s.next_poll_at, s.id),
        )

    async def entries(
        self, subscription_id: int, *, state: CalendarEntryState | None = None
    ) -> Sequence[CalendarEntry]:
        return self.entries_table.select(
            lambda e: e.subscription_id == subscription_id and state in (None, e.state),
            lambda e: (e.starts_at, e.id),
        )

    async def first_waiting(self, subscription_id: int, events: int) -> Sequence[CalendarEntry]:
        first: dict[str, CalendarEntry] = {}
        for entry in await self.entries(subscription_id, state=CalendarEntryState.WAITING):
            first.setdefault(entry.uid, entry)
        chosen = sorted(first.values(), key=lambda e: (e.starts_at, e.uid))[:events]
        return sorted(chosen, key=lambda e: (e.starts_at, e.id))

    async def mark_asked(self, subscription_id: int, uids: Collection[str]) -> None:
        for entry in await self.entries(subscription_id, state=CalendarEntryState.WAITING):
            if entry.uid in uids:
                self.entries_table.put(dataclasses.replace(entry, state=CalendarEntryState.ASKED))

    async def count_entries(self, subscription_id: int, state: CalendarEntryState) -> int:
        return len(await self.entries(subscription_id, state=state))

    async def entry(self, entry_id: int) -> CalendarEntry | None:
        return self.entries_table.get(entry_id)

    async def entries_for_client(self, client_id: int) -> Sequence[CalendarEntry]:
        return self.entries_table.select(
            lambda e: e.client_id == client_id, lambda e: (e.starts_at, e.id)
        )

    async def add_entry(self, entry: CalendarEntry) -> CalendarEntry:
        return self.entries_table.insert(entry)

    async def add_entries(self, entries: Sequence[CalendarEntry]) -> list[CalendarEntry]:
        return [self.entries_table.insert(entry) for entry in entries]

    async def insert_entries(self, entries: Sequence[CalendarEntry]) -> None:
        await self.add_entries(entries)

    async def update_entry(self, entry: CalendarEntry) -> CalendarEntry:
        return self.entries_table.put(entry)

    async def remove_entry(self, entry_id: int) -> None:
        self.entries_table.delete([entry_id])

    async def choice(self, subscription_id: int, uid: str) -> CalendarChoice | None:
        found = self.choices.select(lambda c: c.subscription_id == subscription_id and c.uid == uid)
        return found[0] if found else None

    async def choices_of(self, subscription_id: int) -> Sequence[CalendarChoice]:
        return self.choices.select(lambda c: c.subscription_id == subscription_id)

    async def choose(self, subscription_id: int, uid: str, client_id: int | None) -> CalendarChoice:
        known = await self.choice(subscription_id, uid)
        if known is None:
            return self.choices.insert(CalendarChoice(0, subscription_id, uid, client_id))
        return self.choices.put(dataclasses.replace(known, client_id=client_id))

    def forget_client(self, client_id: int) -> None:
        """The cascade of a client's removal: their entries and choices go."""
        self.entries_table.delete(
            e.id for e in self.entries_table.rows.values() if e.client_id == client_id
        )
        self.choices.delete(c.id for c in self.choices.rows.values() if c.client_id == client_id)


class _Rows(_Table[R]):
    """A calendar table: its rows read from the repository that holds it."""

    def get(self, row_id: int) -> R | None:
        return self._get(row_id)

    def select(
        self, where: Callable[[R], bool], order: Callable[[R], Any] | None = None
    ) -> list[R]:
        return self._select(where, order)


class _Subscriptions(_Rows[CalendarSubscription]):
    name = "calendar_subscriptions"
    unique = (("practitioner_id",),)


class _Entries(_Rows[CalendarEntry]):
    name = "calendar_entries"
    unique = (("subscription_id", "uid", "recurrence_id"),)


class _Choices(_Rows[CalendarChoice]):
    name = "calendar_choices"
    unique = (("subscription_id", "uid"),)


class FakeDatabase:
    """In-memory tables shared by every unit of work opened on it; a ``UnitOfWorkFactory``.

    ``opened`` (units of work), ``commits``, ``rollbacks`` and ``purges`` count what the
    code under test asked for.
    ``clock`` stamps a ``created_at`` left empty (the database's own clock otherwise).
    """

    def __init__(self, clock: Clock | None = None) -> None:
        self.practitioners = FakePractitioners(clock)
        self.clients = FakeClients(self, clock)
        self.invites = FakeInvites(clock)
        self.audit = FakeAudit()
        self.appointments = FakeAppointments(self, clock)
        self.processes = FakeProcesses()
        self.outbox = FakeOutbox(clock)
        self.outbox.processes = self.processes
        self.checkins = FakeCheckIns(self, clock)
        self.replies = FakeReplies(self, clock)
        self.flags = FakeFlags(clock)
        self.calendars = FakeCalendars(clock)
        self.commits = 0
        self.rollbacks = 0
        self.purges = 0
        self.opened = 0

    def __call__(self) -> FakeUnitOfWork:
        self.opened += 1
        return FakeUnitOfWork(self)

    async def purge_freed(self) -> None:
        self.purges += 1

    def clients_of(self, practitioner_id: int) -> set[int]:
        """The ids of one practitioner's clients (what the SQL repositories join on)."""
        return {c.id for c in self.clients.rows.values() if c.practitioner_id == practitioner_id}


class FakeUnitOfWork:
    """Shares the database's tables; a fake has no rollback, so tests assert on ``commits``.

    Like the real one, it commits or rolls back only inside ``async with``, and can be
    opened again once closed.
    """

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

    def __init__(self, database: FakeDatabase) -> None:
        self._database = database
        self._open = False
        self.practitioners = database.practitioners
        self.clients = database.clients
        self.invites = database.invites
        self.audit = database.audit
        self.appointments = database.appointments
        self.outbox = database.outbox
        self.checkins = database.checkins
        self.replies = database.replies
        self.flags = database.flags
        self.calendars = database.calendars
        self.processes = database.processes

    async def __aenter__(self) -> Self:
        if self._open:
            raise RuntimeError("this unit of work is already open")
        self._open = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._open = False

    async def commit(self) -> None:
        self._require_open()
        self._database.commits += 1

    async def rollback(self) -> None:
        self._require_open()
        self._database.rollbacks += 1

    def _require_open(self) -> None:
        if not self._open:
            raise RuntimeError("the unit of work is not open; use it in 'async with'")


class FakeNotifier:
    """A ``Notifier`` that records what it sends; scripted errors come first, per chat.

    ``fail(chat_id, *errors)`` makes the next sends to that chat raise ``errors`` one
    by one (then they succeed again); ``refuse(chat_id, error)`` makes every send to it
    raise ``error``, as a chat that blocked the bot would. Each successful send gets the
    next message id, from 1.
    """

    def __init__(self) -> None:
        self.sent: list[tuple[int, OutgoingMessage, str]] = []
        self.attempts: list[int] = []
        self._script: defaultdict[int, list[DeliveryError]] = defaultdict(list)
        self._refused: dict[int, DeliveryError] = {}
        self._message_ids = itertools.count(1)

    def fail(self, chat_id: int, *errors: DeliveryError) -> None:
        self._script[chat_id].extend(errors)

    def refuse(self, chat_id: int, error: DeliveryError) -> None:
        self._refused[chat_id] = error

    def texts_to(self, chat_id: int) -> list[str]:
        """The catalog keys of the messages sent to one chat, in order."""
        return [message.text.key for chat, message, _ in self.sent if chat == chat_id]

    async def send(self, chat_id: int, message: OutgoingMessage, locale: str) -> SentMessage:
        self.attempts.append(chat_id)
        if chat_id in self._refused:
            raise self._refused[chat_id]
        if self._script[chat_id]:
            raise self._script[chat_id].pop(0)
        self.sent.append((chat_id, message, locale))
        return SentMessage(chat_id, next(self._message_ids))
