"""What simulated people do: write, send media, edit, press buttons, block the bot.

Each action changes the state and queues the update Telegram would deliver to the bot.
Refusals are :class:`ControlError` (400 bad input, 404 unknown id, 409 not possible now).
"""

from __future__ import annotations

from typing import Any

from bot.sandbox.errors import ControlError
from bot.sandbox.media import user_media
from bot.sandbox.records import Chat, MediaKind, StoredMessage, User, timestamp
from bot.sandbox.state import CallbackRecord, SandboxState
from bot.sandbox.text import MAX_CAPTION_LENGTH, MAX_TEXT_LENGTH, FormattedText, user_text

MEDIA_KINDS: tuple[MediaKind, ...] = ("photo", "sticker", "voice", "document")


def _check_text(text: Any, *, limit: int = MAX_TEXT_LENGTH, what: str = "text") -> str:
    if not isinstance(text, str) or not text.strip():
        raise ControlError(400, f"{what} must be a non-empty string")
    if len(text) > limit:
        raise ControlError(400, f"{what} is longer than {limit} characters")
    return text


def _open_chat(state: SandboxState, user_id: int) -> tuple[User, Chat]:
    user = state.user(user_id)
    chat = state.chats[user.id]
    if chat.blocked:
        raise ControlError(409, f"user {user_id} has blocked the bot; unblock first")
    return user, chat


def _deliver(state: SandboxState, chat: Chat, user: User, **content: Any) -> StoredMessage:
    chat.started = chat.started or chat.type == "private"
    message = state.add_message(chat, user, **content)
    state.push_update("message", message.to_api())
    return message


def send_text(state: SandboxState, user_id: int, text: Any) -> StoredMessage:
    """The user writes ``text`` to the bot; a leading /command is marked as one."""
    user, chat = _open_chat(state, user_id)
    return _deliver(state, chat, user, text=user_text(_check_text(text)))


def send_media(state: SandboxState, user_id: int, kind: Any, caption: Any = None) -> StoredMessage:
    """The user sends a photo, sticker, voice note or document, maybe with a caption."""
    if kind not in MEDIA_KINDS:
        raise ControlError(400, f"media must be one of {', '.join(MEDIA_KINDS)}")
    if caption is not None and kind == "sticker":
        raise ControlError(400, "a sticker has no caption")
    shown = None
    if caption is not None:
        shown = FormattedText(_check_text(caption, limit=MAX_CAPTION_LENGTH, what="caption"))
    user, chat = _open_chat(state, user_id)
    stored = user_media(state, kind)
    return _deliver(state, chat, user, media_kind=kind, media=[stored], caption=shown)


def edit(state: SandboxState, user_id: int, message_id: Any, text: Any) -> StoredMessage:
    """The user edits one of their text messages; the bot gets an edited_message."""
    _, chat = _open_chat(state, user_id)
    message = chat.messages.get(message_id) if isinstance(message_id, int) else None
    if message is None or message.from_bot or message.text is None:
        raise ControlError(400, f"user {user_id} has no text message {message_id} to edit")
    new_text = user_text(_check_text(text))
    if new_text == message.text:
        raise ControlError(400, "the new text is the same as the current one")
    message.text = new_text
    message.edit_date = state.now()
    state.push_update("edited_message", message.to_api())
    return message


def press(state: SandboxState, user_id: int, message_id: Any, data: Any) -> CallbackRecord:
    """The user taps the inline button carrying ``data`` under one of the bot's messages."""
    user, chat = _open_chat(state, user_id)
    if not isinstance(message_id, int) or not isinstance(data, str):
        raise ControlError(400, "message_id must be an integer and data a string")
    message = chat.messages.get(message_id)
    if message is None or not message.from_bot:
        raise ControlError(400, f"there is no bot message {message_id} in user {user_id}'s chat")
    buttons = [b for row in message.inline_keyboard or [] for b in row]
    if not any(b.get("callback_data") == data for b in buttons):
        raise ControlError(
            400, f"bot message {message_id} has no button with callback_data {data!r}"
        )
    record = state.new_callback(user, message, data)
    state.push_update(
        "callback_query",
        {
            "id": record.id,
            "from": user.to_api(),
            "message": message.to_api(),
            "chat_instance": str(7_000_000_000_000 + abs(chat.id)),
            "data": data,
        },
    )
    return record


def _member_update(
    state: SandboxState, chat: Chat, actor: User, old: str, new: str
) -> dict[str, Any]:
    new_member: dict[str, Any] = {"user": state.bot.to_api(), "status": new}
    if new == "kicked":
        new_member["until_date"] = 0
    return {
        "chat": chat.to_api(),
        "from": actor.to_api(),
        "date": timestamp(state.now()),
        "old_chat_member": {"user": state.bot.to_api(), "status": old}
        | ({"until_date": 0} if old == "kicked" else {}),
        "new_chat_member": new_member,
    }


def set_blocked(state: SandboxState, user_id: int, blocked: Any) -> None:
    """The user blocks (or unblocks) the bot; the bot hears of it by my_chat_member."""
    if not isinstance(blocked, bool):
        raise ControlError(400, "blocked must be true or false")
    user = state.user(user_id)
    chat = state.chats[user.id]
    if chat.blocked == blocked:
        return
    chat.blocked = blocked
    if chat.started:
        old, new = ("member", "kicked") if blocked else ("kicked", "member")
        state.push_update("my_chat_member", _member_update(state, chat, user, old, new))


def create_group(state: SandboxState, title: Any, adder_id: int) -> Chat:
    """A user creates a group and adds the bot to it."""
    title = _check_text(title, limit=128, what="title")
    adder = state.user(adder_id)
    chat = state.create_group(title)
    state.push_update("my_chat_member", _member_update(state, chat, adder, "left", "member"))
    return chat


def group_send(state: SandboxState, chat_id: int, user_id: Any, text: Any) -> StoredMessage:
    """A user writes ``text`` in a group the bot is in."""
    chat = state.chats.get(chat_id)
    if chat is None or chat.type != "group":
        raise ControlError(404, f"no group with id {chat_id}")
    if not isinstance(user_id, int):
        raise ControlError(400, "user_id must be an integer")
    user = state.user(user_id)
    return _deliver(state, chat, user, text=user_text(_check_text(text)))
