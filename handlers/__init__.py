"""Thin python-telegram-bot callbacks; ``register`` lists every one of them."""

from __future__ import annotations

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.domain import callbacks
from bot.telegram.chat_lanes import ChatLanes
from handlers import (
    basics,
    calendar,
    calendar_file,
    checkins,
    client,
    client_card,
    fallbacks,
    flags,
    flood,
    practitioner,
    privacy,
    settings,
    words,
)
from handlers.common import LANES_KEY, rules_loaded
from handlers.errors import on_error

_PRIVATE_MESSAGE = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
_PRIVATE_EDIT = filters.ChatType.PRIVATE & filters.UpdateType.EDITED_MESSAGE
_RULES_LOADED = -3
_FLOOD_GATE = -2
"""Every update is counted against its sender's budget first (``handlers.flood``)."""


def register(app: Application) -> None:  # type: ignore[type-arg]
    """Attach every handler and the error handler to the application, and the lanes that
    carry replies out."""
    app.bot_data[LANES_KEY] = ChatLanes()
    app.add_handler(TypeHandler(object, rules_loaded), group=_RULES_LOADED)
    app.add_handler(TypeHandler(Update, flood.gate), group=_FLOOD_GATE)
    app.add_handler(MessageHandler(filters.ChatType.GROUPS, fallbacks.group_chat))
    app.add_handler(CommandHandler("start", basics.start, filters=_PRIVATE_MESSAGE))
    app.add_handler(CommandHandler("help", basics.help_command, filters=_PRIVATE_MESSAGE))
    app.add_handler(CommandHandler("privacy", basics.privacy, filters=_PRIVATE_MESSAGE))
    app.add_handler(CommandHandler("mydata", privacy.mydata, filters=_PRIVATE_MESSAGE))
    app.add_handler(CommandHandler("stop", privacy.stop, filters=_PRIVATE_MESSAGE))
    app.add_handler(CommandHandler("erase", privacy.erase, filters=_PRIVATE_MESSAGE))
    app.add_handler(CallbackQueryHandler(privacy.erase_answer, pattern=r"^erase:(yes|no)$"))
    commands = {
        "newclient": practitioner.new_client,
        "invites": practitioner.open_invites,
        "book": practitioner.book,
        "reschedule": practitioner.reschedule,
        "cancel": practitioner.cancel,
        "today": practitioner.today,
        "upcoming": practitioner.upcoming,
        "clients": practitioner.clients,
        "calendar": calendar.calendar,
        "client": client_card.client,
        "flags": flags.open_flags,
        "settings": settings.show,
        "next": client.next_session,
        "timezone": client.timezone,
        "pause": client.pause,
        "resume": client.resume,
    }
    for name, callback in commands.items():
        app.add_handler(CommandHandler(name, callback, filters=_PRIVATE_MESSAGE))
    buttons = {
        callbacks.CONSENT_PATTERN: client.consent,
        callbacks.SESSION_PATTERN: client.session_button,
        callbacks.BOOK_PATTERN: practitioner.book_step,
        callbacks.INVITE_REVOKE_PATTERN: practitioner.revoke_invite,
        callbacks.LIST_PAGE_PATTERN: practitioner.list_page,
        callbacks.CARD_PATTERN: client_card.card_button,
        callbacks.FLAG_PATTERN: flags.flag_button,
        callbacks.CHECKIN_PATTERN: checkins.checkin_button,
        callbacks.KEEP_CHECKINS_PATTERN: checkins.keep_checkins,
        callbacks.DIGEST_PATTERN: settings.digest_button,
        callbacks.CALENDAR_FILE_PATTERN: calendar_file.calendar_button,
        callbacks.CALENDAR_ANSWER_PATTERN: calendar.answer,
        f"^{callbacks.CALENDAR_DISCONNECT}$": calendar.disconnect,
    }
    for pattern, callback in buttons.items():
        app.add_handler(CallbackQueryHandler(callback, pattern=pattern))
    app.add_handler(MessageHandler(_PRIVATE_MESSAGE & filters.COMMAND, fallbacks.unknown_command))
    # Words (new or edited) and media, whose captions are words: a practitioner's Reply
    # to a flag, a client's answer; anyone else's get the fallbacks' answers from there.
    text = filters.TEXT & ~filters.COMMAND
    app.add_handler(MessageHandler((_PRIVATE_MESSAGE | _PRIVATE_EDIT) & text, words.text))
    media = _PRIVATE_MESSAGE & ~filters.TEXT & ~filters.StatusUpdate.ALL
    app.add_handler(MessageHandler(media | (_PRIVATE_EDIT & filters.CAPTION), words.media))
    app.add_handler(CallbackQueryHandler(fallbacks.stale_button))
    app.add_handler(ChatMemberHandler(client.bot_membership, ChatMemberHandler.MY_CHAT_MEMBER))
    app.add_error_handler(on_error)
