"""The client's check-ins: presses under a check-in and the answer to "keep getting
check-ins?". Their words and media are ``handlers.words``."""

from __future__ import annotations

from telegram import Message, Update
from telegram.ext import ContextTypes

from bot.domain import callbacks
from bot.services.checkins import conversation, prompts, views
from handlers import fallbacks
from handlers.common import answer_call, runtime, sender_id


def _keyboard_data(message: object) -> list[str]:
    """The ``callback_data`` of every button on the pressed message (it holds the ticks)."""
    if not isinstance(message, Message) or message.reply_markup is None:
        return []
    return [
        button.callback_data
        for row in message.reply_markup.inline_keyboard
        for button in row
        if isinstance(button.callback_data, str)
    ]


async def checkin_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A press under a check-in; the answer replaces the pressed message."""
    press = await fallbacks.read_press(update, context, callbacks.parse_checkin)
    query = update.callback_query
    if press is None or query is None:
        return
    rt = runtime(context)
    ticked = views.ticked_areas(press.checkin_id, _keyboard_data(query.message))
    await answer_call(
        update,
        context,
        conversation.press_checkin(rt.ctx, actor=sender_id(update), press=press, ticked=ticked),
    )


async def keep_checkins(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Yes or No under "keep getting check-ins?"."""
    query = update.callback_query
    if query is None:
        return
    rt = runtime(context)
    keep = (query.data or "").endswith("y")
    await answer_call(
        update,
        context,
        prompts.answer_keep_checkins(rt.ctx, actor=sender_id(update), keep=keep),
    )
