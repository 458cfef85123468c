"""The morning list job: once a day after 08:00 in each practitioner's zone, today's sessions
and the flags still open after 24 hours.

The job keeps no state: the outbox key ``morning:<practitioner>:<local date>`` makes it once
a day, so it simply runs every minute, and at once whenever the sandbox's clock moves.
"""

from __future__ import annotations

import logging

from telegram.ext import Application, ContextTypes

from bot.runtime import runtime_of
from bot.services.practice import morning_list
from bot.telegram.runtime_jobs import start_job

MORNING_JOB_ID = "flags-morning"
MORNING_EVERY_SECONDS = 60.0

_log = logging.getLogger(__name__)


async def morning_lists(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Schedule the morning lists that are due; a failure waits for the next run."""
    runtime = runtime_of(context.application)
    try:
        await morning_list.morning_lists(runtime.ctx)
    except Exception as error:  # e.g. the database is away; the next run tries again
        _log.warning("morning lists not scheduled (%s: %s); retrying", type(error).__name__, error)


def start_flag_jobs(application: Application) -> None:  # type: ignore[type-arg]
    """Run the morning list job every minute; with a movable clock, also whenever it moves."""
    start_job(
        application,
        morning_lists,
        job_id=MORNING_JOB_ID,
        every_seconds=MORNING_EVERY_SECONDS,
        first_seconds=1.0,
    )
