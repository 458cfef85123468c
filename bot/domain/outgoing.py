"""What the bot says: catalog texts with their parameters, buttons, and messages to send.

Plain values that use cases return and the outbox stores; the Telegram adapter renders
them in the reader's language (``messages``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.domain.models import Client, Practitioner


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
    """A message to send: its text, its buttons (rows), whether it arrives silently, and
    whether it is urgent (crisis resources: it goes before anything else queued for the
    chat, and flood control never holds it back)."""

    text: Text
    buttons: tuple[tuple[Button, ...], ...] = ()
    silent: bool = False
    urgent: bool = False


@dataclass(frozen=True, slots=True)
class SentMessage:
    """What Telegram answered for a sent message."""

    chat_id: int
    message_id: int


@dataclass(frozen=True, slots=True)
class Recipient:
    """Who a message goes to: their chat, the language and time zone it is read in, and
    whose record it belongs to (``client_id``, ``practitioner_id``)."""

    chat_id: int
    locale: str
    timezone: str
    client_id: int | None = None
    practitioner_id: int | None = None

    @classmethod
    def client(cls, client: Client) -> Recipient:
        """A client, in their own chat; ``ValueError`` if they have not joined."""
        if client.telegram_user_id is None:
            raise ValueError(f"client {client.id} has no chat")
        return cls(
            client.telegram_user_id,
            client.locale,
            client.timezone,
            client_id=client.id,
            practitioner_id=client.practitioner_id,
        )

    @classmethod
    def practitioner(cls, practitioner: Practitioner, *, chat_id: int | None = None) -> Recipient:
        """A practitioner, in their own chat or in ``chat_id`` (their backup contact's, the
        operator's), in their language and zone."""
        return cls(
            practitioner.telegram_user_id if chat_id is None else chat_id,
            practitioner.locale,
            practitioner.timezone,
            practitioner_id=practitioner.id,
        )
