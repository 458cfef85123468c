"""The ``Notifier`` port over python-telegram-bot's ``Bot``."""

from __future__ import annotations

from typing import Any

from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import ExtBot

import messages
from bot.domain.delivery import MessageRejected
from bot.domain.outgoing import OutgoingMessage, SentMessage
from bot.telegram.errors import to_delivery_error
from bot.telegram.keyboards import inline_keyboard


class TelegramNotifier:
    """Renders catalog messages as HTML and sends them; raises ``DeliveryError`` subclasses."""

    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def send(self, chat_id: int, message: OutgoingMessage, locale: str) -> SentMessage:
        """Send one message; see ``bot.domain.delivery`` for the errors."""
        try:
            html = messages.render(message.text.key, locale, **message.text.params)
            keyboard = inline_keyboard(message.buttons, locale)
        except (messages.MissingMessageError, ValueError) as error:
            raise MessageRejected(f"cannot render {message.text.key!r}: {error}") from error
        options: dict[str, Any] = {
            "parse_mode": ParseMode.HTML,
            "reply_markup": keyboard,
            "disable_notification": message.silent,
        }
        if isinstance(self._bot, ExtBot) and self._bot.rate_limiter is not None:
            # Flood control comes back to the dispatcher, which reschedules the row itself;
            # a routine scheduled message lets answers to people waiting go first.
            options["rate_limit_args"] = {"retries": 0, "background": not message.urgent}
        try:
            sent = await self._bot.send_message(chat_id, html, **options)
        except TelegramError as error:
            raise to_delivery_error(error) from error
        return SentMessage(chat_id=sent.chat_id, message_id=sent.message_id)
