"""A repeating job that notices sessions ending and check-ins going out.

It keeps no state: the appointments and check-ins tables are the record, so a run missed
during a restart is made up by the next one.
"""

from __future__ import annotations

import logging

from telegram.ext import Application, ContextTypes

from bot.runtime import runtime_of
from bot.services.checkins.schedule import (
    complete_ended_sessions,
    follow_sent_checkins,
    pause_silent,
)
from bot.telegram.runtime_jobs import start_job

SESSIONS_JOB_ID = "sessions-tick"
SESSIONS_SECONDS = 5.0

_log = logging.getLogger(__name__)


async def after_sessions(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Complete the sessions that have ended (planning their check-ins), follow the
    check-ins whose questions went out, and pause clients who stopped answering."""
    runtime = runtime_of(context.application)
    try:
        await complete_ended_sessions(runtime.ctx)
        await follow_sent_checkins(runtime.ctx)
        await pause_silent(runtime.ctx)
    except Exception as error:  # e.g. the database is away; the next run catches up
        _log.warning("session pass stopped (%s: %s); retrying", type(error).__name__, error)


def start_session_jobs(application: Application) -> None:  # type: ignore[type-arg]
    """Run ``after_sessions`` every few seconds, and at once whenever a movable clock moves."""
    start_job(
        application,
        after_sessions,
        job_id=SESSIONS_JOB_ID,
        every_seconds=SESSIONS_SECONDS,
    )
