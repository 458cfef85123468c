"""A practitioner's ``/settings`` and the button under it that turns the daily digest on
or off."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.domain import callbacks
from bot.services.practice import practitioner_settings
from handlers import fallbacks
from handlers.common import answer_call, runtime, sender_id


async def show(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """``/settings``: the practitioner's settings, with the digest's button."""
    rt = runtime(context)
    await answer_call(
        update, context, practitioner_settings.show_settings(rt.ctx, actor=sender_id(update))
    )


async def digest_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The button under the settings: the digest on or off, and the settings shown again
    in place."""
    on = await fallbacks.read_press(update, context, callbacks.parse_digest)
    if on is None:
        return
    rt = runtime(context)
    await answer_call(
        update,
        context,
        practitioner_settings.set_digest(rt.ctx, actor=sender_id(update), on=on),
    )
