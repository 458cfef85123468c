"""The calendar job: read each subscribed calendar when its turn comes
(``bot.services.sessions.calendar_subscriptions.poll_due``). Each subscription keeps its
own next read, so this only looks for the ones due."""

from __future__ import annotations

import asyncio
import logging

from telegram.ext import Application, ContextTypes

from bot.runtime import runtime_of
from bot.services.sessions.calendar_subscriptions import poll_due
from bot.telegram.runtime_jobs import start_job

CALENDAR_JOB_ID = "calendars"
CALENDAR_EVERY_SECONDS = 30.0
_WORK_KEY = "calendar_pass"

_log = logging.getLogger(__name__)


async def calendar_pass(context: ContextTypes.DEFAULT_TYPE) -> None:
    """One pass; a failure waits for the next run. The pass runs as a task of its own,
    which a shutdown cancels (:func:`stop_calendar_pass`)."""
    runtime = runtime_of(context.application)
    work = asyncio.create_task(poll_due(runtime.ctx, runtime.calendar_source))
    context.application.bot_data[_WORK_KEY] = work
    try:
        await work
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise
        _log.info("calendar pass stopped for shutdown; the next start reads the calendars again")
    except Exception as error:  # e.g. the database is away; the next run tries again
        _log.warning("calendar pass failed (%s: %s); retrying", type(error).__name__, error)


def stop_calendar_pass(application: Application) -> None:  # type: ignore[type-arg]
    """Cancel the pass under way, if any, so that a shutdown need not wait for every due
    calendar. What it committed stays; a calendar's version is kept only once it is
    applied, so the next pass reads the rest again (a sync is idempotent)."""
    work = application.bot_data.get(_WORK_KEY)
    if isinstance(work, asyncio.Task) and not work.done():
        work.cancel()


def start_calendar_job(application: Application) -> None:  # type: ignore[type-arg]
    """Look for calendars due every 30 seconds (and whenever the sandbox clock moves)."""
    start_job(
        application, calendar_pass, job_id=CALENDAR_JOB_ID, every_seconds=CALENDAR_EVERY_SECONDS
    )
