"""The practitioner's flags: ``/flags`` and the buttons under an alert (the text of a
Reply is ``handlers.words``)."""

from __future__ import annotations

from collections.abc import Awaitable

from telegram import Update
from telegram.ext import ContextTypes

import messages
from bot.domain import callbacks
from bot.domain.callbacks import FlagAction
from bot.domain.outgoing import OutgoingMessage
from bot.services.access import Refused
from bot.services.flags import lifecycle, replies
from bot.telegram.keyboards import inline_keyboard
from handlers import fallbacks
from handlers.common import (
    acknowledge,
    answer_call,
    locale_of,
    runtime,
    send_in_chat,
    sender_id,
)

_PRESSES = {
    FlagAction.ACKNOWLEDGE: lifecycle.acknowledge,
    FlagAction.REPLY: replies.ask_reply,
    FlagAction.HISTORY: lifecycle.history,
}


async def open_flags(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """``/flags``: the open flags, oldest first, each with its buttons."""
    rt = runtime(context)
    await answer_call(update, context, lifecycle.open_flags(rt.ctx, actor=sender_id(update)))


async def flag_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Acknowledge, Reply or History under an alert or a list."""
    press = await fallbacks.read_press(update, context, callbacks.parse_flag)
    if press is None:
        return
    flag_id, action = press
    rt = runtime(context)
    await _answer_below(
        update,
        context,
        _PRESSES[action](rt.ctx, actor=sender_id(update), flag_id=flag_id),
    )


async def _answer_below(
    update: Update, context: ContextTypes.DEFAULT_TYPE, call: Awaitable[OutgoingMessage]
) -> None:
    """Answer a press with a new message under the pressed one, or its refusal.

    An alert holds the client's words and its buttons; it stays as it was, so nothing the
    practitioner saw is lost and the other buttons still work.
    """
    if update.callback_query is None:
        return
    await acknowledge(update)
    try:
        result = await call
    except Refused as refusal:
        result = OutgoingMessage(refusal.answer)
    locale = locale_of(update)
    send_in_chat(
        update,
        context,
        messages.render(result.text.key, locale, **result.text.params),
        inline_keyboard(result.buttons, locale),
    )
