"""The one error handler: log, apologise to the user, tell the operator, keep running."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden
from telegram.ext import ContextTypes

import messages
from handlers.common import reply, runtime

_log = logging.getLogger(__name__)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the failure with its traceback; the user hears that nothing is lost."""
    error = context.error
    user_id = (
        update.effective_user.id if isinstance(update, Update) and update.effective_user else None
    )
    if isinstance(error, Forbidden):
        _log.info("user %s has blocked the bot; the answer was dropped", user_id)
        return
    _log.error("error while handling an update from user %s", user_id, exc_info=error)
    if (
        isinstance(update, Update)
        and update.effective_chat
        and update.effective_chat.type == "private"
    ):
        try:
            await reply(update, context, "errors.generic")
        except Exception:  # the apology is best effort; the log line above is what matters
            _log.warning("could not tell user %s about the error", user_id, exc_info=True)
    operator = runtime(context).settings.operator_chat_id
    if operator is not None:
        try:
            text = messages.render("operator.bot_error", error=type(error).__name__)
            await context.bot.send_message(operator, text, parse_mode="HTML")
        except Exception:
            _log.warning("could not alert the operator chat", exc_info=True)
