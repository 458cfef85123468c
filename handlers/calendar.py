"""``/calendar``: a practitioner's own calendar, followed; its buttons (Disconnect, and the
answers to "whose session is this event?")."""

from __future__ import annotations

import logging
from functools import partial

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.domain import callbacks
from bot.services.sessions import calendar_subscriptions
from handlers import fallbacks
from handlers.common import answer_call, command_args, runtime, sender_id

_log = logging.getLogger(__name__)


async def calendar(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """``/calendar <address>`` connects a calendar; ``/calendar`` alone shows it."""
    rt, args = runtime(context), command_args(context)
    if not args:
        await answer_call(
            update, context, calendar_subscriptions.show(rt.ctx, actor=sender_id(update))
        )
        return
    await answer_call(
        update,
        context,
        calendar_subscriptions.connect(
            rt.ctx,
            rt.calendar_source,
            actor=sender_id(update),
            url=" ".join(args),
            remove_message=partial(_remove_address, update),
        ),
    )


async def _remove_address(update: Update) -> bool:
    """Take the message holding a calendar's address out of the chat: whoever reads the
    address can read the calendar. Whether it was taken out."""
    message = update.effective_message
    if message is None:
        return False
    try:
        return await message.delete()
    except TelegramError as error:
        _log.info("a /calendar message could not be removed: %s", error.message)
        return False


async def disconnect(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Disconnect under ``/calendar``."""
    rt = runtime(context)
    await answer_call(
        update, context, calendar_subscriptions.disconnect(rt.ctx, actor=sender_id(update))
    )


async def answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A client's name (or "not a client session") under a question about an event."""
    press = await fallbacks.read_press(update, context, callbacks.parse_calendar_answer)
    if press is None:
        return
    entry_id, client_id = press
    rt = runtime(context)
    await answer_call(
        update,
        context,
        calendar_subscriptions.answer(
            rt.ctx, actor=sender_id(update), entry_id=entry_id, client_id=client_id
        ),
    )
