"""Repositories over one ``AsyncSession``: they return domain dataclasses and never commit.

The id of an object passed to ``add`` is ignored; the database assigns it and
the returned object carries it. ``update`` writes every field of the object
back to the row with the same id (``created_at`` only when given) and raises
``RecordNotFoundError`` if there is none.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    String,
    Table,
    Update,
    case,
    cast,
    delete,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.errors import RecordNotFoundError
from bot.db.mapping import require_aware, row_values, to_domain
from bot.db.tables import (
    AppointmentRow,
    AuditRow,
    Base,
    BotProcessRow,
    CalendarChoiceRow,
    CalendarEntryRow,
    CalendarSubscriptionRow,
    CheckInRow,
    ClientRow,
    FlagRow,
    InviteRow,
    OutboxRow,
    PractitionerRow,
    ReplyRow,
)
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
from bot.domain.timing import Spans

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

D = TypeVar("D", bound="DataclassInstance")
R = TypeVar("R", bound=Base)


class _Repository(Generic[R, D]):
    """Add, get and update for one row class and its domain dataclass."""

    row_class: type[R]
    domain_class: type[D]

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def _add(self, obj: D) -> D:
        row = self.row_class(**row_values(obj))
        self._session.add(row)
        await self._session.flush()
        return to_domain(row, self.domain_class)

    async def _add_all(self, objs: Sequence[D], key: Sequence[str]) -> list[D]:
        """Add the objects in one INSERT (a few, for a great many) and return them with
        their ids and creation times, in order. The rows come back in any order (keeping
        the order would cost SQLite a statement a row) and are matched by the ``key``
        columns: objects with the same key must be alike but for their id."""
        if not objs:
            return []
        table = self._table
        statement = self._insert().returning(
            table.c.id, table.c.created_at, *(table.c[name] for name in key)
        )
        added: dict[tuple[Any, ...], list[Row[Any]]] = {}
        for row in await self._session.execute(statement, [row_values(obj) for obj in objs]):
            added.setdefault(tuple(row[2:]), []).append(row)
        stored: list[D] = []
        for obj in objs:
            row = added[tuple(getattr(obj, name) for name in key)].pop()
            stored.append(replace(obj, id=row.id, created_at=row.created_at))
        return stored

    @property
    def _table(self) -> Table:
        table: Table = self.row_class.__table__  # type: ignore[assignment]
        return table

    def _insert(self) -> Any:
        """This dialect's INSERT into the row class's table (with its ``ON CONFLICT``).
        The table's, not the ORM class's: rows of many with some values ``None`` then
        still go in one statement, where the ORM would split them by the values set."""
        dialect = self._session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        return insert(self._table)

    async def _insert_unless_exists(self, obj: D, unique_column: Any) -> D | None:
        """Insert ``obj`` unless a row holds its value of ``unique_column``; ``None`` then.

        ``ON CONFLICT DO NOTHING`` makes two transactions inserting the same key
        at once store one row, and neither fails.
        """
        # The values go as parameters, not into the statement: one statement for every
        # row, compiled once and cached.
        statement = (
            self._insert()
            .on_conflict_do_nothing(index_elements=[unique_column])
            .returning(*self._table.c)
        )
        row = (await self._session.execute(statement, row_values(obj))).one_or_none()
        return None if row is None else to_domain(row, self.domain_class)

    async def _get(self, row_id: int) -> D | None:
        row = await self._session.get(self.row_class, row_id)
        return None if row is None else to_domain(row, self.domain_class)

    async def _update(self, obj: D, row_id: int) -> D:
        row = await self._session.get(self.row_class, row_id)
        if row is None:
            raise RecordNotFoundError(f"no {self.row_class.__tablename__} record with id {row_id}")
        for name, value in row_values(obj).items():
            setattr(row, name, value)
        await self._session.flush()
        return to_domain(row, self.domain_class)

    async def _list(self, statement: Select[R]) -> Sequence[D]:
        rows = (await self._session.scalars(statement)).all()
        return [to_domain(row, self.domain_class) for row in rows]

    async def _read(self, statement: Select[Any]) -> list[D]:
        """The objects of a ``SELECT`` of this table's columns, read as plain rows: for many
        rows only looked at, as the session need not keep and track them as ``_list``'s.
        Changes still pending in the session are written first, as ``_list`` would."""
        await self._session.flush()
        return [to_domain(row, self.domain_class) for row in await self._session.execute(statement)]


class SqlPractitionerRepository(_Repository[PractitionerRow, Practitioner]):
    """Practitioners by id or Telegram user id."""

    row_class = PractitionerRow
    domain_class = Practitioner

    async def add(self, practitioner: Practitioner) -> Practitioner:
        """Store a new practitioner."""
        return await self._add(practitioner)

    async def get(self, practitioner_id: int) -> Practitioner | None:
        """The practitioner with this id, if any."""
        return await self._get(practitioner_id)

    async def by_telegram_id(self, telegram_user_id: int) -> Practitioner | None:
        """The practitioner using this Telegram account, if any."""
        statement = select(PractitionerRow).where(
            PractitionerRow.telegram_user_id == telegram_user_id
        )
        found = await self._list(statement)
        return found[0] if found else None

    async def list_all(self) -> Sequence[Practitioner]:
        """Every practitioner, in the order they joined."""
        return await self._list(select(PractitionerRow).order_by(PractitionerRow.id))

    async def add_if_absent(self, practitioner: Practitioner) -> Practitioner | None:
        """Store ``practitioner`` unless their Telegram account is registered; ``None`` then."""
        return await self._insert_unless_exists(practitioner, PractitionerRow.telegram_user_id)

    async def update(self, practitioner: Practitioner) -> Practitioner:
        """Write ``practitioner`` back over the stored one."""
        return await self._update(practitioner, practitioner.id)

    async def lock(self, practitioner_id: int) -> None:
        """Hold the practitioner's row until commit.

        A no-op UPDATE: on PostgreSQL it takes the row lock, on SQLite the write lock, so
        a second booking for the same practitioner waits and then sees the first.
        """
        await self._session.execute(
            update(PractitionerRow)
            .where(PractitionerRow.id == practitioner_id)
            .values(id=PractitionerRow.id)
            .execution_options(synchronize_session=False)
        )


class SqlClientRepository(_Repository[ClientRow, Client]):
    """Clients; each belongs to one practitioner."""

    row_class = ClientRow
    domain_class = Client

    async def add(self, client: Client) -> Client:
        """Store a new client."""
        return await self._add(client)

    async def get(self, client_id: int) -> Client | None:
        """The client with this id, if any."""
        return await self._get(client_id)

    async def update(self, client: Client) -> Client:
        """Write ``client`` back over the stored one."""
        return await self._update(client, client.id)

    async def remove(self, client_id: int) -> None:
        """Delete the client; the database cascades to everything that hangs on them."""
        await self._session.execute(delete(ClientRow).where(ClientRow.id == client_id))

    async def by_telegram_id(self, telegram_user_id: int) -> Sequence[Client]:
        """Every client record of this Telegram account (one per practitioner)."""
        return await self._list(
            select(ClientRow)
            .where(ClientRow.telegram_user_id == telegram_user_id)
            .order_by(ClientRow.id)
        )

    async def for_practitioner(self, practitioner_id: int) -> Sequence[Client]:
        """A practitioner's clients, in the order they were added."""
        return await self._list(
            select(ClientRow)
            .where(ClientRow.practitioner_id == practitioner_id)
            .order_by(ClientRow.id)
        )

    async def asked_to_keep_before(self, before: datetime) -> Sequence[Client]:
        """Active clients with a chat, check-ins not paused, asked whether to keep getting
        them at or before ``before``; by id. Chosen by the database, so the periodic job
        reads only these, however many clients there are."""
        return await self._list(
            select(ClientRow)
            .where(
                ClientRow.checkin_prompt_at <= require_aware(before, "before"),
                ClientRow.checkins_paused.is_(False),
                ClientRow.status == ClientStatus.ACTIVE,
                ClientRow.telegram_user_id.is_not(None),
            )
            .order_by(ClientRow.id)
        )


class SqlInviteRepository(_Repository[InviteRow, Invite]):
    """Invite links, looked up by the hash of their token."""

    row_class = InviteRow
    domain_class = Invite

    async def add(self, invite: Invite) -> Invite:
        """Store a new invite."""
        return await self._add(invite)

    async def get(self, invite_id: int) -> Invite | None:
        """The invite with this id, if any."""
        return await self._get(invite_id)

    async def by_token_hash(self, token_hash: str) -> Invite | None:
        """The invite whose token hashes to ``token_hash``, if any."""
        found = await self._list(select(InviteRow).where(InviteRow.token_hash == token_hash))
        return found[0] if found else None

    async def update(self, invite: Invite) -> Invite:
        """Write ``invite`` back over the stored one."""
        return await self._update(invite, invite.id)

    async def mark_used(self, invite_id: int, now: datetime) -> bool:
        """Mark the invite used if still unused and unrevoked; whether it was."""
        statement = (
            update(InviteRow)
            .where(
                InviteRow.id == invite_id,
                InviteRow.used_at.is_(None),
                InviteRow.revoked_at.is_(None),
            )
            .values(used_at=require_aware(now, "now"))
            .returning(InviteRow.id)
            .execution_options(synchronize_session=False)
        )
        return (await self._session.scalars(statement)).one_or_none() is not None

    async def open_for_practitioner(self, practitioner_id: int, now: datetime) -> Sequence[Invite]:
        """Invites neither used, revoked nor expired at ``now``, oldest first."""
        return await self._list(
            select(InviteRow)
            .where(
                InviteRow.practitioner_id == practitioner_id,
                InviteRow.used_at.is_(None),
                InviteRow.revoked_at.is_(None),
                InviteRow.expires_at > require_aware(now, "now"),
            )
            .order_by(InviteRow.id)
        )

    async def for_client(self, client_id: int) -> Sequence[Invite]:
        """Every invite made for this client, oldest first."""
        return await self._list(
            select(InviteRow).where(InviteRow.client_id == client_id).order_by(InviteRow.id)
        )


class SqlAuditRepository(_Repository[AuditRow, AuditEntry]):
    """The append-only audit log. ``detail`` must hold ids and states, never message text."""

    row_class = AuditRow
    domain_class = AuditEntry

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
        """Append one entry."""
        entry = AuditEntry(
            id=0,
            at=at,
            action=action,
            actor_telegram_id=actor_telegram_id,
            subject_type=subject_type,
            subject_id=subject_id,
            detail=dict(detail or {}),
            client_id=client_id,
        )
        return await self._add(entry)

    async def record_all(self, entries: Sequence[AuditEntry]) -> None:
        """Append these entries together."""
        if entries:
            await self._session.execute(self._insert(), [row_values(e) for e in entries])

    async def forget_client(self, client_id: int, telegram_id: int | None) -> int:
        """Keep the fact of every entry about the client and drop who it was: the actor
        where it was them (a practitioner acting stays, so their own pending Reply is
        still theirs, and now points at no flag), the subject and the detail; return how
        many entries."""
        actor = case(
            (AuditRow.actor_telegram_id == telegram_id, None), else_=AuditRow.actor_telegram_id
        )
        statement = (
            update(AuditRow)
            .where(AuditRow.client_id == client_id)
            .values(actor_telegram_id=actor, subject_id=None, detail={}, client_id=None)
            .returning(AuditRow.id)
        )
        return len((await self._session.scalars(statement)).all())

    async def about_client(self, client_id: int) -> Sequence[AuditEntry]:
        """Every entry about one client, oldest first."""
        return await self._list(
            select(AuditRow)
            .where(AuditRow.client_id == client_id)
            .order_by(AuditRow.at, AuditRow.id)
        )

    async def recent(self, limit: int = 50) -> Sequence[AuditEntry]:
        """The latest ``limit`` entries, newest first."""
        return await self._list(
            select(AuditRow).order_by(AuditRow.at.desc(), AuditRow.id.desc()).limit(limit)
        )

    async def latest_by_actor(
        self, actor_telegram_id: int, actions: Collection[str], since: datetime
    ) -> AuditEntry | None:
        """The actor's newest entry with one of ``actions`` at or after ``since``."""
        require_aware(since, "since")
        found = await self._list(
            select(AuditRow)
            .where(
                AuditRow.actor_telegram_id == actor_telegram_id,
                AuditRow.action.in_(actions),
                AuditRow.at >= since,
            )
            .order_by(AuditRow.at.desc(), AuditRow.id.desc())
            .limit(1)
        )
        return found[0] if found else None


_OPEN = (
    AppointmentStatus.BOOKED,
    AppointmentStatus.CONFIRMED,
    AppointmentStatus.RESCHEDULE_REQUESTED,
)


class SqlAppointmentRepository(_Repository[AppointmentRow, Appointment]):
    """Treatment sessions."""

    row_class = AppointmentRow
    domain_class = Appointment

    async def add(self, appointment: Appointment) -> Appointment:
        """Store a new session."""
        return await self._add(appointment)

    async def add_all(self, appointments: Sequence[Appointment]) -> list[Appointment]:
        """Store new sessions together; they come back with their ids, in order."""
        return await self._add_all(
            appointments,
            ("practitioner_id", "client_id", "starts_at", "duration_minutes", "status"),
        )

    async def get(self, appointment_id: int) -> Appointment | None:
        """The session with this id, if any."""
        return await self._get(appointment_id)

    async def update(self, appointment: Appointment) -> Appointment:
        """Write ``appointment`` back over the stored one."""
        return await self._update(appointment, appointment.id)

    async def for_practitioner_between(
        self, practitioner_id: int, start: datetime, end: datetime
    ) -> Sequence[Appointment]:
        """Sessions starting at or after ``start`` and before ``end``, earliest first."""
        return await self._read(
            select(*self._table.c)
            .where(
                AppointmentRow.practitioner_id == practitioner_id,
                AppointmentRow.starts_at >= require_aware(start, "start"),
                AppointmentRow.starts_at < require_aware(end, "end"),
            )
            .order_by(AppointmentRow.starts_at, AppointmentRow.id)
        )

    async def for_practitioner_within(
        self, practitioner_id: int, spans: Sequence[tuple[datetime, datetime]]
    ) -> Sequence[Appointment]:
        """Sessions starting in one of ``spans`` (each from its start, inclusive, to its
        end), earliest first: one read of those between the first start and the last end
        (a query of many alternatives would cost more to build than it saves), only
        those in a span made sessions."""
        if not spans:
            return []
        within = Spans((require_aware(s, "start"), require_aware(e, "end")) for s, e in spans)
        result = await self._session.execute(
            select(*self._table.c)
            .where(
                AppointmentRow.practitioner_id == practitioner_id,
                AppointmentRow.starts_at >= within.first_start,
                AppointmentRow.starts_at < within.last_end,
            )
            .order_by(AppointmentRow.starts_at, AppointmentRow.id)
        )
        return [to_domain(row, Appointment) for row in result if within.hold(row.starts_at)]

    async def for_client(self, client_id: int) -> Sequence[Appointment]:
        """Every session of one client, earliest first."""
        return await self._list(
            select(AppointmentRow)
            .where(AppointmentRow.client_id == client_id)
            .order_by(AppointmentRow.starts_at, AppointmentRow.id)
        )

    async def for_client_between(
        self, client_id: int, start: datetime, end: datetime
    ) -> Sequence[Appointment]:
        """One client's sessions starting in ``[start, end)``, earliest first."""
        return await self._list(
            select(AppointmentRow)
            .where(
                AppointmentRow.client_id == client_id,
                AppointmentRow.starts_at >= require_aware(start, "start"),
                AppointmentRow.starts_at < require_aware(end, "end"),
            )
            .order_by(AppointmentRow.starts_at, AppointmentRow.id)
        )

    async def mark_completed(self, appointment_id: int, now: datetime) -> Appointment | None:
        """Mark an open session completed; ``None`` if it was not open."""
        rows = (
            await self._session.scalars(
                update(AppointmentRow)
                .where(AppointmentRow.id == appointment_id, AppointmentRow.status.in_(_OPEN))
                .values(status=AppointmentStatus.COMPLETED, updated_at=require_aware(now, "now"))
                .returning(AppointmentRow),
                execution_options={"populate_existing": True},
            )
        ).all()
        return to_domain(rows[0], Appointment) if rows else None

    async def open_started_before(self, now: datetime) -> Sequence[Appointment]:
        """Open sessions that began at or before ``now``, earliest first."""
        return await self._list(
            select(AppointmentRow)
            .where(
                AppointmentRow.status.in_(_OPEN),
                AppointmentRow.starts_at <= require_aware(now, "now"),
            )
            .order_by(AppointmentRow.starts_at, AppointmentRow.id)
        )


def _table(row_class: type[Base]) -> Table:
    """The Core table of a mapped class (typed for Core statements)."""
    table = row_class.__table__
    if not isinstance(table, Table):
        raise TypeError(f"{row_class.__name__} is not mapped to a table")
    return table


def _forgotten(forget: Any, payload: Any) -> Any:
    """The payload a row keeps once it is done: none if it was to be forgotten."""
    return case((forget.is_(True), literal({}, OutboxRow.payload.type)), else_=payload)


EXPIRED_REASON = "expired before it could be sent"
CANCELLED_KEY_MARK = "~"

# What goes first among the due rows: the claim query's ORDER BY, and the order it returns.
_DUE_ORDER = (OutboxRow.priority.desc(), OutboxRow.next_attempt_at, OutboxRow.id)
_SMALLEST_SCAN = 64
_MOST_LOOKS = 4


def _due(now: datetime) -> tuple[ColumnElement[bool], ...]:
    """What makes a row due at ``now``: pending, its time come, and not expired."""
    return (
        OutboxRow.state == OutboxState.PENDING,
        OutboxRow.next_attempt_at <= now,
        or_(OutboxRow.expires_at.is_(None), OutboxRow.expires_at > now),
    )


def _due_order_key(row: OutboxRow) -> tuple[int, datetime, int]:
    return (-row.priority, row.next_attempt_at, row.id)


class SqlOutboxRepository(_Repository[OutboxRow, OutboxMessage]):
    """The schedule of messages to send, and the queries the dispatcher drives it with.

    Every change of state is one UPDATE guarded by the state it leaves, so two
    dispatchers (or a dispatcher and a cancellation) never both move a row. Times
    come in as arguments; nothing here reads a clock or commits.
    """

    row_class = OutboxRow
    domain_class = OutboxMessage

    async def add(self, message: OutboxMessage) -> OutboxMessage:
        """Schedule ``message``; if its ``dedup_key`` exists, return that row and write nothing.

        A ``next_attempt_at`` of ``None`` is stored as ``due_at``.
        """
        if message.next_attempt_at is None:
            message = replace(message, next_attempt_at=message.due_at)
        added = await self._insert_unless_exists(message, OutboxRow.dedup_key)
        if added is not None:
            return added
        existing = await self.by_dedup_key(message.dedup_key)
        if existing is None:  # pragma: no cover - the conflicting row cannot vanish mid-statement
            raise RecordNotFoundError(f"outbox row {message.dedup_key!r} disappeared")
        return existing

    async def add_all(self, messages: Sequence[OutboxMessage]) -> None:
        """Schedule these messages in one statement, each skipped if its ``dedup_key``
        exists (as ``add`` does)."""
        if not messages:
            return
        values = [row_values(m) for m in messages]
        for value in values:
            if value["next_attempt_at"] is None:
                value["next_attempt_at"] = value["due_at"]
        statement = self._insert().on_conflict_do_nothing(index_elements=[OutboxRow.dedup_key])
        # RETURNING, unread, for the drivers to send many rows a statement (as
        # ``insert_entries``).
        await self._session.execute(statement.returning(OutboxRow.id), values)

    async def get(self, message_id: int) -> OutboxMessage | None:
        """The scheduled message with this id, if any, as stored now."""
        row = await self._session.get(OutboxRow, message_id, populate_existing=True)
        return None if row is None else to_domain(row, OutboxMessage)

    async def by_dedup_key(self, dedup_key: str) -> OutboxMessage | None:
        """The scheduled message with this dedup key, if any."""
        found = await self._list(select(OutboxRow).where(OutboxRow.dedup_key == dedup_key))
        return found[0] if found else None

    async def claim_due(
        self, now: datetime, limit: int, *, claimed_by: int | None = None
    ) -> list[OutboxMessage]:
        """Mark up to ``limit`` due rows ``sending`` in one statement and return them, updated.

        Due: pending, ``next_attempt_at <= now``, and not expired (``expires_at`` unset or
        later than ``now``). Higher priority first, then earliest ``next_attempt_at``,
        then id. Each claimed row gets ``claimed_at = now`` and one more attempt.
        """
        require_aware(now, "now")
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        due = (
            select(OutboxRow.id)
            .where(*_due(now))
            .order_by(*_DUE_ORDER)
            .limit(limit)
            # PostgreSQL passes over rows another process is claiming instead of waiting
            # for them, so concurrent claims are disjoint. SQLite renders no FOR UPDATE:
            # its single writer runs one claim at a time.
            .with_for_update(skip_locked=True)
        )
        claimed = await self._updated_rows(
            update(OutboxRow)
            .where(OutboxRow.id.in_(due.scalar_subquery()))
            .values(
                state=OutboxState.SENDING,
                claimed_at=now,
                claimed_by=claimed_by,
                attempts=OutboxRow.attempts + 1,
            )
        )
        # RETURNING gives no order; hand the rows back in the order they were chosen.
        return [to_domain(row, OutboxMessage) for row in sorted(claimed, key=_due_order_key)]

    async def claim_each_chat(
        self,
        now: datetime,
        limit: int,
        *,
        ready: Callable[[int], bool],
        busy_chats: Collection[int] = (),
        claimed_by: int | None = None,
    ) -> list[OutboxMessage]:
        """Like ``claim_due``, but at most one row per chat, none for ``busy_chats``, and
        only for chats that are ``ready`` (may receive a message now): a chat's backlog
        stays ``pending``, so it never holds up other chats' messages nor becomes
        ``uncertain`` in a crash before its turn. Each chat's most urgent due row goes.

        Chats looked at and passed over are left out of the next look, so however long
        one chat's backlog is, the rows of other chats behind it are reached.
        """
        require_aware(now, "now")
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        passed = set(busy_chats)
        chosen: list[int] = []
        scan = max(limit * 4, _SMALLEST_SCAN)
        for _ in range(_MOST_LOOKS):
            due = (
                select(OutboxRow.id, OutboxRow.chat_id)
                .where(*_due(now))
                .order_by(*_DUE_ORDER)
                .limit(scan)
                .with_for_update(skip_locked=True)
            )
            if passed:
                due = due.where(OutboxRow.chat_id.not_in(passed))
            found = (await self._session.execute(due)).all()
            for row_id, chat_id in found:
                if chat_id in passed:
                    continue
                passed.add(chat_id)
                if ready(chat_id):
                    chosen.append(row_id)
                    if len(chosen) == limit:
                        break
            if len(chosen) == limit or len(found) < scan:
                break
        if not chosen:
            return []
        claimed = await self._updated_rows(
            update(OutboxRow)
            .where(OutboxRow.id.in_(chosen), OutboxRow.state == OutboxState.PENDING)
            .values(
                state=OutboxState.SENDING,
                claimed_at=now,
                claimed_by=claimed_by,
                attempts=OutboxRow.attempts + 1,
            )
        )
        return [to_domain(row, OutboxMessage) for row in sorted(claimed, key=_due_order_key)]

    async def skip_expired(self, now: datetime) -> list[OutboxMessage]:
        """Mark pending rows whose ``expires_at`` is at or before ``now`` ``skipped_stale``."""
        require_aware(now, "now")
        return await self._update_returning(
            update(OutboxRow)
            .where(OutboxRow.state == OutboxState.PENDING, OutboxRow.expires_at <= now)
            .values(
                state=OutboxState.SKIPPED_STALE,
                last_error=EXPIRED_REASON,
                payload=_forgotten(OutboxRow.forget_after_send, OutboxRow.payload),
            )
        )

    async def next_attempt_at(self) -> datetime | None:
        """The earliest ``next_attempt_at`` among pending rows; ``None`` if nothing is pending."""
        statement = (
            select(OutboxRow.next_attempt_at)
            .where(OutboxRow.state == OutboxState.PENDING)
            .order_by(OutboxRow.next_attempt_at)
            .limit(1)
        )
        earliest: datetime | None = await self._session.scalar(statement)
        return earliest

    async def mark_sent(
        self, message_id: int, *, sent_at: datetime, telegram_message_id: int, lateness_ms: int
    ) -> bool:
        """Record that a ``sending`` row arrived; ``False`` (nothing changed) if it was not."""
        require_aware(sent_at, "sent_at")
        return await self._record_outcome(
            message_id,
            state=OutboxState.SENT,
            sent_at=sent_at,
            telegram_message_id=telegram_message_id,
            lateness_ms=lateness_ms,
        )

    async def mark_failed(
        self, message_id: int, reason: str, *, follow_up: FollowUp | None = None
    ) -> bool:
        """Mark a ``sending`` row permanently ``failed``; ``False`` if it was not ``sending``."""
        return await self._record_outcome(
            message_id, state=OutboxState.FAILED, last_error=reason, follow_up=follow_up
        )

    async def awaiting_follow_up(self, limit: int) -> list[OutboxMessage]:
        """Up to ``limit`` rows whose failure still has consequences to draw.

        No ORDER BY: sorting by id would make SQLite scan the whole table on every pass
        instead of reading the few rows the partial index holds."""
        return list(
            await self._list(select(OutboxRow).where(OutboxRow.follow_up.is_not(None)).limit(limit))
        )

    async def take_follow_up(self, message_id: int) -> bool:
        """Clear the row's follow-up; ``False`` if it had none (another pass took it)."""
        table = _table(OutboxRow)
        result = await self._session.execute(
            update(table)
            .where(table.c.id == message_id, table.c.follow_up.is_not(None))
            .values(follow_up=None)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def mark_uncertain(self, message_id: int, reason: str) -> bool:
        """Mark a ``sending`` row ``uncertain``; ``False`` if it was not ``sending``."""
        return await self._record_outcome(
            message_id, state=OutboxState.UNCERTAIN, last_error=reason
        )

    async def retry_later(self, message_id: int, *, next_attempt_at: datetime, reason: str) -> bool:
        """Put a ``sending`` row back to ``pending`` until ``next_attempt_at``.

        ``due_at`` stays as it was, so lateness is still measured from it.
        """
        require_aware(next_attempt_at, "next_attempt_at")
        return await self._record_outcome(
            message_id,
            state=OutboxState.PENDING,
            next_attempt_at=next_attempt_at,
            last_error=reason,
        )

    async def recover_in_flight(
        self, reason: str, *, claimed_by: int | None = None
    ) -> list[OutboxMessage]:
        """Turn ``sending`` rows (claimed by process ``claimed_by``, if given) into
        ``uncertain`` with ``reason``; return them.

        For start-up after a crash: whether those messages arrived is unknown, and
        Telegram has no idempotency key, so they are reported, never resent.
        """
        mine = () if claimed_by is None else (OutboxRow.claimed_by == claimed_by,)
        return await self._uncertain(*mine, reason=reason)

    async def recover_abandoned(
        self, reason: str, *, unowned_before: datetime
    ) -> list[OutboxMessage]:
        """``recover_in_flight`` for the ``sending`` rows no running process holds."""
        running = select(BotProcessRow.id)
        return await self._uncertain(
            or_(
                # Not a bare NOT IN: NULL NOT IN (an empty set) is true.
                OutboxRow.claimed_by.is_not(None) & OutboxRow.claimed_by.not_in(running),
                (OutboxRow.claimed_by.is_(None))
                & (OutboxRow.claimed_at < require_aware(unowned_before, "unowned_before")),
            ),
            reason=reason,
        )

    async def _uncertain(
        self, *conditions: ColumnElement[bool], reason: str
    ) -> list[OutboxMessage]:
        return await self._update_returning(
            update(OutboxRow)
            .where(OutboxRow.state == OutboxState.SENDING, *conditions)
            .values(
                state=OutboxState.UNCERTAIN,
                last_error=reason,
                payload=_forgotten(OutboxRow.forget_after_send, OutboxRow.payload),
            )
        )

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
        """Cancel pending rows matching any of the given filters; return how many.

        At least one filter is required: cancelling everything is never meant.
        ``kinds``, when given, further limits it to messages of those kinds. A cancelled
        row gives up its dedup key (it becomes ``<key>~<id>``), so the same message can
        be scheduled again later: a session moved away and back gets its reminders.
        """
        matches = []
        if client_id is not None:
            matches.append(OutboxRow.client_id == client_id)
        if appointment_id is not None:
            matches.append(OutboxRow.appointment_id == appointment_id)
        if chat_id is not None:
            matches.append(OutboxRow.chat_id == chat_id)
        if dedup_prefix:
            matches.append(OutboxRow.dedup_key.startswith(dedup_prefix, autoescape=True))
        if not matches:
            raise ValueError(
                "cancel_pending needs a client_id, appointment_id, chat_id or dedup_prefix"
            )
        conditions = [OutboxRow.state == OutboxState.PENDING, or_(*matches)]
        if kinds is not None:
            conditions.append(OutboxRow.kind.in_(list(kinds)))
        statement = (
            update(OutboxRow)
            .where(*conditions)
            .values(
                state=OutboxState.CANCELLED,
                last_error=reason,
                dedup_key=OutboxRow.dedup_key + CANCELLED_KEY_MARK + cast(OutboxRow.id, String),
                payload=_forgotten(OutboxRow.forget_after_send, OutboxRow.payload),
            )
            .returning(OutboxRow.id)
        )
        return len((await self._session.scalars(statement)).all())

    async def about_client(self, client_id: int) -> Sequence[OutboxMessage]:
        """Every message to one client or carrying their name or words, oldest first."""
        return await self._list(
            select(OutboxRow)
            .where(or_(OutboxRow.client_id == client_id, OutboxRow.about_client_id == client_id))
            .order_by(OutboxRow.due_at, OutboxRow.id)
        )

    async def count_by_state_and_kind(self) -> dict[tuple[OutboxState, OutboxKind], int]:
        """How many rows of each kind are in each state (pairs with none left out)."""
        statement = select(OutboxRow.state, OutboxRow.kind, func.count()).group_by(
            OutboxRow.state, OutboxRow.kind
        )
        return {(state, kind): n for state, kind, n in await self._session.execute(statement)}

    async def count_by_state(self) -> dict[OutboxState, int]:
        """How many rows are in each state; every state is present, zeros included."""
        counts = dict.fromkeys(OutboxState, 0)
        statement = select(OutboxRow.state, func.count()).group_by(OutboxRow.state)
        for state, count in await self._session.execute(statement):
            counts[state] = count
        return counts

    async def lateness_ms(self, since: datetime) -> list[int]:
        """How late each message sent at or after ``since`` went out, in ms, smallest first."""
        require_aware(since, "since")
        statement = (
            select(OutboxRow.lateness_ms)
            .where(
                OutboxRow.state == OutboxState.SENT,
                OutboxRow.sent_at >= since,
                OutboxRow.lateness_ms.is_not(None),
            )
            .order_by(OutboxRow.lateness_ms)
        )
        return [
            value for value in (await self._session.scalars(statement)).all() if value is not None
        ]

    async def _update_returning(self, statement: Update) -> list[OutboxMessage]:
        """Run an UPDATE of outbox rows and return the rows it changed, as they are now."""
        return [to_domain(row, OutboxMessage) for row in await self._updated_rows(statement)]

    async def _updated_rows(self, statement: Update) -> Sequence[OutboxRow]:
        rows = await self._session.scalars(
            statement.returning(OutboxRow),
            # Rows this session already holds are overwritten with what the UPDATE wrote.
            execution_options={"populate_existing": True},
        )
        return rows.all()

    async def clear_payloads_before(self, before: datetime) -> int:
        """Empty the payload of every row that is done and was created before ``before``.

        A cleared row is marked ``forget_after_send`` (done and forgotten), so the next
        pass leaves it alone."""
        require_aware(before, "before")
        statement = (
            update(OutboxRow)
            .where(
                OutboxRow.created_at < before,
                OutboxRow.state.not_in([OutboxState.PENDING, OutboxState.SENDING]),
                OutboxRow.forget_after_send.is_(False),
            )
            .values(payload={}, forget_after_send=True)
            .returning(OutboxRow.id)
        )
        return len((await self._session.scalars(statement)).all())

    async def forget_client(self, client_id: int, reason: str) -> int:
        """Redact every row that carries this client's name or words for someone else:
        its payload and error are emptied, and a pending one is cancelled (it would have
        nothing left to say). Return how many rows."""
        about = OutboxRow.about_client_id == client_id
        # One on its way now cannot be stopped; if it comes back for a retry, it has
        # expired (and is skipped, never sent empty).
        await self._session.execute(
            update(OutboxRow)
            .where(about, OutboxRow.state == OutboxState.SENDING)
            .values(expires_at=OutboxRow.created_at)
        )
        await self._session.execute(
            update(OutboxRow)
            .where(about, OutboxRow.state == OutboxState.PENDING)
            .values(
                state=OutboxState.CANCELLED,
                dedup_key=OutboxRow.dedup_key + CANCELLED_KEY_MARK + cast(OutboxRow.id, String),
            )
        )
        statement = (
            update(OutboxRow)
            .where(about)
            .values(payload={}, last_error=reason, about_client_id=None)
            .returning(OutboxRow.id)
        )
        return len((await self._session.scalars(statement)).all())

    async def _record_outcome(self, message_id: int, **values: Any) -> bool:
        """Apply ``values`` to the row if it is ``sending``; whether it was.

        A Core UPDATE on the table, not an ORM one: the dispatcher stores every outcome in
        a commit of its own, and this is its hot path. ``get`` reloads the row, so the
        unit of work that wrote it still reads what it wrote. A row that is done and
        asked to be forgotten loses its payload in the same statement.
        """
        table = _table(OutboxRow)
        if values.get("state") is not OutboxState.PENDING:
            values["payload"] = _forgotten(table.c.forget_after_send, table.c.payload)
        statement = (
            update(table)
            .where(table.c.id == message_id, table.c.state == OutboxState.SENDING)
            .values(**values)
        )
        result = await self._session.execute(statement)
        return bool(result.rowcount)  # type: ignore[attr-defined]


class SqlCheckInRepository(_Repository[CheckInRow, CheckIn]):
    """Aftercare check-ins."""

    row_class = CheckInRow
    domain_class = CheckIn

    async def add(self, checkin: CheckIn) -> CheckIn:
        """Store a new check-in."""
        return await self._add(checkin)

    async def get(self, checkin_id: int) -> CheckIn | None:
        """The check-in with this id, if any."""
        return await self._get(checkin_id)

    async def update(self, checkin: CheckIn) -> CheckIn:
        """Write ``checkin`` back over the stored one."""
        return await self._update(checkin, checkin.id)

    async def for_appointment(self, appointment_id: int) -> Sequence[CheckIn]:
        """The check-ins after one session, by day."""
        return await self._list(
            select(CheckInRow)
            .where(CheckInRow.appointment_id == appointment_id)
            .order_by(CheckInRow.day)
        )

    async def scheduled_due(self, now: datetime) -> Sequence[CheckIn]:
        """Check-ins still ``scheduled`` whose time has come, earliest first."""
        return await self._list(
            select(CheckInRow)
            .where(
                CheckInRow.state == CheckInState.SCHEDULED,
                CheckInRow.due_at <= require_aware(now, "now"),
            )
            .order_by(CheckInRow.due_at, CheckInRow.id)
        )

    async def due_between(
        self, practitioner_id: int, start: datetime, end: datetime
    ) -> Sequence[CheckIn]:
        """The check-ins of one practitioner's clients due in ``[start, end)``, earliest
        first."""
        return await self._list(
            select(CheckInRow)
            .join(ClientRow, ClientRow.id == CheckInRow.client_id)
            .where(
                ClientRow.practitioner_id == practitioner_id,
                CheckInRow.due_at >= require_aware(start, "start"),
                CheckInRow.due_at < require_aware(end, "end"),
            )
            .order_by(CheckInRow.due_at, CheckInRow.id)
        )

    async def for_client(self, client_id: int, limit: int | None = None) -> Sequence[CheckIn]:
        """A client's check-ins, latest due first."""
        statement = (
            select(CheckInRow)
            .where(CheckInRow.client_id == client_id)
            .order_by(CheckInRow.due_at.desc(), CheckInRow.id.desc())
        )
        if limit is not None:
            statement = statement.limit(limit)
        return await self._list(statement)


class SqlReplyRepository(_Repository[ReplyRow, Reply]):
    """Client replies; append-only."""

    row_class = ReplyRow
    domain_class = Reply

    async def add(self, reply: Reply) -> Reply:
        """Store a reply, or a new version of an edited one."""
        return await self._add(reply)

    async def get(self, reply_id: int) -> Reply | None:
        """The reply with this id, if any."""
        return await self._get(reply_id)

    async def erase_received_before(self, before: datetime) -> int:
        """Delete every answer received before ``before`` (its flags go with it)."""
        require_aware(before, "before")
        statement = delete(ReplyRow).where(ReplyRow.received_at < before).returning(ReplyRow.id)
        return len((await self._session.scalars(statement)).all())

    async def for_client(self, client_id: int, limit: int | None = None) -> Sequence[Reply]:
        """A client's replies, newest first (later versions of an edit before earlier ones)."""
        statement = (
            select(ReplyRow)
            .where(ReplyRow.client_id == client_id)
            .order_by(ReplyRow.received_at.desc(), ReplyRow.version.desc(), ReplyRow.id.desc())
        )
        if limit is not None:
            statement = statement.limit(limit)
        return await self._list(statement)

    async def answers_for_client(self, client_id: int, limit: int) -> Sequence[Reply]:
        """A client's replies that carry a score or a comparison, newest first: what
        triage weighs from earlier check-ins (words alone, however many, are not read)."""
        return await self._list(
            select(ReplyRow)
            .where(
                ReplyRow.client_id == client_id,
                or_(ReplyRow.score.is_not(None), ReplyRow.comparison.is_not(None)),
            )
            .order_by(ReplyRow.received_at.desc(), ReplyRow.version.desc(), ReplyRow.id.desc())
            .limit(limit)
        )

    async def versions_of(self, client_id: int, telegram_message_id: int) -> Sequence[Reply]:
        """The stored versions of one Telegram message of a client, oldest first."""
        return await self._list(
            select(ReplyRow)
            .where(
                ReplyRow.client_id == client_id,
                ReplyRow.telegram_message_id == telegram_message_id,
            )
            .order_by(ReplyRow.version)
        )

    async def for_checkin(self, checkin_id: int) -> Sequence[Reply]:
        """The replies to one check-in, oldest first."""
        return await self._list(
            select(ReplyRow)
            .where(ReplyRow.checkin_id == checkin_id)
            .order_by(ReplyRow.received_at, ReplyRow.id)
        )

    async def received_between(
        self, practitioner_id: int, start: datetime, end: datetime
    ) -> Sequence[Reply]:
        """The replies of one practitioner's clients received in ``[start, end)``, oldest
        first (versions of an edit in order)."""
        return await self._list(
            select(ReplyRow)
            .join(ClientRow, ClientRow.id == ReplyRow.client_id)
            .where(
                ClientRow.practitioner_id == practitioner_id,
                ReplyRow.received_at >= require_aware(start, "start"),
                ReplyRow.received_at < require_aware(end, "end"),
            )
            .order_by(ReplyRow.received_at, ReplyRow.version, ReplyRow.id)
        )


class SqlFlagRepository(_Repository[FlagRow, Flag]):
    """Concerns passed on to practitioners."""

    row_class = FlagRow
    domain_class = Flag

    async def add(self, flag: Flag) -> Flag:
        """Store a new flag."""
        return await self._add(flag)

    async def get(self, flag_id: int) -> Flag | None:
        """The flag with this id, if any."""
        return await self._get(flag_id)

    async def update(self, flag: Flag) -> Flag:
        """Write ``flag`` back over the stored one."""
        return await self._update(flag, flag.id)

    async def open_for_practitioner(self, practitioner_id: int) -> Sequence[Flag]:
        """A practitioner's open flags, oldest first: the longest-waiting concern leads."""
        return await self._list(
            select(FlagRow)
            .where(FlagRow.practitioner_id == practitioner_id, FlagRow.state == FlagState.OPEN)
            .order_by(FlagRow.created_at, FlagRow.id)
        )

    async def for_client(self, client_id: int) -> Sequence[Flag]:
        """Every flag raised on one client's words, oldest first."""
        return await self._list(
            select(FlagRow)
            .where(FlagRow.client_id == client_id)
            .order_by(FlagRow.created_at, FlagRow.id)
        )

    async def for_checkin(self, checkin_id: int) -> Sequence[Flag]:
        """The flags raised from one check-in, oldest first."""
        return await self._list(
            select(FlagRow)
            .where(FlagRow.checkin_id == checkin_id)
            .order_by(FlagRow.created_at, FlagRow.id)
        )

    async def open_by_level(self) -> dict[TriageLevel, tuple[int, datetime]]:
        """Of every practitioner's open flags: how many of each level, and when the oldest
        was raised (levels with none left out)."""
        statement = (
            select(FlagRow.level, func.count(), func.min(FlagRow.created_at))
            .where(FlagRow.state == FlagState.OPEN)
            .group_by(FlagRow.level)
        )
        return {level: (n, oldest) for level, n, oldest in await self._session.execute(statement)}


class _Subscriptions(_Repository[CalendarSubscriptionRow, CalendarSubscription]):
    row_class = CalendarSubscriptionRow
    domain_class = CalendarSubscription


class _Entries(_Repository[CalendarEntryRow, CalendarEntry]):
    row_class = CalendarEntryRow
    domain_class = CalendarEntry


class _Choices(_Repository[CalendarChoiceRow, CalendarChoice]):
    row_class = CalendarChoiceRow
    domain_class = CalendarChoice


class SqlProcessRepository:
    """The bot processes sharing the database, each with its heartbeat."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def register(self, host: str, pid: int, now: datetime) -> int:
        """Record a process starting; its id."""
        row = BotProcessRow(host=host[:200], pid=pid, started_at=now, beat_at=now)
        self._session.add(row)
        await self._session.flush()
        return row.id

    async def beat(self, process_id: int, now: datetime) -> bool:
        """Renew its heartbeat; ``False`` if its row is gone (a peer took it for dead)."""
        found = await self._session.execute(
            update(BotProcessRow)
            .where(BotProcessRow.id == process_id)
            .values(beat_at=require_aware(now, "now"))
            .returning(BotProcessRow.id)
        )
        return found.first() is not None

    async def remove(self, process_id: int) -> None:
        """A process leaving."""
        await self._session.execute(delete(BotProcessRow).where(BotProcessRow.id == process_id))

    async def on_host(self, host: str) -> list[tuple[int, int]]:
        """The processes recorded on ``host``: their ids and process ids."""
        found = await self._session.execute(
            select(BotProcessRow.id, BotProcessRow.pid).where(BotProcessRow.host == host[:200])
        )
        return [(process_id, pid) for process_id, pid in found]

    async def remove_silent(self, before: datetime, *, keep: int | None = None) -> list[int]:
        """Remove the processes (but ``keep``) whose last heartbeat came before
        ``before``; their ids."""
        found = await self._session.scalars(
            delete(BotProcessRow)
            .where(
                BotProcessRow.beat_at < require_aware(before, "before"),
                BotProcessRow.id != (keep or 0),
            )
            .returning(BotProcessRow.id)
        )
        return list(found)


class SqlCalendarRepository:
    """Calendar subscriptions, their entries and the practitioner's choices."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._subscriptions = _Subscriptions(session)
        self._entries = _Entries(session)
        self._choices = _Choices(session)

    async def subscription_of(self, practitioner_id: int) -> CalendarSubscription | None:
        """The practitioner's subscription, if any."""
        found = await self._subscriptions._list(
            select(CalendarSubscriptionRow).where(
                CalendarSubscriptionRow.practitioner_id == practitioner_id
            )
        )
        return found[0] if found else None

    async def subscription(self, subscription_id: int) -> CalendarSubscription | None:
        """The subscription with this id, if any."""
        return await self._subscriptions._get(subscription_id)

    async def add_subscription(self, subscription: CalendarSubscription) -> CalendarSubscription:
        """Store a new subscription (one per practitioner)."""
        return await self._subscriptions._add(subscription)

    async def update_subscription(self, subscription: CalendarSubscription) -> CalendarSubscription:
        """Write ``subscription`` back over the stored one."""
        return await self._subscriptions._update(subscription, subscription.id)

    async def remove_subscription(self, subscription_id: int) -> None:
        """Delete it; its entries and choices go with it (the foreign keys cascade)."""
        await self._session.execute(
            delete(CalendarSubscriptionRow).where(CalendarSubscriptionRow.id == subscription_id)
        )

    async def due_subscriptions(self, now: datetime) -> Sequence[CalendarSubscription]:
        """Subscriptions whose next poll is due by ``now``, earliest first."""
        return await self._subscriptions._list(
            select(CalendarSubscriptionRow)
            .where(CalendarSubscriptionRow.next_poll_at <= require_aware(now, "now"))
            .order_by(CalendarSubscriptionRow.next_poll_at, CalendarSubscriptionRow.id)
        )

    async def entries(
        self, subscription_id: int, *, state: CalendarEntryState | None = None
    ) -> Sequence[CalendarEntry]:
        """Every entry of one subscription (in ``state``, if given), by start."""
        query = select(CalendarEntryRow).where(CalendarEntryRow.subscription_id == subscription_id)
        if state is not None:
            query = query.where(CalendarEntryRow.state == state)
        return await self._entries._list(
            query.order_by(CalendarEntryRow.starts_at, CalendarEntryRow.id)
        )

    async def first_waiting(self, subscription_id: int, events: int) -> Sequence[CalendarEntry]:
        """The soonest ``waiting`` entry of each of the ``events`` events (UIDs) whose
        soonest one comes first, by start."""
        waiting = (
            CalendarEntryRow.subscription_id == subscription_id,
            CalendarEntryRow.state == CalendarEntryState.WAITING,
        )
        first = func.min(CalendarEntryRow.starts_at)
        soonest = (
            select(CalendarEntryRow.uid, first.label("first"))
            .where(*waiting)
            .group_by(CalendarEntryRow.uid)
            .order_by(first, CalendarEntryRow.uid)
            .limit(events)
            .subquery()
        )
        found = await self._entries._list(
            select(CalendarEntryRow)
            .join(
                soonest,
                (CalendarEntryRow.uid == soonest.c.uid)
                & (CalendarEntryRow.starts_at == soonest.c.first),
            )
            .where(*waiting)
            .order_by(CalendarEntryRow.starts_at, CalendarEntryRow.id)
        )
        one_each: dict[str, CalendarEntry] = {}
        for entry in found:
            one_each.setdefault(entry.uid, entry)
        return list(one_each.values())

    async def mark_asked(self, subscription_id: int, uids: Collection[str]) -> None:
        """Every ``waiting`` entry of these events (UIDs), now ``asked``."""
        await self._session.execute(
            update(CalendarEntryRow)
            .where(
                CalendarEntryRow.subscription_id == subscription_id,
                CalendarEntryRow.state == CalendarEntryState.WAITING,
                CalendarEntryRow.uid.in_(list(uids)),
            )
            .values(state=CalendarEntryState.ASKED)
        )

    async def count_entries(self, subscription_id: int, state: CalendarEntryState) -> int:
        """How many entries of one subscription are in ``state``."""
        found = await self._session.scalar(
            select(func.count())
            .select_from(CalendarEntryRow)
            .where(
                CalendarEntryRow.subscription_id == subscription_id,
                CalendarEntryRow.state == state,
            )
        )
        return int(found or 0)

    async def entry(self, entry_id: int) -> CalendarEntry | None:
        """The entry with this id, if any."""
        return await self._entries._get(entry_id)

    async def entries_for_client(self, client_id: int) -> Sequence[CalendarEntry]:
        """The calendar events taken as one client's sessions, by start."""
        return await self._entries._list(
            select(CalendarEntryRow)
            .where(CalendarEntryRow.client_id == client_id)
            .order_by(CalendarEntryRow.starts_at, CalendarEntryRow.id)
        )

    async def add_entry(self, entry: CalendarEntry) -> CalendarEntry:
        """Store a new entry."""
        return await self._entries._add(entry)

    async def add_entries(self, entries: Sequence[CalendarEntry]) -> list[CalendarEntry]:
        """Store new entries together; they come back with their ids, in order."""
        return await self._entries._add_all(entries, ("subscription_id", "uid", "recurrence_id"))

    async def insert_entries(self, entries: Sequence[CalendarEntry]) -> None:
        """Store new entries together, nothing read back: for the many whose ids are not
        needed."""
        if entries:
            # RETURNING, though the ids are not used: only then do the drivers send the
            # rows a thousand to a statement rather than one statement a row.
            await self._session.execute(
                self._entries._insert().returning(CalendarEntryRow.id),
                [row_values(entry) for entry in entries],
            )

    async def update_entry(self, entry: CalendarEntry) -> CalendarEntry:
        """Write ``entry`` back over the stored one."""
        return await self._entries._update(entry, entry.id)

    async def remove_entry(self, entry_id: int) -> None:
        """Delete one entry."""
        await self._session.execute(delete(CalendarEntryRow).where(CalendarEntryRow.id == entry_id))

    async def choice(self, subscription_id: int, uid: str) -> CalendarChoice | None:
        """The practitioner's answer for this event UID, if they gave one."""
        found = await self._choices._list(
            select(CalendarChoiceRow).where(
                CalendarChoiceRow.subscription_id == subscription_id, CalendarChoiceRow.uid == uid
            )
        )
        return found[0] if found else None

    async def choices_of(self, subscription_id: int) -> Sequence[CalendarChoice]:
        """Every answer the practitioner gave about this calendar's events."""
        return await self._choices._list(
            select(CalendarChoiceRow).where(CalendarChoiceRow.subscription_id == subscription_id)
        )

    async def choose(self, subscription_id: int, uid: str, client_id: int | None) -> CalendarChoice:
        """Store (or replace) the answer for this event UID."""
        known = await self.choice(subscription_id, uid)
        if known is None:
            return await self._choices._add(CalendarChoice(0, subscription_id, uid, client_id))
        return await self._choices._update(
            CalendarChoice(known.id, subscription_id, uid, client_id), known.id
        )
