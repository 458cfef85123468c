"""What reading a practitioner's calendar gives the services: its events, or why not.

The reading itself (HTTP, iCalendar) is ``bot/calendar_feed``'s; a service sees only this.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from urllib.parse import urlsplit

from bot.domain.calendar_events import CalendarEvent


class CalendarProblem(enum.StrEnum):
    """Why a calendar could not be read, in words a practitioner is told."""

    ADDRESS = "address"  # not an https address, or one that points inside a network
    CREDENTIALS = "credentials"  # a user name or password in the address
    NOT_FOUND = "not_found"
    REFUSED = "refused"  # the server said no (401, 403)
    TOO_BIG = "too_big"
    TIMEOUT = "timeout"
    UNREACHABLE = "unreachable"
    NOT_A_CALENDAR = "not_a_calendar"
    SERVER = "server"  # any other error from the server


class CalendarUnavailable(Exception):
    """The calendar could not be read now; ``problem`` says why."""

    def __init__(self, problem: CalendarProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


@dataclass(frozen=True, slots=True)
class CalendarRead:
    """One read of a calendar: unchanged since the last (a 304), or its events ahead."""

    changed: bool
    events: tuple[CalendarEvent, ...] = ()
    etag: str | None = None
    last_modified: str | None = None


def masked(url: str) -> str:
    """The address as shown again: its host and the last four characters of its secret
    part (the path, less a file name such as ``basic.ics``), never the rest."""
    parts = urlsplit(url)
    segments = [s for s in parts.path.split("/") if s]
    if segments and segments[-1].lower().endswith(".ics") and len(segments) > 1:
        segments = segments[:-1]
    tail = segments[-1][-4:] if segments else ""
    return f"{parts.scheme}://{parts.hostname or '?'}/…{tail}"
