"""The retention job: every hour, clear message texts and answers kept long enough
(``bot.services.privacy.retention``). It keeps no state: each pass clears what is due by then."""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram.ext import Application, ContextTypes

from bot.runtime import runtime_of
from bot.services.privacy.retention import Retention, apply_retention
from bot.telegram.runtime_jobs import start_job

RETENTION_JOB_ID = "retention"
RETENTION_EVERY_SECONDS = 3600.0

_log = logging.getLogger(__name__)


async def retention_pass(context: ContextTypes.DEFAULT_TYPE) -> None:
    """One pass; a failure waits for the next run."""
    runtime = runtime_of(context.application)
    settings = runtime.settings
    retention = Retention(
        outbox_keep=timedelta(days=settings.outbox_keep_days),
        answer_months=settings.retention_months,
    )
    try:
        await apply_retention(runtime.ctx, retention)
    except Exception as error:  # e.g. the database is away; the next run tries again
        _log.warning("retention pass failed (%s: %s); retrying", type(error).__name__, error)


def start_retention_job(application: Application) -> None:  # type: ignore[type-arg]
    """Run the retention pass every hour, the first a minute after start."""
    start_job(
        application,
        retention_pass,
        job_id=RETENTION_JOB_ID,
        every_seconds=RETENTION_EVERY_SECONDS,
        first_seconds=60.0,
    )
