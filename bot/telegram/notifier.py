"""The ``Notifier`` port over python-telegram-bot's ``Bot``."""

from __future__ import annotations

from collections.abc import Sequence

from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot.ports import Button, SentMessage
from bot.telegram.errors import to_delivery_error
from bot.telegram.keyboards import inline_keyboard


class TelegramNotifier:
    """Sends HTML messages with optional inline buttons; raises ``DeliveryError`` subclasses."""

    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def send(
        self,
        chat_id: int,
        html: str,
        buttons: Sequence[Sequence[Button]] = (),
        *,
        silent: bool = False,
    ) -> SentMessage:
        """Send one message; see ``bot.domain.delivery`` for the errors."""
        try:
            message = await self._bot.send_message(
                chat_id,
                html,
                parse_mode=ParseMode.HTML,
                reply_markup=inline_keyboard(buttons),
                disable_notification=silent,
            )
        except TelegramError as error:
            raise to_delivery_error(error) from error
        return SentMessage(chat_id=message.chat_id, message_id=message.message_id)
