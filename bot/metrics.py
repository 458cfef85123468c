"""What an operator watches, in the Prometheus text format (``/metrics``).

Counted by this process as it works: messages handed to Telegram by outcome, Telegram's
errors by class, how late messages went, updates handled and dropped by flood control,
client replies by triage level, calendar reads. Read from the database at each scrape,
so every process shows the same: outbox rows by state and kind, open flags by level with
the age of the oldest. Only counts: no names, no words, no chat ids.
"""

from __future__ import annotations

from datetime import datetime

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from bot.domain.delivery import (
    MessageRejected,
    OutcomeUnknown,
    RateLimited,
    RecipientUnreachable,
    TemporaryFailure,
)
from bot.ports import UnitOfWorkFactory

SENDS = Counter(
    "stillpoint_sends",
    "Messages this process handed to Telegram, by outcome "
    "(sent, retry, failed, uncertain, skipped_stale, sent_unrecorded)",
    ["outcome"],
)
TELEGRAM_ERRORS = Counter(
    "stillpoint_telegram_errors",
    "Sends Telegram refused or did not answer, by class "
    "(rate_limited, recipient_unreachable, message_rejected, temporary_failure, "
    "outcome_unknown, unexpected)",
    ["error"],
)
LATENESS = Histogram(
    "stillpoint_send_lateness_seconds",
    "How long after it was due a message was sent",
    buckets=(0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600),
)
UPDATES = Counter(
    "stillpoint_updates",
    "Updates from Telegram, handled or dropped by flood control",
    ["outcome"],
)
TRIAGE = Counter("stillpoint_triage", "Client replies triaged, by level", ["level"])
CALENDAR_READS = Counter(
    "stillpoint_calendar_reads",
    "Practitioners' calendars read, by result (changed, unchanged, failed)",
    ["result"],
)
OUTBOX = Gauge(
    "stillpoint_outbox_messages", "Outbox rows by state and kind (all processes)", ["state", "kind"]
)
OPEN_FLAGS = Gauge("stillpoint_open_flags", "Open flags by level (all processes)", ["level"])
OLDEST_OPEN_FLAG = Gauge(
    "stillpoint_open_flag_oldest_age_seconds",
    "How long the oldest open flag of each level has waited for its practitioner",
    ["level"],
)

_ERROR_CLASSES: dict[type[BaseException], str] = {
    RateLimited: "rate_limited",
    RecipientUnreachable: "recipient_unreachable",
    MessageRejected: "message_rejected",
    TemporaryFailure: "temporary_failure",
    OutcomeUnknown: "outcome_unknown",
}


def count_telegram_error(error: BaseException) -> None:
    """Count a failed send by the class of its error."""
    TELEGRAM_ERRORS.labels(_ERROR_CLASSES.get(type(error), "unexpected")).inc()


async def read_database(uow: UnitOfWorkFactory, now: datetime) -> None:
    """Set the gauges read from the database (a pair or level with none left out)."""
    async with uow() as work:
        outbox = await work.outbox.count_by_state_and_kind()
        flags = await work.flags.open_by_level()
    OUTBOX.clear()
    for (state, kind), count in outbox.items():
        OUTBOX.labels(str(state), str(kind)).set(count)
    OPEN_FLAGS.clear()
    OLDEST_OPEN_FLAG.clear()
    for level, (count, oldest) in flags.items():
        OPEN_FLAGS.labels(str(level)).set(count)
        OLDEST_OPEN_FLAG.labels(str(level)).set(max(0.0, (now - oldest).total_seconds()))


def exposition() -> tuple[bytes, str]:
    """Every metric of this process in the text format, and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
