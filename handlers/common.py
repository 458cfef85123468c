"""Shared plumbing for handlers: the runtime, the user's locale, and HTML replies."""

from __future__ import annotations

import asyncio
import html as html_text
import logging
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from telegram import InlineKeyboardMarkup, InputFile, MaybeInaccessibleMessage, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import Application, ContextTypes

import messages
from bot.domain.actor import Actor
from bot.domain.flood import Pace
from bot.domain.outgoing import Button, OutgoingMessage
from bot.runtime import RULES_READY_KEY, Runtime, runtime_of
from bot.services.access import Refused
from bot.services.identity import who
from bot.telegram.chat_lanes import ChatLanes, Send
from bot.telegram.keyboards import inline_keyboard

_log = logging.getLogger(__name__)
_TAG = re.compile(r"<[^>]*>")

LANES_KEY = "chat_lanes"


def sender_id(update: Update) -> int:
    """The Telegram id of who sent the update; 0 (nobody, refused by every use case) if
    Telegram named no one."""
    user = update.effective_user
    return user.id if user else 0


def runtime(context: ContextTypes.DEFAULT_TYPE) -> Runtime:
    """The runtime the composition root installed."""
    return runtime_of(context.application)


async def actor_of(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Actor:
    """Who sent this update, for an answer that depends only on who they are (a use case
    that changes something finds its caller in its own unit of work)."""
    rt = runtime(context)
    return await who(rt.uow, sender_id(update), rt.settings.practitioner_ids)


async def rules_loaded(_update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Wait, before any update is handled, for the triage rules the composition root is
    loading in a thread: the first words a client writes must not load them on the
    event loop, which would stall every other chat meanwhile."""
    ready = context.bot_data.get(RULES_READY_KEY)
    if isinstance(ready, asyncio.Future) and not ready.done():
        await asyncio.shield(ready)


def lanes_of(application: Application) -> ChatLanes:  # type: ignore[type-arg]
    """The lanes that carry replies out, one per chat."""
    value = application.bot_data[LANES_KEY]
    if not isinstance(value, ChatLanes):
        raise TypeError("bot_data holds no ChatLanes")
    return value


def note_update(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Pace:
    """Count this update against its sender's budget (see ``bot.domain.flood``)."""
    user = update.effective_user
    if user is None:
        return Pace.WITHIN
    return runtime(context).flood.note(user.id, time.monotonic())


def is_quiet(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """Whether the bot is holding back its ordinary replies to this update's sender."""
    user = update.effective_user
    return user is not None and runtime(context).flood.is_quiet(user.id, time.monotonic())


def locale_of(update: Update) -> str:
    """The locale to answer this user in."""
    user = update.effective_user
    return messages.normalize_locale(user.language_code if user else None)


def send_in_chat(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    html: str,
    keyboard: InlineKeyboardMarkup | None,
    *,
    urgent: bool = False,
) -> None:
    """Hand a message for the update's chat to its lane; held back while the sender is
    flooding, unless ``urgent``."""
    bot = context.bot

    def send(chat_id: int) -> Send:
        return lambda: bot.send_message(
            chat_id, html, parse_mode=ParseMode.HTML, reply_markup=keyboard
        )

    _submit(update, context, send, urgent=urgent)


def send_file_in_chat(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    data: bytes,
    *,
    filename: str,
    caption_html: str,
    photo: bool = False,
) -> None:
    """Hand a document (or a ``photo``) for the update's chat to its lane (held back while
    the sender floods). A file Telegram refuses (too big, empty) is one log line and a
    kind message instead."""
    bot = context.bot
    locale = locale_of(update)

    def send(chat_id: int) -> Send:
        async def send_file() -> None:
            upload = InputFile(data, filename=filename)
            try:
                if photo:
                    await bot.send_photo(
                        chat_id, upload, caption=caption_html, parse_mode=ParseMode.HTML
                    )
                else:
                    await bot.send_document(
                        chat_id, upload, caption=caption_html, parse_mode=ParseMode.HTML
                    )
            except BadRequest as error:
                _log.warning(
                    "a file of %d bytes to chat %s was refused: %s",
                    len(data),
                    chat_id,
                    error.message,
                )
                html = messages.render("files.refused", locale)
                await bot.send_message(chat_id, html, parse_mode=ParseMode.HTML)

        return send_file

    _submit(update, context, send, urgent=False)


def send_new(update: Update, context: ContextTypes.DEFAULT_TYPE, message: OutgoingMessage) -> None:
    """A service's answer as a new message in the update's chat, even after a press."""
    locale = locale_of(update)
    html = messages.render(message.text.key, locale, **message.text.params)
    send_in_chat(update, context, html, inline_keyboard(message.buttons, locale))


def _submit(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    send_to: Callable[[int], Send],
    *,
    urgent: bool,
) -> None:
    """Queue ``send_to(chat_id)`` on the update's chat lane, unless the sender floods
    and it is not urgent."""
    chat = update.effective_chat
    if chat is None or (not urgent and is_quiet(update, context)):
        return
    lanes_of(context.application).submit(chat.id, send_to(chat.id), urgent=urgent)


async def reply(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    key: str,
    *,
    buttons: Sequence[Sequence[Button]] = (),
    **params: Any,
) -> None:
    """Answer in the same chat with the catalog text ``key`` and optional buttons."""
    locale = locale_of(update)
    send_in_chat(
        update,
        context,
        messages.render(key, locale, **params),
        inline_keyboard(buttons, locale),
    )


async def acknowledge(update: Update, text: str | None = None) -> None:
    """Answer the update's button press, if any, at once: the spinner stops before any
    slow work. Telegram takes an answer only for a short while ("query is too old"); a
    press answered later is still acted on, and is one INFO line."""
    query = update.callback_query
    if query is None:
        return
    try:
        await query.answer(text)
    except BadRequest as error:
        if not _says(error, "query is too old", "query id is invalid"):
            raise
        _log.info("a button press of user %s was answered too late for Telegram", _who(update))


async def answer(
    update: Update, context: ContextTypes.DEFAULT_TYPE, message: OutgoingMessage
) -> None:
    """Show a service's answer: in place of the pressed message, or as a new message.

    A button press must have been acknowledged (:func:`acknowledge`) before.
    """
    locale = locale_of(update)
    html = messages.render(message.text.key, locale, **message.text.params)
    keyboard = inline_keyboard(message.buttons, locale)
    query = update.callback_query
    if query is None or message.urgent:
        send_in_chat(update, context, html, keyboard, urgent=message.urgent)
        return
    if is_quiet(update, context):
        return
    if _shown_already(query.message, html, keyboard):
        _log.info("a press of user %s changed nothing on screen", _who(update))
        return
    try:
        await query.edit_message_text(html, parse_mode=ParseMode.HTML, reply_markup=keyboard)
    except BadRequest as error:
        if _says(error, "not modified"):
            _log.info("a press of user %s changed nothing on screen", _who(update))
        elif _says(error, "can't be edited", "message to edit not found"):
            send_in_chat(update, context, html, keyboard)  # too old to edit: a new message
        else:
            raise


async def answer_call(
    update: Update, context: ContextTypes.DEFAULT_TYPE, call: Awaitable[OutgoingMessage]
) -> None:
    """Acknowledge a press at once, run one service call and show its answer, or its kind
    refusal.

    A refused button press keeps the pressed message as it was and gets the refusal as
    a new message, so nothing the user saw is lost.
    """
    await acknowledge(update)
    try:
        message = await call
    except Refused as refusal:
        if update.callback_query is not None:
            send_refusal(update, context, refusal)
            return
        message = OutgoingMessage(refusal.answer)
    await answer(update, context, message)


def send_refusal(update: Update, context: ContextTypes.DEFAULT_TYPE, refusal: Refused) -> None:
    """A refusal's kind answer as a new message in the update's chat."""
    send_new(update, context, OutgoingMessage(refusal.answer))


def _shown_already(
    message: MaybeInaccessibleMessage | None, html: str, keyboard: InlineKeyboardMarkup | None
) -> bool:
    """Whether the pressed message already reads ``html`` with ``keyboard`` (a double tap):
    Telegram refuses an edit that changes nothing ("message is not modified")."""
    if not isinstance(message, Message) or message.text is None:
        return False
    plain = html_text.unescape(_TAG.sub("", html)).strip()
    return message.text == plain and message.reply_markup == keyboard


def _says(error: BadRequest, *phrases: str) -> bool:
    said = error.message.lower()
    return any(phrase in said for phrase in phrases)


def _who(update: Update) -> int | None:
    user = update.effective_user
    return user.id if user else None


def command_args(context: ContextTypes.DEFAULT_TYPE) -> list[str]:
    """The words after the command."""
    return list(context.args or [])
