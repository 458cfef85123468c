"""Answers for what no other handler takes: unknown commands, media, groups, old buttons."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from telegram import Update
from telegram.ext import ContextTypes

import messages
from bot.domain.roles import Role
from handlers.common import acknowledge, locale_of, reply

MAX_TEXT_CHARS = 4096
_log = logging.getLogger(__name__)

T = TypeVar("T")


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A command the bot does not have."""
    text = update.effective_message.text if update.effective_message else None
    command = (text or "/").split()[0][:64]
    await reply(update, context, "input.unknown_command", command=command)


async def free_text(update: Update, context: ContextTypes.DEFAULT_TYPE, role: Role) -> None:
    """Words that answer nothing in particular, from someone with ``role``."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    if len(message.text or "") > MAX_TEXT_CHARS:
        await reply(update, context, "input.too_long", limit=MAX_TEXT_CHARS)
        return
    await reply(
        update, context, "input.free_text_guest" if role is Role.GUEST else "input.free_text"
    )


async def not_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A sticker, photo, voice note or file where words or taps were expected."""
    _log.info("non-text message from user %s", update.effective_user and update.effective_user.id)
    await reply(update, context, "input.not_text")


async def group_chat(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The bot works in private chats only; it answers a command once and keeps nothing."""
    chat = update.effective_chat
    _log.info("ignored a message in group chat %s", chat and chat.id)
    message = update.effective_message
    if message is not None and (message.text or "").startswith("/"):
        await reply(update, context, "input.group_chat")


async def read_press(
    update: Update, context: ContextTypes.DEFAULT_TYPE, parse: Callable[[str], T | None]
) -> T | None:
    """The pressed button's data as ``parse`` reads it; ``None``, with the press answered
    as no longer valid, when it cannot be read (forged, or from an older version)."""
    query = update.callback_query
    press = parse(query.data or "") if query is not None else None
    if press is None:
        await stale_button(update, context)
    return press


async def stale_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A button press that no handler recognises: say so instead of leaving a spinner."""
    await acknowledge(update, messages.render_plain("input.stale_button", locale_of(update)))
