"""Telegram's errors sorted by what the sender may do next (no blind resend)."""

from datetime import timedelta

import httpx
import pytest
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
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
from bot.telegram.errors import retry_after_seconds, to_delivery_error


def _caused_by(error: TelegramError, cause: BaseException) -> TelegramError:
    error.__cause__ = cause
    return error


REQUEST = httpx.Request("POST", "http://127.0.0.1/botTOKEN/sendMessage")


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (Forbidden("Forbidden: bot was blocked by the user"), RecipientUnreachable),
        (BadRequest("Chat not found"), RecipientUnreachable),  # never opened the bot
        (BadRequest("Message is too long"), MessageRejected),
        (ChatMigrated(-100123), MessageRejected),
        (Conflict("Conflict"), MessageRejected),
        (NetworkError("Internal Server Error (500)"), TemporaryFailure),
        (NetworkError("Bad Gateway"), TemporaryFailure),
        (_caused_by(NetworkError("x"), httpx.ConnectError("refused")), TemporaryFailure),
        (_caused_by(TimedOut(), httpx.ConnectTimeout("slow")), TemporaryFailure),
        (
            TimedOut("Pool timeout: All connections in the connection pool are occupied."),
            TemporaryFailure,
        ),
        (_caused_by(TimedOut(), httpx.ReadTimeout("no answer")), OutcomeUnknown),
        (_caused_by(TimedOut(), httpx.WriteTimeout("half sent")), OutcomeUnknown),
        (_caused_by(NetworkError("x"), httpx.ReadError("reset")), OutcomeUnknown),
        (_caused_by(NetworkError("x"), httpx.RemoteProtocolError("closed")), OutcomeUnknown),
        (TimedOut(), OutcomeUnknown),
    ],
)
def test_each_error_class_maps_to_what_to_do(
    error: TelegramError, expected: type[DeliveryError]
) -> None:
    mapped = to_delivery_error(error)
    assert type(mapped) is expected
    assert str(mapped)


@pytest.mark.parametrize("retry_after", [5, timedelta(seconds=5)])
def test_flood_control_carries_the_wait(retry_after: int | timedelta) -> None:
    error = RetryAfter(retry_after)
    assert retry_after_seconds(error) == 5.0
    mapped = to_delivery_error(error)
    assert isinstance(mapped, RateLimited)
    assert mapped.retry_after == 5.0
