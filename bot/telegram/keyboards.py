"""Port-level buttons to Telegram inline keyboards."""

from __future__ import annotations

from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.ports import Button

MAX_CALLBACK_DATA_BYTES = 64


def inline_keyboard(rows: Sequence[Sequence[Button]]) -> InlineKeyboardMarkup | None:
    """Build an inline keyboard, or ``None`` when there are no buttons."""
    if not rows:
        return None
    return InlineKeyboardMarkup([[_button(button) for button in row] for row in rows])


def _button(button: Button) -> InlineKeyboardButton:
    if button.callback_data is not None:
        if len(button.callback_data.encode()) > MAX_CALLBACK_DATA_BYTES:
            raise ValueError(f"callback_data over {MAX_CALLBACK_DATA_BYTES} bytes")
        return InlineKeyboardButton(button.text, callback_data=button.callback_data)
    if button.url is not None:
        return InlineKeyboardButton(button.text, url=button.url)
    raise ValueError("a button needs callback_data or a url")
