"""The operator's rules that use cases follow, taken from settings once at start-up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time, timedelta
from typing import Protocol

from bot.domain.models import Practitioner
from bot.domain.timing import CheckInSchedule, QuietHours, parse_clock_time
from bot.domain.triage import SecondOpinion
from bot.domain.triage_lexicon import Lexicon

DEFAULT_CHECKINS = CheckInSchedule((1, 3, 7), time(10, 0))


@dataclass(frozen=True, slots=True)
class CrisisLine:
    """Where a client in danger can turn, in one country: the emergency number and a
    crisis line (a name with a phone number or a web address). ``None`` where unknown."""

    country: str | None = None  # ISO 3166 code; None: the default for unknown countries
    emergency: str | None = None
    helpline: str | None = None
    number: str | None = None
    url: str | None = None


class TriageData(Protocol):
    """What triage reads: each locale's rules and the second opinion, loaded once by the
    composition root (``bot.triage_data.LoadedTriage``), never by a use case."""

    def lexicon(self, locale: str | None) -> Lexicon:
        """The compiled rules of ``locale``, any language code (English for an unknown
        one or none)."""
        ...

    def second_opinion(self) -> SecondOpinion | None:
        """The trained second opinion, or ``None`` where there is none."""
        ...


class CrisisDirectory(Protocol):
    """The crisis resources for a client, found from their time zone."""

    def for_timezone(self, timezone: str) -> CrisisLine:
        """The resources for the country of ``timezone``; the default when unknown."""
        ...


class NoCrisisDirectory:
    """A directory that knows no country: every client is told to call their local
    emergency number. ``bot.crisis`` loads the real table."""

    def for_timezone(self, timezone: str) -> CrisisLine:
        """The empty line: the message then names no number."""
        return CrisisLine()


NO_CRISIS_DIRECTORY = NoCrisisDirectory()


@dataclass(frozen=True, slots=True)
class Policy:
    """Quiet hours, reminder and check-in defaults, invite lifetime, the default zone,
    what triage reads, who backs up an unacknowledged urgent flag, and the crisis
    resources per country."""

    quiet: QuietHours
    reminder_offsets: tuple[timedelta, ...]
    invite_ttl: timedelta
    default_timezone: str
    triage: TriageData
    checkins: CheckInSchedule = DEFAULT_CHECKINS
    checkin_max_age: timedelta = timedelta(hours=12)
    backup_contact_chat_id: int | None = None
    crisis: CrisisDirectory = NO_CRISIS_DIRECTORY
    calendar_poll: timedelta = timedelta(minutes=5)
    """How often a subscribed calendar is read (``CALENDAR_POLL``)."""

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
