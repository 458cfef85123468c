"""Port-level buttons to Telegram inline keyboards, labels rendered in the reader's locale."""

from __future__ import annotations

from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

import messages
from bot.domain.outgoing import Button

MAX_CALLBACK_DATA_BYTES = 64


def inline_keyboard(rows: Sequence[Sequence[Button]], locale: str) -> InlineKeyboardMarkup | None:
    """Build an inline keyboard, or ``None`` when there are no buttons."""
    if not rows:
        return None
    return InlineKeyboardMarkup([[_button(button, locale) for button in row] for row in rows])


def _button(button: Button, locale: str) -> InlineKeyboardButton:
    label = messages.render_plain(button.label.key, locale, **button.label.params)
    if button.callback_data is not None:
        if len(button.callback_data.encode()) > MAX_CALLBACK_DATA_BYTES:
            raise ValueError(f"callback_data over {MAX_CALLBACK_DATA_BYTES} bytes")
        return InlineKeyboardButton(label, callback_data=button.callback_data)
    if button.url is not None:
        return InlineKeyboardButton(label, url=button.url)
    raise ValueError("a button needs callback_data or a url")
