"""What can go wrong when a message is sent, in words the delivery engine acts on.

The Telegram adapter turns transport errors into these; nothing above it sees Telegram's.
"""

from __future__ import annotations

import enum


class DeliveryError(Exception):
    """A message could not be sent."""


class RecipientUnreachable(DeliveryError):
    """The user blocked the bot or never started it (Telegram 403). Retrying will not help."""


class RateLimited(DeliveryError):
    """Flood control (Telegram 429): try again after ``retry_after`` seconds."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate limited; retry after {retry_after:g} s")
        self.retry_after = retry_after


class MessageRejected(DeliveryError):
    """Telegram refused this message (400); sending it again would fail the same way."""


class TemporaryFailure(DeliveryError):
    """A server error or a connection that never got through; safe to retry later."""


class OutcomeUnknown(DeliveryError):
    """The request may or may not have arrived (a read timeout). Never resend blindly."""


class SendOutcome(enum.StrEnum):
    """What became of one message the dispatcher took, as counted and logged."""

    SENT = "sent"
    SENT_UNRECORDED = "sent_unrecorded"  # delivered; the row had changed meanwhile
    RETRY = "retry"
    FAILED = "failed"
    UNCERTAIN = "uncertain"  # a send that may or may not have arrived: never resent
    SKIPPED_STALE = "skipped_stale"  # expired before it could be sent
