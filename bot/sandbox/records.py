"""The emulator's records (users, chats, messages, files) and their Bot API shapes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from bot.sandbox.text import FormattedText

MediaKind = Literal["photo", "document", "sticker", "voice"]


def timestamp(moment: datetime) -> int:
    """Unix time, as Telegram sends dates."""
    return int(moment.timestamp())


@dataclass
class User:
    """A Telegram user (or the bot itself)."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    is_bot: bool = False

    def to_api(self) -> dict[str, Any]:
        """The Bot API User object."""
        data: dict[str, Any] = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        return data


@dataclass
class StoredFile:
    """A file the bot uploaded or a user sent; ``data`` is what getFile downloads."""

    file_id: str
    file_unique_id: str
    kind: MediaKind
    data: bytes
    file_name: str | None = None
    mime_type: str | None = None
    width: int = 0
    height: int = 0

    def to_api(self) -> dict[str, Any]:
        """The Bot API object of this file (PhotoSize, Document, Sticker or Voice)."""
        data: dict[str, Any] = {"file_id": self.file_id, "file_unique_id": self.file_unique_id}
        if self.data:
            data["file_size"] = len(self.data)
        if self.kind == "photo":
            data.update(width=self.width, height=self.height)
        elif self.kind == "sticker":
            data.update(
                type="regular",
                width=self.width,
                height=self.height,
                is_animated=False,
                is_video=False,
                emoji="\N{SLIGHTLY SMILING FACE}",
            )
        elif self.kind == "voice":
            data.update(duration=max(1, len(self.data) // 4000))
        if self.file_name is not None:
            data["file_name"] = self.file_name
        if self.mime_type is not None and self.kind in ("document", "voice"):
            data["mime_type"] = self.mime_type
        return data


@dataclass(eq=False)
class Chat:
    """A private chat (id = the user's id) or a group (negative id)."""

    id: int
    type: Literal["private", "group"]
    user: User | None = None
    title: str | None = None
    started: bool = False  # private: the user has written to the bot
    blocked: bool = False  # private: the user has blocked the bot
    messages: dict[int, StoredMessage] = field(default_factory=dict, repr=False)
    last_message_id: int = 0

    def to_api(self) -> dict[str, Any]:
        """The Bot API Chat object."""
        if self.type == "private" and self.user is not None:
            data: dict[str, Any] = {"id": self.id, "type": "private"}
            data["first_name"] = self.user.first_name
            if self.user.last_name is not None:
                data["last_name"] = self.user.last_name
            if self.user.username is not None:
                data["username"] = self.user.username
            return data
        return {"id": self.id, "type": self.type, "title": self.title or ""}

    def full_info(self) -> dict[str, Any]:
        """The Bot API ChatFullInfo object returned by getChat."""
        return {
            **self.to_api(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": True,
                "limited_gifts": True,
                "unique_gifts": True,
                "premium_subscription": True,
                "gifts_from_channels": True,
            },
        }

    def next_message_id(self) -> int:
        """Allocate the next message id of this chat."""
        self.last_message_id += 1
        return self.last_message_id


@dataclass(eq=False)
class StoredMessage:
    """A message in a chat, in its current state (after edits)."""

    message_id: int
    chat: Chat
    sender: User
    date: datetime
    text: FormattedText | None = None
    caption: FormattedText | None = None
    media_kind: MediaKind | None = None
    media: list[StoredFile] = field(default_factory=list)
    inline_keyboard: list[list[dict[str, Any]]] | None = None
    other_markup: dict[str, Any] | None = None
    edit_date: datetime | None = None
    silent: bool = False
    forward_origin: dict[str, Any] | None = None
    reply_to: StoredMessage | None = None

    @property
    def from_bot(self) -> bool:
        """Whether the bot sent this message."""
        return self.sender.is_bot

    def markup_api(self) -> dict[str, Any] | None:
        """The reply_markup Telegram echoes on a message (inline keyboards only)."""
        if self.inline_keyboard is None:
            return None
        return {"inline_keyboard": self.inline_keyboard}

    def to_api(self, *, with_reply: bool = True) -> dict[str, Any]:
        """The Bot API Message object."""
        data: dict[str, Any] = {
            "message_id": self.message_id,
            "from": self.sender.to_api(),
            "chat": self.chat.to_api(),
            "date": timestamp(self.date),
        }
        if self.forward_origin is not None:
            data["forward_origin"] = self.forward_origin
        if with_reply and self.reply_to is not None:
            data["reply_to_message"] = self.reply_to.to_api(with_reply=False)
        if self.edit_date is not None:
            data["edit_date"] = timestamp(self.edit_date)
        if self.text is not None:
            data["text"] = self.text.text
            if self.text.entities:
                data["entities"] = self.text.entities_list()
        if self.media_kind == "photo":
            data["photo"] = [f.to_api() for f in self.media]
        elif self.media_kind is not None:
            data[self.media_kind] = self.media[-1].to_api()
        if self.caption is not None:
            data["caption"] = self.caption.text
            if self.caption.entities:
                data["caption_entities"] = self.caption.entities_list()
        markup = self.markup_api()
        if markup is not None:
            data["reply_markup"] = markup
        return data

    def shown_text(self) -> str:
        """What the user sees: the text, or the caption of a media message."""
        if self.text is not None:
            return self.text.text
        return self.caption.text if self.caption is not None else ""

    def to_listing(self) -> dict[str, Any]:
        """The control API's view of this message (``GET .../messages``)."""
        buttons = [
            [
                {k: b[k] for k in ("text", "url") if k in b}
                | ({"data": b["callback_data"]} if "callback_data" in b else {})
                for b in row
            ]
            for row in self.inline_keyboard or []
        ]
        shown = self.text if self.text is not None else self.caption
        listing: dict[str, Any] = {
            "message_id": self.message_id,
            "from": "bot" if self.from_bot else "user",
            "text": self.shown_text(),
            "entities": shown.entities_list() if shown is not None else [],
            "buttons": buttons,
            "date": self.date.isoformat(),
            "edited": self.edit_date is not None,
            "silent": self.silent,
            "kind": self.media_kind or "text",
            "reply_to": self.reply_to.message_id if self.reply_to is not None else None,
            "forwarded": self.forward_origin is not None,
        }
        if self.media:
            shown_file = self.media[-1]  # for a photo, its largest size
            listing["file_id"] = shown_file.file_id
            if shown_file.file_name is not None:
                listing["file_name"] = shown_file.file_name
        if not self.from_bot:
            listing["user_id"] = self.sender.id
        if self.other_markup is not None:
            listing["keyboard"] = self.other_markup
        return listing
