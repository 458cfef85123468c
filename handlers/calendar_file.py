"""A client's "Add to my calendar" / "Remove from my calendar" under a session's notice:
the session as an ``.ics`` document."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

import messages
from bot.domain import callbacks
from bot.domain.outgoing import Text
from bot.services.access import Refused
from bot.services.sessions import calendar_file
from handlers import fallbacks
from handlers.common import (
    acknowledge,
    locale_of,
    runtime,
    send_file_in_chat,
    send_refusal,
    sender_id,
)


def plain_text(text: Text, locale: str) -> str:
    """A catalog text as plain words in ``locale``, for the inside of a file."""
    return messages.render_plain(text.key, locale, **text.params)


async def calendar_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send the pressed session's calendar file, or the refusal as a new message."""
    appointment_id = await fallbacks.read_press(update, context, callbacks.parse_calendar_file)
    if appointment_id is None:
        return
    await acknowledge(update)
    rt = runtime(context)
    try:
        found = await calendar_file.calendar_file(
            rt.ctx, actor=sender_id(update), appointment_id=appointment_id, render=plain_text
        )
    except Refused as refusal:
        send_refusal(update, context, refusal)
        return
    caption = found.caption
    send_file_in_chat(
        update,
        context,
        found.document,
        filename=found.file_name,
        caption_html=messages.render(caption.key, locale_of(update), **caption.params),
    )
