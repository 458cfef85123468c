"""Everything the emulator knows: users, chats, messages, files, callbacks, commands.

One :class:`SandboxState` lives in each server; all of it is touched from the event
loop only, so no locks are needed.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.clock import MovableClock
from bot.sandbox.commands import BotCommandStore
from bot.sandbox.errors import (
    BLOCKED,
    CANT_INITIATE,
    CHAT_NOT_FOUND,
    QUERY_TOO_OLD,
    ApiError,
    ControlError,
    bad_request,
    forbidden,
)
from bot.sandbox.faults import FaultInjector
from bot.sandbox.limits import FloodControl
from bot.sandbox.records import Chat, MediaKind, StoredFile, StoredMessage, User, timestamp
from bot.sandbox.stats import Stats
from bot.sandbox.updates import UpdateQueue

FIRST_USER_ID = 100_000_001
FIRST_GROUP_ID = -4_000_000_001
BOT_ID = 7_000_000_001
CALLBACK_ANSWER_TIMEOUT_S = 15.0


@dataclass
class CallbackRecord:
    """A pressed button waiting for answerCallbackQuery (real-time expiry)."""

    id: str
    user_id: int
    chat_id: int
    message_id: int
    data: str
    created: float
    answered: bool = False
    answer: dict[str, Any] = field(default_factory=dict)
    answered_after_s: float | None = None  # from the press to the answer, real time

    def to_json(self) -> dict[str, Any]:
        """The control API's view of this callback query."""
        return {
            "callback_query_id": self.id,
            "user_id": self.user_id,
            "message_id": self.message_id,
            "data": self.data,
            "answered": self.answered,
            **self.answer,
        }


@dataclass
class WebhookConfig:
    """What setWebhook stored, and how delivery has gone."""

    url: str = ""
    secret_token: str | None = None
    max_connections: int = 40
    allowed_updates: list[str] | None = None
    last_error_date: datetime | None = None
    last_error_message: str | None = None

    def info(self, pending: int) -> dict[str, Any]:
        """The Bot API WebhookInfo object."""
        data: dict[str, Any] = {
            "url": self.url,
            "has_custom_certificate": False,
            "pending_update_count": pending,
        }
        if self.url:
            data["max_connections"] = self.max_connections
            if self.allowed_updates is not None:
                data["allowed_updates"] = self.allowed_updates
        if self.last_error_date is not None:
            data["last_error_date"] = timestamp(self.last_error_date)
            data["last_error_message"] = self.last_error_message or ""
        return data


class SandboxState:
    """The emulated Telegram world seen by one bot."""

    def __init__(
        self,
        clock: MovableClock,
        *,
        bot_username: str = "stillpoint_sandbox_bot",
        limits: bool = True,
    ) -> None:
        self.clock = clock
        self.bot = User(BOT_ID, "Stillpoint", username=bot_username, is_bot=True)
        self.bot_token = f"{BOT_ID}:{secrets.token_urlsafe(27)[:35]}"
        self.users: dict[int, User] = {}
        self.chats: dict[int, Chat] = {}
        # Users the bot has had an update from: Telegram answers "chat not found" to a
        # send to anyone else, and 403 only to a user it knows who never started it.
        self.seen_users: set[int] = set()
        self.files: dict[str, StoredFile] = {}
        self.callbacks: dict[str, CallbackRecord] = {}
        self.commands = BotCommandStore()
        self.profile: dict[tuple[str, str], str] = {}  # (field, language) -> text
        self.menu_buttons: dict[int | None, dict[str, Any]] = {}  # None: the default
        self.updates = UpdateQueue()
        self.webhook = WebhookConfig()
        self.flood = FloodControl(enabled=limits)
        self.faults = FaultInjector()
        self.stats = Stats()
        self.callback_timeout = CALLBACK_ANSWER_TIMEOUT_S
        self._next_user_id = FIRST_USER_ID
        self._next_group_id = FIRST_GROUP_ID
        self._next_file = 1
        self.practitioner_user_id = self.create_user("Practitioner", language_code="en").id

    # --- people and chats -------------------------------------------------------------

    def now(self) -> datetime:
        """The sandbox clock's time."""
        return self.clock.now()

    def create_user(
        self,
        first_name: str,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
    ) -> User:
        """Register a user (who has not written to the bot yet)."""
        user = User(self._next_user_id, first_name, last_name, username, language_code)
        self._next_user_id += 1
        self.users[user.id] = user
        self.chats[user.id] = Chat(user.id, "private", user=user)
        return user

    def create_group(self, title: str) -> Chat:
        """Create a group the bot is a member of."""
        chat = Chat(self._next_group_id, "group", title=title)
        self._next_group_id -= 1
        self.chats[chat.id] = chat
        return chat

    def user(self, user_id: int) -> User:
        """A registered user, or a 404 control error."""
        user = self.users.get(user_id)
        if user is None:
            raise ControlError(404, f"no user with id {user_id}")
        return user

    def chat(self, chat_id: int) -> Chat:
        """A chat the bot knows, for the Bot API, or 400 chat not found: a user's private
        chat is known once the bot has had an update from them."""
        chat = self.chats.get(chat_id)
        if chat is None or (chat.type == "private" and chat_id not in self.seen_users):
            raise bad_request(CHAT_NOT_FOUND)
        return chat

    def open_chat_quietly(self, user_id: int) -> None:
        """Let the bot write to ``user_id`` as if they had pressed Start, without an update
        for the bot to answer (benchmarks set up thousands of chats this way)."""
        self.chats[self.user(user_id).id].started = True
        self.seen_users.add(user_id)

    def check_reachable(self, chat: Chat) -> None:
        """Raise 403 when the user blocked the bot or never wrote to it."""
        if chat.type != "private":
            return
        if chat.blocked:
            raise forbidden(BLOCKED)
        if not chat.started:
            raise forbidden(CANT_INITIATE)

    def mention(self, user_id: int) -> dict[str, Any] | None:
        """The User a ``tg://user?id=`` link mentions, if the user is known."""
        user = self.users.get(user_id)
        return user.to_api() if user is not None else None

    # --- messages -----------------------------------------------------------------------

    def add_message(self, chat: Chat, sender: User, **content: Any) -> StoredMessage:
        """Store a new message in ``chat`` with the next message id and the clock's date."""
        message = StoredMessage(chat.next_message_id(), chat, sender, self.now(), **content)
        chat.messages[message.message_id] = message
        return message

    def find_message(self, chat: Chat, message_id: int) -> StoredMessage | None:
        """A message of ``chat`` that still exists."""
        return chat.messages.get(message_id)

    def push_update(self, kind: str, payload: dict[str, Any]) -> int | None:
        """Queue an update for the bot; its sender is then known to the bot."""
        sender = payload.get("from")
        if isinstance(sender, dict) and isinstance(sender.get("id"), int):
            self.seen_users.add(sender["id"])
        return self.updates.push(kind, payload)

    # --- files --------------------------------------------------------------------------

    def new_file(
        self,
        kind: MediaKind,
        data: bytes,
        *,
        file_name: str | None = None,
        mime_type: str | None = None,
        size: tuple[int, int] = (0, 0),
    ) -> StoredFile:
        """Store a file under a fresh file_id."""
        number = self._next_file
        self._next_file += 1
        stored = StoredFile(
            file_id=f"{kind[:2].upper()}{number:06d}{secrets.token_urlsafe(24)}",
            file_unique_id=f"U{number:06d}",
            kind=kind,
            data=data,
            file_name=file_name,
            mime_type=mime_type,
            width=size[0],
            height=size[1],
        )
        self.files[stored.file_id] = stored
        return stored

    # --- callback queries ---------------------------------------------------------------

    def new_callback(self, user: User, message: StoredMessage, data: str) -> CallbackRecord:
        """Record a button press; its id is what answerCallbackQuery must quote."""
        record = CallbackRecord(
            id=str(secrets.randbits(62)),
            user_id=user.id,
            chat_id=message.chat.id,
            message_id=message.message_id,
            data=data,
            created=time.monotonic(),
        )
        self.callbacks[record.id] = record
        return record

    def answer_callback(self, callback_id: str, answer: dict[str, Any]) -> None:
        """Answer a callback query once, within the real-time answer window."""
        record = self.callbacks.get(callback_id)
        if (
            record is None
            or record.answered
            or time.monotonic() - record.created > self.callback_timeout
        ):
            raise ApiError(400, f"Bad Request: {QUERY_TOO_OLD}")
        record.answered = True
        record.answer = answer
        record.answered_after_s = time.monotonic() - record.created
