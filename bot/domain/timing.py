"""Pure time values the practice configures: quiet hours, reminder offsets, check-in days;
and spans of time looked up quickly."""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta

_CLOCK_TIME = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*$")
_DURATION = re.compile(r"^\s*(\d+)\s*(m|min|h|d)\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"m": 60, "min": 60, "h": 3600, "d": 86400}


def parse_clock_time(text: str) -> time:
    """Parse ``HH:MM`` (24-hour clock) into a ``time``."""
    match = _CLOCK_TIME.match(text)
    if not match:
        raise ValueError(f"expected a time as HH:MM, got {text!r}")
    hours, minutes = int(match.group(1)), int(match.group(2))
    if hours > 23 or minutes > 59:
        raise ValueError(f"{text!r} is not a time of day")
    return time(hours, minutes)


def parse_duration(text: str) -> timedelta:
    """Parse a positive duration such as ``24h``, ``90m`` or ``2d``."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"expected a duration such as 24h, 90m or 2d, got {text!r}")
    amount = int(match.group(1))
    if amount == 0:
        raise ValueError(f"a duration must be longer than zero, got {text!r}")
    return timedelta(seconds=amount * _UNIT_SECONDS[match.group(2).lower()])


def format_duration(delta: timedelta) -> str:
    """Write a duration the way ``parse_duration`` reads it, in the largest whole unit."""
    seconds = int(delta.total_seconds())
    for unit in ("d", "h", "m"):
        size = _UNIT_SECONDS[unit]
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    raise ValueError("durations are whole minutes")


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A daily window, in the recipient's local time, when routine messages wait.

    ``start`` may be later than ``end``: the window then runs over midnight.
    """

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> QuietHours:
        """Parse ``HH:MM-HH:MM``."""
        parts = text.split("-")
        if len(parts) != 2:
            raise ValueError(f"expected quiet hours as HH:MM-HH:MM, got {text!r}")
        start, end = (parse_clock_time(part) for part in parts)
        if start == end:
            raise ValueError("quiet hours must start and end at different times")
        return cls(start, end)

    def contains(self, local_time: time) -> bool:
        """Whether a local wall-clock time falls inside the window."""
        if self.start < self.end:
            return self.start <= local_time < self.end
        return local_time >= self.start or local_time < self.end

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True, slots=True)
class CheckInSchedule:
    """Aftercare check-ins: which days after a session, at what local time."""

    days: tuple[int, ...]
    at: time

    def __post_init__(self) -> None:
        if not self.days:
            raise ValueError("at least one check-in day is needed")
        if any(day < 1 or day > 60 for day in self.days):
            raise ValueError("check-in days are between 1 and 60 after the session")
        if list(self.days) != sorted(set(self.days)):
            raise ValueError("check-in days must be increasing, each once")


class Spans:
    """Spans of time, each ``[start, end)``, ordered once so that whether a moment or a
    stretch of time falls in one of them is a binary search."""

    def __init__(self, spans: Iterable[tuple[datetime, datetime]]) -> None:
        ordered = sorted(spans)
        if not ordered:
            raise ValueError("no spans")
        self._starts = [start for start, _ in ordered]
        self._latest_ends = list(itertools.accumulate((end for _, end in ordered), max))

    @property
    def first_start(self) -> datetime:
        """The start of the earliest span."""
        return self._starts[0]

    @property
    def last_end(self) -> datetime:
        """The end of the span that ends last."""
        return self._latest_ends[-1]

    def hold(self, moment: datetime) -> bool:
        """Whether ``moment`` is in one of the spans."""
        begun = bisect.bisect_right(self._starts, moment)  # the spans begun by then
        return begun > 0 and self._latest_ends[begun - 1] > moment

    def meet(self, start: datetime, end: datetime) -> bool:
        """Whether ``[start, end)`` overlaps one of the spans."""
        begun = bisect.bisect_left(self._starts, end)  # the spans begun before its end
        return begun > 0 and self._latest_ends[begun - 1] > start
