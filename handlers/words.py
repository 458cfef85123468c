"""Words and media in a private chat: one service call finds who wrote and passes them on
(``bot.services.incoming``): a practitioner's Reply to a flag, a client's answer; anyone
else gets the general answers of ``handlers.fallbacks``."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.domain.outgoing import OutgoingMessage
from bot.services import incoming
from bot.services.access import Refused
from bot.services.checkins.replies import crisis_fallback
from bot.services.incoming import Words
from handlers import fallbacks
from handlers.common import answer, runtime, sender_id

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


async def text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Words, new or edited: a Reply's text, or a client's words logged, triaged and
    answered at once."""
    message = update.effective_message
    if message is not None:
        edited = update.edited_message is not None
        await _words(update, context, Words(message.message_id, message.text or "", edited))


async def media(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A photo, voice note, sticker or file: its caption is read as words; without one,
    during a check-in, a kind request for words."""
    message = update.effective_message
    if message is None:
        return
    if message.caption and message.caption.strip():
        edited = update.edited_message is not None
        words = Words(message.message_id, message.caption, edited, caption=True)
        await _words(update, context, words)
        return
    rt = runtime(context)
    heard = await incoming.receive_media(
        rt.ctx,
        sender=sender_id(update),
        named_practitioners=rt.settings.practitioner_ids,
        message_id=message.message_id,
        kind=next((name for name in MEDIA if getattr(message, name, None)), "other"),
    )
    if heard.answer is None:
        await fallbacks.not_text(update, context)
    else:
        await answer(update, context, heard.answer)


async def _words(update: Update, context: ContextTypes.DEFAULT_TYPE, words: Words) -> None:
    rt = runtime(context)
    try:
        heard = await incoming.receive_words(
            rt.ctx,
            sender=sender_id(update),
            named_practitioners=rt.settings.practitioner_ids,
            words=words,
        )
    except Refused as refusal:
        await answer(update, context, OutgoingMessage(refusal.answer))
        return
    except Exception:
        await _crisis_anyway(update, context, words.text)
        raise
    if heard.answer is not None:
        await answer(update, context, heard.answer)
    elif not words.edited:
        await fallbacks.free_text(update, context, heard.actor.role)


async def _crisis_anyway(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str) -> None:
    """Words of crisis that could not be logged still get the crisis resources."""
    user = update.effective_user
    language = user.language_code if user else None
    fallback = crisis_fallback(runtime(context).policy, text, language)
    if fallback is not None:
        await answer(update, context, fallback)
