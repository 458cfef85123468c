"""Command menus per scope: guests see theirs everywhere, each practitioner their own."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from telegram import Bot, BotCommand, BotCommandScopeAllPrivateChats, BotCommandScopeChat
from telegram.error import TelegramError

import messages
from bot.domain.models import Practitioner
from bot.domain.roles import Role, commands_for

_log = logging.getLogger(__name__)


def menu(role: Role, locale: str) -> list[BotCommand]:
    """The command list of ``role`` with descriptions in ``locale``."""
    return [
        BotCommand(name, messages.render_plain(f"commands.{name}", locale))
        for name in commands_for(role)
    ]


async def publish_menus(bot: Bot, practitioners: Iterable[Practitioner]) -> None:
    """Set the default menu for private chats, and each practitioner's menu in their chat."""
    for locale in messages.available_locales():
        language = None if locale == messages.DEFAULT_LOCALE else locale
        await bot.set_my_commands(
            menu(Role.GUEST, locale), scope=BotCommandScopeAllPrivateChats(), language_code=language
        )
    for practitioner in practitioners:
        await set_chat_menu(
            bot, practitioner.telegram_user_id, Role.PRACTITIONER, practitioner.locale
        )


async def set_chat_menu(bot: Bot, chat_id: int, role: Role, locale: str) -> bool:
    """Show ``role``'s menu in one private chat; a chat Telegram does not know is logged."""
    try:
        await bot.set_my_commands(menu(role, locale), scope=BotCommandScopeChat(chat_id))
    except TelegramError as error:
        _log.warning("could not set the %s menu for chat %s: %s", role, chat_id, error)
        return False
    return True
