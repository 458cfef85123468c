"""The Protocols that services depend on. Adapters in ``bot/db`` and ``bot/telegram`` fill them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self

from bot.domain.models import (
    AuditEntry,
    Client,
    Invite,
    Practitioner,
)


class Clock(Protocol):
    """The only source of the current time."""

    def now(self) -> datetime:
        """Return the current time, timezone-aware, in UTC."""
        ...


@dataclass(frozen=True, slots=True)
class Button:
    """One inline keyboard button: either ``callback_data`` or ``url``."""

    text: str
    callback_data: str | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True)
class SentMessage:
    """What Telegram answered for a sent message."""

    chat_id: int
    message_id: int


class Notifier(Protocol):
    """Sends messages to Telegram chats. Texts are HTML, already escaped by ``messages``."""

    async def send(
        self,
        chat_id: int,
        html: str,
        buttons: Sequence[Sequence[Button]] = (),
        *,
        silent: bool = False,
    ) -> SentMessage:
        """Send one message and return its ids."""
        ...


class PractitionerRepository(Protocol):
    """Practitioners by id or Telegram user id."""

    async def add(self, practitioner: Practitioner) -> Practitioner: ...
    async def get(self, practitioner_id: int) -> Practitioner | None: ...
    async def by_telegram_id(self, telegram_user_id: int) -> Practitioner | None: ...
    async def list_all(self) -> Sequence[Practitioner]: ...


class ClientRepository(Protocol):
    """Clients; each belongs to one practitioner."""

    async def add(self, client: Client) -> Client: ...
    async def get(self, client_id: int) -> Client | None: ...
    async def update(self, client: Client) -> Client: ...
    async def by_telegram_id(self, telegram_user_id: int) -> Sequence[Client]: ...
    async def for_practitioner(self, practitioner_id: int) -> Sequence[Client]: ...


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
    ) -> AuditEntry: ...
    async def recent(self, limit: int = 50) -> Sequence[AuditEntry]: ...


class UnitOfWork(Protocol):
    """One transaction: repositories share it; nothing is stored until ``commit``."""

    practitioners: PractitionerRepository
    clients: ClientRepository
    invites: InviteRepository
    audit: AuditRepository

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
