"""What the bot says: catalog texts with their parameters, buttons, and messages to send.

Plain values that use cases return and the outbox stores; the Telegram adapter renders
them in the reader's language (``messages``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


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
