"""A calendar for the tests, scripted: the events it is given, or a problem."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.domain.calendar_events import CalendarEvent
from bot.domain.calendar_reads import CalendarProblem, CalendarRead, CalendarUnavailable


class ScriptedCalendar:
    """A ``CalendarSource`` that answers with the events it is given, or a problem."""

    def __init__(self) -> None:
        self.events: list[CalendarEvent] = []
        self.problem: CalendarProblem | None = None
        self.reads = 0

    async def read(
        self, url: str, *, etag: str | None, last_modified: str | None, now: datetime
    ) -> CalendarRead:
        self.reads += 1
        if self.problem is not None:
            raise CalendarUnavailable(self.problem)
        version = str(hash(tuple(self.events)))
        if etag == version:
            return CalendarRead(changed=False)
        return CalendarRead(changed=True, events=tuple(self.events), etag=version)


def event(
    title: str, starts_at: datetime, uid: str | None = None, **changes: object
) -> CalendarEvent:
    values: dict[str, object] = {
        "uid": uid or f"{title}@calendar",
        "recurrence_id": "",
        "starts_at": starts_at,
        "ends_at": starts_at + timedelta(hours=1),
        "title": title,
        "description": "",
        "location": "",
        "repeating": False,
    }
    return CalendarEvent(**(values | changes))  # type: ignore[arg-type]
