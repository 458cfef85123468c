"""The one error handler: log, apologise to the user, tell the operator, keep running.

What is expected in a bot's life (a user who blocked it, a refusal, a press Telegram no
longer takes an answer for, a double tap that changes nothing, a moment without network)
is one INFO or WARNING line without a traceback. Only a real fault is an ERROR with its
traceback, and it reaches the operator chat, at most once per :data:`OPERATOR_ALERT_EVERY_S`
(the next alert says how many came in between).
"""

from __future__ import annotations

import logging

from aiolimiter import AsyncLimiter
from telegram import Update
from telegram.error import BadRequest, Forbidden, NetworkError
from telegram.ext import Application, ContextTypes

import messages
from bot.services.access import Refused
from handlers.common import reply, runtime, send_refusal

_log = logging.getLogger(__name__)

OPERATOR_ALERT_EVERY_S = 600.0
_ALERTS_KEY = "operator_alerts"
_EXPECTED_REQUESTS = (
    "query is too old",
    "query id is invalid",
    "message is not modified",
    "message can't be edited",
    "message to edit not found",
)


class OperatorAlerts:
    """How often the operator hears of faults: once per window, with a count of the rest."""

    def __init__(self, every_s: float = OPERATOR_ALERT_EVERY_S) -> None:
        self._window = AsyncLimiter(1, every_s)
        self.unreported = 0

    async def take(self) -> int | None:
        """``None`` when this fault must not be reported now (it is counted); otherwise
        how many faults went unreported since the last alert."""
        if not self._window.has_capacity():
            self.unreported += 1
            return None
        await self._window.acquire()  # there is room: this does not wait
        missed, self.unreported = self.unreported, 0
        return missed


def operator_alerts(application: Application) -> OperatorAlerts:  # type: ignore[type-arg]
    """The application's operator alert window."""
    alerts = application.bot_data.get(_ALERTS_KEY)
    if not isinstance(alerts, OperatorAlerts):
        alerts = application.bot_data[_ALERTS_KEY] = OperatorAlerts()
    return alerts


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the failure by what it means; for a real fault, the user hears that nothing is
    lost and the operator is told."""
    error = context.error
    user_id = (
        update.effective_user.id if isinstance(update, Update) and update.effective_user else None
    )
    if isinstance(error, Forbidden):
        _log.info("user %s has blocked the bot; the answer was dropped", user_id)
        return
    if isinstance(error, Refused) and isinstance(update, Update):
        _log.info("user %s was refused: %s", user_id, error.answer.key)
        send_refusal(update, context, error)
        return
    if isinstance(error, BadRequest) and any(
        phrase in error.message.lower() for phrase in _EXPECTED_REQUESTS
    ):
        _log.info("Telegram declined a late or unchanged answer to user %s: %s", user_id, error)
        return
    if isinstance(error, NetworkError) and not isinstance(error, BadRequest):
        _log.warning("Telegram could not be reached for user %s: %s", user_id, error.message)
        return
    _log.error("error while handling an update from user %s", user_id, exc_info=error)
    if (
        isinstance(update, Update)
        and update.effective_chat
        and update.effective_chat.type == "private"
    ):
        await reply(update, context, "errors.generic")
    await _tell_operator(context, type(error).__name__)


async def _tell_operator(context: ContextTypes.DEFAULT_TYPE, error: str) -> None:
    operator = runtime(context).settings.operator_chat_id
    if operator is None:
        return
    missed = await operator_alerts(context.application).take()
    if missed is None:
        return
    text = messages.render("operator.bot_error", error=error)
    if missed:
        text += "\n" + messages.render("operator.errors_since", count=missed)
    try:
        await context.bot.send_message(operator, text, parse_mode="HTML")
    except Exception:  # the log line is what matters; the alert is best effort
        _log.warning("could not alert the operator chat", exc_info=True)
