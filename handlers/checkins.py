"""The client's check-ins: presses under a check-in, words, edits, media, and the answer
to "keep getting check-ins?".

Words and media from someone who is not a client (or, for media, whose check-in is not
waiting) go on to the general answers in ``handlers.fallbacks``.
"""

from __future__ import annotations

from telegram import Message, Update
from telegram.ext import ContextTypes

from bot.domain import callbacks
from bot.services.checkins import conversation, prompts, replies, views
from handlers import fallbacks
from handlers.common import answer, answer_call, runtime, sender_id

MEDIA = (
    "photo",
    "voice",
    "video_note",
    "video",
    "audio",
    "sticker",
    "animation",
    "document",
    "location",
    "contact",
)
"""What a non-text message is called in the audit log (its content is never kept)."""


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
        conversation.press_checkin(
            rt.uow, rt.clock, rt.policy, actor=sender_id(update), press=press, ticked=ticked
        ),
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
        prompts.answer_keep_checkins(rt.uow, rt.clock, actor=sender_id(update), keep=keep),
    )


async def client_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A client's words (new or edited): logged, triaged and answered at once."""
    message = update.effective_message
    if message is not None:
        await _words(update, context, message, message.text or "")


async def _words(
    update: Update, context: ContextTypes.DEFAULT_TYPE, message: Message, text: str
) -> None:
    rt = runtime(context)
    edited = update.edited_message is not None
    try:
        reply = await replies.record_text(
            rt.uow,
            rt.clock,
            rt.policy,
            actor=sender_id(update),
            message_id=message.message_id,
            text=text,
            edited=edited,
        )
    except Exception:
        await _crisis_anyway(update, context, text)
        raise
    if reply is not None:
        await answer(update, context, reply)
    elif not edited:
        await fallbacks.free_text(update, context)


async def _crisis_anyway(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str) -> None:
    """Words of crisis that could not be logged still get the crisis resources."""
    user = update.effective_user
    language = user.language_code if user else None
    fallback = replies.crisis_fallback(runtime(context).policy, text, language)
    if fallback is not None:
        await answer(update, context, fallback)


async def client_media(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A photo, voice note, sticker or file: its caption is read as words; without one,
    during a check-in, a kind request for words."""
    message, rt = update.effective_message, runtime(context)
    if message is None:
        return
    if message.caption and message.caption.strip():
        await _words(update, context, message, message.caption)
        return
    kind = next((name for name in MEDIA if getattr(message, name, None)), "other")
    reply = await replies.record_not_text(
        rt.uow, rt.clock, actor=sender_id(update), message_id=message.message_id, kind=kind
    )
    if reply is None:
        await fallbacks.not_text(update, context)
    else:
        await answer(update, context, reply)
