"""Bot API methods that send, edit, forward, copy and delete messages."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.sandbox.errors import NOT_MODIFIED, bad_request, too_many_requests
from bot.sandbox.keyboards import Markup, parse_reply_markup
from bot.sandbox.media import input_file
from bot.sandbox.params import ApiMethod, Params
from bot.sandbox.records import Chat, MediaKind, StoredMessage, timestamp
from bot.sandbox.state import SandboxState
from bot.sandbox.text import caption_text, message_text

DELETE_WINDOW = timedelta(hours=48)
CHAT_ACTIONS = frozenset(
    {
        "typing", "upload_photo", "record_video", "upload_video", "record_voice",
        "upload_voice", "upload_document", "choose_sticker", "find_location",
        "record_video_note", "upload_video_note",
    }
)  # fmt: skip


def _markup(params: Params) -> Markup:
    value = params.get_json("reply_markup", error="can't parse reply keyboard markup JSON object")
    return parse_reply_markup(value)


def _inline_markup(params: Params) -> Markup:
    markup = _markup(params)
    if markup.other is not None:
        raise bad_request("inline keyboard expected")
    return markup


def _reply_target(state: SandboxState, chat: Chat, params: Params) -> StoredMessage | None:
    reply = params.get_json("reply_parameters")
    allow_missing = params.get_bool("allow_sending_without_reply")
    message_id = params.get_int("reply_to_message_id")
    if isinstance(reply, dict):
        message_id = reply.get("message_id") if isinstance(reply.get("message_id"), int) else None
        allow_missing = bool(reply.get("allow_sending_without_reply", allow_missing))
    if not message_id:
        return None
    target = state.find_message(chat, message_id)
    if target is None and not allow_missing:
        raise bad_request("message to be replied not found")
    return target


def _deliver(state: SandboxState, chat: Chat, params: Params, **content: Any) -> StoredMessage:
    """Pass flood control, then store the bot's message and count it delivered."""
    retry_after = state.flood.acquire(chat.id, is_group=chat.type == "group")
    if retry_after is not None:
        raise too_many_requests(retry_after)
    message = state.add_message(
        chat, state.bot, silent=params.get_bool("disable_notification"), **content
    )
    state.stats.delivered += 1
    return message


async def send_message(state: SandboxState, params: Params) -> dict[str, Any]:
    """sendMessage."""
    markup = _markup(params)
    chat = state.chat(params.chat_id())
    text = message_text(
        params.get_str("text"),
        params.get_str("parse_mode"),
        params.get_json("entities"),
        mention=state.mention,
    )
    state.check_reachable(chat)
    reply_to = _reply_target(state, chat, params)
    message = _deliver(
        state,
        chat,
        params,
        text=text,
        inline_keyboard=markup.inline_keyboard,
        other_markup=markup.other,
        reply_to=reply_to,
    )
    return message.to_api()


async def _send_media(state: SandboxState, params: Params, kind: MediaKind) -> dict[str, Any]:
    markup = _markup(params)
    chat = state.chat(params.chat_id())
    stored = input_file(state, params, kind, kind)
    caption = caption_text(
        params.get_str("caption"),
        params.get_str("parse_mode"),
        params.get_json("caption_entities"),
        mention=state.mention,
    )
    state.check_reachable(chat)
    reply_to = _reply_target(state, chat, params)
    message = _deliver(
        state,
        chat,
        params,
        media_kind=stored.kind,
        media=[stored],
        caption=caption,
        inline_keyboard=markup.inline_keyboard,
        other_markup=markup.other,
        reply_to=reply_to,
    )
    return message.to_api()


async def send_photo(state: SandboxState, params: Params) -> dict[str, Any]:
    """sendPhoto (multipart upload, file_id or URL)."""
    return await _send_media(state, params, "photo")


async def send_document(state: SandboxState, params: Params) -> dict[str, Any]:
    """sendDocument (multipart upload, file_id or URL)."""
    return await _send_media(state, params, "document")


def _own_message(state: SandboxState, params: Params) -> StoredMessage:
    if params.has("inline_message_id") and not params.has("chat_id"):
        raise bad_request("MESSAGE_ID_INVALID")
    chat = state.chat(params.chat_id())
    message = state.find_message(chat, params.message_id())
    if message is None:
        raise bad_request("message to edit not found")
    if not message.from_bot:
        raise bad_request("message can't be edited")
    if chat.blocked:
        state.check_reachable(chat)
    return message


def _commit_edit(state: SandboxState, message: StoredMessage, **changes: Any) -> dict[str, Any]:
    if all(getattr(message, key) == value for key, value in changes.items()):
        raise bad_request(NOT_MODIFIED)
    for key, value in changes.items():
        setattr(message, key, value)
    message.edit_date = state.now()
    return message.to_api()


async def edit_message_text(state: SandboxState, params: Params) -> dict[str, Any]:
    """editMessageText; leaving out reply_markup removes the inline keyboard, as on Telegram."""
    markup = _inline_markup(params)
    message = _own_message(state, params)
    text = message_text(
        params.get_str("text"),
        params.get_str("parse_mode"),
        params.get_json("entities"),
        mention=state.mention,
    )
    if message.text is None:
        raise bad_request("there is no text in the message to edit")
    return _commit_edit(state, message, text=text, inline_keyboard=markup.inline_keyboard)


async def edit_message_caption(state: SandboxState, params: Params) -> dict[str, Any]:
    """editMessageCaption."""
    markup = _inline_markup(params)
    message = _own_message(state, params)
    if message.media_kind is None:
        raise bad_request("there is no caption in the message to edit")
    caption = caption_text(
        params.get_str("caption"),
        params.get_str("parse_mode"),
        params.get_json("caption_entities"),
        mention=state.mention,
    )
    return _commit_edit(state, message, caption=caption, inline_keyboard=markup.inline_keyboard)


async def edit_message_reply_markup(state: SandboxState, params: Params) -> dict[str, Any]:
    """editMessageReplyMarkup."""
    markup = _inline_markup(params)
    message = _own_message(state, params)
    return _commit_edit(state, message, inline_keyboard=markup.inline_keyboard)


async def delete_message(state: SandboxState, params: Params) -> bool:
    """deleteMessage: the bot's own messages and incoming ones, within 48 hours."""
    chat = state.chat(params.chat_id())
    message = state.find_message(chat, params.message_id())
    if message is None:
        raise bad_request("message to delete not found")
    if state.now() - message.date > DELETE_WINDOW:
        raise bad_request("message can't be deleted for everyone")
    del chat.messages[message.message_id]
    return True


async def delete_messages(state: SandboxState, params: Params) -> bool:
    """deleteMessages: 1 to 100 ids; those not found (or too old) are skipped."""
    chat = state.chat(params.chat_id())
    ids = params.get_json("message_ids", error="can't parse message identifiers JSON object")
    if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
        raise bad_request("message_ids must contain 1-100 message identifiers")
    for message_id in ids:
        message = state.find_message(chat, message_id) if isinstance(message_id, int) else None
        if message is not None and state.now() - message.date <= DELETE_WINDOW:
            del chat.messages[message.message_id]
    return True


def _source_message(state: SandboxState, params: Params, what: str) -> StoredMessage:
    source_chat = state.chat(params.chat_id("from_chat_id"))
    message = state.find_message(source_chat, params.message_id())
    if message is None:
        raise bad_request(f"message to {what} not found")
    return message


def _content(message: StoredMessage) -> dict[str, Any]:
    return {
        "text": message.text,
        "caption": message.caption,
        "media_kind": message.media_kind,
        "media": list(message.media),
    }


async def forward_message(state: SandboxState, params: Params) -> dict[str, Any]:
    """forwardMessage: the copy carries a forward_origin naming the original sender."""
    chat = state.chat(params.chat_id())
    source = _source_message(state, params, "forward")
    state.check_reachable(chat)
    origin = source.forward_origin or {
        "type": "user",
        "date": timestamp(source.date),
        "sender_user": source.sender.to_api(),
    }
    message = _deliver(state, chat, params, forward_origin=origin, **_content(source))
    return message.to_api()


async def copy_message(state: SandboxState, params: Params) -> dict[str, Any]:
    """copyMessage: the same content without a link to the original; returns MessageId."""
    markup = _markup(params)
    chat = state.chat(params.chat_id())
    source = _source_message(state, params, "copy")
    content = _content(source)
    if params.has("caption") and source.media_kind is not None:
        content["caption"] = caption_text(
            params.get_str("caption"),
            params.get_str("parse_mode"),
            params.get_json("caption_entities"),
            mention=state.mention,
        )
    state.check_reachable(chat)
    keyboard = markup.inline_keyboard if params.has("reply_markup") else source.inline_keyboard
    message = _deliver(
        state,
        chat,
        params,
        inline_keyboard=keyboard,
        other_markup=markup.other,
        reply_to=_reply_target(state, chat, params),
        **content,
    )
    return {"message_id": message.message_id}


async def send_chat_action(state: SandboxState, params: Params) -> bool:
    """sendChatAction."""
    chat = state.chat(params.chat_id())
    if params.get_str("action") not in CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    state.check_reachable(chat)
    return True


METHODS: dict[str, ApiMethod] = {
    "sendMessage": send_message,
    "sendPhoto": send_photo,
    "sendDocument": send_document,
    "editMessageText": edit_message_text,
    "editMessageCaption": edit_message_caption,
    "editMessageReplyMarkup": edit_message_reply_markup,
    "deleteMessage": delete_message,
    "deleteMessages": delete_messages,
    "forwardMessage": forward_message,
    "copyMessage": copy_message,
    "sendChatAction": send_chat_action,
}
