"""The operator's rules that use cases follow, taken from settings once at start-up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time, timedelta

from bot.domain.models import Practitioner
from bot.domain.timing import CheckInSchedule, QuietHours, parse_clock_time

DEFAULT_CHECKINS = CheckInSchedule((1, 3, 7), time(10, 0))


@dataclass(frozen=True, slots=True)
class Policy:
    """Quiet hours, reminder and check-in defaults, invite lifetime, the default zone, and
    who backs up an unacknowledged urgent flag."""

    quiet: QuietHours
    reminder_offsets: tuple[timedelta, ...]
    invite_ttl: timedelta
    default_timezone: str
    checkins: CheckInSchedule = DEFAULT_CHECKINS
    checkin_max_age: timedelta = timedelta(hours=12)
    backup_contact_chat_id: int | None = None

    def reminder_offsets_for(self, practitioner: Practitioner) -> tuple[timedelta, ...]:
        """The practitioner's own offsets, or the default; longest first."""
        if practitioner.reminder_offsets_minutes:
            own = {timedelta(minutes=m) for m in practitioner.reminder_offsets_minutes}
            return tuple(sorted(own, reverse=True))
        return self.reminder_offsets

    def checkins_for(self, practitioner: Practitioner) -> CheckInSchedule:
        """The practitioner's own check-in days and time, each falling back to the default."""
        days = practitioner.checkin_days or self.checkins.days
        at = (
            parse_clock_time(practitioner.checkin_time)
            if practitioner.checkin_time
            else self.checkins.at
        )
        return CheckInSchedule(tuple(days), at)
