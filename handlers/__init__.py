"""Thin python-telegram-bot callbacks; ``register`` lists every one of them."""

from __future__ import annotations

from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.domain import callbacks
from handlers import basics, client, fallbacks, practitioner, privacy
from handlers.errors import on_error

_PRIVATE_MESSAGE = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE


def register(app: Application) -> None:  # type: ignore[type-arg]
    """Attach every handler and the error handler to the application."""
    app.add_handler(MessageHandler(filters.ChatType.GROUPS, fallbacks.group_chat))
    app.add_handler(CommandHandler("start", basics.start, filters=_PRIVATE_MESSAGE))
    app.add_handler(CommandHandler("help", basics.help_command, filters=_PRIVATE_MESSAGE))
    app.add_handler(CommandHandler("privacy", basics.privacy, filters=_PRIVATE_MESSAGE))
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
    }
    for pattern, callback in buttons.items():
        app.add_handler(CallbackQueryHandler(callback, pattern=pattern))
    app.add_handler(MessageHandler(_PRIVATE_MESSAGE & filters.COMMAND, fallbacks.unknown_command))
    app.add_handler(MessageHandler(_PRIVATE_MESSAGE & filters.TEXT, fallbacks.free_text))
    app.add_handler(
        MessageHandler(
            _PRIVATE_MESSAGE & ~filters.TEXT & ~filters.StatusUpdate.ALL, fallbacks.not_text
        )
    )
    app.add_handler(CallbackQueryHandler(fallbacks.stale_button))
    app.add_error_handler(on_error)
