"""The morning list job: once a day after 08:00 in each practitioner's zone, today's sessions
and the flags still open after 24 hours.

The job keeps no state: the outbox key ``morning:<practitioner>:<local date>`` makes it once
a day, so it simply runs every minute, and at once whenever the sandbox's clock moves.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from telegram.ext import Application, ContextTypes

from bot.clock import MovableClock
from bot.runtime import Runtime
from bot.services import flags

MORNING_JOB_ID = "flags-morning"
MORNING_NOW_JOB_ID = "flags-morning-now"
MORNING_EVERY_SECONDS = 60.0

_log = logging.getLogger(__name__)


async def morning_lists(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Schedule the morning lists that are due; a failure waits for the next run."""
    job = context.job
    runtime = job.data if job is not None else None
    if not isinstance(runtime, Runtime):
        raise TypeError("the morning list job needs the Runtime as its data")
    try:
        await flags.morning_lists(runtime.uow, runtime.clock, runtime.policy)
    except Exception as error:  # e.g. the database is away; the next run tries again
        _log.warning("morning lists not scheduled (%s: %s); retrying", type(error).__name__, error)


def start_flag_jobs(application: Application, runtime: Runtime) -> None:  # type: ignore[type-arg]
    """Run the morning list job every minute; with a movable clock, also whenever it moves."""
    job_queue = application.job_queue
    if job_queue is None:
        raise RuntimeError("the application was built without a job queue")
    job_queue.run_repeating(
        morning_lists,
        interval=MORNING_EVERY_SECONDS,
        first=1.0,
        name=MORNING_JOB_ID,
        data=runtime,
        job_kwargs={
            "id": MORNING_JOB_ID,
            "max_instances": 1,
            "coalesce": True,
            "replace_existing": True,
        },
    )
    clock = runtime.clock
    if isinstance(clock, MovableClock):
        loop = asyncio.get_running_loop()

        def run_now(_now: datetime) -> None:
            loop.call_soon_threadsafe(_run_once, application, runtime)

        clock.on_change(run_now)


def _run_once(application: Application, runtime: Runtime) -> None:  # type: ignore[type-arg]
    """One extra run now (one at a time; a burst of clock moves becomes one run)."""
    if application.job_queue is None:
        return
    application.job_queue.run_once(
        morning_lists,
        when=0,
        name=MORNING_NOW_JOB_ID,
        data=runtime,
        job_kwargs={
            "id": MORNING_NOW_JOB_ID,
            "replace_existing": True,
            "max_instances": 1,
            "coalesce": True,
            "misfire_grace_time": None,
        },
    )
