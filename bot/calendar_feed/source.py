"""The ``CalendarSource`` the services read calendars through: fetch (``fetch``) and parse
(``parse``), with their failures put in the words a practitioner is told
(``bot.domain.calendar_reads.CalendarProblem``)."""

from __future__ import annotations

import asyncio
from datetime import datetime

import aiohttp

from bot.calendar_feed.fetch import (
    CalendarFetchError,
    FetchErrorReason,
    calendar_session,
    fetch_calendar,
)
from bot.calendar_feed.parse import CalendarFormatError, parse_calendar
from bot.domain.calendar_reads import CalendarProblem, CalendarRead, CalendarUnavailable

_PROBLEMS = {
    FetchErrorReason.BAD_URL: CalendarProblem.ADDRESS,
    FetchErrorReason.NOT_HTTPS: CalendarProblem.ADDRESS,
    FetchErrorReason.CREDENTIALS_IN_URL: CalendarProblem.ADDRESS,
    FetchErrorReason.PRIVATE_ADDRESS: CalendarProblem.ADDRESS,
    FetchErrorReason.NOT_FOUND: CalendarProblem.NOT_FOUND,
    FetchErrorReason.REFUSED: CalendarProblem.REFUSED,
    FetchErrorReason.TOO_BIG: CalendarProblem.TOO_BIG,
    FetchErrorReason.TIMEOUT: CalendarProblem.TIMEOUT,
    FetchErrorReason.TOO_MANY_REDIRECTS: CalendarProblem.SERVER,
    FetchErrorReason.UNREACHABLE: CalendarProblem.UNREACHABLE,
    FetchErrorReason.HTTP_ERROR: CalendarProblem.SERVER,
}


class FeedSource:
    """Reads calendars over HTTPS, sharing one guarded HTTP session; parsing, which takes
    a noticeable moment for a large calendar, runs in a worker thread."""

    def __init__(self, *, allow_insecure: bool, default_timezone: str = "UTC") -> None:
        self._allow_insecure = allow_insecure
        self._default_timezone = default_timezone
        self._session: aiohttp.ClientSession | None = None

    async def read(
        self, url: str, *, etag: str | None, last_modified: str | None, now: datetime
    ) -> CalendarRead:
        """The calendar's events from ``now`` on, or unchanged; raises
        ``CalendarUnavailable``."""
        if self._session is None or self._session.closed:
            self._session = calendar_session(allow_insecure=self._allow_insecure)
        try:
            fetched = await fetch_calendar(
                url,
                etag=etag,
                last_modified=last_modified,
                allow_insecure=self._allow_insecure,
                session=self._session,
            )
        except CalendarFetchError as error:
            raise CalendarUnavailable(_PROBLEMS[error.reason]) from None
        if not fetched.changed:
            return CalendarRead(
                changed=False, etag=fetched.etag, last_modified=fetched.last_modified
            )
        try:
            events = await asyncio.to_thread(
                parse_calendar, fetched.body, now=now, default_timezone=self._default_timezone
            )
        except CalendarFormatError:
            raise CalendarUnavailable(CalendarProblem.NOT_A_CALENDAR) from None
        return CalendarRead(
            changed=True,
            events=tuple(events),
            etag=fetched.etag,
            last_modified=fetched.last_modified,
        )

    async def close(self) -> None:
        """Close the shared HTTP session."""
        if self._session is not None:
            await self._session.close()
