"""Shared plumbing for handlers: the runtime, the user's locale, and HTML replies."""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from typing import Any

from telegram import Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import ContextTypes

import messages
from bot.domain.roles import Role
from bot.ports import Button, OutgoingMessage
from bot.runtime import Runtime
from bot.services.access import Refused
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


async def answer(update: Update, message: OutgoingMessage) -> None:
    """Show a service's answer: in place of the pressed message, or as a reply to a command."""
    locale = locale_of(update)
    html = messages.render(message.text.key, locale, **message.text.params)
    keyboard = inline_keyboard(message.buttons, locale)
    query = update.callback_query
    if query is not None:
        await query.answer()
        try:
            await query.edit_message_text(html, parse_mode=ParseMode.HTML, reply_markup=keyboard)
        except BadRequest as error:
            if "not modified" not in error.message:  # a double tap changes nothing
                raise
        return
    if update.effective_message is not None:
        await update.effective_message.reply_text(
            html, parse_mode=ParseMode.HTML, reply_markup=keyboard
        )


async def answer_call(update: Update, call: Awaitable[OutgoingMessage]) -> None:
    """Run one service call and show its answer, or its kind refusal.

    A refused button press keeps the pressed message as it was and gets the refusal as
    a new message, so nothing the user saw is lost.
    """
    try:
        message = await call
    except Refused as refusal:
        query = update.callback_query
        if query is not None:
            await query.answer()
            if isinstance(query.message, Message):
                locale = locale_of(update)
                await query.message.reply_text(
                    messages.render(refusal.answer.key, locale, **refusal.answer.params),
                    parse_mode=ParseMode.HTML,
                )
            return
        message = OutgoingMessage(refusal.answer)
    await answer(update, message)


def command_args(context: ContextTypes.DEFAULT_TYPE) -> list[str]:
    """The words after the command."""
    return list(context.args or [])
