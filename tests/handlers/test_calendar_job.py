"""The calendar job: a shutdown cancels a pass under way instead of waiting for every due
calendar, and the pass ends quietly."""

from __future__ import annotations

import asyncio
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from bot.domain.calendar_reads import CalendarRead
from bot.domain.models import CalendarSubscription
from bot.runtime import Runtime
from bot.settings import load_settings
from bot.telegram.calendar_jobs import calendar_pass, stop_calendar_pass
from tests.fakes import FakeDatabase, FixedClock
from tests.handlers.offline import offline_application
from tests.integration import records


class _SlowCalendar:
    """A calendar whose read never ends on its own."""

    def __init__(self) -> None:
        self.reading = asyncio.Event()

    async def read(
        self, url: str, *, etag: str | None, last_modified: str | None, now: datetime
    ) -> CalendarRead:
        self.reading.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


async def test_a_shutdown_cancels_the_pass_under_way() -> None:
    db, clock, calendar = FakeDatabase(), FixedClock(), _SlowCalendar()
    async with db() as uow:
        practitioner, _ = await records.practitioner_and_client(uow)
        await uow.calendars.add_subscription(
            CalendarSubscription(
                0, practitioner.id, "https://calendar.example/a.ics", next_poll_at=clock.now()
            )
        )
        await uow.commit()
    runtime = Runtime(settings=load_settings(None), clock=clock, uow=db, calendar_reader=calendar)
    application, _ = offline_application(runtime)
    context: Any = SimpleNamespace(application=application)

    passing = asyncio.create_task(calendar_pass(context))
    await asyncio.wait_for(calendar.reading.wait(), timeout=5)
    stop_calendar_pass(application)

    await asyncio.wait_for(passing, timeout=5)  # ends, and without raising
    assert passing.result() is None
    stop_calendar_pass(application)  # nothing under way: nothing to do
