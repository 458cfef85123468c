"""When a scheduled message may go out: quiet hours, expiry and retry backoff. Pure rules."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from bot.domain.models import OutboxKind, OutboxMessage
from bot.domain.timing import QuietHours

NEVER_DELAYED = frozenset({OutboxKind.FLAG_ALERT})
"""Kinds that go out at once, whatever the hour: a practitioner must hear of a concern."""


def place(row: OutboxMessage, *, timezone: str, quiet: QuietHours) -> OutboxMessage:
    """The row moved out of the recipient's quiet hours.

    Inside quiet hours it waits for their end, local time; but if that would be at or
    after the row's ``expires_at`` (a reminder for a session starting before then), it
    goes at the planned time, silently. Alerts are never moved.
    """
    if row.kind in NEVER_DELAYED:
        return row
    zone = ZoneInfo(timezone)
    local = row.due_at.astimezone(zone)
    if not quiet.contains(local.time()):
        return row
    end = quiet_end_after(local, quiet.end, zone)
    if row.expires_at is not None and end >= row.expires_at:
        return replace(row, silent=True)
    return replace(row, due_at=end)


def quiet_end_after(local: datetime, end: time, zone: ZoneInfo) -> datetime:
    """The first moment at or after ``local`` whose wall-clock time is ``end``, in UTC.

    If ``end`` does not exist that day (a daylight-saving gap), the first moment after
    the gap is used.
    """
    day = local.date()
    for offset in (0, 1):
        wall = datetime.combine(day + timedelta(days=offset), end, tzinfo=zone)
        moment = _existing_moment(wall, zone)
        if moment >= local:
            return moment.astimezone(UTC)
    raise AssertionError("a wall-clock time recurs within two days")  # pragma: no cover


@lru_cache(maxsize=1024)  # the same few walls for every message of a day: a sync plans thousands
def _existing_moment(wall: datetime, zone: ZoneInfo) -> datetime:
    """``wall`` itself (its first occurrence if repeated), or for a time skipped by a
    clock change, the moment the change happened, which ends the gap."""
    before_change = wall.replace(fold=0).astimezone(UTC)
    after_change = wall.replace(fold=1).astimezone(UTC)
    if after_change >= before_change:
        return wall.replace(fold=0)
    # In a gap fold=1 reads the wall time with the new offset, giving the earlier
    # instant; the change lies between the two readings.
    target = before_change.astimezone(zone).utcoffset()
    low, high = after_change, before_change
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).utcoffset() == target:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0).astimezone(zone)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently a temporary failure is retried."""

    max_attempts: int = 6
    first_wait: timedelta = timedelta(seconds=2)
    longest_wait: timedelta = timedelta(minutes=5)

    def wait_after(self, attempts: int) -> timedelta | None:
        """The wait before the next try after ``attempts`` tries, or ``None``: give up."""
        if attempts >= self.max_attempts:
            return None
        return min(self.first_wait * (1 << max(0, attempts - 1)), self.longest_wait)
