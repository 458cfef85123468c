"""The operator's rules that use cases follow, taken from settings once at start-up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot.domain.models import Practitioner
from bot.domain.timing import QuietHours


@dataclass(frozen=True, slots=True)
class Policy:
    """Quiet hours, default reminder offsets, invite lifetime, and the default time zone."""

    quiet: QuietHours
    reminder_offsets: tuple[timedelta, ...]
    invite_ttl: timedelta
    default_timezone: str

    def reminder_offsets_for(self, practitioner: Practitioner) -> tuple[timedelta, ...]:
        """The practitioner's own offsets, or the default; longest first."""
        if practitioner.reminder_offsets_minutes:
            own = {timedelta(minutes=m) for m in practitioner.reminder_offsets_minutes}
            return tuple(sorted(own, reverse=True))
        return self.reminder_offsets
