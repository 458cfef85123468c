"""The ``Notifier`` port over python-telegram-bot's ``Bot``."""

from __future__ import annotations

from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import TelegramError

import messages
from bot.ports import OutgoingMessage, SentMessage
from bot.telegram.errors import to_delivery_error
from bot.telegram.keyboards import inline_keyboard


class TelegramNotifier:
    """Renders catalog messages as HTML and sends them; raises ``DeliveryError`` subclasses."""

    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def send(self, chat_id: int, message: OutgoingMessage, locale: str) -> SentMessage:
        """Send one message; see ``bot.domain.delivery`` for the errors."""
        html = messages.render(message.text.key, locale, **message.text.params)
        try:
            sent = await self._bot.send_message(
                chat_id,
                html,
                parse_mode=ParseMode.HTML,
                reply_markup=inline_keyboard(message.buttons, locale),
                disable_notification=message.silent,
            )
        except TelegramError as error:
            raise to_delivery_error(error) from error
        return SentMessage(chat_id=sent.chat_id, message_id=sent.message_id)
