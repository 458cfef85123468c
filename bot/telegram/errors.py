"""Telegram's errors mapped to the delivery errors of ``bot.domain.delivery``."""

from __future__ import annotations

import warnings
from datetime import timedelta

import httpx
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.domain.delivery import (
    DeliveryError,
    MessageRejected,
    OutcomeUnknown,
    RateLimited,
    RecipientUnreachable,
    TemporaryFailure,
)

# Transport failures before a request has left: the message cannot have arrived.
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def retry_after_seconds(error: RetryAfter) -> float:
    """The wait Telegram asked for, in seconds, whichever form PTB gives it in."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def to_delivery_error(error: TelegramError) -> DeliveryError:
    """Classify a Telegram error by what the sender should do next."""
    if isinstance(error, RetryAfter):
        return RateLimited(retry_after_seconds(error))
    if isinstance(error, Forbidden):
        return RecipientUnreachable(error.message)
    if isinstance(error, BadRequest) and "chat not found" in error.message.lower():
        return RecipientUnreachable(error.message)  # a user who never opened the bot
    if isinstance(error, ChatMigrated | BadRequest):
        return MessageRejected(error.message)
    if isinstance(error, NetworkError):
        cause = error.__cause__
        if isinstance(cause, _NEVER_SENT) or "Pool timeout" in error.message:
            return TemporaryFailure(error.message)
        if cause is None and not isinstance(error, TimedOut):
            return TemporaryFailure(error.message)  # Telegram answered with a 5xx status
        return OutcomeUnknown(error.message)  # the connection broke after the request left
    return MessageRejected(error.message)
