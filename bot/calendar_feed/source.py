"""The ``CalendarSource`` the services read calendars through: fetch (``fetch``) and parse
(``parse``), with their failures put in the words a practitioner is told
(``bot.domain.calendar_reads.CalendarProblem``)."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime
from functools import partial

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
    FetchErrorReason.CREDENTIALS_IN_URL: CalendarProblem.CREDENTIALS,
    FetchErrorReason.PRIVATE_ADDRESS: CalendarProblem.ADDRESS,
    FetchErrorReason.NOT_FOUND: CalendarProblem.NOT_FOUND,
    FetchErrorReason.REFUSED: CalendarProblem.REFUSED,
    FetchErrorReason.TOO_BIG: CalendarProblem.TOO_BIG,
    FetchErrorReason.TIMEOUT: CalendarProblem.TIMEOUT,
    FetchErrorReason.TOO_MANY_REDIRECTS: CalendarProblem.SERVER,
    FetchErrorReason.UNREACHABLE: CalendarProblem.UNREACHABLE,
    FetchErrorReason.HTTP_ERROR: CalendarProblem.SERVER,
}


_log = logging.getLogger(__name__)
_parsing: ProcessPoolExecutor | None = None
_PARSING_NICENESS = 10


def _yield_to_bot() -> None:
    """Run the parsing process at a lower priority: a calendar may wait, a reply should not."""
    os.nice(_PARSING_NICENESS)


def _parser() -> ProcessPoolExecutor:
    """The process calendars are parsed in, started on the first calendar read."""
    global _parsing  # noqa: PLW0603 -- one for the whole bot, started when first needed
    if _parsing is None:
        _parsing = ProcessPoolExecutor(
            1, mp_context=multiprocessing.get_context("spawn"), initializer=_yield_to_bot
        )
    return _parsing


def stop_parsing() -> None:
    """Stop the parsing process, once it has finished what it was given (the next read
    starts another); its CPU is then counted among this process's children's."""
    global _parsing  # noqa: PLW0603
    if _parsing is not None:
        _parsing.shutdown(wait=True)
        _parsing = None


def abandon_parsing() -> None:
    """Stop the parsing process at once, giving up a calendar it is parsing (at shutdown:
    a hostile file may take seconds; the next start reads that calendar again)."""
    global _parsing
    if _parsing is None:
        return
    pool, _parsing = _parsing, None
    processes = list(pool._processes.values())  # no public way to stop a busy worker
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    # The pool's own thread may be the one to collect an ended process, so ask each
    # whether it is alive rather than join it here.
    deadline = time.monotonic() + _STOP_WAIT_S
    while any(p.is_alive() for p in processes) and time.monotonic() < deadline:
        time.sleep(_STOP_POLL_S)


_STOP_WAIT_S = 2.0
_STOP_POLL_S = 0.01


class FeedSource:
    """Reads calendars over HTTPS, sharing one guarded HTTP session. Parsing a large
    calendar holds Python's lock for most of a second, which in the bot's own process
    would hold up every reply meanwhile: it runs in a separate process at a lower
    priority."""

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
        parse = partial(
            parse_calendar, fetched.body, now=now, default_timezone=self._default_timezone
        )
        try:
            events = await asyncio.get_running_loop().run_in_executor(_parser(), parse)
        except CalendarFormatError:
            raise CalendarUnavailable(CalendarProblem.NOT_A_CALENDAR) from None
        except BrokenProcessPool:
            # The parsing process died (killed, or out of memory on a hostile file); the
            # next read starts a new one.
            global _parsing  # noqa: PLW0603
            _parsing = None
            _log.warning("the calendar parsing process stopped; this read is given up")
            raise CalendarUnavailable(CalendarProblem.NOT_A_CALENDAR) from None
        return CalendarRead(
            changed=True,
            events=tuple(events),
            etag=fetched.etag,
            last_modified=fetched.last_modified,
        )

    async def close(self) -> None:
        """Close the shared HTTP session and stop the parsing process, at once."""
        if self._session is not None:
            await self._session.close()
        abandon_parsing()
