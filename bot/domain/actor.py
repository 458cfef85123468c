"""Who sent an update, found once: their Telegram id, their standing and their records."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.models import Client, ClientStatus, Practitioner
from bot.domain.roles import Role


@dataclass(frozen=True, slots=True)
class Actor:
    """A Telegram user as the bot knows them at the moment of one update.

    ``practitioner`` is their practitioner record, if any; ``clients`` their client
    records (one per practice they joined); ``named_practitioner`` whether the operator
    names them a practitioner in settings, stored or not yet.
    """

    telegram_id: int
    practitioner: Practitioner | None = None
    clients: tuple[Client, ...] = ()
    named_practitioner: bool = False

    @property
    def role(self) -> Role:
        """Practitioner, client or guest; a practitioner who is also a client is both,
        and shown as a practitioner."""
        if self.practitioner is not None or self.named_practitioner:
            return Role.PRACTITIONER
        return Role.CLIENT if self.clients else Role.GUEST

    @property
    def active_clients(self) -> tuple[Client, ...]:
        """Their client records that may get messages now."""
        return tuple(c for c in self.clients if c.status is ClientStatus.ACTIVE)

    @property
    def has_stopped(self) -> bool:
        """A client only of practices they stopped (``/stop``): nothing is sent to them
        until they join again with a new invite."""
        return bool(self.clients) and all(c.status is ClientStatus.STOPPED for c in self.clients)
