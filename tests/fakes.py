"""Hand-written fakes for the ports, for unit and handler tests."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

from bot.domain.models import (
    AuditEntry,
    Client,
    Flag,
    FlagState,
    Invite,
    OutboxKind,
    OutboxMessage,
    OutboxState,
    Practitioner,
)


class FixedClock:
    """A clock that says what it is told."""

    def __init__(self, now: datetime = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current


T = TypeVar("T")


class _Table(Generic[T]):
    def __init__(self) -> None:
        self.rows: dict[int, T] = {}
        self._ids = itertools.count(1)

    def insert(self, row: T) -> T:
        stored = dataclasses.replace(row, id=next(self._ids))  # type: ignore[type-var]
        self.rows[stored.id] = stored  # type: ignore[attr-defined]
        return stored


class FakePractitioners(_Table[Practitioner]):
    async def add(self, practitioner: Practitioner) -> Practitioner:
        return self.insert(practitioner)

    async def lock(self, practitioner_id: int) -> None:
        """One event loop, no concurrency: nothing to hold."""

    async def get(self, practitioner_id: int) -> Practitioner | None:
        return self.rows.get(practitioner_id)

    async def by_telegram_id(self, telegram_user_id: int) -> Practitioner | None:
        return next((p for p in self.rows.values() if p.telegram_user_id == telegram_user_id), None)

    async def list_all(self) -> Sequence[Practitioner]:
        return list(self.rows.values())

    async def update(self, practitioner: Practitioner) -> Practitioner:
        self.rows[practitioner.id] = practitioner
        return practitioner

    async def add_if_absent(self, practitioner: Practitioner) -> Practitioner | None:
        if await self.by_telegram_id(practitioner.telegram_user_id) is not None:
            return None
        return self.insert(practitioner)


class FakeClients(_Table[Client]):
    async def add(self, client: Client) -> Client:
        return self.insert(client)

    async def get(self, client_id: int) -> Client | None:
        return self.rows.get(client_id)

    async def update(self, client: Client) -> Client:
        self.rows[client.id] = client
        return client

    async def by_telegram_id(self, telegram_user_id: int) -> Sequence[Client]:
        return [c for c in self.rows.values() if c.telegram_user_id == telegram_user_id]

    async def for_practitioner(self, practitioner_id: int) -> Sequence[Client]:
        return [c for c in self.rows.values() if c.practitioner_id == practitioner_id]

    async def remove(self, client_id: int) -> None:
        del self.rows[client_id]


class FakeInvites(_Table[Invite]):
    async def add(self, invite: Invite) -> Invite:
        return self.insert(invite)

    async def mark_used(self, invite_id: int, now: datetime) -> bool:
        invite = self.rows.get(invite_id)
        if invite is None or invite.used_at is not None or invite.revoked_at is not None:
            return False
        self.rows[invite_id] = replace(invite, used_at=now)
        return True

    async def by_token_hash(self, token_hash: str) -> Invite | None:
        return next((i for i in self.rows.values() if i.token_hash == token_hash), None)

    async def update(self, invite: Invite) -> Invite:
        self.rows[invite.id] = invite
        return invite


class FakeOutbox(_Table[OutboxMessage]):
    """Scheduling and cancelling only; sending is tested against real databases."""

    async def add(self, message: OutboxMessage) -> OutboxMessage:
        existing = await self.by_dedup_key(message.dedup_key)
        if existing is not None:
            return existing
        return self.insert(
            replace(message, next_attempt_at=message.next_attempt_at or message.due_at)
        )

    async def by_dedup_key(self, dedup_key: str) -> OutboxMessage | None:
        return next((m for m in self.rows.values() if m.dedup_key == dedup_key), None)

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
        matching = [
            m
            for m in self.rows.values()
            if m.state is OutboxState.PENDING
            and (kinds is None or m.kind in kinds)
            and (
                (client_id is not None and m.client_id == client_id)
                or (appointment_id is not None and m.appointment_id == appointment_id)
                or (chat_id is not None and m.chat_id == chat_id)
                or (bool(dedup_prefix) and m.dedup_key.startswith(dedup_prefix or ""))
            )
        ]
        for message in matching:
            self.rows[message.id] = replace(
                message,
                state=OutboxState.CANCELLED,
                last_error=reason,
                dedup_key=f"{message.dedup_key}~{message.id}",
            )
        return len(matching)

    async def forget_client(self, client_id: int, reason: str) -> int:
        about = [m for m in self.rows.values() if m.about_client_id == client_id]
        for message in about:
            pending = message.state is OutboxState.PENDING
            self.rows[message.id] = replace(
                message,
                state=OutboxState.CANCELLED if pending else message.state,
                dedup_key=f"{message.dedup_key}~{message.id}" if pending else message.dedup_key,
                payload={},
                last_error=reason,
                about_client_id=None,
            )
        return len(about)

    def pending(self) -> list[OutboxMessage]:
        return [m for m in self.rows.values() if m.state is OutboxState.PENDING]


class FakeAudit:
    def __init__(self) -> None:
        self.entries: list[AuditEntry] = []

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
            len(self.entries) + 1,
            at,
            action,
            actor_telegram_id,
            subject_type,
            subject_id,
            detail or {},
            client_id,
        )
        self.entries.append(entry)
        return entry

    async def forget_client(self, client_id: int, telegram_id: int | None) -> int:
        about = [i for i, e in enumerate(self.entries) if e.client_id == client_id]
        for index in about:
            entry = self.entries[index]
            self.entries[index] = replace(
                entry,
                actor_telegram_id=None
                if entry.actor_telegram_id == telegram_id
                else entry.actor_telegram_id,
                subject_id=None,
                detail={},
                client_id=None,
            )
        return len(about)

    async def recent(self, limit: int = 50) -> Sequence[AuditEntry]:
        return self.entries[-limit:][::-1]

    async def latest_by_actor(
        self, actor_telegram_id: int, actions: Collection[str], since: datetime
    ) -> AuditEntry | None:
        return next(
            (
                e
                for e in reversed(self.entries)
                if e.actor_telegram_id == actor_telegram_id
                and e.action in actions
                and e.at >= since
            ),
            None,
        )


class FakeFlags(_Table[Flag]):
    async def open_for_practitioner(self, practitioner_id: int) -> list[Flag]:
        return [
            f
            for f in self.rows.values()
            if f.practitioner_id == practitioner_id and f.state is FlagState.OPEN
        ]


class FakeDatabase:
    """In-memory tables shared by every unit of work opened on it. Commits are counted."""

    def __init__(self) -> None:
        self.practitioners = FakePractitioners()
        self.clients = FakeClients()
        self.invites = FakeInvites()
        self.outbox = FakeOutbox()
        self.audit = FakeAudit()
        self.flags = FakeFlags()
        self.commits = 0

    def __call__(self) -> FakeUnitOfWork:
        return FakeUnitOfWork(self)

    async def purge_freed(self) -> None:
        self.purges = getattr(self, "purges", 0) + 1


class FakeUnitOfWork:
    """Shares the database's tables; a fake has no rollback, so tests assert on ``commits``."""

    def __init__(self, database: FakeDatabase) -> None:
        self._database = database
        self.practitioners = database.practitioners
        self.clients = database.clients
        self.invites = database.invites
        self.outbox = database.outbox
        self.audit = database.audit
        self.flags = database.flags

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    async def commit(self) -> None:
        self._database.commits += 1

    async def rollback(self) -> None:
        return None
