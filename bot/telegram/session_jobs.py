"""A repeating job that notices sessions ending and check-ins going out.

It keeps no state: the appointments and check-ins tables are the record, so a run missed
during a restart is made up by the next one.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from telegram.ext import Application, ContextTypes

from bot.clock import MovableClock
from bot.runtime import Runtime
from bot.services.checkin_schedule import (
    complete_ended_sessions,
    follow_sent_checkins,
    pause_silent,
)

SESSIONS_JOB_ID = "sessions-tick"
SESSIONS_NOW_JOB_ID = "sessions-now"
SESSIONS_SECONDS = 5.0

_log = logging.getLogger(__name__)


async def after_sessions(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Complete the sessions that have ended (planning their check-ins), follow the
    check-ins whose questions went out, and pause clients who stopped answering."""
    job = context.job
    runtime = job.data if job is not None else None
    if not isinstance(runtime, Runtime):
        return
    try:
        await complete_ended_sessions(runtime.uow, runtime.clock, runtime.policy)
        await follow_sent_checkins(runtime.uow, runtime.clock, runtime.policy)
        await pause_silent(runtime.uow, runtime.clock, runtime.policy)
    except Exception as error:  # e.g. the database is away; the next run catches up
        _log.warning("session pass stopped (%s: %s); retrying", type(error).__name__, error)


def start_session_jobs(application: Application, runtime: Runtime) -> None:  # type: ignore[type-arg]
    """Run ``after_sessions`` every few seconds, and at once whenever a movable clock moves."""
    job_queue = application.job_queue
    if job_queue is None:
        raise RuntimeError("the application was built without a job queue")
    job_queue.run_repeating(
        after_sessions,
        interval=SESSIONS_SECONDS,
        first=0,
        data=runtime,
        name=SESSIONS_JOB_ID,
        job_kwargs={
            "id": SESSIONS_JOB_ID,
            "max_instances": 1,
            "coalesce": True,
            "replace_existing": True,
        },
    )
    if isinstance(runtime.clock, MovableClock):
        loop = asyncio.get_running_loop()

        def run_now(_now: datetime) -> None:
            loop.call_soon_threadsafe(_run_once, application, runtime)

        runtime.clock.on_change(run_now)


def _run_once(application: Application, runtime: Runtime) -> None:  # type: ignore[type-arg]
    if application.job_queue is not None:
        application.job_queue.run_once(
            after_sessions,
            when=0,
            data=runtime,
            name=SESSIONS_NOW_JOB_ID,
            job_kwargs={"id": SESSIONS_NOW_JOB_ID, "replace_existing": True},
        )
