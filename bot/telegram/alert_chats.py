"""At start-up: can every chat that receives alerts be reached?

Telegram lets a bot write only to people who have opened it. A practitioner registered
by id who never pressed Start, or a backup contact who never did, would miss an urgent
alert without anyone knowing; ``getChat`` finds out before any alert is due. The operator
hears of it once per start, in one message.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import TelegramError

import messages
from bot.domain.models import Practitioner

_log = logging.getLogger(__name__)


async def check_alert_chats(
    bot: Bot,
    practitioners: Sequence[Practitioner],
    *,
    backup_chat_id: int | None,
    operator_chat_id: int | None,
) -> list[str]:
    """Look up each practitioner's and the backup contact's chat; log a WARNING for each
    one Telegram does not know, tell the operator once, and return who they are."""
    chats = [(p.display_name, p.telegram_user_id) for p in practitioners]
    if backup_chat_id is not None:
        chats.append((messages.render_plain("operator.backup_contact"), backup_chat_id))
    unreachable = []
    for name, chat_id in chats:
        try:
            await bot.get_chat(chat_id)
        except TelegramError as error:
            _log.warning("alerts cannot reach chat %s (%s): %s", chat_id, name, error.message)
            unreachable.append(name)
    if unreachable and operator_chat_id is not None:
        text = messages.render("operator.alert_chats_unreachable", names=", ".join(unreachable))
        try:
            await bot.send_message(operator_chat_id, text, parse_mode=ParseMode.HTML)
        except TelegramError as error:
            _log.warning("could not tell the operator chat: %s", error.message)
    return unreachable
