"""An appointment read from the practitioner's own calendar (an iCalendar subscription).

``bot/calendar_feed`` makes these from the feed; what is stored, matched to clients and
booked is built on them. Each value is one occurrence: a repeating event gives one per
date it happens on.

Identity
--------
``(uid, recurrence_id)`` names one occurrence and stays the same from one sync to the
next, so a sync can tell a new appointment from a moved or changed one:

- ``uid`` is the event's ``UID`` (for the rare event without one, a stand-in made from
  its start and title, so it is stable as long as the event is unchanged);
- ``recurrence_id`` is ``""`` for an event that does not repeat; for every occurrence of
  a repeating event, the first one included, it is the start the occurrence has by the
  series' rule (its ``RECURRENCE-ID``), in UTC, as ``datetime.isoformat()`` writes it:
  ``"2026-03-30T07:00:00+00:00"``. An occurrence moved or retitled in the calendar
  keeps the key of the slot it was moved from, so it is the same occurrence, changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class CalendarEvent:
    """One occurrence of a timed, busy, not cancelled event; times are aware and in UTC."""

    uid: str
    recurrence_id: str
    starts_at: datetime
    ends_at: datetime
    title: str
    description: str
    location: str
    repeating: bool

    @property
    def key(self) -> tuple[str, str]:
        """``(uid, recurrence_id)``: what names this occurrence from one sync to the next."""
        return (self.uid, self.recurrence_id)
