"""Retention: what is kept only for a while.

Sent (or otherwise finished) messages lose their text after ``OUTBOX_KEEP_DAYS``; the row
and its state stay, for the delivery statistics. Check-in answers are erased after
``RETENTION_MONTHS``, with the flags raised on them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.services.context import UseCaseContext

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Retention:
    """How long message texts and answers are kept."""

    outbox_keep: timedelta = timedelta(days=30)
    answer_months: int = 24


@dataclass(frozen=True, slots=True)
class Cleared:
    """What one pass cleared."""

    payloads: int
    answers: int


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time ``months`` calendar months earlier (the month's last day
    where that day does not exist: 31 May minus 3 months is 28 or 29 February)."""
    month_index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(month_index, 12)
    month += 1
    for day in range(moment.day, 27, -1):
        try:
            return moment.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    return moment.replace(year=year, month=month, day=min(moment.day, 28))


async def apply_retention(ctx: UseCaseContext, retention: Retention) -> Cleared:
    """Clear what has been kept long enough, in one transaction."""
    now = ctx.clock.now()
    async with ctx.uow() as uow:
        payloads = await uow.outbox.clear_payloads_before(now - retention.outbox_keep)
        answers = await uow.replies.erase_received_before(
            months_before(now, retention.answer_months)
        )
        await uow.commit()
    if payloads or answers:
        await ctx.uow.purge_freed()
        _log.info("retention: %d message text(s) and %d answer(s) cleared", payloads, answers)
    return Cleared(payloads, answers)
