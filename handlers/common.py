"""Shared plumbing for handlers: the runtime, the user's locale, and HTML replies."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import ContextTypes

import messages
from bot.domain.roles import Role
from bot.ports import Button
from bot.runtime import Runtime
from bot.services.identity import role_of
from bot.telegram.keyboards import inline_keyboard

RUNTIME_KEY = "runtime"


def runtime(context: ContextTypes.DEFAULT_TYPE) -> Runtime:
    """The runtime the composition root placed in ``bot_data``."""
    value = context.bot_data[RUNTIME_KEY]
    if not isinstance(value, Runtime):
        raise TypeError("bot_data holds no Runtime")
    return value


async def sender_role(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Role:
    """Who sent this update: practitioner, client or guest."""
    user = update.effective_user
    if user is None:
        return Role.GUEST
    rt = runtime(context)
    async with rt.uow() as uow:
        return await role_of(uow, user.id, rt.settings.practitioner_ids)


def locale_of(update: Update) -> str:
    """The locale to answer this user in."""
    user = update.effective_user
    return messages.normalize_locale(user.language_code if user else None)


async def reply(
    update: Update, key: str, *, buttons: Sequence[Sequence[Button]] = (), **params: Any
) -> None:
    """Answer in the same chat with the catalog text ``key`` and optional buttons."""
    message = update.effective_message
    if message is None:
        return
    locale = locale_of(update)
    await message.reply_text(
        messages.render(key, locale, **params),
        parse_mode=ParseMode.HTML,
        reply_markup=inline_keyboard(buttons, locale),
    )
