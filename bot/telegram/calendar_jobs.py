"""The calendar job: read each subscribed calendar when its turn comes
(``bot.services.sessions.calendar_subscriptions.poll_due``). Each subscription keeps its
own next read, so this only looks for the ones due."""

from __future__ import annotations

import logging

from telegram.ext import Application, ContextTypes

from bot.runtime import runtime_of
from bot.services.sessions.calendar_subscriptions import poll_due
from bot.telegram.runtime_jobs import start_job

CALENDAR_JOB_ID = "calendars"
CALENDAR_EVERY_SECONDS = 30.0

_log = logging.getLogger(__name__)


async def calendar_pass(context: ContextTypes.DEFAULT_TYPE) -> None:
    """One pass; a failure waits for the next run."""
    runtime = runtime_of(context.application)
    try:
        await poll_due(runtime.ctx, runtime.calendar_source)
    except Exception as error:  # e.g. the database is away; the next run tries again
        _log.warning("calendar pass failed (%s: %s); retrying", type(error).__name__, error)


def start_calendar_job(application: Application) -> None:  # type: ignore[type-arg]
    """Look for calendars due every 30 seconds (and whenever the sandbox clock moves)."""
    start_job(
        application, calendar_pass, job_id=CALENDAR_JOB_ID, every_seconds=CALENDAR_EVERY_SECONDS
    )
