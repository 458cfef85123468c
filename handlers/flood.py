"""Inbound flood control, before any other handler: count each update against its
sender's budget (``bot.domain.flood``) and act when a user goes over it.

A client or practitioner who floods hears "slow down" once; their updates are still
handled (a client's words stored and triaged, crisis words answered), but the bot's
ordinary replies to them are held back until the quiet ends. A stranger who floods is
ignored. One WARNING line marks the start of each episode.
"""

from __future__ import annotations

import logging
import time

from telegram import Update
from telegram.ext import ApplicationHandlerStop, ContextTypes

import messages
from bot import metrics
from bot.domain.flood import Pace
from bot.domain.roles import Role
from handlers.common import actor_of, locale_of, note_update, runtime, send_in_chat

_log = logging.getLogger(__name__)


async def gate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Let the update through, or drop it (``ApplicationHandlerStop``) if its sender is a
    stranger who floods; counted either way."""
    try:
        await _admit(update, context)
    except ApplicationHandlerStop:
        metrics.UPDATES.labels("dropped").inc()
        raise
    metrics.UPDATES.labels("handled").inc()


async def _admit(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    user = update.effective_user
    pace = note_update(update, context)
    if user is None or pace is Pace.WITHIN:
        return
    guard = runtime(context).flood
    if pace is Pace.OVER:
        if guard.is_ignored(user.id, time.monotonic()):
            raise ApplicationHandlerStop
        return
    role = (await actor_of(update, context)).role
    budget = guard.budget
    _log.warning(
        "user %s (%s) sent more than %s updates in %g s; replies held back for %g s",
        user.id,
        role,
        budget.limit,
        budget.window_s,
        budget.quiet_s,
    )
    if role is Role.GUEST:
        guard.ignore(user.id)
        raise ApplicationHandlerStop
    text = messages.render("input.slow_down", locale_of(update))
    send_in_chat(update, context, text, None, urgent=True)
