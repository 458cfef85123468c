"""The source the services read calendars through: events, "unchanged", and each
failure in the words a practitioner is told."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from bot.calendar_feed import source as feed_source
from bot.calendar_feed.source import FeedSource
from bot.domain.calendar_reads import CalendarProblem, CalendarUnavailable
from tests.unit.calendar_feed.support import Served

EARLY = datetime(2026, 3, 1, tzinfo=UTC)  # the day before the served event


async def test_a_calendar_is_read_then_unchanged(http_server: Served) -> None:
    source = FeedSource(allow_insecure=True)
    try:
        url = f"{http_server.base}/calendar.ics"
        first = await source.read(url, etag=None, last_modified=None, now=EARLY)
        again = await source.read(
            url, etag=first.etag, last_modified=first.last_modified, now=EARLY
        )
    finally:
        await source.close()
    assert first.changed
    assert [e.title for e in first.events] == ["First"]
    assert first.etag == http_server.server.etag
    assert not again.changed
    assert again.events == ()


@pytest.mark.parametrize(
    ("path", "insecure", "problem"),
    [
        ("/page.html", True, CalendarProblem.NOT_A_CALENDAR),
        ("/gone", True, CalendarProblem.NOT_FOUND),
        ("/private", True, CalendarProblem.REFUSED),
        ("/broken", True, CalendarProblem.SERVER),
        ("/big", True, CalendarProblem.TOO_BIG),
        ("/calendar.ics", False, CalendarProblem.ADDRESS),  # plain http, on loopback
    ],
)
async def test_each_failure_is_one_problem_a_practitioner_is_told(
    http_server: Served, path: str, insecure: bool, problem: CalendarProblem
) -> None:
    source = FeedSource(allow_insecure=insecure)
    try:
        with pytest.raises(CalendarUnavailable) as unavailable:
            await source.read(f"{http_server.base}{path}", etag=None, last_modified=None, now=EARLY)
    finally:
        await source.close()
    assert unavailable.value.problem is problem


async def test_an_address_with_a_password_is_told_as_such(http_server: Served) -> None:
    source = FeedSource(allow_insecure=True)
    url = http_server.base.replace("://", "://anna:secret@", 1) + "/calendar.ics"
    try:
        with pytest.raises(CalendarUnavailable) as unavailable:
            await source.read(url, etag=None, last_modified=None, now=EARLY)
    finally:
        await source.close()
    assert unavailable.value.problem is CalendarProblem.CREDENTIALS
    assert http_server.server.requests == []  # refused before asking


async def test_a_parsing_process_that_died_gives_up_that_read_and_the_next_works(
    http_server: Served,
) -> None:
    url = f"{http_server.base}/calendar.ics"
    source = FeedSource(allow_insecure=True)
    try:
        await source.read(url, etag=None, last_modified=None, now=EARLY)  # the process runs
        parser = feed_source._parser()
        for process in list(parser._processes.values()):
            process.kill()  # as the kernel would, out of memory
            process.join()
        with pytest.raises(CalendarUnavailable) as unavailable:
            await source.read(url, etag=None, last_modified=None, now=EARLY)
        assert unavailable.value.problem is CalendarProblem.NOT_A_CALENDAR
        again = await source.read(url, etag=None, last_modified=None, now=EARLY)
        replacement = feed_source._parser()
    finally:
        await source.close()
    assert replacement is not parser
    assert [e.title for e in again.events] == ["First"]


async def test_closing_lets_go_of_the_connection_and_the_parsing_process(
    http_server: Served,
) -> None:
    source = FeedSource(allow_insecure=True)
    await source.read(f"{http_server.base}/calendar.ics", etag=None, last_modified=None, now=EARLY)
    processes = list(feed_source._parser()._processes.values())
    assert processes

    await source.close()

    assert feed_source._parsing is None
    assert not any(process.is_alive() for process in processes)
    assert source._session is not None
    assert source._session.closed


async def test_closing_does_not_wait_for_a_calendar_being_parsed() -> None:
    source = FeedSource(allow_insecure=True)
    feed_source._parser().submit(time.sleep, 60)  # as a hostile file would
    processes = list(feed_source._parser()._processes.values())
    began = time.monotonic()

    await source.close()

    assert time.monotonic() - began < 10
    assert not any(process.is_alive() for process in processes)
