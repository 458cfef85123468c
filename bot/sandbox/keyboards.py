"""Validation of ``reply_markup``: inline keyboards as Telegram checks them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from bot.sandbox.errors import bad_request

MAX_CALLBACK_DATA_BYTES = 64
MAX_INLINE_BUTTONS = 100
MAX_MARKUP_BYTES = 10_240
"""Beyond 100 inline buttons, or about 10 kB of markup JSON, Telegram answers "reply markup
is too long" (limits as bot developers observe them; the Bot API does not document them)."""
REPLY_MARKUP_TOO_LONG = "reply markup is too long"
_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
# An empty switch_inline_query is meaningful (it opens the inline mode with no query).
_EMPTY_ALLOWED = frozenset({"switch_inline_query", "switch_inline_query_current_chat"})


@dataclass(frozen=True)
class Markup:
    """A validated reply_markup: an inline keyboard, or another keyboard kept as is."""

    inline_keyboard: list[list[dict[str, Any]]] | None = None
    other: dict[str, Any] | None = None


def parse_reply_markup(value: Any) -> Markup:
    """Validate a decoded ``reply_markup``; None gives an empty Markup."""
    if value is None:
        return Markup()
    if not isinstance(value, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if len(json.dumps(value, ensure_ascii=False).encode()) > MAX_MARKUP_BYTES:
        raise bad_request(REPLY_MARKUP_TOO_LONG)
    if "inline_keyboard" in value:
        keyboard = _inline_keyboard(value["inline_keyboard"])
        if sum(len(row) for row in keyboard) > MAX_INLINE_BUTTONS:
            raise bad_request(REPLY_MARKUP_TOO_LONG)
        return Markup(inline_keyboard=keyboard)
    if "keyboard" in value:
        rows = value["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise bad_request(
                'field "keyboard" of the ReplyKeyboardMarkup should be an Array of Arrays'
            )
        texts = [[b.get("text", "") if isinstance(b, dict) else str(b) for b in r] for r in rows]
        return Markup(other={"keyboard": texts})
    if value.get("remove_keyboard") is True:
        return Markup(other={"remove_keyboard": True})
    if value.get("force_reply") is True:
        return Markup(other={"force_reply": True})
    raise bad_request("can't parse reply keyboard markup JSON object")


def _inline_keyboard(rows: Any) -> list[list[dict[str, Any]]]:
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise bad_request(
            'field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays'
        )
    return [[_button(b) for b in row] for row in rows]


def _button(button: Any) -> dict[str, Any]:
    if not isinstance(button, dict):
        raise bad_request(
            "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
        )
    text = button.get("text")
    if not isinstance(text, str):
        raise bad_request(
            'can\'t parse inline keyboard button: Field "text" must be of type String'
        )
    actions = [
        key
        for key in _ACTIONS
        if button.get(key) is not None and (button[key] != "" or key in _EMPTY_ALLOWED)
    ]
    if not actions:
        raise bad_request("text buttons are unallowed in the inline keyboard")
    if len(actions) > 1:
        raise bad_request(
            "can't parse inline keyboard button: exactly one of the optional fields must be used"
        )
    if not text.strip():
        raise bad_request("BUTTON_TEXT_INVALID")
    action = actions[0]
    value = button[action]
    if action == "callback_data":
        if not isinstance(value, str):
            raise bad_request(
                'can\'t parse inline keyboard button: Field "callback_data" must be of type String'
            )
        if len(value.encode("utf-8")) > MAX_CALLBACK_DATA_BYTES:
            raise bad_request("BUTTON_DATA_INVALID")
    elif action == "url" and not _valid_button_url(value):
        raise bad_request("BUTTON_URL_INVALID")
    return {"text": text, action: value}


def _valid_button_url(url: Any) -> bool:
    if not isinstance(url, str) or any(ch.isspace() for ch in url):
        return False
    parts = urlsplit(url)
    if parts.scheme.lower() in ("http", "https"):
        return "." in (parts.hostname or "")
    return parts.scheme.lower() == "tg" and bool(parts.netloc or parts.path)
